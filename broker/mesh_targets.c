/*  mesh_targets.c: the targets registry (mesh_targets.h)

    An array in creation order for iteration, and an open-addressing hash
    of the same pointers for lookup (our own rather than czmq's zhashx, which
    aborts when an allocation fails: subscribers decide how many targets
    there are, so running out of memory here must be a refusal). Removal
    swaps the last target into the hole, so iteration order is creation
    order only until something expires, and rebuilds the hash's chain
    around the hole (linear probing, backward-shift deletion).
*/
#include "mesh_targets.h"

struct _mesh_targets_t {
    mesh_target_t **slots;      //  hash: a power of two, at most half full
    size_t slot_count;
    mesh_target_t **targets;
    size_t count;
    size_t capacity;
    size_t unrouted;            //  targets with no route
    size_t max_targets;
    size_t max_unrouted;
};

mesh_targets_t *
mesh_targets_new (size_t max_targets, size_t max_unrouted)
{
    mesh_targets_t *self = calloc (1, sizeof (mesh_targets_t));
    if (!self)
        return NULL;
    self->max_targets = max_targets;
    self->max_unrouted = max_unrouted;
    return self;
}

static void
s_target_free (mesh_target_t *target)
{
    mesh_queue_fini (&target->queue);
    for (uint32_t i = 0; i < target->route_count; i++)
        free (target->route_names [i]);
    free (target->route_names);
    free (target->route_hashes);
    free (target->route_slots);
    free (target->announced);
    free (target);
}

void
mesh_targets_destroy (mesh_targets_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mesh_targets_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        s_target_free (self->targets [i]);
    free (self->targets);
    free (self->slots);
    free (self);
    *self_p = NULL;
}

//  FNV-1a over the name.
static size_t
s_hash (const char *name)
{
    uint64_t hash = 14695981039346656037ULL;
    for (; *name; name++)
        hash = (hash ^ (uint8_t) *name) * 1099511628211ULL;
    return (size_t) hash;
}

//  The slot holding name, or the empty slot where it would go.
static size_t
s_slot (const mesh_targets_t *self, const char *name)
{
    size_t mask = self->slot_count - 1;
    size_t slot = s_hash (name) & mask;
    while (self->slots [slot] && strcmp (self->slots [slot]->name, name) != 0)
        slot = (slot + 1) & mask;
    return slot;
}

static mesh_target_t *
s_find (const mesh_targets_t *self, const char *name)
{
    return self->slot_count? self->slots [s_slot (self, name)]: NULL;
}

//  Room in the hash for one more target; -1 if out of memory.
static int
s_reserve (mesh_targets_t *self)
{
    if ((self->count + 1) * 2 <= self->slot_count)
        return 0;
    size_t slot_count = self->slot_count? self->slot_count * 2: 64;
    mesh_target_t **slots = calloc (slot_count, sizeof (mesh_target_t *));
    if (!slots)
        return -1;
    mesh_target_t **old = self->slots;
    self->slots = slots;
    self->slot_count = slot_count;
    for (size_t i = 0; i < self->count; i++)
        self->slots [s_slot (self, self->targets [i]->name)] = self->targets [i];
    free (old);
    return 0;
}

//  Take name out of the hash, moving back what its removal would cut off.
static void
s_unhash (mesh_targets_t *self, const char *name)
{
    size_t mask = self->slot_count - 1;
    size_t hole = s_slot (self, name);
    assert (self->slots [hole]);
    self->slots [hole] = NULL;
    for (size_t slot = (hole + 1) & mask; self->slots [slot]; slot = (slot + 1) & mask) {
        size_t home = s_hash (self->slots [slot]->name) & mask;
        //  Move it into the hole if the hole lies between its home and it.
        if (((slot - home) & mask) >= ((slot - hole) & mask)) {
            self->slots [hole] = self->slots [slot];
            self->slots [slot] = NULL;
            hole = slot;
        }
    }
}

mesh_target_t *
mesh_targets_lookup (mesh_targets_t *self, const void *topic, size_t size)
{
    char name [MESH_NAME_MAX + 1];
    if (mesh_proto_topic_parse (topic, size, name, NULL))
        return NULL;
    return s_find (self, name);
}

mesh_target_t *
mesh_targets_ensure (mesh_targets_t *self, const char *name, bool for_route)
{
    mesh_target_t *target = s_find (self, name);
    if (target)
        return target;
    char topic [MESH_TOPIC_MAX];
    size_t topic_size = mesh_proto_topic (name, topic);
    if (!topic_size || self->count >= self->max_targets
    || (!for_route && self->unrouted >= self->max_unrouted))
        return NULL;
    if (s_reserve (self))
        return NULL;
    if (self->count == self->capacity) {
        size_t capacity = self->capacity? self->capacity * 2: 16;
        mesh_target_t **targets = realloc (self->targets, capacity * sizeof (mesh_target_t *));
        if (!targets)
            return NULL;
        self->targets = targets;
        self->capacity = capacity;
    }
    target = calloc (1, sizeof (mesh_target_t));
    if (!target)
        return NULL;
    snprintf (target->name, sizeof (target->name), "%s", name);
    memcpy (target->topic, topic, topic_size);
    target->topic_size = topic_size;
    mesh_queue_init (&target->queue);
    target->idle_since = zclock_mono ();
    self->slots [s_slot (self, target->name)] = target;
    target->index = self->count;
    self->targets [self->count++] = target;
    self->unrouted++;           //  until its first route
    return target;
}

