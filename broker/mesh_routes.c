/*  mesh_routes.c: bus -> compiled rules -> targets (mesh_routes.h)

    Everything that depends on the rule files, and nothing that depends on
    what happened since: counters and sequence numbers are the targets'
    and the engine's. Every allocation here is checked: rule files come
    from outside, and a huge one must be refused, not abort the broker.
*/
#include "mesh_routes.h"

//  Routes' headers, packed end to end: a bus of 100,000 rules has as many
//  headers of some 35 bytes, which a malloc each would spread over as many
//  allocations (and their rounding).
#define S_BLOCK_SIZE    (65536 - 64)

typedef struct s_block_s {
    struct s_block_s *next;
    size_t used;
    uint8_t data [S_BLOCK_SIZE];
} s_block_t;

typedef struct {
    mesh_bus_t *bus;
    const char *name;
    size_t name_size;
    const mesh_ruleset_t *ruleset;
    size_t rule_count;
    mesh_route_t **routes;      //  per rule: its routes, ended by a NULL target,
    mesh_route_t *all;          //  in here: every rule's, one allocation
    s_block_t *headers;         //  the routes' headers, newest block first
    mesh_routes_counts_t counts;        //  what its events did (mesh_routes.h)
    uint64_t *triggered;        //  per enabled rule: events it matched
    uint32_t *target_counts;    //  per enabled rule: its targets
    mesh_ruleset_t *merged;     //  its rules and taps' patterns (mesh_routes_set_taps), or NULL
    uint32_t merged_slots [MESH_ROUTES_TAP_SLOTS];  //  rule rule_count + k is slot merged_slots [k]'s
    uint32_t merged_mask;       //  the slots it decides
} s_bus_t;

struct _mesh_routes_t {
    s_bus_t *buses;
    size_t bus_count;
    mesh_targets_t *targets;
    uint32_t *hits;             //  room for the largest ruleset
    mesh_route_t *matched;      //  room for every (rule, target) of a bus
    mesh_limits_t limits;
    uint64_t epoch;
    uint32_t tap_decided;       //  the last match's (mesh_routes_tap_hits)
    uint32_t tap_matched;
};

void
mesh_routes_destroy (mesh_routes_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mesh_routes_t *self = *self_p;
    for (size_t i = 0; i < self->bus_count; i++) {
        s_bus_t *bus = &self->buses [i];
        for (size_t r = 0; bus->routes && r < bus->rule_count; r++) {
            for (mesh_route_t *route = bus->routes [r]; route && route->target; route++)
                mesh_targets_unroute (self->targets, route->target);
        }
        free (bus->routes);
        free (bus->all);
        free (bus->triggered);
        free (bus->target_counts);
        mesh_ruleset_destroy (&bus->merged);
        while (bus->headers) {
            s_block_t *next = bus->headers->next;
            free (bus->headers);
            bus->headers = next;
        }
        mesh_bus_destroy (&bus->bus);
    }
    free (self->buses);
    free (self->hits);
    free (self->matched);
    free (self);
    *self_p = NULL;
}

//  A copy of a route's header in the bus's blocks; NULL if out of memory.
static const uint8_t *
s_header_copy (s_bus_t *bus, const uint8_t *header, size_t size)
{
    assert (size <= S_BLOCK_SIZE);
    s_block_t *block = bus->headers;
    if (!block || S_BLOCK_SIZE - block->used < size) {
        block = (s_block_t *) malloc (sizeof (s_block_t));
        if (!block)
            return NULL;
        block->next = bus->headers;
        block->used = 0;
        bus->headers = block;
    }
    uint8_t *copy = block->data + block->used;
    memcpy (copy, header, size);
    block->used += size;
    return copy;
}

