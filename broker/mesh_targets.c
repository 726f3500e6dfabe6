/*  mesh_targets.c: the targets registry (mesh_targets.h)

    A hash from name to target and an array in creation order for
    iteration; removal swaps the last target into the hole, so iteration
    order is creation order only until something expires.
*/
#include "mesh_targets.h"

struct _mesh_targets_t {
    zhashx_t *index;            //  name -> mesh_target_t *
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
    self->index = zhashx_new ();
    if (!self->index) {
        free (self);
        return NULL;
    }
    self->max_targets = max_targets;
    self->max_unrouted = max_unrouted;
    return self;
}

static void
s_target_free (mesh_target_t *target)
{
    mesh_queue_fini (&target->queue);
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
    zhashx_destroy (&self->index);
    free (self);
    *self_p = NULL;
}

mesh_target_t *
mesh_targets_lookup (mesh_targets_t *self, const void *topic, size_t size)
{
    char name [MESH_NAME_MAX + 1];
    if (mesh_proto_topic_parse (topic, size, name, NULL))
        return NULL;
    return (mesh_target_t *) zhashx_lookup (self->index, name);
}

mesh_target_t *
mesh_targets_ensure (mesh_targets_t *self, const char *name, bool for_route)
{
    mesh_target_t *target = (mesh_target_t *) zhashx_lookup (self->index, name);
    if (target)
        return target;
    char topic [MESH_TOPIC_MAX];
    size_t topic_size = mesh_proto_topic (name, topic);
    if (!topic_size || self->count >= self->max_targets
    || (!for_route && self->unrouted >= self->max_unrouted))
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
    if (zhashx_insert (self->index, target->name, target)) {
        free (target);
        return NULL;
    }
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
        zhashx_delete (self->index, target->name);
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
