/*  mesh_filter.c: the broker's rule stage

    Takes the buses loaded from rule files and answers, for each ingest
    message [bus][event], which (rule, target) pairs it goes to. It checks
    the message first (size, envelope, MessagePack) and counts whatever it
    refuses; it never logs (the proxy does, rate-limited) and allocates
    nothing per event: the hit and route buffers are sized once, here.

    Bus lookup is a linear scan with memcmp: a broker serves a handful of
    buses, and this avoids copying the bus frame into a C string per event.
    Replace with a hash if deployments grow past a few dozen buses.
*/
#include "mesh_broker.h"

#define MESH_MAX_TARGETS 10000      //  routed plus subscribed-to-unknown

typedef struct {
    mesh_bus_t *bus;
    const char *name;
    size_t name_size;
    const mesh_ruleset_t *ruleset;
    mesh_route_t **routes;          //  per rule: its (rule, target) routes, ended by a NULL target
} s_bus_t;

struct _mesh_filter_t {
    s_bus_t *buses;
    size_t bus_count;
    zhashx_t *target_index;         //  name -> mesh_target_t *
    mesh_target_t **targets;        //  in creation order
    size_t target_count;
    uint32_t *hits;                 //  room for the largest ruleset
    mesh_route_t *routes;           //  room for every (rule, target) of a bus
    mesh_limits_t limits;
    uint64_t epoch;
    mesh_filter_stats_t stats;
};

mesh_target_t *
mesh_filter_target (mesh_filter_t *self, const void *topic, size_t size, bool create)
{
    char name [MESH_NAME_MAX + 1];
    if (mesh_proto_topic_parse (topic, size, name, NULL))
        return NULL;
    mesh_target_t *target = zhashx_lookup (self->target_index, name);
    if (target || !create || self->target_count >= MESH_MAX_TARGETS)
        return target;
    target = calloc (1, sizeof (mesh_target_t));
    mesh_target_t **targets = realloc (self->targets, (self->target_count + 1) * sizeof (*targets));
    if (!target || !targets) {
        free (target);
        return NULL;
    }
    self->targets = targets;
    snprintf (target->name, sizeof (target->name), "%s", name);
    memcpy (target->topic, name, size);
    target->topic_size = size;
    self->targets [self->target_count++] = target;
    zhashx_insert (self->target_index, name, target);
    return target;
}

mesh_target_t *
mesh_filter_target_at (mesh_filter_t *self, size_t index)
{
    return index < self->target_count? self->targets [index]: NULL;
}

void
mesh_filter_destroy (mesh_filter_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mesh_filter_t *self = *self_p;
    for (size_t i = 0; i < self->bus_count; i++) {
        s_bus_t *bus = &self->buses [i];
        size_t rules = bus->ruleset? mesh_ruleset_size (bus->ruleset): 0;
        for (size_t r = 0; bus->routes && r < rules; r++) {
            for (mesh_route_t *route = bus->routes [r]; route && route->target; route++)
                free ((void *) route->header);
            free (bus->routes [r]);
        }
        free (bus->routes);
        mesh_bus_destroy (&bus->bus);
    }
    free (self->buses);
    for (size_t i = 0; i < self->target_count; i++)
        free (self->targets [i]);
    free (self->targets);
    zhashx_destroy (&self->target_index);
    free (self->hits);
    free (self->routes);
    free (self);
    *self_p = NULL;
}