//  The routes of rule r of bus, from *next in bus->all (which moves past
//  them and their end): one per target, each holding its target.
static int
s_build_rule (mesh_routes_t *self, s_bus_t *bus, size_t r, mesh_route_t **next, mesh_error_t *err)
{
    size_t target_count;
    const char *const *names = mesh_bus_targets (bus->bus, r, &target_count);
    const char *rule_name = mesh_rule_name (mesh_ruleset_rule (bus->ruleset, r));
    bus->routes [r] = *next;
    *next += target_count + 1;
    for (size_t t = 0; t < target_count; t++) {
        mesh_target_t *target = mesh_targets_ensure (self->targets, names [t], true);
        if (!target)
            return mesh_error_set (err, MESH_EINVAL, "bus '%s': rule '%s': cannot add target '%s' "
                                   "(too many targets, or out of memory)", bus->name, rule_name, names [t]);
        //  Frame 1 of its deliveries, the topic and the header, but the
        //  sequence number, once per (rule, target): the hot path appends
        //  the number. The header names the route by the target's number
        //  for it, which outlives these routes.
        uint32_t number;
        if (mesh_targets_route_number (self->targets, target, bus->name, rule_name, &number))
            return mesh_error_set (err, MESH_ENOMEM, "bus '%s': rule '%s': cannot number its route to "
                                   "target '%s' (out of memory, or over %u routes to one target)",
                                   bus->name, rule_name, target->name, MESH_PROTO_ROUTE_MAX);
        uint8_t header [MESH_PROTO_HEAD_MAX];
        size_t header_size = mesh_proto_delivery_prefix (target->name, number, header, sizeof (header), err);
        if (!header_size)
            return -1;
        const uint8_t *copy = s_header_copy (bus, header, header_size);
        if (!copy)
            return mesh_error_set (err, MESH_ENOMEM, "bus '%s': out of memory", bus->name);
        bus->routes [r][t] = (mesh_route_t) { bus->name, rule_name, target, number, copy, header_size };
        mesh_targets_route (self->targets, target);
    }
    return 0;
}

mesh_routes_t *
mesh_routes_new (mesh_bus_t **buses, size_t count, mesh_targets_t *targets,
                 const mesh_limits_t *limits, uint64_t epoch, mesh_error_t *err)
{
    assert (targets && limits);
    mesh_routes_t *self = calloc (1, sizeof (mesh_routes_t));
    if (!self || !(self->buses = calloc (count? count: 1, sizeof (s_bus_t)))) {
        mesh_error_set (err, MESH_ENOMEM, "routes: out of memory");
        goto fail;
    }
    self->targets = targets;
    self->limits = *limits;
    self->epoch = epoch;
    size_t max_rules = 1, max_routes = 1;
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < self->bus_count; j++)
            if (streq (self->buses [j].name, mesh_bus_name (buses [i]))) {
                mesh_error_set (err, MESH_EINVAL, "bus '%s' is defined twice: in %s and in %s",
                                mesh_bus_name (buses [i]), mesh_bus_origin (self->buses [j].bus),
                                mesh_bus_origin (buses [i]));
                goto fail;
            }
        s_bus_t *bus = &self->buses [self->bus_count++];
        bus->bus = buses [i];
        buses [i] = NULL;
        bus->name = mesh_bus_name (bus->bus);
        bus->name_size = strlen (bus->name);
        bus->ruleset = mesh_bus_ruleset (bus->bus);
        size_t rules = mesh_ruleset_size (bus->ruleset);
        bus->routes = calloc (rules? rules: 1, sizeof (mesh_route_t *));
        bus->triggered = calloc (rules? rules: 1, sizeof (uint64_t));
        bus->target_counts = calloc (rules? rules: 1, sizeof (uint32_t));
        if (!bus->routes || !bus->triggered || !bus->target_counts) {
            mesh_error_set (err, MESH_ENOMEM, "bus '%s': out of memory", bus->name);
            goto fail;
        }
        bus->rule_count = rules;
        size_t routes = 0;
        for (size_t r = 0; r < rules; r++) {
            size_t target_count;
            mesh_bus_targets (bus->bus, r, &target_count);
            routes += target_count;
            bus->target_counts [r] = (uint32_t) target_count;
        }
        bus->all = calloc (routes + rules + 1, sizeof (mesh_route_t));
        if (!bus->all) {
            mesh_error_set (err, MESH_ENOMEM, "bus '%s': out of memory", bus->name);
            goto fail;
        }
        mesh_route_t *next = bus->all;
        for (size_t r = 0; r < rules; r++)
            if (s_build_rule (self, bus, r, &next, err))
                goto fail;
        if (rules > max_rules)
            max_rules = rules;
        if (routes > max_routes)
            max_routes = routes;
    }
    self->hits = calloc (max_rules + MESH_ROUTES_TAP_SLOTS, sizeof (uint32_t));
    self->matched = calloc (max_routes, sizeof (mesh_route_t));
    if (!self->hits || !self->matched) {
        mesh_error_set (err, MESH_ENOMEM, "routes: out of memory");
        goto fail;
    }
    return self;
