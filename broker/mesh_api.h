/*  mesh_api.h: the broker's API, one request in and one reply out

    The engine binds a ROUTER socket (--api) and hands each message that
    arrives on it to mesh_api_handle, in its own thread, between rounds of
    ingest: the API reads the same counters, routes and targets the engine
    writes, with no lock and no copy. docs/protocol.md ("The API") is the
    specification: a request is one MessagePack map {"v": 3, "op": ...}
    after an empty delimiter frame (what a REQ socket sends), the reply the
    same envelope and a map {"v": 3, "op", "ok": true, ...} or {"ok": false,
    "error": {"code", "message"}}.

    Every request gets a reply, whatever its bytes: a message that is not
    [identity][""][one map] or a map that does not say what the API knows
    is answered with an error and counted (api_errors), and the broker goes
    on. The one exception is a frame over the socket's message size limit,
    which libzmq refuses before anyone reads it by closing the connection
    (counted among the disconnections).
*/
#ifndef MESH_API_H_INCLUDED
#define MESH_API_H_INCLUDED

#include <czmq.h>
#include "mesh_broker.h"
#include "mesh_routes.h"
#include "mesh_stats.h"
#include "mesh_tap.h"
#include "mesh_targets.h"
#include "mesh_watch.h"

//  What a request may read: the engine's state, borrowed.
typedef struct {
    const mesh_stats_t *stats;
    mesh_targets_t *targets;
    const mesh_routes_t *routes;
    const mesh_broker_options_t *options;
    uint64_t epoch;             //  the run's start, ms since 1970
    int64_t started;            //  zclock_mono at the start
    bool ingest_open;
    //  put-events: route one event as if it came on ingest (counted as
    //  received); returns the routes it took (0: no rule matched) or a
    //  MESH_ROUTES_* refusal with err
    int (*put) (void *engine, const char *bus, const void *event, size_t size, mesh_error_t *err);
    //  reload: the rule files read again and the routes swapped; the new
    //  routes, or NULL with err (the old ones stay)
    const mesh_routes_t *(*reload) (void *engine, mesh_error_t *err);
    void *engine;
    const mesh_watch_t *watch;  //  the socket monitor's events (NULL: none kept)
    mesh_taps_t *taps;          //  tap-open, tap-read, tap-close (NULL: out of memory at start)
} mesh_api_state_t;

//  A request's largest frame; the socket refuses (disconnects) past
//  MESH_API_FRAME_LIMIT, and a frame between the two is answered with
//  RequestTooLarge.
#define MESH_API_REQUEST_MAX   (4u << 20)
#define MESH_API_FRAME_LIMIT   (8u << 20)

//  Read one message from the ROUTER socket (non-blocking) and send its
//  reply. Returns 1 if a request was answered, 0 if none was waiting, -1
//  if the reply could not be sent (counted as an error). *refused is set
//  when the request was refused (an error reply), with why in err.
int
    mesh_api_handle (void *router, const mesh_api_state_t *state, bool *refused, mesh_error_t *err);

#endif