mesh_filter_t *
mesh_filter_new (mesh_bus_t **buses, size_t count, const mesh_limits_t *limits, uint64_t epoch,
                 mesh_error_t *err)
{
    mesh_filter_t *self = calloc (1, sizeof (mesh_filter_t));
    assert (self);
    self->limits = *limits;
    self->epoch = epoch;
    self->target_index = zhashx_new ();
    self->buses = calloc (count? count: 1, sizeof (s_bus_t));
    assert (self->buses);
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
        assert (bus->routes);
        size_t routes = 0;
        for (size_t r = 0; r < rules; r++) {
            size_t target_count;
            const char *const *names = mesh_bus_targets (bus->bus, r, &target_count);
            const char *rule_name = mesh_rule_name (mesh_ruleset_rule (bus->ruleset, r));
            bus->routes [r] = calloc (target_count + 1, sizeof (mesh_route_t));
            assert (bus->routes [r]);
            for (size_t t = 0; t < target_count; t++) {
                char topic [MESH_TOPIC_MAX];
                size_t size = mesh_proto_topic (names [t], topic);
                mesh_target_t *target = size? mesh_filter_target (self, topic, size, true): NULL;
                if (!target) {
                    mesh_error_set (err, MESH_EINVAL, "too many targets (at most %d)", MESH_MAX_TARGETS);
                    goto fail;
                }
                target->routed = true;
                //  The delivery header but its sequence number, once per
                //  (rule, target): the hot path appends the number.
                uint8_t header [MESH_PROTO_HEADER_MAX];
                size_t header_size = mesh_proto_delivery_prefix (bus->name, rule_name, target->name, epoch,
                                                                 header, sizeof (header), err);
                if (!header_size)
                    goto fail;
                uint8_t *copy = malloc (header_size);
                assert (copy);
                memcpy (copy, header, header_size);
                bus->routes [r][t] = (mesh_route_t) { bus->name, rule_name, target, copy, header_size };
            }
            routes += target_count;
        }
        if (rules > max_rules)
            max_rules = rules;
        if (routes > max_routes)
            max_routes = routes;
    }
    self->hits = calloc (max_rules, sizeof (uint32_t));
    self->routes = calloc (max_routes, sizeof (mesh_route_t));
    assert (self->hits && self->routes);
    return self;
fail:
    for (size_t i = 0; i < count; i++)
        mesh_bus_destroy (&buses [i]);
    mesh_filter_destroy (&self);
    return NULL;
}

void
mesh_filter_count_malformed (mesh_filter_t *self)
{
    self->stats.received++;
    self->stats.malformed++;
}

int
mesh_filter_route (mesh_filter_t *self, const void *bus_name, size_t bus_size,
                   const void *event, size_t event_size, mesh_route_t **routes, mesh_error_t *err)
{
    self->stats.received++;
    s_bus_t *bus = NULL;
    for (size_t i = 0; i < self->bus_count; i++)
        if (self->buses [i].name_size == bus_size
        &&  memcmp (self->buses [i].name, bus_name, bus_size) == 0) {
            bus = &self->buses [i];
            break;
        }
    if (!bus) {
        self->stats.unknown_bus++;
        //  Print the name safely: it is untrusted bytes.
        char shown [65];
        size_t n = bus_size < 64? bus_size: 64;
        for (size_t i = 0; i < n; i++) {
            char c = ((const char *) bus_name) [i];
            shown [i] = c >= 0x20 && c < 0x7f? c: '?';
        }
        shown [n] = '\0';
        mesh_error_set (err, MESH_EINVAL, "unknown bus '%s'%s", shown, bus_size > 64? "...": "");
        return MESH_FILTER_UNKNOWN_BUS;
    }
    if (event_size > self->limits.max_event_size) {
        self->stats.oversized++;
        mesh_error_set (err, MESH_ETOOBIG, "bus '%s': event of %zu bytes is over the limit of %zu",
                        bus->name, event_size, self->limits.max_event_size);
        return MESH_FILTER_OVERSIZED;
    }
    mesh_error_t check_err = { 0 };
    if (mesh_event_check (event, event_size, &self->limits, NULL, &check_err)) {
        self->stats.malformed++;
        mesh_error_set (err, check_err.code, "bus '%s': %s", bus->name, check_err.text);
        return MESH_FILTER_MALFORMED;
    }
    int hits = mesh_ruleset_match (bus->ruleset, event, event_size, self->hits, &check_err);
    if (hits < 0) {
        self->stats.malformed++;
        mesh_error_set (err, check_err.code, "bus '%s': %s", bus->name, check_err.text);
        return MESH_FILTER_MALFORMED;
    }
    size_t count = 0;
    for (int h = 0; h < hits; h++) {
        uint32_t rule = self->hits [h];
        for (const mesh_route_t *route = bus->routes [rule]; route->target; route++)
            self->routes [count++] = *route;
    }
    if (count)
        self->stats.routed++;
    else
        self->stats.unmatched++;
    *routes = self->routes;
    return (int) count;
}

void
mesh_filter_stats (const mesh_filter_t *self, mesh_filter_stats_t *stats)
{
    *stats = self->stats;
}

uint64_t
mesh_filter_epoch (const mesh_filter_t *self)
{
    return self->epoch;
}

size_t
mesh_filter_bus_count (const mesh_filter_t *self)
{
    return self->bus_count;
}

const mesh_bus_t *
mesh_filter_bus_at (const mesh_filter_t *self, size_t index)
{
    return index < self->bus_count? self->buses [index].bus: NULL;
}
