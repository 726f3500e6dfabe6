/*  mesh_metrics.h: the broker's counters for Prometheus, over HTTP

    --metrics [HOST:]PORT starts an HTTP server (libmicrohttpd, its own
    thread) on loopback unless a host is given: GET /metrics answers
    Prometheus's text format, GET /healthz "ok". The page is rendered by
    the engine, in its thread, from the counters it owns (mesh_stats.h's
    mesh_stats_prometheus), once a second and only when a scrape came since
    the last one, and handed here under a lock; a scrape reads the latest,
    at most a second old, and never touches the engine's state.
*/
#ifndef MESH_METRICS_H_INCLUDED
#define MESH_METRICS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "mesh.h"
#include "mesh_routes.h"
#include "mesh_stats.h"
#include "mesh_targets.h"

typedef struct _mesh_metrics_t mesh_metrics_t;

//  Listen on address ("9464", "127.0.0.1:9464", "0.0.0.0:0"...); the
//  URL it listens at into url. NULL with err when the address is not one
//  or the port is taken.
mesh_metrics_t *
    mesh_metrics_start (const char *address, char *url, size_t url_size, mesh_error_t *err);

void
    mesh_metrics_stop (mesh_metrics_t **self_p);

//  True when a scrape came since the last page was published.
bool
    mesh_metrics_wanted (mesh_metrics_t *self);

//  The page for the engine's state now: every counter of mesh_stats_t
//  (counters as mesh_NAME_total, gauges as mesh_NAME), each target's,
//  EventBridge's metrics by bus and by rule (the rules that matched an
//  event), and the connections open. A malloc'd string, or NULL.
char *
    mesh_metrics_render (const mesh_stats_t *stats, mesh_targets_t *targets, const mesh_routes_t *routes,
                         size_t peers);

//  The new page (taken: a malloc'd string).
void
    mesh_metrics_publish (mesh_metrics_t *self, char *page);

#endif
