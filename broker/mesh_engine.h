/*  mesh_engine.h: the broker's actor, XSUB ingest -> routes -> XPUB deliver

    A zactor. Start it with zactor_new (mesh_engine_actor, args), args a
    mesh_engine_args_t that outlives the actor; the routes and the targets
    are the engine's while it runs (a reload replaces them) and go back
    in args->routes when it ends: destroy those, then the targets, after
    the actor. Commands on its pipe:
      "ENDPOINTS"  -> "OK", ingest, deliver, api (the bound endpoints; ingest
                      "" until it opens, api "" without --api), or "ERROR",
                      text when a bind failed
      "STATS"      -> one line of counters (mesh_stats_line)
      "RELOAD"     -> "OK", or "ERROR", text: the rule files read again and
                      the routes swapped between two events (SIGHUP)
      "$TERM"      -> stops
*/
#ifndef MESH_ENGINE_H_INCLUDED
#define MESH_ENGINE_H_INCLUDED

#include "mesh_broker.h"
#include "mesh_routes.h"
#include "mesh_targets.h"

typedef struct {
    mesh_routes_t *routes;      //  the engine's while it runs; the current ones when it ends
    mesh_targets_t *targets;
    const mesh_broker_options_t *options;
    //  Reload: the rule files compiled again into new routes over the same
    //  targets, for the run's epoch, or NULL with err (the old ones stay)
    mesh_routes_t *(*reload) (void *arg, uint64_t epoch, mesh_error_t *err);
    void *reload_arg;
} mesh_engine_args_t;

void
    mesh_engine_actor (zsock_t *pipe, void *args);

#endif
