/*  mesh_client.h: publish events to a mesh broker and receive deliveries

    A publisher connects to the broker's ingest endpoint and puts events with
    EventBridge's PutEvents contract: 1 to 10 entries, each validated and
    answered with an event id or an error code, the valid ones sent. It never
    loses its first events to ZeroMQ's slow-joiner problem (it waits for the
    broker's subscription, up to a timeout reported as MESH_ETIMEDOUT) and
    never drops at the high-water mark (it blocks, up to a send timeout).

    A subscriber connects to the broker's deliver endpoint as one target and
    receives what the broker's rules route to that target, one delivery at a
    time, each with the rule that matched, the bus and the per-target sequence
    number; gaps in the sequence are counted. mesh_sub_run calls a handler for
    each delivery, the way a Lambda handler is called.

    Both take their endpoints from the caller; mesh_env_endpoint reads the
    environment variables the binaries share (MESH_INGEST, MESH_DELIVER).
    The wire format is docs/protocol.md.
*/
#ifndef MESH_CLIENT_H_INCLUDED
#define MESH_CLIENT_H_INCLUDED

#include <stdbool.h>
#include "mesh_error.h"
#include "mesh_event.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MESH_INGEST_DEFAULT   "tcp://127.0.0.1:5600"
#define MESH_DELIVER_DEFAULT  "tcp://127.0.0.1:5601"
#define MESH_BUS_DEFAULT      "default"
#define MESH_NAME_MAX         64      //  target and rule names
#define MESH_BUS_NAME_MAX     256

//  The endpoint named by an environment variable, else fallback (borrowed).
const char *
    mesh_env_endpoint (const char *variable, const char *fallback);

//  True if name is a valid target or rule name: 1 to 64 of [A-Za-z0-9._-]
//  (EventBridge's rule-name and target-id alphabet).
bool
    mesh_name_valid (const char *name);

//  True if name is a valid bus name: 1 to 256 of [A-Za-z0-9._/-].
bool
    mesh_bus_name_valid (const char *name);

// --------------------------------------------------------------------------
//  Publisher

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
//  Subscriber

typedef struct _mesh_sub_t mesh_sub_t;

typedef struct {
    int connect_timeout_ms;     //  wait for the broker's hello (5000; -1 forever)
    int rcvhwm;                 //  messages buffered before the broker queues (10000)
    mesh_limits_t limits;
} mesh_sub_options_t;

void
    mesh_sub_options_init (mesh_sub_options_t *self);

//  One delivery. Strings and event bytes are borrowed from the subscriber and
//  valid until its next receive.
typedef struct {
    const char *bus;
    const char *rule;
    const char *target;
    uint64_t seq;               //  per-target sequence number, from 1
    uint64_t missed;            //  deliveries skipped before this one (a gap)
    const void *data;           //  the event, MessagePack
    size_t size;
    mesh_event_t *event;        //  the event decoded (borrowed)
} mesh_delivery_t;

//  Connect to the broker's deliver endpoint as target and wait until the
//  broker confirms the subscription (its hello), up to connect_timeout_ms.
//  Returns NULL with err on a bad name or endpoint, or MESH_ETIMEDOUT.
mesh_sub_t *
    mesh_sub_new (const char *endpoint, const char *target,
                  const mesh_sub_options_t *options, mesh_error_t *err);

void
    mesh_sub_destroy (mesh_sub_t **self_p);

//  Receive the next delivery, waiting up to timeout_ms (-1 forever). Returns
//  1 with *delivery filled, 0 on timeout or interrupt, -1 with err on a
//  delivery that does not decode (it is counted and skipped by mesh_sub_run).
int
    mesh_sub_recv (mesh_sub_t *self, mesh_delivery_t *delivery, int timeout_ms,
                   mesh_error_t *err);

//  The handler of mesh_sub_run: return 0 to go on, anything else to stop.
typedef int (mesh_handler_fn) (const mesh_delivery_t *delivery, void *arg);

//  Call handler for each delivery until it returns non-zero, the process is
//  interrupted (SIGINT/SIGTERM), or max deliveries (0: no limit) were handled.
//  Deliveries that do not decode are counted (mesh_sub_stats) and skipped.
//  Returns 0, or -1 with err on a socket failure.
int
    mesh_sub_run (mesh_sub_t *self, mesh_handler_fn *handler, void *arg,
                  uint64_t max, mesh_error_t *err);

//  True if the broker's hello said that some rule targets this subscriber.
//  False means no rule names the target: nothing will arrive until one does.
bool
    mesh_sub_routed (const mesh_sub_t *self);

typedef struct {
    uint64_t received;          //  deliveries handed to the caller
    uint64_t missed;            //  sum of sequence gaps
    uint64_t malformed;         //  deliveries that did not decode
    uint64_t restarts;          //  broker restarts seen (the sequence restarted)
} mesh_sub_stats_t;

void
    mesh_sub_stats (const mesh_sub_t *self, mesh_sub_stats_t *stats);

#ifdef __cplusplus
}
#endif

#endif
