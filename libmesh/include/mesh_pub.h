/*  mesh_pub.h: put events on a mesh broker's bus

    A publisher connects to the broker's ingest endpoint and puts events with
    EventBridge's PutEvents contract: 1 to 10 entries, each validated and
    answered with an event id or an error code, the valid ones queued. It
    never loses its first events to ZeroMQ's slow-joiner problem (it waits
    for the broker's subscription, up to a timeout reported as
    MESH_ETIMEDOUT) and never drops at the high-water mark (it blocks, up to
    a send timeout).

    Its readiness follows the broker: false from when the broker goes away
    to when it is back, and nothing is sent meanwhile (each send waits up to
    connect_timeout_ms, then fails with MESH_ETIMEDOUT). A send queues: it
    does not say that the broker has the event (confirmed publishing comes
    later). What it knows of each queued event, mesh_pub_stats says:
    handed over (the broker's host acknowledged its bytes), lost (the
    connection went while it held the event) or pending; mesh_pub_drain
    waits for the pending ones, and what it could not hand over in time is
    what mesh_pub_destroy drops.

    mesh_batch_t is the publishing loop of a program that has many entries
    to put (the payment service, `mesh put`): it groups them into put-events
    calls and reports each entry's result to a callback. The frames are
    mesh_proto.h's; the wire format is docs/protocol.md.
*/
#ifndef MESH_PUB_H_INCLUDED
#define MESH_PUB_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>
#include "mesh_error.h"
#include "mesh_event.h"
#include "mesh_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MESH_INGEST_DEFAULT   "tcp://127.0.0.1:5600"
#define MESH_BUS_DEFAULT      "default"

typedef struct _mesh_pub_t mesh_pub_t;

typedef struct {
    int connect_timeout_ms;     //  wait for the broker before a first send (5000)
    int send_timeout_ms;        //  longest block under back-pressure (30000; -1 forever)
    int linger_ms;              //  how long destroy waits for pending events (5000)
    int sndhwm;                 //  messages queued before back-pressure (10000)
    mesh_limits_t limits;       //  entry size and nesting
    FILE *monitor;              //  where to print the socket monitor's events (mesh_monitor.h), or NULL
} mesh_pub_options_t;

void
    mesh_pub_options_init (mesh_pub_options_t *self);

//  One PutEvents entry; NULL fields are absent. Borrowed for the call.
typedef struct {
    const char *source;         //  required
    const char *detail_type;    //  required
    const char *detail;         //  required: JSON text of an object
    const char *time;           //  optional RFC 3339; default: now
    const char *const *resources;   //  optional, resource_count strings
    size_t resource_count;
    const char *event_bus_name; //  optional; default: the publisher's bus
    const char *id;             //  optional; default: a new UUID v4
} mesh_entry_t;

//  The result for one entry: event_id on success, else error_code (an
//  EventBridge code such as "InvalidArgument" or "MalformedDetail") and
//  error_message (EventBridge's text where it has one).
typedef struct {
    char event_id [37];
    char error_code [48];
    char error_message [MESH_ERROR_TEXT_MAX];
} mesh_entry_result_t;

//  Connect a publisher to the broker's ingest endpoint; bus is the default
//  event bus for entries that name none. Returns NULL with err on a bad
//  endpoint or bus name. Connecting is asynchronous: the broker may start later.
mesh_pub_t *
    mesh_pub_new (const char *endpoint, const char *bus,
                  const mesh_pub_options_t *options, mesh_error_t *err);

//  Wait up to linger_ms for pending events (unless mesh_pub_drain ran
//  since the last send), drop what is still pending, and destroy; accepts
//  NULL. Call mesh_pub_drain and mesh_pub_stats first to know what was lost.
void
    mesh_pub_destroy (mesh_pub_t **self_p);

//  True while the broker is connected (its subscription is live); reads
//  what the socket says of the broker without blocking.
bool
    mesh_pub_ready (mesh_pub_t *self);

//  What the publisher knows of the events it queued. queued = handed +
//  lost + pending + uncounted.
typedef struct {
    uint64_t queued;            //  events libzmq accepted for the broker
    uint64_t handed;            //  of those, acknowledged by the broker's host (TCP)
    uint64_t lost;              //  the broker went while the connection held them
    uint64_t pending;           //  neither yet (after a drain: what it could not hand over)
    uint64_t uncounted;         //  queued where nothing can be counted (not tcp://)
    bool exact;                 //  false once an event went uncounted
} mesh_pub_stats_t;

