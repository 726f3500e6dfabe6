/*  mesh_routes.h: bus -> compiled rules -> targets, built once, swapped whole

    The routes are what the rule files say, compiled: for each bus its
    ruleset and, for each rule, the targets it names with frame 1 of the
    deliveries of every (rule, target), its topic and header, but the
    sequence number, and the route's number for the target (which the
    targets registry keeps, so that it is the same in every rebuild). They
    are built
    from the loaded buses and never change; a reload builds new routes over
    the same targets registry and swaps them in whole, then destroys the
    old ones, so no event is ever matched against half of a rule set.

    The targets are the registry's (mesh_targets.h): routes hold a count on
    each target they name, so a target never expires while routes name it.
    Destroy routes before the registry they were built on.

    Matching allocates nothing: the hit and route buffers are sized here,
    once (which is the only state mesh_routes_match writes; one thread at a
    time). Bus lookup is a linear scan with memcmp: a broker serves a
    handful of buses; replace with a hash past a few dozen.
*/
#ifndef MESH_ROUTES_H_INCLUDED
#define MESH_ROUTES_H_INCLUDED

#include <czmq.h>
#include "mesh.h"
#include "mesh_config.h"
#include "mesh_targets.h"

typedef struct _mesh_routes_t mesh_routes_t;

//  One routing decision for an event: a (rule, target) pair.
typedef struct {
    const char *bus;
    const char *rule;
    mesh_target_t *target;
    uint32_t number;            //  the target's number for (bus, rule)
    const uint8_t *header;      //  its deliveries' frame 1, topic and header, but
    size_t header_size;         //  the sequence number (mesh_proto_delivery_prefix)
} mesh_route_t;

//  Build routes over buses, taking them (every *buses entry is nulled,
//  whatever the result), for the broker run epoch, creating in targets the
//  targets the rules name. Returns NULL with err if two files define the
//  same bus, the registry is full or memory is short.
mesh_routes_t *
    mesh_routes_new (mesh_bus_t **buses, size_t count, mesh_targets_t *targets,
                     const mesh_limits_t *limits, uint64_t epoch, mesh_error_t *err);

//  Release the routes' hold on their targets and free them.
void
    mesh_routes_destroy (mesh_routes_t **self_p);

//  Why mesh_routes_match refused a message.
#define MESH_ROUTES_MALFORMED    -1
#define MESH_ROUTES_UNKNOWN_BUS  -2
#define MESH_ROUTES_OVERSIZED    -3
//  One of EventBridge's limits: MESH_ROUTES_LIMIT + the MESH_EVENT_*
//  refusal of mesh_event_check (from -12, an oversized entry, to -18)
#define MESH_ROUTES_LIMIT        -10

//  Route one event that arrived as [bus][event]. Returns the number of
//  routes in *routes (borrowed until the next call; 0 when no rule
//  matched), or one of MESH_ROUTES_* with err saying what was wrong.
int
    mesh_routes_match (mesh_routes_t *self, const void *bus, size_t bus_size,
                       const void *event, size_t event_size,
                       const mesh_route_t **routes, mesh_error_t *err);

uint64_t
    mesh_routes_epoch (const mesh_routes_t *self);

//  Buses and rule counts, for the start-up line.
size_t
    mesh_routes_bus_count (const mesh_routes_t *self);
const mesh_bus_t *
    mesh_routes_bus_at (const mesh_routes_t *self, size_t index);

#endif
