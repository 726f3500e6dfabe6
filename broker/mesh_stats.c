/*  mesh_stats.c: the counters rendered (mesh_stats.h)

    The log line keeps the keys of earlier versions first and in their
    order (scripts and tests read it by key), then the newer ones.
*/
#include "mesh_stats.h"

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
                  " refused_bad_time=%" PRIu64 " refused_non_finite=%" PRIu64,
             self->received, self->routed, self->unmatched, self->unknown_bus,
             self->malformed, self->oversized, self->queued, self->send_errors,
             self->ignored_subscriptions, self->queued_bytes, self->subscriptions,
             self->unsubscriptions, self->expired_targets, self->heartbeats,
             self->out_of_memory, self->connections, self->disconnections, self->accept_failures,
             self->refused_oversized_entry, self->refused_reserved_source, self->refused_bad_source,
             self->refused_bad_detail_type, self->refused_bad_id, self->refused_bad_time,
             self->refused_non_finite);
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
