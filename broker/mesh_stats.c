/*  mesh_stats.c: the counters rendered (mesh_stats.h)

    The log line keeps the keys of earlier versions first and in their
    order (scripts and tests read it by key), then the newer ones.
*/
#include "mesh_stats.h"

#define S_COUNTER(name) { #name, offsetof (mesh_stats_t, name), false }
#define S_GAUGE(name)   { #name, offsetof (mesh_stats_t, name), true }

//  From half a microsecond (a few rules) to 10 ms (a bus past its limits).
const uint64_t mesh_filter_bounds_ns [MESH_FILTER_BOUNDS] = {
    500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000, 1000000, 10000000
};

const mesh_stats_field_t mesh_stats_fields [] = {
    S_COUNTER (received), S_COUNTER (routed), S_COUNTER (unmatched), S_COUNTER (unknown_bus),
    S_COUNTER (malformed), S_COUNTER (oversized), S_GAUGE (queued), S_COUNTER (send_errors),
    S_COUNTER (ignored_subscriptions), S_GAUGE (queued_bytes), S_COUNTER (subscriptions),
    S_COUNTER (unsubscriptions), S_COUNTER (expired_targets), S_COUNTER (heartbeats),
    S_COUNTER (out_of_memory), S_COUNTER (connections), S_COUNTER (disconnections),
    S_COUNTER (accept_failures), S_COUNTER (refused_oversized_entry),
    S_COUNTER (refused_reserved_source), S_COUNTER (refused_bad_source),
    S_COUNTER (refused_bad_detail_type), S_COUNTER (refused_bad_id), S_COUNTER (refused_bad_time),
    S_COUNTER (refused_non_finite), S_COUNTER (api_requests), S_COUNTER (api_errors),
    S_GAUGE (ingest_rate),
    { NULL, 0, false }
};

uint64_t
mesh_stats_value (const mesh_stats_t *self, const mesh_stats_field_t *field)
{
    const char *at = (const char *) self + field->offset;
    if (field->gauge) {
        size_t value;
        memcpy (&value, at, sizeof (value));
        return (uint64_t) value;
    }
    uint64_t value;
    memcpy (&value, at, sizeof (value));
    return value;
}

char *
mesh_stats_line (const mesh_stats_t *self, mesh_targets_t *targets)
{
    char *line = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&line, &size);
    if (!out)
        return NULL;
    fprintf (out, "received=%" PRIu64 " routed=%" PRIu64 " unmatched=%" PRIu64 " unknown_bus=%" PRIu64
                  " malformed=%" PRIu64 " oversized=%" PRIu64 " queued=%zu send_errors=%" PRIu64
                  " ignored_subscriptions=%" PRIu64 " queued_bytes=%zu subscriptions=%" PRIu64
                  " unsubscriptions=%" PRIu64 " expired_targets=%" PRIu64 " heartbeats=%" PRIu64
                  " out_of_memory=%" PRIu64 " connections=%" PRIu64 " disconnections=%" PRIu64
                  " accept_failures=%" PRIu64 " refused_oversized_entry=%" PRIu64
                  " refused_reserved_source=%" PRIu64 " refused_bad_source=%" PRIu64
                  " refused_bad_detail_type=%" PRIu64 " refused_bad_id=%" PRIu64
                  " refused_bad_time=%" PRIu64 " refused_non_finite=%" PRIu64
                  " api_requests=%" PRIu64 " api_errors=%" PRIu64 " ingest_rate=%zu",
             self->received, self->routed, self->unmatched, self->unknown_bus,
             self->malformed, self->oversized, self->queued, self->send_errors,
             self->ignored_subscriptions, self->queued_bytes, self->subscriptions,
             self->unsubscriptions, self->expired_targets, self->heartbeats,
             self->out_of_memory, self->connections, self->disconnections, self->accept_failures,
             self->refused_oversized_entry, self->refused_reserved_source, self->refused_bad_source,
             self->refused_bad_detail_type, self->refused_bad_id, self->refused_bad_time,
             self->refused_non_finite, self->api_requests, self->api_errors, self->ingest_rate);
    mesh_target_t *target;
    for (size_t i = 0; (target = mesh_targets_at (targets, i)); i++)
        fprintf (out, " target:%s=seq:%" PRIu64 ",delivered:%" PRIu64 ",no_subscriber:%" PRIu64
                      ",overflow:%" PRIu64 ",queued:%zu,subscribed:%d,subscribers:%" PRIu32
                      ",queued_bytes:%zu,routed:%d",
                 target->name, target->seq, target->delivered, target->no_subscriber,
                 target->overflow, mesh_queue_size (&target->queue), target->subscribers > 0,
                 target->subscribers, mesh_queue_bytes (&target->queue), target->routes > 0);
    if (fclose (out)) {
        free (line);
        return NULL;
    }
    return line;
}
