/*  test_utf8.c: strict UTF-8, checked, located, counted and decoded
    (mesh_utf8.h), the one definition every module of libmesh uses.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "mesh.h"
#include "../libmesh/src/mesh_private.h"

typedef struct {
    const char *bytes;
    size_t bad_at;              //  offset of the first bad byte; strlen if none
} s_case_t;

static const s_case_t s_cases [] = {
    { "plain ascii, long enough for the eight-byte path", 48 },
    { "caf\xc3\xa9", 5 },
    { "\xe2\x82\xac and \xf0\x9f\x98\x80", 12 },
    { "ab\xc0\xafz", 2 },                   //  overlong '/'
    { "ab\xe0\x80\xafz", 2 },               //  overlong, three bytes
    { "ab\xed\xa0\x80z", 2 },               //  a surrogate
    { "ab\xf4\x90\x80\x80", 2 },            //  above U+10FFFF
    { "ab\x80z", 2 },                       //  a stray continuation byte
    { "ab\xe2\x82", 2 },                    //  truncated
    { "ab\xff", 2 },
};

static void
test_utf8_valid_and_bad_offset_agree (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof (s_cases) / sizeof (s_cases [0]); i++) {
        const char *s = s_cases [i].bytes;
        size_t size = strlen (s);
        assert_int_equal (mesh__utf8_bad_offset (s, size), s_cases [i].bad_at);
        assert_int_equal (mesh__utf8_valid (s, size), s_cases [i].bad_at == size);
    }
}

static void
test_utf8_next_decodes_and_marks_bad_bytes (void **state)
{
    (void) state;
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc0!";
    const char *end = s + strlen (s);
    static const uint32_t expected [] = { 'a', 0xe9, 0x20ac, 0x1f600, 0x110000 + 0xc0, '!' };
    for (size_t i = 0; i < sizeof (expected) / sizeof (expected [0]); i++)
        assert_int_equal (mesh__utf8_next (&s, end), expected [i]);
    assert_ptr_equal (s, end);
}

static void
test_utf8_count_counts_a_bad_byte_as_one (void **state)
{
    (void) state;
    assert_int_equal (mesh__utf8_count ("", 0), 0);
    assert_int_equal (mesh__utf8_count ("caf\xc3\xa9", 5), 4);
    assert_int_equal (mesh__utf8_count ("a\xff\xfe", 3), 3);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_utf8_valid_and_bad_offset_agree),
        cmocka_unit_test (test_utf8_next_decodes_and_marks_bad_bytes),
        cmocka_unit_test (test_utf8_count_counts_a_bad_byte_as_one),
    };
    return cmocka_run_group_tests_name ("utf8", tests, NULL, NULL);
}
