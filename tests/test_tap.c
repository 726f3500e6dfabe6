/*  test_tap.c: taps (broker/mesh_tap.c), without sockets

    A tap takes the events its pattern matches and no other: every pattern
    here is asked about every event, through a tap (its compiled one-rule
    set) and through mesh_rule_match (the interpreter), and the two must
    agree. Then the ring: its capacity, its byte bound, what it says it
    dropped, and the tap's other limits.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "mesh.h"
#include "../broker/mesh_tap.h"
#include "../broker/mesh_routes.h"

static void *
s_event (const char *json, size_t *size)
{
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    limits.max_event_size = 8u << 20;
    void *data = NULL;
    mesh_error_t err = { 0 };
    if (mesh_json_to_msgpack (json, strlen (json), &limits, &data, size, &err))
        fail_msg ("%s: %s", json, err.text);
    return data;
}

static mesh_rule_t *
s_rule (const char *pattern)
{
    mesh_error_t err = { 0 };
    mesh_rule_t *rule = mesh_rule_new ("tap", pattern, strlen (pattern), &err);
    if (!rule)
        fail_msg ("%s: %s", pattern, err.text);
    return rule;
}

static void
test_tap_takes_what_its_pattern_matches_and_nothing_else (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{\"source\": [\"demo.payments\"]}",
        "{\"detail\": {\"customer_id\": [\"4711\", \"0042\"]}}",
        "{\"detail\": {\"bench\": [{\"wildcard\": \"*55:*\"}, {\"wildcard\": \"*aa:*\"}]}}",
        "{\"detail\": {\"bench\": [{\"wildcard\": \"BENCH:*:*\"}]}}",
        "{\"source\": [{\"prefix\": \"demo.\"}]}",
        "{\"source\": [{\"suffix\": \"ments\"}]}",
        "{\"detail\": {\"name\": [{\"equals-ignore-case\": \"ALICE\"}]}}",
        "{\"detail\": {\"name\": [{\"prefix\": {\"equals-ignore-case\": \"ALI\"}}]}}",
        "{\"detail\": {\"name\": [{\"suffix\": {\"equals-ignore-case\": \"ICE\"}}]}}",
        "{\"detail\": {\"w\": [{\"wildcard\": \"a\\\\*b*\"}]}}",
        "{\"$or\": [{\"source\": [\"nobody\"]}, {\"detail-type\": [\"Order Placed\"]}]}",
        "{\"detail\": {\"n\": [5, \"five\"]}}",
        "{\"detail\": {\"n\": [{\"numeric\": [\">\", 4]}]}}",
        "{\"source\": [\"demo.payments\"], \"detail\": {\"x\": [{\"exists\": true}]}}",
        "{\"detail\": {\"tags\": [\"blue\"]}}",
        "{\"detail\": {\"city\": [\"Z\\u00fcrich\"]}}",
        "{\"detail\": {\"quote\": [\"a\\\"b\"]}}",
        "{\"detail\": {\"name\": [{\"anything-but\": \"alice\"}]}}",
        "{\"detail\": {\"name\": [{\"anything-but\": {\"prefix\": \"ali\"}}]}}",
        "{\"detail\": {\"missing\": [{\"exists\": false}]}}",
        "{\"detail\": {\"name\": [\"\"]}}",
        "{\"detail\": {\"name\": [\"ab\"]}}",
    };
    const char *events [] = {
        "{\"source\": \"demo.payments\", \"detail-type\": \"Payment Processed\", \"detail\": {\"customer_id\": \"4711\", "
        "\"bench\": \"BENCH:000000000000a355:0000000000000000\", \"name\": \"alice\", \"n\": 5, \"x\": 1}}",
        "{\"source\": \"demo.orders\", \"detail-type\": \"Order Placed\", \"detail\": {\"customer_id\": \"0042\", "
        "\"bench\": \"BENCH:00000000000000aa:0000000000000000\", \"name\": \"ALICE\", \"n\": \"five\"}}",
        "{\"source\": \"other\", \"detail\": {\"customer_id\": 4711, \"name\": \"Alicia\", \"n\": 3, "
        "\"tags\": [\"red\", \"blue\"], \"city\": \"Z\\u00fcrich\"}}",
        "{\"source\": \"demo.pay\", \"detail\": {\"w\": \"a*bc\", \"quote\": \"a\\\"b\", \"name\": \"\"}}",
        "{\"source\": \"x.payments\", \"detail\": {\"w\": \"aXbc\", \"name\": \"ab\", \"tags\": \"blue\", "
        "\"city\": \"Zurich\"}}",
        "{\"detail\": {\"customer_id\": [\"1\", \"4711\"], \"name\": [\"bob\", \"alice\"]}}",
        "{}",
    };
    size_t checked = 0, matched = 0;
    for (size_t p = 0; p < sizeof (patterns) / sizeof (patterns [0]); p++) {
        mesh_taps_t *taps = mesh_taps_new ();
        assert_non_null (taps);
        mesh_rule_t *reference = s_rule (patterns [p]);
        mesh_error_t err = { 0 };
        assert_true (mesh_taps_open (taps, NULL, s_rule (patterns [p]), patterns [p], NULL, 0, 0, &err) > 0);
        for (size_t e = 0; e < sizeof (events) / sizeof (events [0]); e++) {
            size_t size;
            void *event = s_event (events [e], &size);
            int expected = mesh_rule_match (reference, event, size, &err);
            assert_true (expected >= 0);
            bool wanted = mesh_taps_begin (taps, "b", 1, event, size, 0, 0);
            mesh_taps_end (taps, 0, NULL);
            if (wanted != (expected == 1))
                fail_msg ("pattern %s, event %s: the tap says %d, the rule %d", patterns [p], events [e],
                          wanted, expected);
            checked++;
            matched += wanted;
            free (event);
        }
        mesh_rule_destroy (&reference);
        mesh_taps_destroy (&taps);
    }
    assert_int_equal (checked, 154);
    assert_true (matched > 20);         //  the patterns match something: the test can tell
}

static void
test_tap_ring_drops_and_says_how_many (void **state)
{
    (void) state;
    mesh_taps_t *taps = mesh_taps_new ();
    mesh_error_t err = { 0 };
    uint64_t id = mesh_taps_open (taps, "bus", NULL, NULL, "rule", 4, 0, &err);
    assert_true (id > 0);
    assert_true (mesh_taps_active (taps));
    size_t size;
    void *event = s_event ("{\"source\": \"s\"}", &size);
    //  Not its bus: not taken
    assert_false (mesh_taps_begin (taps, "other", 5, event, size, 0, 0));
    mesh_taps_end (taps, 0, NULL);
    for (int i = 0; i < 10; i++) {
        assert_true (mesh_taps_begin (taps, "bus", 3, event, size, 0, 0));
        char rule [16], target [16];
        snprintf (rule, sizeof (rule), "rule-%d", i);
        snprintf (target, sizeof (target), "target-%d", i);
        mesh_taps_route (taps, rule, target, (uint64_t) i + 100, MESH_TAP_QUEUED);
        mesh_taps_end (taps, 1000 + i, NULL);
        memset (rule, 'x', sizeof (rule) - 1);      //  the names are borrowed until end: the record has a copy
    }
    mesh_tap_info_t info;
    assert_true (mesh_taps_info (taps, id, &info));
    assert_int_equal (info.seen, 10);
    assert_int_equal (info.dropped, 6);
    assert_int_equal (info.waiting, 4);
    assert_string_equal (info.bus, "bus");
    assert_string_equal (info.rule, "rule");
    bool found;
    for (int i = 0; i < 4; i++) {
        mesh_tap_record_t *record = mesh_taps_take (taps, id, 5, &found);
        assert_non_null (record);
        assert_int_equal (record->number, (uint64_t) i + 1);
        assert_int_equal (record->time_ms, 1000 + i);
        assert_int_equal (record->dropped_before, 0);
        assert_string_equal (record->bus, "bus");
        assert_int_equal (record->route_count, 1);
        char expected [16];
        snprintf (expected, sizeof (expected), "rule-%d", i);
        assert_string_equal (record->routes [0].rule, expected);
        assert_int_equal (record->routes [0].seq, (uint64_t) i + 100);
        assert_int_equal (record->routes [0].outcome, MESH_TAP_QUEUED);
        assert_memory_equal (record->event, event, size);
        free (record);
    }
    assert_null (mesh_taps_take (taps, id, 5, &found));
    assert_true (found);
    //  The next record says how many were lost before it
    assert_true (mesh_taps_begin (taps, "bus", 3, event, size, 0, 0));
    mesh_taps_end (taps, 2000, "refused for a reason");
    mesh_tap_record_t *record = mesh_taps_take (taps, id, 5, &found);
    assert_int_equal (record->number, 11);
    assert_int_equal (record->dropped_before, 6);
    assert_string_equal (record->refused, "refused for a reason");
    assert_int_equal (record->route_count, 0);
    free (record);
    free (event);
    //  Unread for MESH_TAP_IDLE_MS: closed
    assert_int_equal (mesh_taps_expire (taps, 5 + MESH_TAP_IDLE_MS), 0);
    assert_int_equal (mesh_taps_expire (taps, 6 + MESH_TAP_IDLE_MS), 1);
    assert_false (mesh_taps_active (taps));
    assert_null (mesh_taps_take (taps, id, 0, &found));
    assert_false (found);
    assert_false (mesh_taps_close (taps, id));
    mesh_taps_destroy (&taps);
}

static void
test_tap_bounds_its_bytes_and_its_number (void **state)
{
    (void) state;
    mesh_taps_t *taps = mesh_taps_new ();
    mesh_error_t err = { 0 };
    uint64_t id = mesh_taps_open (taps, NULL, NULL, NULL, NULL, MESH_TAP_CAPACITY_MAX, 0, &err);
    //  Events of 600 KB: 4 MiB holds six
    size_t text_size = 600 * 1024;
    char *text = malloc (text_size + 32);
    strcpy (text, "{\"x\": \"");
    memset (text + 7, 'a', text_size);
    strcpy (text + 7 + text_size, "\"}");
    size_t size;
    void *event = s_event (text, &size);
    for (int i = 0; i < 10; i++) {
        assert_true (mesh_taps_begin (taps, "b", 1, event, size, 0, 0));
        mesh_taps_end (taps, 0, NULL);
    }
    mesh_tap_info_t info;
    mesh_taps_info (taps, id, &info);
    assert_int_equal (info.waiting, 6);
    assert_int_equal (info.dropped, 4);
    bool found;
    mesh_tap_record_t *record;
    while ((record = mesh_taps_take (taps, id, 0, &found)))
        free (record);
    free (event);
    free (text);
    //  An event over MESH_TAP_EVENT_MAX is noted, its bytes not kept
    text_size = MESH_TAP_EVENT_MAX + 10;
    text = malloc (text_size + 32);
    strcpy (text, "{\"x\": \"");
    memset (text + 7, 'a', text_size);
    strcpy (text + 7 + text_size, "\"}");
    event = s_event (text, &size);
    assert_true (mesh_taps_begin (taps, "b", 1, event, size, 0, 0));
    mesh_taps_end (taps, 0, NULL);
    record = mesh_taps_take (taps, id, 0, &found);
    assert_non_null (record);
    assert_null (record->event);
    assert_int_equal (record->event_size, size);
    assert_true (record->bytes < 1024);
    free (record);
    free (event);
    free (text);
    //  At most MESH_TAP_MAX open
    for (int i = 1; i < MESH_TAP_MAX; i++)
        assert_true (mesh_taps_open (taps, NULL, NULL, NULL, NULL, 0, 0, &err) > 0);
    assert_int_equal (mesh_taps_count (taps), MESH_TAP_MAX);
    assert_int_equal (mesh_taps_open (taps, NULL, s_rule ("{\"a\": [\"b\"]}"), NULL, NULL, 0, 0, &err), 0);
    assert_int_equal (err.code, MESH_ETOOBIG);
    assert_true (mesh_taps_close (taps, id));
    assert_int_equal (mesh_taps_count (taps), MESH_TAP_MAX - 1);
    mesh_taps_destroy (&taps);
}

//  The taps' patterns in the bus's own walk (mesh_routes_set_taps): the
//  routes, the counts and the rules' hits are those of the same bus without
//  them, and each pattern's answer is mesh_rule_match's, for the slots the
//  walk decides (those with a pattern, watching this bus).
static const char s_bus [] =
    "{\"bus\":\"eda_bus\",\"rules\":["
    "{\"name\":\"big\",\"event_pattern\":{\"source\":[\"demo.payments\"],"
    "\"detail\":{\"total_cost\":[{\"numeric\":[\">\",200]}]}},\"targets\":[{\"name\":\"a\"}]},"
    "{\"name\":\"off\",\"state\":\"DISABLED\",\"event_pattern\":{\"source\":[\"demo.payments\"]},"
    "\"targets\":[{\"name\":\"b\"}]},"
    "{\"name\":\"orders\",\"event_pattern\":{\"detail-type\":[\"Order Placed\"]},"
    "\"targets\":[{\"name\":\"c\"},{\"name\":\"a\"}]}]}";

static mesh_routes_t *
s_routes (mesh_targets_t *targets)
{
    mesh_error_t err = { 0 };
    mesh_bus_t *bus = mesh_bus_parse (s_bus, strlen (s_bus), "test.json", &err);
    if (!bus)
        fail_msg ("%s", err.text);
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    mesh_routes_t *routes = mesh_routes_new (&bus, 1, targets, &limits, 1, &err);
    if (!routes)
        fail_msg ("%s", err.text);
    return routes;
}

static void *
s_full_event (const char *json, size_t *size)
{
    mesh_event_t *event = mesh_event_from_json (json, strlen (json), NULL, NULL);
    assert_non_null (event);
    mesh_event_fill_defaults (event);
    void *data;
    assert_int_equal (mesh_event_encode (event, &data, size, NULL), 0);
    mesh_event_destroy (&event);
    return data;
}

static void
test_tap_patterns_in_the_bus_walk_change_nothing_else (void **state)
{
    (void) state;
    mesh_targets_t *targets = mesh_targets_new (100, 100);
    mesh_routes_t *plain = s_routes (targets);
    mesh_routes_t *tapped = s_routes (targets);
    const char *cheap = "{\"detail\": {\"total_cost\": [{\"numeric\": [\"<\", 150]}]}}";
    const char *orders = "{\"source\": [\"demo.orders\"]}";
    mesh_routes_tap_t slots [MESH_ROUTES_TAP_SLOTS] = {
        { NULL, cheap }, { "eda_bus", orders }, { "other", orders }, { NULL, NULL },
    };
    mesh_rule_options_t options;
    mesh_rule_options_init (&options);
    assert_int_equal (mesh_routes_set_taps (tapped, slots, MESH_ROUTES_TAP_SLOTS, &options), 1);
    mesh_rule_t *cheap_rule = s_rule (cheap), *orders_rule = s_rule (orders);
    const char *events [] = {
        "{\"source\": \"demo.payments\", \"detail-type\": \"Payment Processed\", \"detail\": {\"total_cost\": 300}}",
        "{\"source\": \"demo.payments\", \"detail-type\": \"Payment Processed\", \"detail\": {\"total_cost\": 100}}",
        "{\"source\": \"demo.orders\", \"detail-type\": \"Order Placed\", \"detail\": {\"total_cost\": 120}}",
        "{\"source\": \"demo.orders\", \"detail-type\": \"Order Shipped\", \"detail\": {}}",
        "{\"source\": \"other\", \"detail-type\": \"Order Placed\", \"detail\": {\"total_cost\": 1000}}",
    };
    int taken = 0;
    for (size_t e = 0; e < sizeof (events) / sizeof (events [0]); e++) {
        size_t size;
        void *event = s_full_event (events [e], &size);
        const mesh_route_t *routes_a, *routes_b;
        mesh_error_t err = { 0 };
        int count_a = mesh_routes_match (plain, "eda_bus", 7, event, size, &routes_a, &err);
        uint32_t decided, matched;
        mesh_routes_tap_hits (plain, &decided, &matched);
        assert_int_equal (decided, 0);
        assert_int_equal (matched, 0);
        int count_b = mesh_routes_match (tapped, "eda_bus", 7, event, size, &routes_b, &err);
        assert_true (count_a >= 0);
        assert_int_equal (count_a, count_b);
        for (int i = 0; i < count_a; i++) {
            assert_string_equal (routes_a [i].rule, routes_b [i].rule);
            assert_ptr_equal (routes_a [i].target, routes_b [i].target);
        }
        mesh_routes_tap_hits (tapped, &decided, &matched);
        assert_int_equal (decided, 0x3);            //  slots 0 and 1; 2 watches another bus, 3 has no pattern
        assert_int_equal (matched & 1, mesh_rule_match (cheap_rule, event, size, &err) == 1);
        assert_int_equal (matched >> 1 & 1, mesh_rule_match (orders_rule, event, size, &err) == 1);
        assert_int_equal (matched & ~0x3u, 0);
        taken += __builtin_popcount (matched);
        free (event);
    }
    assert_int_equal (taken, 4);                    //  100 and 120 are cheap; two are demo.orders
    assert_memory_equal (mesh_routes_counts (plain, 0), mesh_routes_counts (tapped, 0), sizeof (mesh_routes_counts_t));
    for (size_t r = 0; r < 2; r++)
        assert_int_equal (mesh_routes_triggered (plain, 0, r, NULL), mesh_routes_triggered (tapped, 0, r, NULL));
    //  A refused event decides nothing; no taps, no second set
    const mesh_route_t *routes;
    mesh_error_t err = { 0 };
    assert_true (mesh_routes_match (tapped, "eda_bus", 7, "\x81", 1, &routes, &err) < 0);
    uint32_t decided, matched;
    mesh_routes_tap_hits (tapped, &decided, &matched);
    assert_int_equal (decided, 0);
    mesh_routes_tap_t none [MESH_ROUTES_TAP_SLOTS] = { { NULL, NULL } };
    assert_int_equal (mesh_routes_set_taps (tapped, none, MESH_ROUTES_TAP_SLOTS, &options), 0);
    mesh_rule_destroy (&cheap_rule);
    mesh_rule_destroy (&orders_rule);
    mesh_routes_destroy (&plain);
    mesh_routes_destroy (&tapped);
    mesh_targets_destroy (&targets);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_tap_takes_what_its_pattern_matches_and_nothing_else),
        cmocka_unit_test (test_tap_ring_drops_and_says_how_many),
        cmocka_unit_test (test_tap_bounds_its_bytes_and_its_number),
        cmocka_unit_test (test_tap_patterns_in_the_bus_walk_change_nothing_else),
    };
    return cmocka_run_group_tests_name ("tap", tests, NULL, NULL);
}
