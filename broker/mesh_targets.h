/*  mesh_targets.h: the targets registry, what outlives a rebuild of the routes

    A target is a subscriber topic: its name, the last sequence number
    given out, how many subscriptions it has, what was delivered or lost,
    and its backlog. Routes (mesh_routes.h) point at targets; rebuilding
    the routes from new rule files keeps every target and so its sequence
    numbers and queue: a subscriber sees no false restart.

    A target exists while a route names it (routes > 0) or a subscriber
    holds it. Those that exist only because someone subscribed are bounded
    (max_unrouted) and expire: at once when their last subscriber leaves
    and they never gave out a sequence number, after idle_ms otherwise (a
    target a reload dropped keeps its numbers for a while in case it comes
    back). Pointers to a target stay valid until it expires; a target with
    routes never does.
*/
#ifndef MESH_TARGETS_H_INCLUDED
#define MESH_TARGETS_H_INCLUDED

#include <czmq.h>
#include "mesh.h"
#include "mesh_queue.h"

typedef struct {
    char name [MESH_NAME_MAX + 1];
    char topic [MESH_TOPIC_MAX];        //  name and its NUL
    size_t topic_size;
    uint32_t routes;            //  (rule, target) routes naming it, over every routes table alive
    uint32_t subscribers;       //  subscriptions to its topic now
    uint64_t seq;               //  last sequence number given out
    uint64_t delivered;         //  handed to the subscriber socket
    uint64_t no_subscriber;     //  routed while nobody subscribed
    uint64_t overflow;          //  dropped: its backlog was full
    uint64_t heartbeats;        //  heartbeats handed to the socket
    mesh_queue_t queue;         //  what its subscribers could not take yet
    int64_t idle_since;         //  zclock_mono when it lost its last route and subscriber
    size_t index;               //  in the registry (changes when another expires)
} mesh_target_t;

typedef struct _mesh_targets_t mesh_targets_t;

//  A registry of at most max_targets targets, of which at most max_unrouted
//  exist only because of a subscription. Returns NULL if out of memory.
mesh_targets_t *
    mesh_targets_new (size_t max_targets, size_t max_unrouted);

//  Frees every target and its queue.
void
    mesh_targets_destroy (mesh_targets_t **self_p);

//  The target for a topic ("name\0"), or NULL if none.
mesh_target_t *
    mesh_targets_lookup (mesh_targets_t *self, const void *topic, size_t size);

//  The target for a valid name, created if missing. for_route: a route
//  will name it (counts against max_targets only), else a subscriber wants
//  it (counts against max_unrouted too). Returns NULL when the name is not
//  valid, the registry is full or memory is short.
mesh_target_t *
    mesh_targets_ensure (mesh_targets_t *self, const char *name, bool for_route);

//  A route now names target / no longer does.
void
    mesh_targets_route (mesh_targets_t *self, mesh_target_t *target);
void
    mesh_targets_unroute (mesh_targets_t *self, mesh_target_t *target);

//  A subscription to its topic came / went.
void
    mesh_targets_subscribe (mesh_targets_t *self, mesh_target_t *target);
void
    mesh_targets_unsubscribe (mesh_targets_t *self, mesh_target_t *target);

//  Remove targets with no route and no subscriber that have been idle
//  idle_ms at now, or that never gave out a number. Returns how many.
size_t
    mesh_targets_expire (mesh_targets_t *self, int64_t now, int64_t idle_ms);

//  Iterate: index from 0 until NULL (removal moves the last into the hole).
mesh_target_t *
    mesh_targets_at (mesh_targets_t *self, size_t index);

size_t
    mesh_targets_size (const mesh_targets_t *self);

//  Targets that exist only because of a subscription.
size_t
    mesh_targets_unrouted (const mesh_targets_t *self);

#endif
