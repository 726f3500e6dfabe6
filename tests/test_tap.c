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
        assert_true (mesh_taps_open (taps, NULL, s_rule (patterns [p]), NULL, 0, 0, &err) > 0);
        for (size_t e = 0; e < sizeof (events) / sizeof (events [0]); e++) {
            size_t size;
            void *event = s_event (events [e], &size);
            int expected = mesh_rule_match (reference, event, size, &err);
            assert_true (expected >= 0);
            bool wanted = mesh_taps_begin (taps, "b", 1, event, size);
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
    uint64_t id = mesh_taps_open (taps, "bus", NULL, "rule", 4, 0, &err);
    assert_true (id > 0);
    assert_true (mesh_taps_active (taps));
    size_t size;
    void *event = s_event ("{\"source\": \"s\"}", &size);
    //  Not its bus: not taken
    assert_false (mesh_taps_begin (taps, "other", 5, event, size));
    mesh_taps_end (taps, 0, NULL);
    for (int i = 0; i < 10; i++) {
        assert_true (mesh_taps_begin (taps, "bus", 3, event, size));
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
    assert_true (mesh_taps_begin (taps, "bus", 3, event, size));
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
    uint64_t id = mesh_taps_open (taps, NULL, NULL, NULL, MESH_TAP_CAPACITY_MAX, 0, &err);
    //  Events of 600 KB: 4 MiB holds six
    size_t text_size = 600 * 1024;
    char *text = malloc (text_size + 32);
    strcpy (text, "{\"x\": \"");
    memset (text + 7, 'a', text_size);
    strcpy (text + 7 + text_size, "\"}");
    size_t size;
    void *event = s_event (text, &size);
    for (int i = 0; i < 10; i++) {
        assert_true (mesh_taps_begin (taps, "b", 1, event, size));
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
    assert_true (mesh_taps_begin (taps, "b", 1, event, size));
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
        assert_true (mesh_taps_open (taps, NULL, NULL, NULL, 0, 0, &err) > 0);
    assert_int_equal (mesh_taps_count (taps), MESH_TAP_MAX);
    assert_int_equal (mesh_taps_open (taps, NULL, s_rule ("{\"a\": [\"b\"]}"), NULL, 0, 0, &err), 0);
    assert_int_equal (err.code, MESH_ETOOBIG);
    assert_true (mesh_taps_close (taps, id));
    assert_int_equal (mesh_taps_count (taps), MESH_TAP_MAX - 1);
    mesh_taps_destroy (&taps);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_tap_takes_what_its_pattern_matches_and_nothing_else),
        cmocka_unit_test (test_tap_ring_drops_and_says_how_many),
        cmocka_unit_test (test_tap_bounds_its_bytes_and_its_number),
    };
    return cmocka_run_group_tests_name ("tap", tests, NULL, NULL);
}
