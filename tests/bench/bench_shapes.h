/*  bench_shapes.h: rule sets of the shapes people write, and events for them

    Part of bench_match (issue 8). Four shapes of rule set, each a function
    from a rule's index to its pattern, so that the set of N rules is the
    first N of one sequence (the 1,000-rule set is inside the 100,000-rule
    one), and a generator of payment-like events for a set of N rules of a
    shape, drawn with a fixed seed. The generator builds each event to
    match rules it chooses, and bench_shape_expect says which rules of the
    set the event matches, from the way the rules and the event were made:
    plain C over the generator's own values, which never calls mesh's
    matchers, so that it can check them at 100,000 rules, where the
    interpreter would take hours.

    Usage:
        char pattern [BENCH_SHAPE_PATTERN_MAX];
        for (size_t i = 0; i < rules; i++)
            bench_shape_pattern (BENCH_SHAPE_TEAM, i, pattern, sizeof (pattern));
        bench_shape_stream_t stream;
        bench_shape_stream_init (&stream, BENCH_SHAPE_TEAM, rules);
        bench_event_t event;
        bench_shape_event (&stream, &event);          //  the next event
        size_t count = bench_shape_expect (&event, hits);   //  room for rules
        bench_event_encode (&event, &data, &size, &err);    //  MessagePack
*/
#ifndef BENCH_SHAPES_H_INCLUDED
#define BENCH_SHAPES_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mesh.h"

typedef enum {
    BENCH_SHAPE_TEAM,           //  (a) source, detail-type and one detail value of its own
    BENCH_SHAPE_SERVICES,       //  (b) 100 sources x 50 detail-types, one condition of mixed kind
    BENCH_SHAPE_NEGATIVE,       //  (c) anything-but and exists:false on one shared field
    BENCH_SHAPE_PREFIXES,       //  (d) prefixes and wildcards on one field, nested prefixes
    BENCH_SHAPES
} bench_shape_t;

#define BENCH_SHAPE_PATTERN_MAX     256

//  One generated event: the envelope's source and detail-type and a
//  payment's detail. An empty string is a field the event does not carry.
typedef struct {
    bench_shape_t shape;
    size_t rules;               //  the size of the set it was made for
    char id [40];
    char source [40];
    char detail_type [40];
    char customer_id [24];
    char merchant_id [24];
    char account_id [32];
    char order_id [40];
    long cents;                 //  detail.amount is cents / 100, as a float
    char currency [4];
    char status [24];
    char coupon [16];
} bench_event_t;

//  The state of one stream of events: its shape, its set's size, its seed.
typedef struct {
    bench_shape_t shape;
    size_t rules;
    uint64_t state;
} bench_shape_stream_t;

//  The shape's letter in issue 8 ("a" to "d") and a line on what it is.
const char *
    bench_shape_letter (bench_shape_t shape);
const char *
    bench_shape_about (bench_shape_t shape);

//  Write rule index's pattern, JSON, into pattern (BENCH_SHAPE_PATTERN_MAX
//  bytes is always enough). The same whatever the size of the set.
void
    bench_shape_pattern (bench_shape_t shape, size_t index, char *pattern, size_t size);

//  Start the stream of events for a set of `rules` rules of shape: the same
//  events every run.
void
    bench_shape_stream_init (bench_shape_stream_t *self, bench_shape_t shape, size_t rules);

//  The stream's next event.
void
    bench_shape_event (bench_shape_stream_t *self, bench_event_t *event);

//  The rules of the event's set that the event matches, by construction:
//  writes their indexes, ascending, into hits (room for event->rules
//  entries) and returns how many.
size_t
    bench_shape_expect (const bench_event_t *event, uint32_t *hits);

//  Encode the event as a publisher would send it (mesh_event_encode).
//  Returns 0 with a malloc'd *data_p the caller frees, or -1 with err.
int
    bench_event_encode (const bench_event_t *event, void **data_p, size_t *size_p,
                        mesh_error_t *err);

#endif
