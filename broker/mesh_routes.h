/*  mesh_routes.h: bus -> compiled rules -> targets, built once, swapped whole

    The routes are what the rule files say, compiled (and what their
    events did, by bus and rule, which a reload carries over by name): for each bus its
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

//  What the events of one bus did, counted by mesh_routes_match (so in
//  the engine's thread): EventBridge's metrics, by bus and by rule.
typedef struct {
    uint64_t events;            //  taken on the bus (past the checks)
    uint64_t matched_events;    //  of them, those that matched a rule (MatchedEvents)
    uint64_t invocations;       //  (rule, target) deliveries they made (Invocations)
} mesh_routes_counts_t;

//  Bus index's counts (an index of mesh_routes_bus_at), or NULL.
const mesh_routes_counts_t *
    mesh_routes_counts (const mesh_routes_t *self, size_t bus);

//  How many events matched enabled rule index rule of bus index bus
//  (TriggeredRules, for that rule), and the deliveries they made
//  (Invocations) into *invocations when not NULL.
uint64_t
    mesh_routes_triggered (const mesh_routes_t *self, size_t bus, size_t rule, uint64_t *invocations);

//  After a reload: a bus and a rule that have the same name in previous
//  keep its counts, so that they count on across the swap.
void
    mesh_routes_carry (mesh_routes_t *self, const mesh_routes_t *previous);

//  Taps' patterns in the bus's own walk (mesh_tap.h). A tap's pattern
//  matched on its own is a second walk of every event of its bus; so each
//  bus of at most MESH_ROUTES_MERGE_MAX rules that a tap with a pattern
//  watches gets a second compiled set, its own rules (the same, in the
//  same order, compiled again from their text) and then those patterns,
//  which mesh_routes_match runs instead: one walk answers for both, and
//  the patterns' hits go to mesh_routes_tap_hits, never to routes or
//  counts. slots [i] is tap slot i's (bus NULL: every bus; pattern NULL:
//  none), count at most MESH_ROUTES_TAP_SLOTS. Rebuilt whole at each call
//  (a compile of each watched bus, in the caller's thread: milliseconds
//  for a thousand rules); a bus that cannot be rebuilt (memory, a rule
//  that no longer compiles) is left to the taps' own walk. Returns the
//  number of buses merged.
#define MESH_ROUTES_TAP_SLOTS   8
#define MESH_ROUTES_MERGE_MAX   10000

typedef struct {
    const char *bus;
    const char *pattern;
} mesh_routes_tap_t;

size_t
    mesh_routes_set_taps (mesh_routes_t *self, const mesh_routes_tap_t *slots, size_t count,
                          const mesh_rule_options_t *options);

//  After mesh_routes_match: the tap slots whose pattern the walk decided
//  for this event (bit i for slot i), and of those, the ones it matched.
//  Both are 0 for an event refused or of a bus not merged.
void
    mesh_routes_tap_hits (const mesh_routes_t *self, uint32_t *decided, uint32_t *matched);

//  Buses and rule counts, for the start-up line.
size_t
    mesh_routes_bus_count (const mesh_routes_t *self);
const mesh_bus_t *
    mesh_routes_bus_at (const mesh_routes_t *self, size_t index);

#endif
