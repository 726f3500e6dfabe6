/*  test_routes.c: bus -> rules -> targets (broker/mesh_routes.c), without sockets

    The routes are rebuilt whole from rule files; the targets registry is
    what survives: sequence numbers and backlogs stay with their targets.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "mesh.h"
#include "../broker/mesh_routes.h"

static const char s_example [] =
    "{\"bus\":\"eda_bus\",\"rules\":["
    "{\"name\":\"payment-processed\",\"event_pattern\":{\"source\":[\"demo.payments\"],"
    "\"detail\":{\"total_cost\":[{\"numeric\":[\">\",200]}]}},\"targets\":[{\"name\":\"rewards\"}]},"
    "{\"name\":\"payment-to-warehouse\",\"event_pattern\":{\"source\":[\"demo.payments\"]},"
    "\"targets\":[{\"name\":\"warehouse\"},{\"name\":\"shipping\"}]}]}";

//  The same bus, reloaded: rewards is gone, audit is new.
static const char s_reloaded [] =
    "{\"bus\":\"eda_bus\",\"rules\":["
    "{\"name\":\"payment-to-warehouse\",\"event_pattern\":{\"source\":[\"demo.payments\"]},"
    "\"targets\":[{\"name\":\"warehouse\"},{\"name\":\"shipping\"},{\"name\":\"audit\"}]}]}";

static mesh_routes_t *
s_routes (const char *text, mesh_targets_t *targets, uint64_t epoch)
{
    mesh_error_t err = { 0 };
    mesh_bus_t *bus = mesh_bus_parse (text, strlen (text), "test.json", &err);
    if (!bus)
        fail_msg ("%s", err.text);
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    mesh_routes_t *routes = mesh_routes_new (&bus, 1, targets, &limits, epoch, &err);
    if (!routes)
        fail_msg ("%s", err.text);
    assert_null (bus);
    return routes;
}

static void *
s_event (double total, size_t *size)
{
    char json [256];
    snprintf (json, sizeof (json), "{\"source\":\"demo.payments\",\"detail-type\":\"Payment Processed\","
                                   "\"detail\":{\"total_cost\":%g}}", total);
    mesh_event_t *event = mesh_event_from_json (json, strlen (json), NULL, NULL);
    assert_non_null (event);
    mesh_event_fill_defaults (event);
    void *data;
    assert_int_equal (mesh_event_encode (event, &data, size, NULL), 0);
    mesh_event_destroy (&event);
    return data;
}

//  What the engine does with a match, without a socket: number it and
//  queue it as if its subscriber were full.
static int
s_route_and_queue (mesh_routes_t *routes, double total)
{
    size_t size;
    void *event = s_event (total, &size);
    const mesh_route_t *matched;
    mesh_error_t err = { 0 };
    int count = mesh_routes_match (routes, "eda_bus", 7, event, size, &matched, &err);
    assert_true (count >= 0);
    for (int i = 0; i < count; i++) {
        mesh_target_t *target = matched [i].target;
        target->seq++;
        mesh_queue_item_t item = { .kind = MESH_QUEUE_DELIVERY };
        assert_int_equal (zmq_msg_init_size (&item.header, matched [i].header_size + MESH_PROTO_SEQ_SIZE), 0);
        mesh_proto_delivery_finish (matched [i].header, matched [i].header_size, target->seq,
                                    zmq_msg_data (&item.header));
        assert_int_equal (zmq_msg_init_size (&item.event, size), 0);
        memcpy (zmq_msg_data (&item.event), event, size);
        assert_int_equal (mesh_queue_push (&target->queue, &item, SIZE_MAX, NULL), 0);
    }
    free (event);
    return count;
}

static void
test_routes_match_the_example (void **state)
{
    (void) state;
    mesh_targets_t *targets = mesh_targets_new (100, 10);
    mesh_routes_t *routes = s_routes (s_example, targets, 42);
    assert_int_equal (mesh_routes_epoch (routes), 42);
    assert_int_equal (mesh_targets_size (targets), 3);

    size_t size;
    void *event = s_event (242.58, &size);
    const mesh_route_t *matched;
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_routes_match (routes, "eda_bus", 7, event, size, &matched, &err), 3);
    assert_string_equal (matched [0].rule, "payment-processed");
    assert_string_equal (matched [0].target->name, "rewards");
    assert_string_equal (matched [1].target->name, "warehouse");
    assert_string_equal (matched [2].target->name, "shipping");
    //  The prefix and a number make frame 1 of a delivery mesh_proto reads:
    //  the target's topic, then the header.
    uint8_t header [MESH_PROTO_HEAD_MAX];
    mesh_proto_delivery_finish (matched [0].header, matched [0].header_size, 7, header);
    assert_memory_equal (header, "rewards\0", 8);
    mesh_proto_frame_t frames [2] = {
        { header, matched [0].header_size + MESH_PROTO_SEQ_SIZE }, { event, size }
    };
    mesh_proto_header_t parsed;
    assert_int_equal (mesh_proto_message_parse (frames, 2, &parsed, &err), 0);
    assert_int_equal (parsed.seq, 7);
    assert_int_equal (parsed.route, matched [0].number);
    assert_true (parsed.target_size == 7 && memcmp (parsed.target, "rewards", 7) == 0);
    //  Each target numbers its routes from 0
    assert_int_equal (matched [0].number, 0);
    assert_int_equal (matched [1].number, 0);
    assert_int_equal (matched [2].number, 0);

    assert_int_equal (mesh_routes_match (routes, "other", 5, event, size, &matched, &err),
                      MESH_ROUTES_UNKNOWN_BUS);
    assert_non_null (strstr (err.text, "unknown bus 'other'"));
    assert_int_equal (mesh_routes_match (routes, "eda_bus", 7, "\xc1", 1, &matched, &err),
                      MESH_ROUTES_MALFORMED);
    free (event);
    event = s_event (99.5, &size);
    assert_int_equal (mesh_routes_match (routes, "eda_bus", 7, event, size, &matched, &err), 2);
    free (event);
    mesh_routes_destroy (&routes);
    assert_null (routes);
    //  Without routes, the targets are unrouted and, never numbered, expire.
    assert_int_equal (mesh_targets_expire (targets, zclock_mono (), 60000), 3);
    mesh_targets_destroy (&targets);
}

//  A rebuild of the routes keeps every target's sequence numbers and
//  backlog; a target the new rules drop stays known (unrouted) with its
//  numbers, and one they add starts from 0.
static void
test_routes_rebuild_keeps_sequence_numbers_and_queues (void **state)
{
    (void) state;
    mesh_targets_t *targets = mesh_targets_new (100, 10);
    mesh_routes_t *routes = s_routes (s_example, targets, 42);
    for (int i = 0; i < 5; i++)
        s_route_and_queue (routes, i % 2? 300: 100);
    mesh_target_t *rewards = mesh_targets_lookup (targets, "rewards\0", 8);
    mesh_target_t *warehouse = mesh_targets_lookup (targets, "warehouse\0", 10);
    assert_int_equal (rewards->seq, 2);
    assert_int_equal (warehouse->seq, 5);
    assert_int_equal (mesh_queue_size (&warehouse->queue), 5);
    size_t warehouse_bytes = mesh_queue_bytes (&warehouse->queue);

    //  Build the new routes beside the old, then swap and destroy the old:
    //  the engine never matches against half of a rule set.
    mesh_routes_t *fresh = s_routes (s_reloaded, targets, 42);
    mesh_routes_destroy (&routes);
    routes = fresh;

    assert_ptr_equal (mesh_targets_lookup (targets, "warehouse\0", 10), warehouse);
    assert_int_equal (warehouse->seq, 5);
    assert_int_equal (mesh_queue_size (&warehouse->queue), 5);
    assert_int_equal (mesh_queue_bytes (&warehouse->queue), warehouse_bytes);
    assert_int_equal (rewards->routes, 0);
    assert_int_equal (rewards->seq, 2);
    mesh_target_t *audit = mesh_targets_lookup (targets, "audit\0", 6);
    assert_non_null (audit);
    assert_int_equal (audit->seq, 0);

    assert_int_equal (s_route_and_queue (routes, 300), 3);
    assert_int_equal (warehouse->seq, 6);
    assert_int_equal (audit->seq, 1);
    assert_int_equal (rewards->seq, 2);
    //  The queue is still in order: 1..6.
    for (uint64_t expect = 1; mesh_queue_size (&warehouse->queue); expect++) {
        mesh_queue_item_t *item = mesh_queue_front (&warehouse->queue);
        mesh_proto_frame_t frames [2] = {
            { zmq_msg_data (&item->header), zmq_msg_size (&item->header) },
            { zmq_msg_data (&item->event), zmq_msg_size (&item->event) }
        };
        mesh_proto_header_t parsed;
        assert_int_equal (mesh_proto_message_parse (frames, 2, &parsed, NULL), 0);
        assert_int_equal (parsed.seq, expect);
        //  The item's cost counts all of frame 1, the topic ("warehouse\0") included
        assert_memory_equal (zmq_msg_data (&item->header), "warehouse\0", 10);
        assert_int_equal (item->cost, mesh_queue_cost (zmq_msg_size (&item->header), zmq_msg_size (&item->event)));
        assert_true (item->cost >= sizeof (mesh_queue_item_t) + zmq_msg_size (&item->header)
                                   + zmq_msg_size (&item->event) + 2 * MESH_QUEUE_MSG_OVERHEAD);
        mesh_queue_pop (&warehouse->queue);
    }
    //  rewards keeps its numbers while it may come back; then it expires.
    assert_int_equal (mesh_targets_expire (targets, zclock_mono (), 60000), 0);
    mesh_queue_fini (&rewards->queue);
    assert_int_equal (mesh_targets_expire (targets, zclock_mono () + 60000, 60000), 1);
    assert_null (mesh_targets_lookup (targets, "rewards\0", 8));
    mesh_routes_destroy (&routes);
    mesh_targets_destroy (&targets);
}

//  A target's route numbers are its own and outlive a rebuild: a rule the
//  reload adds before an old one gets a new number, the old one keeps its
//  own, so a subscriber's table of numbers stays right.
static const char s_renumbered [] =
    "{\"bus\":\"eda_bus\",\"rules\":["
    "{\"name\":\"audit-all\",\"event_pattern\":{\"source\":[\"demo.payments\"]},"
    "\"targets\":[{\"name\":\"warehouse\"}]},"
    "{\"name\":\"payment-to-warehouse\",\"event_pattern\":{\"source\":[\"demo.payments\"]},"
    "\"targets\":[{\"name\":\"warehouse\"},{\"name\":\"shipping\"}]}]}";

static void
test_routes_rebuild_keeps_route_numbers (void **state)
{
    (void) state;
    mesh_targets_t *targets = mesh_targets_new (100, 10);
    mesh_routes_t *routes = s_routes (s_example, targets, 42);
    mesh_target_t *warehouse = mesh_targets_lookup (targets, "warehouse\0", 10);
    uint32_t number;
    assert_int_equal (mesh_targets_route_number (targets, warehouse, "eda_bus", "payment-to-warehouse", &number), 0);
    assert_int_equal (number, 0);
    mesh_target_announce (warehouse, 0);
    assert_true (mesh_target_announced (warehouse, 0));
    mesh_routes_t *fresh = s_routes (s_renumbered, targets, 42);
    mesh_routes_destroy (&routes);
    routes = fresh;
    size_t size;
    void *event = s_event (100, &size);
    const mesh_route_t *matched;
    assert_int_equal (mesh_routes_match (routes, "eda_bus", 7, event, size, &matched, NULL), 3);
    free (event);
    assert_string_equal (matched [0].rule, "audit-all");
    assert_ptr_equal (matched [0].target, warehouse);
    assert_int_equal (matched [0].number, 1);
    assert_string_equal (matched [1].rule, "payment-to-warehouse");
    assert_int_equal (matched [1].number, 0);
    assert_string_equal (matched [2].target->name, "shipping");
    assert_int_equal (matched [2].number, 0);
    //  What was said is kept too, until a hello forgets it
    assert_true (mesh_target_announced (warehouse, 0));
    assert_false (mesh_target_announced (warehouse, 1));
    mesh_target_forget_announced (warehouse);
    assert_false (mesh_target_announced (warehouse, 0));
    //  The same (bus, rule) always gets its number; another bus another one
    assert_int_equal (mesh_targets_route_number (targets, warehouse, "eda_bus", "audit-all", &number), 0);
    assert_int_equal (number, 1);
    assert_int_equal (mesh_targets_route_number (targets, warehouse, "eda_bus/2", "audit-all", &number), 0);
    assert_int_equal (number, 2);
    //  Many numbers: the hash and the bits grow with them
    for (uint32_t i = 0; i < 5000; i++) {
        char rule [32];
        snprintf (rule, sizeof (rule), "rule-%u", i);
        assert_int_equal (mesh_targets_route_number (targets, warehouse, "eda_bus", rule, &number), 0);
        assert_int_equal (number, 3 + i);
        mesh_target_announce (warehouse, number);
    }
    assert_int_equal (mesh_targets_route_number (targets, warehouse, "eda_bus", "rule-4321", &number), 0);
    assert_int_equal (number, 3 + 4321);
    assert_true (mesh_target_announced (warehouse, 3 + 4999));
    assert_false (mesh_target_announced (warehouse, 1));
    mesh_routes_destroy (&routes);
    mesh_targets_destroy (&targets);
}

//  Two files with the same bus are refused, and the refusal leaks nothing.
static void
test_routes_refuse_a_bus_defined_twice (void **state)
{
    (void) state;
    mesh_targets_t *targets = mesh_targets_new (100, 10);
    mesh_bus_t *buses [2] = {
        mesh_bus_parse (s_example, strlen (s_example), "a.json", NULL),
        mesh_bus_parse (s_reloaded, strlen (s_reloaded), "b.json", NULL),
    };
    assert_non_null (buses [0]);
    assert_non_null (buses [1]);
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    mesh_error_t err = { 0 };
    assert_null (mesh_routes_new (buses, 2, targets, &limits, 1, &err));
    assert_non_null (strstr (err.text, "bus 'eda_bus' is defined twice: in a.json and in b.json"));
    assert_null (buses [0]);
    assert_null (buses [1]);
    mesh_target_t *target;
    for (size_t i = 0; (target = mesh_targets_at (targets, i)); i++)
        assert_int_equal (target->routes, 0);
    mesh_targets_destroy (&targets);
}

//  A full registry refuses the file with a message, not an abort.
static void
test_routes_refuse_more_targets_than_the_registry_holds (void **state)
{
    (void) state;
    mesh_targets_t *targets = mesh_targets_new (2, 2);
    mesh_bus_t *bus = mesh_bus_parse (s_example, strlen (s_example), "a.json", NULL);
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    mesh_error_t err = { 0 };
    assert_null (mesh_routes_new (&bus, 1, targets, &limits, 1, &err));
    assert_non_null (strstr (err.text, "cannot add target 'shipping'"));
    mesh_targets_destroy (&targets);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_routes_match_the_example),
        cmocka_unit_test (test_routes_rebuild_keeps_sequence_numbers_and_queues),
        cmocka_unit_test (test_routes_rebuild_keeps_route_numbers),
        cmocka_unit_test (test_routes_refuse_a_bus_defined_twice),
        cmocka_unit_test (test_routes_refuse_more_targets_than_the_registry_holds),
    };
    return cmocka_run_group_tests_name ("routes", tests, NULL, NULL);
}