void
mesh_targets_route (mesh_targets_t *self, mesh_target_t *target)
{
    if (target->routes++ == 0)
        self->unrouted--;
}

void
mesh_targets_unroute (mesh_targets_t *self, mesh_target_t *target)
{
    assert (target->routes > 0);
    if (--target->routes == 0) {
        self->unrouted++;
        if (target->subscribers == 0)
            target->idle_since = zclock_mono ();
    }
}

void
mesh_targets_subscribe (mesh_targets_t *self, mesh_target_t *target)
{
    target->subscribers++;
}

void
mesh_targets_unsubscribe (mesh_targets_t *self, mesh_target_t *target)
{
    if (target->subscribers && --target->subscribers == 0 && target->routes == 0)
        target->idle_since = zclock_mono ();
}

size_t
mesh_targets_expire (mesh_targets_t *self, int64_t now, int64_t idle_ms)
{
    size_t removed = 0;
    for (size_t i = 0; i < self->count; ) {
        mesh_target_t *target = self->targets [i];
        if (target->routes || target->subscribers
        || (target->seq && now - target->idle_since < idle_ms)) {
            i++;
            continue;
        }
        s_unhash (self, target->name);
        self->targets [i] = self->targets [--self->count];
        self->targets [i]->index = i;
        self->unrouted--;
        s_target_free (target);
        removed++;
    }
    return removed;
}

mesh_target_t *
mesh_targets_at (mesh_targets_t *self, size_t index)
{
    return index < self->count? self->targets [index]: NULL;
}

size_t
mesh_targets_size (const mesh_targets_t *self)
{
    return self->count;
}

size_t
mesh_targets_unrouted (const mesh_targets_t *self)
{
    return self->unrouted;
}

// --------------------------------------------------------------------------
//  Route numbers

//  The slot of the route named key ("bus\nrule", of hash hash), or the
//  empty slot where it would go. route_slots has 2 * route_capacity slots,
//  a power of two. Each number's hash is kept, so that a probe reads a
//  name only when the hashes agree (100,000 routes to one target are
//  100,000 names scattered over the heap) and growing reads none.
static size_t
s_route_slot (const mesh_target_t *target, const char *key, uint32_t hash)
{
    size_t mask = 2 * (size_t) target->route_capacity - 1;
    size_t slot = hash & mask;
    for (uint32_t found; (found = target->route_slots [slot]); slot = (slot + 1) & mask)
        if (target->route_hashes [found - 1] == hash && streq (target->route_names [found - 1], key))
            break;
    return slot;
}

//  Room for one more route number: names, hashes, slots and bits grow
//  together, so noting a number as said never allocates. -1 if out of
//  memory.
static int
s_route_reserve (mesh_target_t *target)
{
    if (target->route_count < target->route_capacity)
        return 0;
    uint32_t capacity = target->route_capacity? target->route_capacity * 2: 8;
    char **names = realloc (target->route_names, capacity * sizeof (char *));
    if (!names)
        return -1;
    target->route_names = names;
    uint32_t *hashes = realloc (target->route_hashes, capacity * sizeof (uint32_t));
    if (!hashes)
        return -1;
    target->route_hashes = hashes;
    uint32_t *slots = calloc (2 * (size_t) capacity, sizeof (uint32_t));
    uint64_t *announced = calloc ((capacity + 63) / 64, sizeof (uint64_t));
    if (!slots || !announced) {
        free (slots);
        free (announced);
        return -1;
    }
    if (target->announced)
        memcpy (announced, target->announced, ((target->route_capacity + 63) / 64) * sizeof (uint64_t));
    free (target->announced);
    free (target->route_slots);
    target->announced = announced;
    target->route_slots = slots;
    target->route_capacity = capacity;
    //  The names are distinct: each goes to the first empty slot
    size_t mask = 2 * (size_t) capacity - 1;
    for (uint32_t i = 0; i < target->route_count; i++) {
        size_t slot = target->route_hashes [i] & mask;
        while (slots [slot])
            slot = (slot + 1) & mask;
        slots [slot] = i + 1;
    }
    return 0;
}

int
mesh_targets_route_number (mesh_targets_t *self, mesh_target_t *target, const char *bus,
                           const char *rule, uint32_t *number)
{
    //  A newline is in neither alphabet (mesh_name.h): the key is unambiguous
    size_t bus_size = strlen (bus), rule_size = strlen (rule);
    char *key = malloc (bus_size + rule_size + 2);
    if (!key)
        return -1;
    memcpy (key, bus, bus_size);
    key [bus_size] = '\n';
    memcpy (key + bus_size + 1, rule, rule_size + 1);
    uint64_t wide = s_hash (key);
    uint32_t hash = (uint32_t) (wide ^ (wide >> 32));
    if (target->route_count) {
        uint32_t found = target->route_slots [s_route_slot (target, key, hash)];
        if (found) {
            free (key);
            *number = found - 1;
            return 0;
        }
    }
    if (target->route_count >= MESH_PROTO_ROUTE_MAX || s_route_reserve (target)) {
        free (key);
        return -1;
    }
    *number = target->route_count;
    target->route_names [target->route_count] = key;
    target->route_hashes [target->route_count++] = hash;
    target->route_slots [s_route_slot (target, key, hash)] = *number + 1;
    return 0;
}

void
mesh_target_forget_announced (mesh_target_t *target)
{
    if (target->announced)
        memset (target->announced, 0, ((target->route_capacity + 63) / 64) * sizeof (uint64_t));
}
