/*  mesh_queue.h: a target's backlog, deliveries waiting for its subscriber

    A FIFO ring of messages ready to send: frame 1, the topic and the
    header, and, for a delivery, the event frame (a hello, a heartbeat or a
    route message has none). Its size in bytes is what the messages
    really cost in memory, not their payload: the item itself, libzmq's
    bookkeeping for each message held on the heap, and the bytes. The ring
    is given back to the allocator once the queue has drained
    (mesh_queue_shrink), so a target that had a backlog once does not keep
    its peak forever.

    No sockets here: the engine pushes what a subscriber could not take and
    pops what it sends. Allocation failure is an error (the push is
    refused), never an abort: a peer decides how long a queue grows.
*/
#ifndef MESH_QUEUE_H_INCLUDED
#define MESH_QUEUE_H_INCLUDED

#include <czmq.h>

typedef enum {
    MESH_QUEUE_DELIVERY,
    MESH_QUEUE_HELLO,
    MESH_QUEUE_HEARTBEAT,
    MESH_QUEUE_ROUTE
} mesh_queue_kind_t;

typedef struct {
    zmq_msg_t header;           //  frame 1: the topic, then the header
    zmq_msg_t event;            //  empty unless a delivery
    size_t cost;                //  what the item holds in memory, bytes
    mesh_queue_kind_t kind;
} mesh_queue_item_t;

typedef struct {
    mesh_queue_item_t *items;   //  ring
    size_t capacity;
    size_t head;
    size_t count;
    size_t bytes;               //  sum of the items' cost
} mesh_queue_t;

//  What libzmq spends on a message whose bytes are on the heap, over the
//  bytes themselves: its content block (refcount, free function, hint) and
//  the allocator's header. Messages of up to 33 bytes live inside the
//  zmq_msg_t and cost nothing more.
#define MESH_QUEUE_MSG_OVERHEAD  64
#define MESH_QUEUE_VSM_MAX       33

//  An empty queue in caller storage; it allocates nothing until a push.
void
    mesh_queue_init (mesh_queue_t *self);

//  Close every message and free the ring.
void
    mesh_queue_fini (mesh_queue_t *self);

//  The memory an item with these frames costs in a queue: header_size is
//  all of frame 1, the topic included.
size_t
    mesh_queue_cost (size_t header_size, size_t event_size);

//  Append item, taking its messages, if the queue's bytes stay within
//  limit; its cost is computed here. Returns 0, or -1 with the item
//  untouched (still the caller's) when over the limit or out of memory
//  (*out_of_memory says which, when not NULL).
int
    mesh_queue_push (mesh_queue_t *self, mesh_queue_item_t *item, size_t limit, bool *out_of_memory);

//  The oldest item, or NULL when empty. Borrowed until the next pop.
mesh_queue_item_t *
    mesh_queue_front (mesh_queue_t *self);

//  Drop the oldest item, closing its messages (they may have been sent:
//  closing a sent zmq_msg_t is harmless). Returns the item's kind.
mesh_queue_kind_t
    mesh_queue_pop (mesh_queue_t *self);

//  If the queue is empty, give a grown ring back to the allocator (the
//  first, small one stays). Call it now and then, not on every drain: a
//  busy target's queue empties and fills many times a second, and freeing
//  its ring each time would cost an mmap and page faults per refill.
void
    mesh_queue_shrink (mesh_queue_t *self);

static inline size_t
mesh_queue_size (const mesh_queue_t *self)
{
    return self->count;
}

static inline size_t
mesh_queue_bytes (const mesh_queue_t *self)
{
    return self->bytes;
}

#endif
