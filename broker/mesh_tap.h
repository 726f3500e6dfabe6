/*  mesh_tap.h: taps, copies of the events entering the buses and where they went

    `mesh tap` opens a tap through the API (tap-open) and reads it every
    100 ms or so (tap-read): each record is one event that entered a bus
    (or was refused), a copy of its bytes, and each route it took, the rule,
    the target, the sequence number the delivery carried and what became of
    it (sent, queued behind the target's backlog, dropped, no subscriber).

    A tap never holds the bus back. Its records wait in a ring bounded by
    a count (its capacity) and by MESH_TAP_BYTES; when the ring is full the
    new record is dropped and counted, and the next record that fits says
    how many were lost before it. A tap nobody reads for MESH_TAP_IDLE_MS is
    closed by the engine's tick, so a `mesh tap` killed with SIGKILL costs
    nothing for long. With no tap open, the engine's cost is one test of
    mesh_taps_active per event.

    A tap may take only the events of one bus and only those that match a
    pattern (a one-rule set the tap owns, compiled as a bus's rules are).
    Matched on its own, the pattern is a second walk of every event of its
    bus; so the engine gives the open taps' patterns to the routes
    (mesh_routes_set_taps, at each change of mesh_taps_generation), which
    match them in the bus's own walk where they can, and says which slots
    the walk decided (mesh_taps_begin's decided and matched). The tap's own
    set answers for the rest (a bus past MESH_ROUTES_MERGE_MAX rules).
    The rule a tap names (--rule)
    only says which rule `mesh tap` explains when an event matched nothing.

    Everything is owned by the engine's thread: the engine offers events
    (begin, route, end), the API opens, reads and closes between rounds.
*/
#ifndef MESH_TAP_H_INCLUDED
#define MESH_TAP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mesh.h"

#define MESH_TAP_MAX            8           //  taps open at once
#define MESH_TAP_CAPACITY       1000        //  records a tap keeps by default
#define MESH_TAP_CAPACITY_MAX   10000
#define MESH_TAP_BYTES          (4u << 20)  //  and bytes of records, at most
#define MESH_TAP_IDLE_MS        10000       //  a tap unread this long is closed
#define MESH_TAP_EVENT_MAX      (1u << 20)  //  a larger event is noted, its bytes not kept

typedef struct _mesh_taps_t mesh_taps_t;

//  What became of one delivery.
typedef enum {
    MESH_TAP_SENT,              //  handed to the subscriber's socket
    MESH_TAP_QUEUED,            //  behind the target's backlog
    MESH_TAP_NO_SUBSCRIBER,     //  nobody subscribes to the target: not delivered
    MESH_TAP_DROPPED            //  the backlog was full, or memory short
} mesh_tap_outcome_t;

const char *
    mesh_tap_outcome_name (mesh_tap_outcome_t outcome);

typedef struct {
    const char *rule;
    const char *target;
    uint64_t seq;               //  the delivery's sequence number on its target
    mesh_tap_outcome_t outcome;
} mesh_tap_route_t;

//  One event as a tap saw it; the record and everything it points to is
//  one allocation, the reader's after mesh_taps_take.
typedef struct {
    uint64_t number;            //  1, 2, ... in this tap, dropped ones included
    int64_t time_ms;            //  when it entered, ms since 1970
    uint64_t dropped_before;    //  records this tap dropped just before this one
    const char *bus;
    const uint8_t *event;       //  its MessagePack bytes, as they came (NULL: over MESH_TAP_EVENT_MAX)
    size_t event_size;
    const char *refused;        //  NULL, or why the bus refused it
    size_t route_count;         //  0: no rule matched (unless refused)
    mesh_tap_route_t *routes;
    size_t bytes;               //  the whole allocation's
} mesh_tap_record_t;

mesh_taps_t *
    mesh_taps_new (void);

void
    mesh_taps_destroy (mesh_taps_t **self_p);

//  True while any tap is open: the engine's only cost when none is.
static inline bool
    mesh_taps_active (const mesh_taps_t *self);

//  Open a tap: of bus only (NULL: every bus), of the events that match
//  pattern only (taken; NULL: every event; pattern_text is its JSON, kept
//  for the routes), rule for the reader (copied,
//  may be NULL), capacity records (0: MESH_TAP_CAPACITY). Returns its id
//  (> 0), or 0 with err when MESH_TAP_MAX are open or memory is short
//  (pattern is destroyed then too).
uint64_t
    mesh_taps_open (mesh_taps_t *self, const char *bus, mesh_rule_t *pattern, const char *pattern_text,
                    const char *rule, size_t capacity, int64_t now_ms, mesh_error_t *err);

//  One more at every open, close and expiry: the engine's cue to give the
//  routes the patterns again.
uint64_t
    mesh_taps_generation (const mesh_taps_t *self);

//  Slot i (0 to MESH_TAP_MAX - 1): true if a tap is open there, with its
//  bus (NULL: every bus) and pattern text (NULL: none), borrowed.
bool
    mesh_taps_slot (const mesh_taps_t *self, size_t i, const char **bus, const char **pattern_text);

//  Close a tap; false if there is none of that id.
bool
    mesh_taps_close (mesh_taps_t *self, uint64_t id);

//  Close the taps nobody read since now_ms - MESH_TAP_IDLE_MS; returns how many.
size_t
    mesh_taps_expire (mesh_taps_t *self, int64_t now_ms);

//  The engine, for one event: begin says whether any tap wants it (when
//  false, skip route and end); decided has bit i set for each slot whose
//  pattern the routes' walk answered, matched its answer (mesh_routes_tap_hits);
//  the others are matched here. route notes each delivery; end copies the
//  event into every tap that wanted it, with refused (NULL, or why the
//  bus refused it). Between begin and end nothing else may be called.
bool
    mesh_taps_begin (mesh_taps_t *self, const void *bus, size_t bus_size, const void *event, size_t size,
                     uint32_t decided, uint32_t matched);
void
    mesh_taps_route (mesh_taps_t *self, const char *rule, const char *target, uint64_t seq,
                     mesh_tap_outcome_t outcome);
void
    mesh_taps_end (mesh_taps_t *self, int64_t now_ms, const char *refused);

//  The reader, for tap id: the oldest record, now the caller's to free(),
//  or NULL when there is none. *found is false when there is no such tap.
//  Every call counts as a read (for mesh_taps_expire).
mesh_tap_record_t *
    mesh_taps_take (mesh_taps_t *self, uint64_t id, int64_t now_ms, bool *found);

//  Tap id's figures: events it took, records it dropped, waiting now.
typedef struct {
    uint64_t seen;
    uint64_t dropped;
    size_t waiting;
    const char *bus;            //  NULL: every bus
    const char *rule;           //  NULL: none named
} mesh_tap_info_t;

bool
    mesh_taps_info (const mesh_taps_t *self, uint64_t id, mesh_tap_info_t *info);

//  How many are open.
size_t
    mesh_taps_count (const mesh_taps_t *self);

//  The one field the inline test reads.
struct _mesh_taps_head_t {
    size_t open;
};

static inline bool
mesh_taps_active (const mesh_taps_t *self)
{
    return self && ((const struct _mesh_taps_head_t *) self)->open > 0;
}

#endif
