/*  test_queue.c: a target's backlog (broker/mesh_queue.c), without sockets */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "../broker/mesh_queue.h"

static void
s_item (mesh_queue_item_t *item, mesh_queue_kind_t kind, size_t header_size, size_t event_size, int tag)
{
    memset (item, 0, sizeof (*item));
    item->kind = kind;
    assert_int_equal (zmq_msg_init_size (&item->header, header_size), 0);
    memset (zmq_msg_data (&item->header), tag, header_size);
    assert_int_equal (zmq_msg_init_size (&item->event, event_size), 0);
}

static void
test_queue_is_fifo_across_growth (void **state)
{
    (void) state;
    mesh_queue_t queue;
    mesh_queue_init (&queue);
    //  Push and pop so that the ring wraps, then grow it while wrapped.
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 50; i++) {
            mesh_queue_item_t item;
            s_item (&item, MESH_QUEUE_DELIVERY, 40, 100, next_in++ & 0xff);
            assert_int_equal (mesh_queue_push (&queue, &item, SIZE_MAX, NULL), 0);
        }
        for (int i = 0; i < 30; i++) {
            mesh_queue_item_t *front = mesh_queue_front (&queue);
            assert_non_null (front);
            assert_int_equal (((uint8_t *) zmq_msg_data (&front->header)) [0], next_out++ & 0xff);
            mesh_queue_pop (&queue);
        }
    }
    assert_int_equal (mesh_queue_size (&queue), next_in - next_out);
    while (mesh_queue_front (&queue)) {
        assert_int_equal (((uint8_t *) zmq_msg_data (&mesh_queue_front (&queue)->header)) [0],
                          next_out++ & 0xff);
        mesh_queue_pop (&queue);
    }
    assert_int_equal (next_out, next_in);
    assert_int_equal (mesh_queue_bytes (&queue), 0);
    mesh_queue_fini (&queue);
}

//  The limit counts what an item costs, not only its payload: a queue of
//  small deliveries is full long before its payload reaches the limit.
static void
test_queue_counts_what_an_item_really_costs (void **state)
{
    (void) state;
    size_t cost = mesh_queue_cost (80, 372);
    assert_true (cost >= sizeof (mesh_queue_item_t) + 80 + 372 + 2 * MESH_QUEUE_MSG_OVERHEAD);
    //  Messages small enough to live inside their zmq_msg_t cost only the item.
    assert_int_equal (mesh_queue_cost (20, 0), sizeof (mesh_queue_item_t));

    mesh_queue_t queue;
    mesh_queue_init (&queue);
    size_t limit = 100 * cost;
    size_t pushed = 0;
    for (;;) {
        mesh_queue_item_t item;
        s_item (&item, MESH_QUEUE_DELIVERY, 80, 372, 1);
        bool oom = true;
        if (mesh_queue_push (&queue, &item, limit, &oom)) {
            assert_false (oom);
            zmq_msg_close (&item.header);       //  refused: still ours
            zmq_msg_close (&item.event);
            break;
        }
        pushed++;
    }
    assert_int_equal (pushed, 100);
    assert_int_equal (mesh_queue_bytes (&queue), 100 * cost);
    mesh_queue_fini (&queue);
    assert_int_equal (mesh_queue_size (&queue), 0);
}

//  A drained queue gives its grown ring back.
static void
test_queue_returns_memory_when_drained (void **state)
{
    (void) state;
    mesh_queue_t queue;
    mesh_queue_init (&queue);
    for (int i = 0; i < 10000; i++) {
        mesh_queue_item_t item;
        s_item (&item, i % 2? MESH_QUEUE_DELIVERY: MESH_QUEUE_HELLO, 40, i % 2? 64: 0, i);
        assert_int_equal (mesh_queue_push (&queue, &item, SIZE_MAX, NULL), 0);
    }
    assert_true (queue.capacity >= 10000);
    int hellos = 0;
    while (mesh_queue_size (&queue))
        hellos += mesh_queue_pop (&queue) == MESH_QUEUE_HELLO;
    assert_int_equal (hellos, 5000);
    assert_non_null (queue.items);      //  kept while it may fill again
    mesh_queue_shrink (&queue);
    assert_null (queue.items);
    assert_int_equal (queue.capacity, 0);
    assert_int_equal (mesh_queue_bytes (&queue), 0);
    mesh_queue_fini (&queue);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_queue_is_fifo_across_growth),
        cmocka_unit_test (test_queue_counts_what_an_item_really_costs),
        cmocka_unit_test (test_queue_returns_memory_when_drained),
    };
    return cmocka_run_group_tests_name ("queue", tests, NULL, NULL);
}
