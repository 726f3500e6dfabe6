/*  test_mp.c: the one validating skip (mesh_mp.h)

    Every check of MessagePack bytes in libmesh steps over values with
    mesh__mp_skip_values: the interpreter's check, the automaton's walk, the
    broker's check and the codec (strict). These tests pin down what it
    refuses, why, and where, in both of its parts: the fast flat skip and
    the exact one it hands over to. The reader itself is tested in
    test_event.c.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mesh.h"
#include "../libmesh/src/mesh_private.h"

//  Skip pending values of data from its start, at depth, and return where
//  it stopped (NULL on refusal, with *fail filled).
static const uint8_t *
s_skip (const uint8_t *data, size_t size, uint64_t pending, int depth, int max_depth,
        int flags, mesh__mp_fail_t *fail)
{
    return mesh__mp_skip_values (data, data + size, pending, depth, max_depth, flags, fail);
}

//  count nested one-element arrays around a nil: 0x91 0x91 ... 0xc0
static uint8_t *
s_nested (int count, size_t *size)
{
    uint8_t *data = malloc ((size_t) count + 1);
    assert_non_null (data);
    memset (data, 0x91, (size_t) count);
    data [count] = 0xc0;
    *size = (size_t) count + 1;
    return data;
}

static void
test_mp_skip_refuses_one_level_past_the_limit (void **state)
{
    (void) state;
    size_t size;
    //  Inside the top map (depth 1), 1999 more containers reach level 2000
    uint8_t *data = s_nested (MESH_MAX_DEPTH_LIMIT - 1, &size);
    mesh__mp_fail_t fail;
    assert_ptr_equal (s_skip (data, size, 1, 1, MESH_MAX_DEPTH_LIMIT, 0, &fail), data + size);
    free (data);
    data = s_nested (MESH_MAX_DEPTH_LIMIT, &size);
    assert_null (s_skip (data, size, 1, 1, MESH_MAX_DEPTH_LIMIT, 0, &fail));
    assert_int_equal (fail.why, MESH__MP_TOO_DEEP);
    assert_ptr_equal (fail.at, data + MESH_MAX_DEPTH_LIMIT - 1);
    //  Without fail wanted, the same answer
    assert_null (s_skip (data, size, 1, 1, MESH_MAX_DEPTH_LIMIT, 0, NULL));
    free (data);
}

static void
test_mp_skip_hands_over_many_shallow_containers (void **state)
{
    (void) state;
    //  An array of 3000 empty arrays: more containers than the flat skip's
    //  budget, but only two levels deep, so the exact skip accepts it
    size_t size = 3 + 3000;
    uint8_t *data = malloc (size);
    data [0] = 0xdc;
    data [1] = 3000 >> 8;
    data [2] = 3000 & 0xff;
    memset (data + 3, 0x90, 3000);
    assert_ptr_equal (mesh__mp_skip_flat (data, data + size, 1, MESH_MAX_DEPTH_LIMIT - 1),
                      MESH__MP_HAND_OVER);
    assert_ptr_equal (s_skip (data, size, 1, 1, MESH_MAX_DEPTH_LIMIT, 0, NULL), data + size);
    free (data);
}

static void
test_mp_skip_says_where_bytes_are_truncated (void **state)
{
    (void) state;
    //  [1, "abc"] with the string cut short: the bad value is the string
    static const uint8_t data [] = { 0x92, 0x01, 0xa3, 'a', 'b' };
    mesh__mp_fail_t fail;
    assert_null (s_skip (data, sizeof (data), 1, 0, MESH_MAX_DEPTH_LIMIT, 0, &fail));
    assert_int_equal (fail.why, MESH__MP_BAD_BYTES);
    assert_ptr_equal (fail.at, data + 2);
    //  0xc1 is never valid
    static const uint8_t never [] = { 0x92, 0x01, 0xc1 };
    assert_null (s_skip (never, sizeof (never), 1, 0, MESH_MAX_DEPTH_LIMIT, 0, &fail));
    assert_int_equal (fail.why, MESH__MP_BAD_BYTES);
    assert_ptr_equal (fail.at, never + 2);
}

static void
test_mp_plain_skip_takes_what_only_strict_refuses (void **state)
{
    (void) state;
    static const uint8_t bad_utf8 [] = { 0xa2, 0xc3, 0x28 };
    static const uint8_t bin [] = { 0xc4, 0x01, 0x00 };
    static const uint8_t huge [] = { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t *cases [] = { bad_utf8, bin, huge };
    static const size_t sizes [] = { sizeof (bad_utf8), sizeof (bin), sizeof (huge) };
    for (size_t i = 0; i < 3; i++) {
        mesh__mp_fail_t fail;
        assert_ptr_equal (s_skip (cases [i], sizes [i], 1, 0, 8, 0, &fail), cases [i] + sizes [i]);
        assert_null (s_skip (cases [i], sizes [i], 1, 0, 8, MESH__MP_STRICT, &fail));
        assert_int_equal (fail.why, MESH__MP_BAD_VALUE);
        assert_ptr_equal (fail.at, cases [i]);
    }
}

static void
test_mp_strict_skip_wants_string_keys_in_maps (void **state)
{
    (void) state;
    //  The pairs of a map: "a" 1, then 2 3, whose key is a number
    static const uint8_t pairs [] = { 0xa1, 'a', 0x01, 0x02, 0x03 };
    mesh__mp_fail_t fail;
    assert_null (s_skip (pairs, sizeof (pairs), 4, 1, 8, MESH__MP_STRICT | MESH__MP_IN_MAP, &fail));
    assert_int_equal (fail.why, MESH__MP_BAD_KEY);
    assert_ptr_equal (fail.at, pairs + 3);
    //  The same values are fine as an array's
    assert_ptr_equal (s_skip (pairs, sizeof (pairs), 4, 1, 8, MESH__MP_STRICT, &fail),
                      pairs + sizeof (pairs));
    //  and nested maps are checked too: [{1: 2}]
    static const uint8_t nested [] = { 0x91, 0x81, 0x01, 0x02 };
    assert_null (s_skip (nested, sizeof (nested), 1, 1, 8, MESH__MP_STRICT, &fail));
    assert_int_equal (fail.why, MESH__MP_BAD_KEY);
    assert_ptr_equal (fail.at, nested + 2);
    assert_int_equal (fail.level, 4);
}

static void
test_mp_strict_skip_refuses_counts_past_the_bytes (void **state)
{
    (void) state;
    //  An array that claims 15 elements and has 2
    static const uint8_t data [] = { 0x9f, 0x01, 0x02 };
    mesh__mp_fail_t fail;
    assert_null (s_skip (data, sizeof (data), 1, 1, 8, MESH__MP_STRICT, &fail));
    assert_int_equal (fail.why, MESH__MP_TOO_MANY);
    assert_int_equal (fail.value.type, MESH_MP_ARRAY);
    assert_int_equal (fail.value.v.count, 15);
    assert_ptr_equal (fail.at, data);
}

static void
test_mp_check_value_is_the_strict_rule (void **state)
{
    (void) state;
    static const uint8_t end [1];
    mesh__mp_value_t value = { .type = MESH_MP_STR };
    value.v.s.ptr = "ok";
    value.v.s.size = 2;
    assert_int_equal (mesh__mp_check_value (&value, end, end, 1, 8), 0);
    value.type = MESH_MP_EXT;
    assert_int_equal (mesh__mp_check_value (&value, end, end, 1, 8), MESH__MP_BAD_VALUE);
    value.type = MESH_MP_UINT;
    value.v.u = INT64_MAX;
    assert_int_equal (mesh__mp_check_value (&value, end, end, 1, 8), 0);
    value.v.u = (uint64_t) INT64_MAX + 1;
    assert_int_equal (mesh__mp_check_value (&value, end, end, 1, 8), MESH__MP_BAD_VALUE);
    value.type = MESH_MP_MAP;
    value.v.count = 0;
    assert_int_equal (mesh__mp_check_value (&value, end, end, 8, 8), 0);
    assert_int_equal (mesh__mp_check_value (&value, end, end, 9, 8), MESH__MP_TOO_DEEP);
}

//  The strict skip's fast part never decides a refusal and accepts only
//  what the exact skip accepts, stopping where it stops: compared on random
//  byte strings built from MessagePack's common headers (so that many are
//  well-formed), with every flag combination and a tight depth limit.
static uint64_t
s_next (uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void
test_mp_strict_fast_part_agrees_with_the_exact_skip (void **state)
{
    (void) state;
    static const uint8_t pieces [] = {
        0x81, 0x82, 0x91, 0x92, 0x90, 0x80, 0xa1, 'k', 0xa2, 'o', 'k', 0xa1, 0xc3, 0xa0, 0x01, 0x7f,
        0xe0, 0xc0, 0xc2, 0xc3, 0xcc, 0xcf, 0xcb, 0xca, 0x7f, 0xf8, 0xff, 0x80, 0x00, 0xd9, 0x02,
        0xdc, 0x00, 0x02, 0xde, 0x00, 0x01, 0xc4, 0xd4, 0xc1, 0xe2, 0x82, 0xac, 0xd3
    };
    uint64_t x = 0x2545f4914f6cdd1dull;
    int fast_accepted = 0, fast_handed_over = 0;
    uint8_t data [48];
    for (int round = 0; round < 200000; round++) {
        size_t size = 1 + (size_t) (s_next (&x) % sizeof (data));
        for (size_t i = 0; i < size; i++)
            data [i] = s_next (&x) % 4? pieces [s_next (&x) % sizeof (pieces)]: (uint8_t) s_next (&x);
        int flags = MESH__MP_STRICT | (round & 1? MESH__MP_IN_MAP: 0) | (round & 2? MESH__MP_FINITE: 0);
        uint64_t pending = 1 + (uint64_t) (s_next (&x) % 3);
        if (flags & MESH__MP_IN_MAP)
            pending = 2;
        int max_depth = round % 7 == 0? 3: 64;
        const uint8_t *fast = mesh__mp_skip_strict_fast (data, data + size, pending, 1, max_depth, flags);
        mesh__mp_fail_t fail;
        const uint8_t *exact = mesh__mp_skip_deep (data, data + size, pending, 1, max_depth, flags, &fail);
        if (fast == MESH__MP_HAND_OVER) {
            fast_handed_over++;
            continue;
        }
        assert_non_null (fast);             //  it never refuses
        assert_ptr_equal (fast, exact);     //  and accepts only what the exact skip does
        fast_accepted++;
        //  The skip the walk calls answers as the exact one too
        assert_ptr_equal (s_skip (data, size, pending, 1, max_depth, flags, NULL), exact);
    }
    assert_true (fast_accepted > 10000);
    assert_true (fast_handed_over > 10000);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_mp_skip_refuses_one_level_past_the_limit),
        cmocka_unit_test (test_mp_skip_hands_over_many_shallow_containers),
        cmocka_unit_test (test_mp_skip_says_where_bytes_are_truncated),
        cmocka_unit_test (test_mp_plain_skip_takes_what_only_strict_refuses),
        cmocka_unit_test (test_mp_strict_skip_wants_string_keys_in_maps),
        cmocka_unit_test (test_mp_strict_skip_refuses_counts_past_the_bytes),
        cmocka_unit_test (test_mp_check_value_is_the_strict_rule),
        cmocka_unit_test (test_mp_strict_fast_part_agrees_with_the_exact_skip),
    };
    return cmocka_run_group_tests_name ("mp", tests, NULL, NULL);
}
