/*  mesh_engine.h: the broker's actor, XSUB ingest -> routes -> XPUB deliver

    A zactor. Start it with zactor_new (mesh_engine_actor, args), args a
    mesh_engine_args_t that outlives the actor; the routes and the targets
    stay the caller's (destroy the routes, then the targets, after the
    actor). Commands on its pipe:
      "ENDPOINTS"  -> "OK", ingest, deliver, api (the bound endpoints; ingest
                      "" until it opens, api "" without --api), or "ERROR",
                      text when a bind failed
      "STATS"      -> one line of counters (mesh_stats_line)
      "$TERM"      -> stops
*/
#ifndef MESH_ENGINE_H_INCLUDED
#define MESH_ENGINE_H_INCLUDED

#include "mesh_broker.h"
#include "mesh_routes.h"
#include "mesh_targets.h"

typedef struct {
    mesh_routes_t *routes;
    mesh_targets_t *targets;
    const mesh_broker_options_t *options;
} mesh_engine_args_t;

void
    mesh_engine_actor (zsock_t *pipe, void *args);

#endif