void
    mesh_pub_stats (mesh_pub_t *self, mesh_pub_stats_t *stats);

//  Wait up to timeout_ms for the broker's host to acknowledge every
//  pending event. Returns the number still pending: 0 when all were
//  handed over (or lost: mesh_pub_stats says which).
uint64_t
    mesh_pub_drain (mesh_pub_t *self, int timeout_ms);

//  Validate one entry as EventBridge does and, if it is valid, build the event
//  it describes (caller owns it). On failure returns NULL and fills result's
//  error_code and error_message. Needs no broker.
mesh_event_t *
    mesh_entry_to_event (const mesh_entry_t *entry, const char *default_bus,
                         const mesh_limits_t *limits, mesh_entry_result_t *result);

//  PutEvents: validate count entries (1 to 10), fill results[i] for each and
//  queue the valid ones in order. Returns the number of failed entries (0
//  when all were queued), or -1 with err when the request as a whole fails:
//  a count outside 1..10, entries whose total size is over the limit, no
//  broker within connect_timeout_ms (MESH_ETIMEDOUT: nothing is sent while
//  the broker is away), or back-pressure longer than send_timeout_ms
//  (MESH_ETIMEDOUT). On -1, results say which entries were queued before
//  the failure (event_id set) and which were not (InternalFailure, with
//  the reason).
int
    mesh_pub_put_events (mesh_pub_t *self, const mesh_entry_t *entries, size_t count,
                         mesh_entry_result_t *results, mesh_error_t *err);

//  Send one event already built (fills its defaults first) to bus. Returns 0,
//  or -1 with err as for mesh_pub_put_events. Does not take the event.
int
    mesh_pub_send (mesh_pub_t *self, const char *bus, mesh_event_t *event, mesh_error_t *err);

//  Wait until the broker is connected (its subscription live), up to
//  timeout_ms (-1 forever). Returns 0, or -1 with MESH_ETIMEDOUT.
int
    mesh_pub_wait_ready (mesh_pub_t *self, int timeout_ms, mesh_error_t *err);

// --------------------------------------------------------------------------
//  Batches: the publishing loop (mesh_batch.c)

typedef struct _mesh_batch_t mesh_batch_t;

//  Called for each entry once its put-events call is answered: the entry
//  as added (borrowed for the call), its result (event_id set when it was
//  queued), and the label it was added with.
typedef void (mesh_batch_fn) (const mesh_entry_t *entry, const mesh_entry_result_t *result,
                              const char *label, void *arg);

typedef struct {
    uint64_t queued;            //  entries queued for the broker, with an event id
                                //  (mesh_pub_stats says what became of them)
    uint64_t refused;           //  entries refused, or not sent when a request failed
    bool request_failed;        //  a put-events call failed as a whole
} mesh_batch_stats_t;

//  A batch over pub that sends entries in put-events calls of size entries
//  (1 to 10) and reports each result to report (may be NULL). The batch
//  borrows pub, which must outlive it.
mesh_batch_t *
    mesh_batch_new (mesh_pub_t *pub, size_t size, mesh_batch_fn *report, void *arg);

//  Destroy the batch; entries not flushed are dropped, unreported.
void
    mesh_batch_destroy (mesh_batch_t **self_p);

//  Add one entry (its strings are copied) with a label for the report
//  (copied, up to 63 bytes; may be NULL); a full batch is sent at once.
//  Returns 0, or -1 with err when the put-events call it made failed as a
//  whole (see mesh_pub_put_events) or memory ran out.
int
    mesh_batch_add (mesh_batch_t *self, const mesh_entry_t *entry, const char *label,
                    mesh_error_t *err);

//  Send what is pending. Returns 0, or -1 with err as mesh_batch_add.
int
    mesh_batch_flush (mesh_batch_t *self, mesh_error_t *err);

void
    mesh_batch_stats (const mesh_batch_t *self, mesh_batch_stats_t *stats);

//  The loop of `payment --stdin` (and of `mesh put`): read input line by
//  line, each line the JSON text of one event's detail (blank lines are
//  skipped, line ends trimmed), add each as template with that detail and
//  the label "line=N", and flush at the end. Stops at the end of input, on
//  SIGINT/SIGTERM (czmq's zsys_interrupted) or when a request fails.
//  Returns 0, or -1 with err when a request failed or input could not be
//  read.
int
    mesh_batch_put_lines (mesh_batch_t *self, FILE *input, const mesh_entry_t *template,
                          mesh_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