fail:
    for (size_t i = 0; i < count; i++)
        mesh_bus_destroy (&buses [i]);
    mesh_routes_destroy (&self);
    return NULL;
}

int
mesh_routes_match (mesh_routes_t *self, const void *bus_name, size_t bus_size,
                   const void *event, size_t event_size, const mesh_route_t **routes, mesh_error_t *err)
{
    s_bus_t *bus = NULL;
    self->tap_decided = self->tap_matched = 0;
    for (size_t i = 0; i < self->bus_count; i++)
        if (self->buses [i].name_size == bus_size
        &&  memcmp (self->buses [i].name, bus_name, bus_size) == 0) {
            bus = &self->buses [i];
            break;
        }
    if (!bus) {
        //  Print the name safely: it is untrusted bytes.
        char shown [65];
        size_t n = bus_size < 64? bus_size: 64;
        for (size_t i = 0; i < n; i++) {
            char c = ((const char *) bus_name) [i];
            shown [i] = c >= 0x20 && c < 0x7f? c: '?';
        }
        shown [n] = '\0';
        mesh_error_set (err, MESH_EINVAL, "unknown bus '%s'%s", shown, bus_size > 64? "...": "");
        return MESH_ROUTES_UNKNOWN_BUS;
    }
    if (event_size > self->limits.max_event_size) {
        mesh_error_set (err, MESH_ETOOBIG, "bus '%s': event of %zu bytes is over the limit of %zu",
                        bus->name, event_size, self->limits.max_event_size);
        return MESH_ROUTES_OVERSIZED;
    }
    //  The check and the match in one walk (mesh_ruleset_match_event)
    mesh_error_t check_err = { 0 };
    int hits = mesh_ruleset_match_event (bus->merged? bus->merged: bus->ruleset, event, event_size,
                                         &self->limits, self->hits, &check_err);
    if (hits < 0) {
        mesh_error_set (err, check_err.code, "bus '%s': %s", bus->name, check_err.text);
        return hits == MESH_EVENT_MALFORMED? MESH_ROUTES_MALFORMED: MESH_ROUTES_LIMIT + hits;
    }
    if (bus->merged) {
        //  The taps' patterns come last, after the bus's own rules: hits
        //  are ascending, so they end the list
        self->tap_decided = bus->merged_mask;
        while (hits > 0 && self->hits [hits - 1] >= bus->rule_count) {
            hits--;
            self->tap_matched |= 1u << bus->merged_slots [self->hits [hits] - bus->rule_count];
        }
    }
    size_t count = 0;
    for (int h = 0; h < hits; h++) {
        bus->triggered [self->hits [h]]++;
        for (const mesh_route_t *route = bus->routes [self->hits [h]]; route->target; route++)
            self->matched [count++] = *route;
    }
    bus->counts.events++;
    bus->counts.matched_events += hits > 0;
    bus->counts.invocations += count;
    *routes = self->matched;
    return (int) count;
}

const mesh_routes_counts_t *
mesh_routes_counts (const mesh_routes_t *self, size_t bus)
{
    return bus < self->bus_count? &self->buses [bus].counts: NULL;
}

uint64_t
mesh_routes_triggered (const mesh_routes_t *self, size_t bus, size_t rule, uint64_t *invocations)
{
    const s_bus_t *one = &self->buses [bus];
    assert (bus < self->bus_count && rule < one->rule_count);
    if (invocations)
        *invocations = one->triggered [rule] * one->target_counts [rule];
    return one->triggered [rule];
}

void
mesh_routes_tap_hits (const mesh_routes_t *self, uint32_t *decided, uint32_t *matched)
{
    *decided = self->tap_decided;
    *matched = self->tap_matched;
}

//  A rule compiled from its text, or NULL.
static mesh_rule_t *
s_rule_from (const char *name, const char *pattern, const mesh_rule_options_t *options)
{
    mesh_pattern_error_t problem;
    mesh_error_t err = { 0 };
    return mesh_rule_new_with (name, pattern, SIZE_MAX, options, &problem, &err);
}

