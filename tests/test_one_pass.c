/*  test_one_pass.c: the broker's one read of an event

    mesh_ruleset_match_event checks an event (mesh_event_check) and
    matches it (mesh_ruleset_match) in one walk. Its answer must be exactly
    the two's, for every byte string: these tests compare them on valid
    events, on each of the check's refusals, and on tens of thousands of
    mutations of valid events (flipped, dropped and inserted bytes, cut
    tails), and assert that the one walk, not the fallback, answers for
    the valid ones, so the comparison is not of the fallback with itself.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mesh.h"
#include "../libmesh/src/mesh_private.h"
#include "../libmesh/src/mesh_automaton.h"

#define S_UUID "\"0b8f1d2e-3c4a-4b5d-8e6f-7a8b9c0d1e2f\""
#define S_TIME "\"2026-12-02T01:02:03Z\""

//  Events as JSON, turned into MessagePack by libmesh's codec. The first
//  ones pass the check; the rest each break one of its rules.
static const char *s_valid [] = {
    "{\"version\":\"0\",\"id\":" S_UUID ",\"detail-type\":\"Payment Processed\",\"source\":\"demo.payments\","
    "\"account\":\"123\",\"time\":" S_TIME ",\"region\":\"local\",\"resources\":[\"arn:a\",\"arn:b\"],"
    "\"detail\":{\"total_cost\":242.58,\"items\":[{\"sku\":\"A1\",\"qty\":2},{\"sku\":\"B2\",\"qty\":1}],"
    "\"customer\":{\"tier\":\"gold\",\"country\":\"FR\"},\"note\":\"caf\\u00e9\",\"flag\":true,\"none\":null}}",
    "{\"detail\":{\"total_cost\":12,\"customer\":{\"tier\":\"basic\"}},\"source\":\"demo.payments\","
    "\"detail-type\":\"Payment Processed\",\"time\":" S_TIME ",\"id\":" S_UUID ",\"version\":\"0\",\"extra\":[1,2,{\"k\":[]}]}",
    "{\"version\":\"0\",\"id\":" S_UUID ",\"detail-type\":\"Order Shipped\",\"source\":\"demo.orders\","
    "\"time\":" S_TIME ",\"detail\":{}}",
    "{\"version\":\"0\",\"id\":" S_UUID ",\"detail-type\":\"x\",\"source\":\"s\",\"time\":" S_TIME ","
    "\"resources\":[],\"detail\":{\"a\":{\"b\":{\"c\":[[[-1,18446744073709551615e0,\"z\"]]]}}}}",
};

static const char *s_refused [] = {
    //  missing keys, wrong types, duplicates
    "{\"id\":" S_UUID ",\"detail-type\":\"x\",\"source\":\"s\",\"time\":" S_TIME ",\"detail\":{}}",
    "{\"version\":\"0\",\"id\":" S_UUID ",\"detail-type\":\"x\",\"source\":\"s\",\"time\":" S_TIME ",\"detail\":[]}",
    "{\"version\":\"0\",\"id\":" S_UUID ",\"detail-type\":\"x\",\"source\":7,\"time\":" S_TIME ",\"detail\":{}}",
    "{\"version\":\"0\",\"id\":" S_UUID ",\"detail-type\":\"x\",\"source\":\"s\",\"time\":" S_TIME ",\"detail\":{},"
    "\"resources\":[\"a\",1]}",
    //  EventBridge's limits
    "{\"version\":\"0\",\"id\":" S_UUID ",\"detail-type\":\"x\",\"source\":\"aws.ec2\",\"time\":" S_TIME ",\"detail\":{}}",
    "{\"version\":\"0\",\"id\":" S_UUID ",\"detail-type\":\"x\",\"source\":\"\",\"time\":" S_TIME ",\"detail\":{}}",
    "{\"version\":\"0\",\"id\":" S_UUID ",\"detail-type\":\"\",\"source\":\"s\",\"time\":" S_TIME ",\"detail\":{}}",
    "{\"version\":\"0\",\"id\":\"not-a-uuid\",\"detail-type\":\"x\",\"source\":\"s\",\"time\":" S_TIME ",\"detail\":{}}",
    "{\"version\":\"0\",\"id\":" S_UUID ",\"detail-type\":\"x\",\"source\":\"s\",\"time\":\"yesterday\",\"detail\":{}}",
};

//  Rules naming the envelope and the detail, at several levels and in
//  arrays, so that the walk goes into the values it checks.
static const char *s_patterns [] = {
    "{\"source\":[\"demo.payments\"],\"detail\":{\"total_cost\":[{\"numeric\":[\">\",200]}]}}",
    "{\"detail-type\":[{\"prefix\":\"Payment\"}]}",
    "{\"detail\":{\"customer\":{\"tier\":[\"gold\",\"basic\"]}}}",
    "{\"detail\":{\"items\":{\"sku\":[\"A1\"]}}}",
    "{\"resources\":[\"arn:b\"]}",
    "{\"detail\":{\"note\":[{\"exists\":true}],\"flag\":[true]}}",
    "{\"source\":[{\"anything-but\":\"demo.payments\"}]}",
    "{\"detail\":{\"a\":{\"b\":{\"c\":[\"z\"]}}}}",
};

static mesh_ruleset_t *
s_ruleset (void)
{
    mesh_error_t err = { 0 };
    mesh_ruleset_t *set = mesh_ruleset_new ();
    assert_non_null (set);
    for (size_t i = 0; i < sizeof (s_patterns) / sizeof (s_patterns [0]); i++) {
        char name [16];
        snprintf (name, sizeof (name), "r%zu", i);
        mesh_rule_t *rule = mesh_rule_new (name, s_patterns [i], SIZE_MAX, &err);
        assert_non_null (rule);
        assert_int_equal (mesh_ruleset_add (set, &rule), (int) i);
    }
    assert_int_equal (mesh_ruleset_compile (set, &err), 0);
    return set;
}

static uint8_t *
s_encode (const char *json, size_t *size)
{
    mesh_error_t err = { 0 };
    void *data = NULL;
    if (mesh_json_to_msgpack (json, strlen (json), NULL, &data, size, &err))
        fail_msg ("cannot encode %s: %s", json, err.text);
    return data;
}

//  The answer of the two passes, and of the one; they must be the same.
static int
s_agree (const mesh_ruleset_t *set, const uint8_t *data, size_t size, const mesh_limits_t *limits)
{
    uint32_t expected [64], actual [64];
    mesh_error_t err = { 0 };
    int want = mesh_event_check (data, size, limits, NULL, &err);
    if (want == 0) {
        want = mesh_ruleset_match (set, data, size, expected, &err);
        assert_true (want >= 0);
    }
    mesh_error_t got_err = { 0 };
    int got = mesh_ruleset_match_event (set, data, size, limits, actual, &got_err);
    if (got != want) {
        for (size_t i = 0; i < size; i++)
            fprintf (stderr, "%02x%s", data [i], i % 32 == 31? "\n": " ");
        fprintf (stderr, "\n");
    }
    if (got != want)
        fail_msg ("one pass answered %d, check and match %d (%s)", got, want, err.text);
    if (got > 0)
        assert_memory_equal (actual, expected, (size_t) got * sizeof (uint32_t));
    else
    if (got < 0)
        assert_string_equal (got_err.text, err.text);
    return got;
}

static void
test_one_pass_answers_valid_events_in_one_walk (void **state)
{
    (void) state;
    mesh_ruleset_t *set = s_ruleset ();
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    int total = 0;
    for (size_t i = 0; i < sizeof (s_valid) / sizeof (s_valid [0]); i++) {
        size_t size;
        uint8_t *data = s_encode (s_valid [i], &size);
        int hits = s_agree (set, data, size, &limits);
        assert_true (hits >= 0);
        total += hits;
        //  The walk itself answered, not the fallback
        uint32_t direct [64];
        const mesh__automaton_t *automaton = mesh__ruleset_automaton (set);
        assert_int_equal (mesh__automaton_match_checked (automaton, data, size, &limits, direct), hits);
        free (data);
    }
    assert_true (total >= 8);           //  the rules do match: the walk went inside
    mesh_ruleset_destroy (&set);
}

static void
test_one_pass_refuses_what_the_check_refuses (void **state)
{
    (void) state;
    mesh_ruleset_t *set = s_ruleset ();
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    for (size_t i = 0; i < sizeof (s_refused) / sizeof (s_refused [0]); i++) {
        size_t size;
        uint8_t *data = s_encode (s_refused [i], &size);
        if (s_agree (set, data, size, &limits) >= 0)
            fail_msg ("accepted: %s", s_refused [i]);
        free (data);
    }
    //  A NaN, a non-string key, invalid UTF-8, bytes after the map, a bin:
    //  made by hand from a valid event's bytes
    size_t size;
    uint8_t *base = s_encode (s_valid [2], &size);
    uint8_t *data = malloc (size + 16);
    memcpy (data, base, size);
    data [size] = 0xc0;                                 //  trailing nil
    assert_true (s_agree (set, data, size + 1, &limits) < 0);
    //  "detail":{} is the last pair: make it {"n": NaN}
    assert_int_equal (data [size - 1], 0x80);
    const uint8_t nan_pair [] = { 0x81, 0xa1, 'n', 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0 };
    memcpy (data + size - 1, nan_pair, sizeof (nan_pair));
    assert_int_equal (s_agree (set, data, size - 1 + sizeof (nan_pair), &limits), MESH_EVENT_NON_FINITE);
    const uint8_t int_key [] = { 0x81, 0x01, 0x02 };
    memcpy (data + size - 1, int_key, sizeof (int_key));
    assert_int_equal (s_agree (set, data, size - 1 + sizeof (int_key), &limits), MESH_EVENT_MALFORMED);
    const uint8_t bad_utf8 [] = { 0x81, 0xa1, 0xff, 0x02 };
    memcpy (data + size - 1, bad_utf8, sizeof (bad_utf8));
    assert_int_equal (s_agree (set, data, size - 1 + sizeof (bad_utf8), &limits), MESH_EVENT_MALFORMED);
    const uint8_t bin [] = { 0x81, 0xa1, 'b', 0xc4, 0x01, 0x00 };
    memcpy (data + size - 1, bin, sizeof (bin));
    assert_int_equal (s_agree (set, data, size - 1 + sizeof (bin), &limits), MESH_EVENT_MALFORMED);
    free (data);
    free (base);
    //  An envelope key twice (the codec would keep one): "region" renamed
    //  "source" in the bytes
    base = s_encode (s_valid [0], &size);
    uint8_t *region = memmem (base, size, "\xa6region", 7);
    assert_non_null (region);
    memcpy (region + 1, "source", 6);
    assert_int_equal (s_agree (set, base, size, &limits), MESH_EVENT_MALFORMED);
    free (base);
    mesh_ruleset_destroy (&set);
}

//  A small deterministic generator (xorshift), so a failure reproduces.
static uint64_t
s_next (uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void
test_one_pass_agrees_on_mutated_events (void **state)
{
    (void) state;
    mesh_ruleset_t *set = s_ruleset ();
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    mesh_limits_t tight = limits;       //  and with limits that bite
    tight.max_depth = 4;
    tight.max_entry_size = 120;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int accepted = 0, refused = 0, handed_over = 0;
    for (size_t i = 0; i < sizeof (s_valid) / sizeof (s_valid [0]); i++) {
        size_t size;
        uint8_t *base = s_encode (s_valid [i], &size);
        uint8_t *data = malloc (size + 8);
        for (int round = 0; round < 6000; round++) {
            memcpy (data, base, size);
            size_t n = size;
            int edits = 1 + (int) (s_next (&x) % 3);
            for (int e = 0; e < edits && n > 1; e++) {
                size_t at = (size_t) (s_next (&x) % n);
                switch (s_next (&x) % 4) {
                    case 0: data [at] ^= (uint8_t) (1u << (s_next (&x) % 8)); break;
                    case 1: data [at] = (uint8_t) s_next (&x); break;
                    case 2: memmove (data + at, data + at + 1, n - at - 1); n--; break;
                    default: n = at + 1; break;
                }
            }
            const mesh_limits_t *use = round % 5 == 0? &tight: &limits;
            int answer = s_agree (set, data, n, use);
            if (answer >= 0) {
                accepted++;
                //  the walk answers for what the check accepts, in one pass
                uint32_t direct [64];
                int walked = mesh__automaton_match_checked (mesh__ruleset_automaton (set), data, n, use, direct);
                if (walked == MESH__AM_REFUSED)
                    handed_over++;
            }
            else
                refused++;
        }
        free (data);
        free (base);
    }
    //  Both kinds were met, many times
    assert_true (accepted > 500);
    assert_true (refused > 5000);
    printf ("    mutations: %d accepted, %d refused, %d accepted only after the walk refused\n",
            accepted, refused, handed_over);
    assert_int_equal (handed_over, 0);
    mesh_ruleset_destroy (&set);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_one_pass_answers_valid_events_in_one_walk),
        cmocka_unit_test (test_one_pass_refuses_what_the_check_refuses),
        cmocka_unit_test (test_one_pass_agrees_on_mutated_events),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
