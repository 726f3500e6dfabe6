/*  test_strings.c: strings copied once, packed, and kept once
    (mesh_strings.h), which hold a bus's rule names, patterns and target
    names.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "../libmesh/src/mesh_strings.h"

//  Copies are terminated, packed end to end, and outlive the text.
static void
test_strings_copies_are_packed_and_terminated (void **state)
{
    (void) state;
    mesh__strings_t pool = { 0 };
    char text [] = "rewardsXwarehouse";
    const char *a = mesh__strings_copy (&pool, text, 7);
    const char *b = mesh__strings_copy (&pool, text + 8, 9);
    memset (text, 0, sizeof (text));
    assert_string_equal (a, "rewards");
    assert_string_equal (b, "warehouse");
    assert_ptr_equal (b, a + 8);            //  no alignment between them
    //  Many small strings take few blocks: 100,000 of 20 bytes, about 2 MB
    for (int i = 0; i < 100000; i++) {
        char name [32];
        int size = snprintf (name, sizeof (name), "bench-nomatch-%05d", i);
        const char *copy = mesh__strings_copy (&pool, name, (size_t) size);
        assert_non_null (copy);
        assert_string_equal (copy, name);
    }
    assert_true (mesh__strings_bytes (&pool) < 100000 * 21 + 2 * 65536);
    mesh__strings_fini (&pool);
    assert_int_equal (mesh__strings_bytes (&pool), 0);
}

//  A string larger than a quarter of a block gets a piece of its own; the
//  block being filled goes on being filled.
static void
test_strings_large_strings_have_their_own_piece (void **state)
{
    (void) state;
    mesh__strings_t pool = { 0 };
    const char *small = mesh__strings_copy (&pool, "a", 1);
    static char big [100000];
    memset (big, 'x', sizeof (big));
    const char *large = mesh__strings_copy (&pool, big, sizeof (big));
    assert_non_null (large);
    assert_int_equal (strlen (large), sizeof (big));
    const char *next = mesh__strings_copy (&pool, "b", 1);
    assert_ptr_equal (next, small + 2);
    //  reserve and commit write in place
    char *room = mesh__strings_reserve (&pool, 3);
    memcpy (room, "xyz", 3);
    mesh__strings_commit (&pool, 3);
    assert_string_equal (room, "xyz");
    assert_ptr_equal (room, next + 2);
    room = mesh__strings_reserve (&pool, sizeof (big));
    memset (room, 'y', sizeof (big));
    mesh__strings_commit (&pool, sizeof (big));
    assert_int_equal (strlen (room), sizeof (big));
    mesh__strings_fini (&pool);
}

//  One pointer per distinct string, through the table's growth
static void
test_strings_intern_keeps_one_copy (void **state)
{
    (void) state;
    mesh__strings_t pool = { 0 };
    mesh__intern_t names = { 0 };
    bool added;
    const char *first = mesh__intern (&names, &pool, "rewards", 7, &added);
    assert_true (added);
    const char *again = mesh__intern (&names, &pool, "rewardsXX", 7, &added);
    assert_false (added);
    assert_ptr_equal (first, again);
    //  A prefix is another string
    assert_ptr_not_equal (mesh__intern (&names, &pool, "reward", 6, &added), first);
    assert_true (added);
    const char *seen [5000];
    for (int i = 0; i < 5000; i++) {
        char name [32];
        int size = snprintf (name, sizeof (name), "t%d", i);
        seen [i] = mesh__intern (&names, &pool, name, (size_t) size, &added);
        assert_true (added);
    }
    for (int i = 0; i < 5000; i++) {
        char name [32];
        int size = snprintf (name, sizeof (name), "t%d", i);
        assert_ptr_equal (mesh__intern (&names, &pool, name, (size_t) size, &added), seen [i]);
        assert_false (added);
    }
    assert_int_equal (names.count, 5002);
    assert_ptr_equal (mesh__intern (&names, &pool, "rewards", 7, NULL), first);
    mesh__intern_fini (&names);
    assert_int_equal (names.count, 0);
    mesh__strings_fini (&pool);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_strings_copies_are_packed_and_terminated),
        cmocka_unit_test (test_strings_large_strings_have_their_own_piece),
        cmocka_unit_test (test_strings_intern_keeps_one_copy),
    };
    return cmocka_run_group_tests_name ("strings", tests, NULL, NULL);
}
