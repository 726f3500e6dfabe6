/*  test_differential.c: the compiled rule set against the plain interpreter

    mesh_rule_match is the readable interpreter, one rule at a time;
    mesh_ruleset_match is the engine the broker uses. They must agree on
    every rule and every event. This test generates random rule sets over
    every operator (exact values of every type, prefix, suffix, both with
    equals-ignore-case, equals-ignore-case, anything-but in all its forms,
    numeric, exists, cidr, wildcard, $or, nested and dotted fields) and
    random events over the same small vocabulary (so that they meet; a
    quarter of them packed by hand, with keys that may repeat in a map), and
    compares the two answers for at least 100,000 (rule, event) pairs per
    run, plus mutated bytes, where both must agree on what is malformed.

    The seed comes from MESH_DIFF_SEED, else from the clock; it is printed,
    and any disagreement fails with the seed, the pattern and the event.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <msgpack.h>
#include "mesh.h"
#include "../libmesh/src/mesh_codec.h"
#include "support/testkit.h"

#define PAIRS_MIN   300000
#define RULES_MAX   12
#define EVENTS      64

static uint64_t s_state;

static uint64_t
s_next (void)
{
    return tk_random (&s_state);       //  a seed reproduces a run
}

static int
s_pick (int n)
{
    return tk_pick (&s_state, n);
}

//  The shared vocabulary: keys and values that patterns and events both use.
static const char *s_keys [] = { "a", "b", "c", "state", "x" };
static const char *s_strings [] = {
    "", "a", "ab", "abc", "A", "Ab", "ABC", "b", "ba", "xyz", "a*c", "a\\b",
    "10.0.0.1", "10.1.2.3", "192.168.0.7", "2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001",
    "\xc3\x84" "bc", "\xc3\xa4" "bc", "\xf0\x90\x90\x80", "\xf0\x90\x90\xa8", "\xf0\x9f\x98\x80", "300",
    "running", "Running", "stopped"
};
static const char *s_numbers [] = {
    "0", "-1", "1", "1.5", "300", "300.0", "3.0e2", "1e9", "-122.4", "0.1", "200", "200.01",
    "9007199254740993", "-0.0"
};
#define COUNT(array) ((int) (sizeof (array) / sizeof ((array) [0])))

static json_t *
s_number (void)
{
    return json_loads (s_numbers [s_pick (COUNT (s_numbers))], JSON_DECODE_ANY, NULL);
}

static json_t *
s_string (void)
{
    return json_string (s_strings [s_pick (COUNT (s_strings))]);
}

//  A wildcard pattern made of vocabulary letters and stars (never "**").
static json_t *
s_wildcard (void)
{
    static const char *wild [] = { "a*", "*c", "a*c", "*", "", "a\\*c", "*b*", "A*", "ab", "*0.0.*",
                                   "r*ing", "*a*b*", "ab*b", "a*-eu" };
    return json_string (wild [s_pick (COUNT (wild))]);
}

static json_t *
s_cidr (void)
{
    static const char *cidrs [] = { "10.0.0.0/24", "10.0.0.0/8", "192.168.0.0/16", "2001:db8::/64",
                                    "2001:db8::/32", "0.0.0.0/0" };
    return json_string (cidrs [s_pick (COUNT (cidrs))]);
}

static json_t *
s_strings_list (int max)
{
    int n = 1 + s_pick (max);
    json_t *list = json_array ();
    for (int i = 0; i < n; i++)
        json_array_append_new (list, s_string ());
    return list;
}

//  One matcher of a pattern leaf's list.
static json_t *
s_matcher (void)
{
    static const char *ops [] = { "<", "<=", "=", ">", ">=" };
    switch (s_pick (22)) {
        case 0: case 1: return s_string ();
        case 2: case 3: return s_number ();
        case 4: return s_pick (3) == 0? json_null (): json_boolean (s_pick (2));
        case 5: return json_pack ("{s:o}", "prefix", s_string ());
        case 6: return json_pack ("{s:{s:o}}", "prefix", "equals-ignore-case", s_string ());
        case 7: return json_pack ("{s:o}", "suffix", s_string ());
        case 8: return json_pack ("{s:{s:o}}", "suffix", "equals-ignore-case", s_string ());
        case 9: return json_pack ("{s:o}", "equals-ignore-case", s_string ());
        case 10: return json_pack ("{s:o}", "anything-but", s_pick (2)? s_string (): s_number ());
        case 11: {
            json_t *list = json_array ();
            bool numbers = s_pick (2);
            for (int i = 0, n = 1 + s_pick (3); i < n; i++)
                json_array_append_new (list, numbers? s_number (): s_string ());
            return json_pack ("{s:o}", "anything-but", list);
        }
        case 12: return json_pack ("{s:{s:o}}", "anything-but", "prefix",
                                   s_pick (2)? s_string (): s_strings_list (2));
        case 13: return json_pack ("{s:{s:o}}", "anything-but", "suffix",
                                   s_pick (2)? s_string (): s_strings_list (2));
        case 14: return json_pack ("{s:{s:o}}", "anything-but", "equals-ignore-case",
                                   s_pick (2)? s_string (): s_strings_list (3));
        case 15: return json_pack ("{s:{s:o}}", "anything-but", "wildcard", s_wildcard ());
        case 16: return json_pack ("{s:[s,o]}", "numeric", ops [s_pick (5)], s_number ());
        case 17: return json_pack ("{s:[s,o,s,o]}", "numeric", s_pick (2)? ">": ">=", s_number (),
                                   s_pick (2)? "<": "<=", s_number ());
        case 18: case 19: return json_pack ("{s:b}", "exists", s_pick (2));
        case 20: return json_pack ("{s:o}", "cidr", s_cidr ());
        default: return json_pack ("{s:o}", "wildcard", s_wildcard ());
    }
}

static json_t *
s_leaf (void)
{
    if (s_pick (8) == 0)        //  absence alone: the shape counting engines get wrong
        return json_pack ("[{s:b}]", "exists", 0);
    json_t *list = json_array ();
    for (int i = 0, n = 1 + s_pick (3); i < n; i++)
        json_array_append_new (list, s_matcher ());
    return list;
}

//  A pattern object of depth at most depth: fields ANDed, sometimes nested,
//  sometimes dotted, sometimes an $or of two or three such objects.
static json_t *
s_pattern (int depth)
{
    json_t *object = json_object ();
    for (int i = 0, n = 1 + s_pick (3); i < n; i++) {
        const char *key = s_keys [s_pick (COUNT (s_keys))];
        if (depth > 1 && s_pick (3) == 0)
            json_object_set_new (object, key, s_pattern (depth - 1));
        else
        if (depth > 1 && s_pick (6) == 0) {
            char dotted [32];
            snprintf (dotted, sizeof (dotted), "%s.%s", key, s_keys [s_pick (COUNT (s_keys))]);
            json_object_set_new (object, dotted, s_leaf ());
        }
        else
            json_object_set_new (object, key, s_leaf ());
    }
    if (s_pick (8) == 0) {
        json_t *branches = json_array ();
        for (int i = 0, n = 2 + s_pick (2); i < n; i++)
            json_array_append_new (branches, s_pattern (depth > 1? depth - 1: 1));
        json_object_set_new (object, "$or", branches);
    }
    return object;
}

static json_t *s_value (int depth);

static json_t *
s_event_object (int depth)
{
    json_t *object = json_object ();
    for (int i = 0, n = s_pick (5); i < n; i++) {
        const char *key = s_keys [s_pick (COUNT (s_keys))];
        if (s_pick (10) == 0) {
            char dotted [32];
            snprintf (dotted, sizeof (dotted), "%s.%s", key, s_keys [s_pick (COUNT (s_keys))]);
            json_object_set_new (object, dotted, s_value (depth - 1));
        }
        else
            json_object_set_new (object, key, s_value (depth - 1));
    }
    return object;
}

static json_t *
s_value (int depth)
{
    int kind = s_pick (depth > 0? 10: 6);
    switch (kind) {
        case 0: case 1: case 2: return s_string ();
        case 3: case 4: return s_number ();
        case 5: return s_pick (2)? json_null (): json_boolean (s_pick (2));
        case 6: case 7: case 8: return s_event_object (depth);
        default: {
            json_t *array = json_array ();
            bool objects = s_pick (2);
            for (int i = 0, n = s_pick (4); i < n; i++)
                json_array_append_new (array, objects? s_event_object (depth - 1): s_value (0));
            return array;
        }
    }
}

//  Pack a JSON value as MessagePack, as a peer other than libmesh might:
//  now and then a map repeats one of its keys with another value (JSON
//  text cannot say that, but the wire can, and the last one must count).
static void
s_pack (msgpack_packer *pk, const json_t *value, int depth)
{
    switch (json_typeof (value)) {
        case JSON_OBJECT: {
            size_t size = json_object_size (value);
            bool repeat = size > 0 && s_pick (6) == 0;
            msgpack_pack_map (pk, size + (repeat? 1: 0));
            const char *key, *repeated = NULL;
            json_t *member;
            size_t index = 0, chosen = repeat? (size_t) s_pick ((int) size): SIZE_MAX;
            json_object_foreach ((json_t *) value, key, member) {
                msgpack_pack_str (pk, strlen (key));
                msgpack_pack_str_body (pk, key, strlen (key));
                s_pack (pk, member, depth + 1);
                if (index++ == chosen)
                    repeated = key;
            }
            if (repeated) {
                msgpack_pack_str (pk, strlen (repeated));
                msgpack_pack_str_body (pk, repeated, strlen (repeated));
                json_t *other = s_value (depth < 3? 1: 0);
                s_pack (pk, other, depth + 1);
                json_decref (other);
            }
            break;
        }
        case JSON_ARRAY: {
            msgpack_pack_array (pk, json_array_size (value));
            size_t i;
            json_t *member;
            json_array_foreach (value, i, member)
                s_pack (pk, member, depth + 1);
            break;
        }
        case JSON_STRING:
            msgpack_pack_str (pk, json_string_length (value));
            msgpack_pack_str_body (pk, json_string_value (value), json_string_length (value));
            break;
        case JSON_INTEGER:
            msgpack_pack_int64 (pk, json_integer_value (value));
            break;
        case JSON_REAL:
            msgpack_pack_double (pk, json_real_value (value));
            break;
        case JSON_TRUE:
            msgpack_pack_true (pk);
            break;
        case JSON_FALSE:
            msgpack_pack_false (pk);
            break;
        default:
            msgpack_pack_nil (pk);
    }
}

//  The text of a generated value, numbers in their shortest decimals (the
//  codec's writer): "%.17g" would turn 0.1 into 0.10000000000000001, a
//  number a pattern may not hold, and the numeric tests would be refused.
static char *
s_dump (const json_t *value)
{
    return mesh__json_emit (value, false);
}

//  What every rule of a shared set names (the rules people write: one
//  source, one detail-type, then a condition of their own): one or two
//  fields of one exact string each, sometimes nested, which the compiled
//  set tests once for all of them (mesh_automaton.h's stamps).
static json_t *
s_common (void)
{
    json_t *object = json_object ();
    for (int i = 0, n = 1 + s_pick (2); i < n; i++) {
        json_t *leaf = json_pack ("[s]", s_strings [s_pick (COUNT (s_strings))]);
        const char *key = s_keys [s_pick (COUNT (s_keys))];
        if (s_pick (3) == 0) {
            json_t *nested = json_object ();
            json_object_set_new (nested, s_keys [s_pick (COUNT (s_keys))], leaf);
            json_object_set_new (object, key, nested);
        }
        else
            json_object_set_new (object, key, leaf);
    }
    return object;
}

static void
test_compiled_set_agrees_with_the_interpreter (void **state)
{
    (void) state;
    const char *seed_text = getenv ("MESH_DIFF_SEED");
    uint64_t seed = seed_text? strtoull (seed_text, NULL, 10): (uint64_t) time (NULL) ^ (uint64_t) clock ();
    s_state = seed? seed: 1;
    print_message ("differential: seed %" PRIu64 " (MESH_DIFF_SEED=%" PRIu64 " repeats this run)\n", seed, seed);

    long pairs = 0, matches = 0, malformed_pairs = 0, invalid = 0, sets = 0;
    while (pairs < PAIRS_MIN) {
        //  A set of random rules...
        mesh_ruleset_t *set = mesh_ruleset_new ();
        char *patterns [RULES_MAX];
        const mesh_rule_t *rules [RULES_MAX];
        int rule_count = 0;
        //  Half the sets share predicates: every rule adds the same fields
        //  to its own (those it already has stay its own)
        json_t *common = s_pick (2) == 0? s_common (): NULL;
        for (int attempt = 0, want = (common? 4: 1) + s_pick (RULES_MAX - (common? 3: 0));
             rule_count < want && attempt < 4 * want; attempt++) {
            json_t *pattern = s_pattern (1 + s_pick (3));
            if (common)
                json_object_update_missing (pattern, common);
            char *text = s_dump (pattern);
            json_decref (pattern);
            char name [16];
            snprintf (name, sizeof (name), "r%d", rule_count);
            mesh_error_t err = { 0 };
            mesh_rule_t *rule = mesh_rule_new (name, text, SIZE_MAX, &err);
            if (!rule) {
                invalid++;
                free (text);
                continue;
            }
            rules [rule_count] = rule;
            patterns [rule_count++] = text;
            assert_true (mesh_ruleset_add (set, &rule) >= 0);
        }
        json_decref (common);
        mesh_error_t err = { 0 };
        assert_int_equal (mesh_ruleset_compile (set, &err), 0);
        sets++;

        //  ...against random events, and some of them mutated.
        for (int e = 0; e < EVENTS; e++) {
            json_t *event = s_event_object (3);
            char *text = s_dump (event);         //  replaced by what was packed, below
            void *data;
            size_t size;
            bool repeats = false;
            if (s_pick (4) == 0) {
                //  packed by hand, maybe with repeated keys
                msgpack_sbuffer buffer;
                msgpack_sbuffer_init (&buffer);
                msgpack_packer pk;
                msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
                s_pack (&pk, event, 0);
                size = buffer.size;
                data = malloc (size);
                memcpy (data, buffer.data, size);
                msgpack_sbuffer_destroy (&buffer);
                repeats = true;
                //  Show what was packed, repeated keys included.
                char *packed = mesh_msgpack_to_json (data, size, NULL, NULL);
                if (packed) {
                    free (text);
                    text = packed;
                }
            }
            else
                assert_int_equal (mesh_json_to_msgpack (text, strlen (text), NULL, &data, &size, &err), 0);
            bool mutated = s_pick (16) == 0 && size > 0;
            if (mutated) {
                uint8_t *bytes = data;
                for (int m = 0, n = 1 + s_pick (3); m < n; m++)
                    bytes [s_pick ((int) size)] = (uint8_t) s_next ();
                if (s_pick (2))
                    size = (size_t) s_pick ((int) size);
            }
            uint32_t hits [RULES_MAX];
            mesh_error_t set_err = { 0 };
            int count = mesh_ruleset_match (set, data, size, hits, &set_err);
            int expected = 0;
            for (int r = 0; r < rule_count; r++) {
                mesh_error_t rule_err = { 0 };
                int one = mesh_rule_match (rules [r], data, size, &rule_err);
                bool in_set = false;
                for (int h = 0; h < count; h++)
                    in_set |= hits [h] == (uint32_t) r;
                if (one == -1 || count == -1) {
                    if (one != count)
                        fail_msg ("seed %" PRIu64 ": malformed disagreement (interpreter %d, set %d) on "
                                  "pattern %s, event %s%s", seed, one, count, patterns [r], text,
                                  mutated? " (mutated bytes)": repeats? " (packed by hand)": "");
                    malformed_pairs++;
                }
                else
                if ((one == 1) != in_set)
                    fail_msg ("seed %" PRIu64 ": interpreter says %s, compiled set says %s\n"
                              "  pattern: %s\n  event:   %s%s", seed, one? "match": "no match",
                              in_set? "match": "no match", patterns [r], text,
                              repeats? " (packed by hand, keys may repeat)": "");
                expected += one == 1;
                matches += one == 1;
                pairs++;
            }
            if (count >= 0)
                assert_int_equal (count, expected);
            free (data);
            free (text);
            json_decref (event);
        }
        for (int r = 0; r < rule_count; r++)
            free (patterns [r]);
        mesh_ruleset_destroy (&set);
    }
    print_message ("differential: %ld pairs in %ld rule sets agree (%ld matches, %ld on malformed bytes); "
                   "%ld generated patterns were invalid\n", pairs, sets, matches, malformed_pairs, invalid);
    //  The generator must exercise both answers, or the test proves little.
    assert_true (matches > pairs / 50);
    assert_true (matches < pairs - pairs / 50);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_compiled_set_agrees_with_the_interpreter),
    };
    return cmocka_run_group_tests_name ("differential", tests, NULL, NULL);
}
