/*  mesh_stats.h: the broker's counters, as a struct, and their renderers

    The engine counts into one mesh_stats_t; renderers turn it and the
    targets' counters into text: the log line that --stats-interval and the
    final stop write (docs/protocol.md lists every key), and, through the
    table of fields, the API's stats reply (mesh_api.c). A Prometheus page
    is one more renderer of the same table, later.
*/
#ifndef MESH_STATS_H_INCLUDED
#define MESH_STATS_H_INCLUDED

#include <czmq.h>
#include "mesh_targets.h"

//  The time the filter stage takes an event (mesh_routes_match: the
//  checks, the bus, the rules), a histogram as Prometheus has them: the
//  count of events at or under each bound, the last bucket +Inf.
#define MESH_FILTER_BOUNDS 11
extern const uint64_t mesh_filter_bounds_ns [MESH_FILTER_BOUNDS];

typedef struct {
    uint64_t buckets [MESH_FILTER_BOUNDS + 1];  //  each its own, not cumulative
    uint64_t count;
    uint64_t sum_ns;
} mesh_filter_time_t;

static inline void
mesh_filter_time_add (mesh_filter_time_t *self, uint64_t ns)
{
    size_t bucket = 0;
    while (bucket < MESH_FILTER_BOUNDS && ns > mesh_filter_bounds_ns [bucket])
        bucket++;
    self->buckets [bucket]++;
    self->count++;
    self->sum_ns += ns;
}

typedef struct {
    //  ingest
    uint64_t received;          //  messages read, refused or not
    uint64_t routed;            //  events that matched at least one rule
    uint64_t unmatched;         //  well-formed events no rule matched
    uint64_t unknown_bus;
    uint64_t malformed;
    uint64_t oversized;
    //  EventBridge's limits (mesh_event_check's MESH_EVENT_* refusals)
    uint64_t refused_oversized_entry;
    uint64_t refused_reserved_source;
    uint64_t refused_bad_source;
    uint64_t refused_bad_detail_type;
    uint64_t refused_bad_id;
    uint64_t refused_bad_time;
    uint64_t refused_non_finite;
    //  deliver
    size_t queued;              //  messages in every target's backlog now
    size_t queued_bytes;        //  what they cost in memory now
    uint64_t send_errors;       //  ZeroMQ failed to take a message (not EAGAIN)
    uint64_t ignored_subscriptions;     //  not a target topic, or no room for a new target
    uint64_t subscriptions;     //  target subscriptions taken
    uint64_t unsubscriptions;   //  and given up
    uint64_t expired_targets;   //  subscribed-only targets forgotten
    uint64_t heartbeats;        //  heartbeats handed to the socket
    uint64_t out_of_memory;     //  deliveries or hellos lost to a failed allocation
    //  connections (the socket monitor), both sockets
    uint64_t connections;       //  accepted
    uint64_t disconnections;    //  closed, by the peer or by a protocol error (ZMQ_MAXMSGSIZE)
    uint64_t accept_failures;   //  accept() failed (out of file descriptors...)
    //  the API (mesh_api.h)
    uint64_t api_requests;      //  requests answered, refused ones included
    uint64_t api_errors;        //  requests refused (an error reply), or whose reply failed
    size_t ingest_rate;         //  messages received a second, over the last second (a gauge)
    mesh_filter_time_t filter;  //  not a counter of the table: the metrics' histogram
} mesh_stats_t;

//  Every counter by name, in the log line's order: what the API's stats
//  reply and any other renderer list. size_t fields are gauges (queued,
//  queued_bytes), the others counters.
typedef struct {
    const char *name;
    size_t offset;
    bool gauge;
} mesh_stats_field_t;

extern const mesh_stats_field_t mesh_stats_fields [];      //  ends with a NULL name

//  The value of one field of self.
uint64_t
    mesh_stats_value (const mesh_stats_t *self, const mesh_stats_field_t *field);

//  One line of every counter and every target's, for the log. Returns a
//  string the caller frees, or NULL if out of memory.
char *
    mesh_stats_line (const mesh_stats_t *self, mesh_targets_t *targets);

#endif
