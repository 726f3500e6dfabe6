/*  mesh_broker.h: the broker's settings, shared by its modules

    The broker is a few modules, each in its own file (dependencies run
    down this list, never up):
      mesh_broker.c    main: options, rule files, signals, starts the engine
      mesh_engine.c    the actor: ingest -> routes -> deliver, demand,
                       backlogs, heartbeats, the API's socket
      mesh_api.c       the API's requests and replies
      mesh_watch.c     the socket monitor's events and the peers, kept
      mesh_metrics.c   the Prometheus page and its HTTP server
      mesh_routes.c    bus -> compiled rules -> targets, immutable
      mesh_targets.c   the targets registry, which outlives the routes
      mesh_queue.c     a target's backlog
      mesh_stats.c     the counters and their renderers
      mesh_log.c       gated (rate-limited) logging
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
    const char *api;            //  ROUTER bind endpoint of the API; "": none
    const char *metrics;        //  [HOST:]PORT of the Prometheus endpoint; "": none
    mesh_limits_t limits;       //  max_event_size applies to the wire frame
    mesh_rule_options_t rule_options;   //  patterns' limits (the API's test-event-pattern too)
    size_t backlog_bytes;       //  per target, queued while its subscriber is slow
    int sndhwm;                 //  XPUB high-water mark per subscriber
    int stats_interval_ms;      //  0: no periodic stats line
    int startup_grace_ms;       //  longest wait for routed targets before ingest opens
    int heartbeat_ms;           //  between heartbeats on each subscribed target; 0: none
    bool verbose;               //  log every routing decision (debug)
} mesh_broker_options_t;

#define MESH_VERSION "0.1.0"

//  At most this many targets, of which this many only subscribed to.
#define MESH_MAX_TARGETS            10000
#define MESH_MAX_UNROUTED_TARGETS   1000

#endif