//  Bus's rules again, then the patterns of the slots that watch it; NULL
//  when there are none, or it cannot be built (the taps walk on their own).
static mesh_ruleset_t *
s_merge (s_bus_t *bus, const mesh_routes_tap_t *slots, size_t count, const mesh_rule_options_t *options)
{
    bus->merged_mask = 0;
    size_t watching = 0;
    for (size_t i = 0; i < count; i++)
        watching += slots [i].pattern && (!slots [i].bus || streq (slots [i].bus, bus->name));
    if (!watching || bus->rule_count > MESH_ROUTES_MERGE_MAX)
        return NULL;
    const char **patterns = calloc (bus->rule_count + 1, sizeof (char *));
    mesh_ruleset_t *set = patterns? mesh_ruleset_new (): NULL;
    bool ok = set != NULL;
    for (size_t i = 0; ok && i < mesh_bus_rule_total (bus->bus); i++) {
        const char *pattern = NULL;
        int index = -1;
        mesh_bus_rule_info (bus->bus, i, &pattern, &index);
        if (index >= 0 && (size_t) index < bus->rule_count)
            patterns [index] = pattern;
    }
    for (size_t r = 0; ok && r < bus->rule_count; r++) {
        mesh_rule_t *rule = patterns [r]? s_rule_from (mesh_rule_name (mesh_ruleset_rule (bus->ruleset, r)),
                                                       patterns [r], options): NULL;
        ok = rule && mesh_ruleset_add (set, &rule) == (int) r;
        mesh_rule_destroy (&rule);
    }
    size_t k = 0;
    for (size_t i = 0; ok && i < count; i++)
        if (slots [i].pattern && (!slots [i].bus || streq (slots [i].bus, bus->name))) {
            mesh_rule_t *rule = s_rule_from ("tap", slots [i].pattern, options);
            ok = rule && mesh_ruleset_add (set, &rule) == (int) (bus->rule_count + k);
            mesh_rule_destroy (&rule);
            bus->merged_slots [k++] = (uint32_t) i;
        }
    mesh_error_t err = { 0 };
    ok = ok && mesh_ruleset_compile (set, &err) == 0;
    free (patterns);
    if (!ok) {
        mesh_ruleset_destroy (&set);
        return NULL;
    }
    for (size_t j = 0; j < k; j++)
        bus->merged_mask |= 1u << bus->merged_slots [j];
    return set;
}

size_t
mesh_routes_set_taps (mesh_routes_t *self, const mesh_routes_tap_t *slots, size_t count,
                      const mesh_rule_options_t *options)
{
    assert (count <= MESH_ROUTES_TAP_SLOTS);
    size_t merged = 0;
    for (size_t b = 0; b < self->bus_count; b++) {
        s_bus_t *bus = &self->buses [b];
        mesh_ruleset_destroy (&bus->merged);
        bus->merged = s_merge (bus, slots, count, options);
        merged += bus->merged != NULL;
    }
    return merged;
}

void
mesh_routes_carry (mesh_routes_t *self, const mesh_routes_t *previous)
{
    for (size_t b = 0; b < self->bus_count; b++) {
        s_bus_t *bus = &self->buses [b];
        const s_bus_t *old = NULL;
        for (size_t o = 0; o < previous->bus_count && !old; o++)
            if (streq (previous->buses [o].name, bus->name))
                old = &previous->buses [o];
        if (!old)
            continue;
        bus->counts = old->counts;
        //  A rule keeps its counts by name: the old ones' indexes by name,
        //  then a look for each new one (names are unique in a bus)
        zhashx_t *index = zhashx_new ();
        if (!index)
            continue;               //  out of memory: the rules' counts start afresh
        for (size_t r = 0; r < old->rule_count; r++)
            zhashx_insert (index, mesh_rule_name (mesh_ruleset_rule (old->ruleset, r)), (void *) (r + 1));
        for (size_t r = 0; r < bus->rule_count; r++) {
            size_t at = (size_t) zhashx_lookup (index, mesh_rule_name (mesh_ruleset_rule (bus->ruleset, r)));
            if (at)
                bus->triggered [r] = old->triggered [at - 1];
        }
        zhashx_destroy (&index);
    }
}

uint64_t
mesh_routes_epoch (const mesh_routes_t *self)
{
    return self->epoch;
}

size_t
mesh_routes_bus_count (const mesh_routes_t *self)
{
    return self->bus_count;
}

const mesh_bus_t *
mesh_routes_bus_at (const mesh_routes_t *self, size_t index)
{
    return index < self->bus_count? self->buses [index].bus: NULL;
}
