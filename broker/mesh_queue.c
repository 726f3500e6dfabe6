/*  mesh_queue.c: a target's backlog (mesh_queue.h)

    A ring of items that doubles when full; mesh_queue_shrink frees it. The
    ring is unwrapped into the new array on growth: a zmq_msg_t may be
    moved with memcpy as long as the old copy is never used again.
*/
#include "mesh_queue.h"

#define S_FIRST_CAPACITY 64

void
mesh_queue_init (mesh_queue_t *self)
{
    assert (self);
    memset (self, 0, sizeof (*self));
}

void
mesh_queue_fini (mesh_queue_t *self)
{
    if (!self)
        return;
    while (self->count)
        mesh_queue_pop (self);
    free (self->items);
    memset (self, 0, sizeof (*self));
}

size_t
mesh_queue_cost (size_t header_size, size_t event_size)
{
    size_t cost = sizeof (mesh_queue_item_t);
    if (header_size > MESH_QUEUE_VSM_MAX)
        cost += header_size + MESH_QUEUE_MSG_OVERHEAD;
    if (event_size > MESH_QUEUE_VSM_MAX)
        cost += event_size + MESH_QUEUE_MSG_OVERHEAD;
    return cost;
}

int
mesh_queue_push (mesh_queue_t *self, mesh_queue_item_t *item, size_t limit, bool *out_of_memory)
{
    assert (self && item);
    if (out_of_memory)
        *out_of_memory = false;
    item->cost = mesh_queue_cost (zmq_msg_size (&item->header), zmq_msg_size (&item->event));
    if (self->bytes + item->cost > limit)
        return -1;
    if (self->count == self->capacity) {
        size_t capacity = self->capacity? self->capacity * 2: S_FIRST_CAPACITY;
        mesh_queue_item_t *items = malloc (capacity * sizeof (mesh_queue_item_t));
        if (!items) {
            if (out_of_memory)
                *out_of_memory = true;
            return -1;
        }
        for (size_t i = 0; i < self->count; i++)
            memcpy (&items [i], &self->items [(self->head + i) % self->capacity], sizeof (mesh_queue_item_t));
        free (self->items);
        self->items = items;
        self->capacity = capacity;
        self->head = 0;
    }
    memcpy (&self->items [(self->head + self->count) % self->capacity], item, sizeof (mesh_queue_item_t));
    self->count++;
    self->bytes += item->cost;
    return 0;
}

mesh_queue_item_t *
mesh_queue_front (mesh_queue_t *self)
{
    return self->count? &self->items [self->head]: NULL;
}

mesh_queue_kind_t
mesh_queue_pop (mesh_queue_t *self)
{
    assert (self->count);
    mesh_queue_item_t *item = &self->items [self->head];
    mesh_queue_kind_t kind = item->kind;
    assert (self->bytes >= item->cost);
    self->bytes -= item->cost;
    zmq_msg_close (&item->header);
    zmq_msg_close (&item->event);
    self->head = (self->head + 1) % self->capacity;
    if (--self->count == 0) {
        assert (self->bytes == 0);
        self->head = 0;
    }
    return kind;
}

void
mesh_queue_shrink (mesh_queue_t *self)
{
    if (self->count == 0 && self->capacity > S_FIRST_CAPACITY) {
        free (self->items);
        self->items = NULL;
        self->capacity = 0;
    }
}
