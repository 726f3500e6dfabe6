/*  mesh_pub.h: put events on a mesh broker's bus

    A publisher connects to the broker's ingest endpoint and puts events with
    EventBridge's PutEvents contract: 1 to 10 entries, each validated and
    answered with an event id or an error code, the valid ones sent. It never
    loses its first events to ZeroMQ's slow-joiner problem (it waits for the
    broker's subscription, up to a timeout reported as MESH_ETIMEDOUT) and
    never drops at the high-water mark (it blocks, up to a send timeout).

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
    int linger_ms;              //  flush time for unsent events at destroy (5000)
    int sndhwm;                 //  messages queued before back-pressure (10000)
    mesh_limits_t limits;       //  entry size and nesting
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

//  Flush (up to linger_ms) and destroy; accepts NULL.
void
    mesh_pub_destroy (mesh_pub_t **self_p);

//  Validate one entry as EventBridge does and, if it is valid, build the event
//  it describes (caller owns it). On failure returns NULL and fills result's
//  error_code and error_message. Needs no broker.
mesh_event_t *
    mesh_entry_to_event (const mesh_entry_t *entry, const char *default_bus,
                         const mesh_limits_t *limits, mesh_entry_result_t *result);

//  PutEvents: validate count entries (1 to 10), fill results[i] for each and
//  send the valid ones in order. Returns the number of failed entries (0 when
//  all were sent), or -1 with err when the request as a whole fails: a count
//  outside 1..10, entries whose total size is over the limit, no broker
//  within connect_timeout_ms (MESH_ETIMEDOUT), or back-pressure longer than
//  send_timeout_ms (MESH_ETIMEDOUT). On -1, results say which entries were
//  sent before the failure (event_id set) and which were not.
int
    mesh_pub_put_events (mesh_pub_t *self, const mesh_entry_t *entries, size_t count,
                         mesh_entry_result_t *results, mesh_error_t *err);

//  Send one event already built (fills its defaults first) to bus. Returns 0,
//  or -1 with err as for mesh_pub_put_events. Does not take the event.
int
    mesh_pub_send (mesh_pub_t *self, const char *bus, mesh_event_t *event, mesh_error_t *err);

//  Wait until the broker has subscribed (connected), up to timeout_ms.
//  Returns 0, or -1 with MESH_ETIMEDOUT.
int
    mesh_pub_wait_ready (mesh_pub_t *self, int timeout_ms, mesh_error_t *err);

// --------------------------------------------------------------------------
//  Batches: the publishing loop (mesh_batch.c)

typedef struct _mesh_batch_t mesh_batch_t;

//  Called for each entry once its put-events call is answered: the entry
//  as added (borrowed for the call), its result (event_id set when it was
//  sent), and the label it was added with.
typedef void (mesh_batch_fn) (const mesh_entry_t *entry, const mesh_entry_result_t *result,
                              const char *label, void *arg);

typedef struct {
    uint64_t published;         //  entries sent, with an event id
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
