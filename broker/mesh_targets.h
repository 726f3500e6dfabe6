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

    A target also numbers its routes, the (bus, rule) pairs that deliver
    to it: a delivery names its route by number (docs/protocol.md), and
    the subscriber learns what the number means from a route message sent
    on the topic before the first delivery of the route after each hello.
    The numbers live here, not in the routes, so a rebuild keeps them (a
    subscriber's table stays right), and so does the record of which
    numbers were said since the last hello.
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
    //  Route numbers: "bus\nrule" by number and its hash, a hash table of
    //  the numbers by name, and one bit per number, set once the number was
    //  said since the last hello
    char **route_names;
    uint32_t *route_hashes;
    uint32_t route_count;
    uint32_t route_capacity;
    uint32_t *route_slots;      //  number + 1, 0 for empty; twice route_capacity
    uint64_t *announced;        //  route_capacity bits
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

//  The number of route (bus, rule) for target: the same for the life of
//  the target, given at its first use. Returns 0, or -1 when memory is
//  short or the target already numbers MESH_PROTO_ROUTE_MAX routes.
int
    mesh_targets_route_number (mesh_targets_t *self, mesh_target_t *target, const char *bus,
                               const char *rule, uint32_t *number);

//  Whether route number was said on target's topic since its last hello;
//  note that it was; forget every one (a hello is going out).
static inline bool
mesh_target_announced (const mesh_target_t *target, uint32_t number)
{
    return number < target->route_capacity && (target->announced [number / 64] >> (number % 64) & 1);
}
static inline void
mesh_target_announce (mesh_target_t *target, uint32_t number)
{
    if (number < target->route_capacity)
        target->announced [number / 64] |= (uint64_t) 1 << (number % 64);
}
void
    mesh_target_forget_announced (mesh_target_t *target);

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
