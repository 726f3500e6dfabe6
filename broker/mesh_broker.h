/*  mesh_broker.h: the broker's modules, shared by its files only

    mesh_filter: the rule stage. Pure routing: which (rule, target) pairs an
    ingest message goes to, and the counters of what it refused. No sockets.

    mesh_proxy: the actor that binds the XSUB ingest and XPUB deliver
    sockets and runs the filter between them, with per-target sequence
    numbers, demand tracking and back-pressure queues.
*/
#ifndef MESH_BROKER_H_INCLUDED
#define MESH_BROKER_H_INCLUDED

#include <czmq.h>
#include "mesh.h"
#include "mesh_config.h"

//  Broker settings, from flags and environment (mesh_broker.c's table).
typedef struct {
    const char *ingest;         //  XSUB bind endpoint
    const char *deliver;        //  XPUB bind endpoint
    mesh_limits_t limits;       //  max_event_size applies to the wire frame
    size_t backlog_bytes;       //  per target, queued while its subscriber is slow
    int sndhwm;                 //  XPUB high-water mark per subscriber
    int stats_interval_ms;      //  0: no periodic stats line
    int startup_grace_ms;       //  longest wait for routed targets before ingest opens
    bool verbose;               //  log every routing decision (debug)
} mesh_broker_options_t;

// --------------------------------------------------------------------------
//  mesh_filter

typedef struct _mesh_filter_t mesh_filter_t;

//  A target: a subscriber topic with its sequence and counters.
typedef struct {
    char name [MESH_NAME_MAX + 1];
    char topic [MESH_NAME_MAX + 2];     //  name and its NUL
    size_t topic_size;
    bool routed;                //  some rule targets it
    bool subscribed;            //  a subscriber is connected (broker's demand)
    uint64_t seq;               //  last sequence number given out
    uint64_t delivered;         //  sent to the subscriber socket
    uint64_t no_subscriber;     //  routed while nobody subscribed
    uint64_t overflow;          //  dropped because its queue was full
    void *queue;                //  mesh_proxy's back-pressure queue
} mesh_target_t;

//  One routing decision for an event: a (rule, target) pair.
typedef struct {
    const char *bus;
    const char *rule;
    mesh_target_t *target;
    const uint8_t *header;      //  its delivery header but the sequence number
    size_t header_size;         //  (mesh_proto_delivery_prefix)
} mesh_route_t;

//  The filter's counters.
typedef struct {
    uint64_t received;          //  ingest messages seen
    uint64_t routed;            //  events that matched at least one rule
    uint64_t unmatched;         //  well-formed events no rule matched
    uint64_t unknown_bus;
    uint64_t malformed;         //  bad frames, bad MessagePack, bad envelope
    uint64_t oversized;
} mesh_filter_stats_t;

//  Create a filter over buses, taking them (*buses entries are nulled), for
//  the broker run epoch (the delivery headers carry it). Returns NULL with
//  err if two files define the same bus.
mesh_filter_t *
    mesh_filter_new (mesh_bus_t **buses, size_t count, const mesh_limits_t *limits,
                     uint64_t epoch, mesh_error_t *err);

void
    mesh_filter_destroy (mesh_filter_t **self_p);

//  Why mesh_filter_route refused a message (each is counted in the stats).
#define MESH_FILTER_MALFORMED    -1
#define MESH_FILTER_UNKNOWN_BUS  -2
#define MESH_FILTER_OVERSIZED    -3

//  Route one event that arrived as [bus][event]. On success returns the
//  number of routes written to *routes (borrowed, valid until the next
//  call; 0 when no rule matched). When the message is refused, counts it
//  and returns one of MESH_FILTER_* with err saying what was wrong.
int
    mesh_filter_route (mesh_filter_t *self, const void *bus, size_t bus_size,
                       const void *event, size_t event_size,
                       mesh_route_t **routes, mesh_error_t *err);

//  Count a message that did not have the two frames of an ingest message.
void
    mesh_filter_count_malformed (mesh_filter_t *self);

//  Find a target by topic (name and NUL); with create, add an unrouted one
//  if there is room (subscribers may come before rules name them).
mesh_target_t *
    mesh_filter_target (mesh_filter_t *self, const void *topic, size_t size, bool create);

//  Iterate targets: index from 0 until NULL.
mesh_target_t *
    mesh_filter_target_at (mesh_filter_t *self, size_t index);

void
    mesh_filter_stats (const mesh_filter_t *self, mesh_filter_stats_t *stats);

//  The broker run the filter was made for.
uint64_t
    mesh_filter_epoch (const mesh_filter_t *self);

//  Buses and rule counts, for the start-up line.
size_t
    mesh_filter_bus_count (const mesh_filter_t *self);
const mesh_bus_t *
    mesh_filter_bus_at (const mesh_filter_t *self, size_t index);

// --------------------------------------------------------------------------
//  mesh_proxy: a zactor. Start it with zactor_new (mesh_proxy_actor, args),
//  args a mesh_proxy_args_t (the filter stays the caller's; destroy it after
//  the actor). Commands on its pipe:
//    "ENDPOINTS"  -> "OK", ingest, deliver (the bound endpoints), or
//                    "ERROR", text when a bind failed
//    "STATS"      -> replies one line of counters
//    "$TERM"      -> stops
typedef struct {
    mesh_filter_t *filter;
    const mesh_broker_options_t *options;
} mesh_proxy_args_t;

void
    mesh_proxy_actor (zsock_t *pipe, void *args);

#endif
