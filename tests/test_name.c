/*  test_name.c: the alphabet and lengths of bus, rule and target names
    (mesh_name.h), the one check the rule file, the publisher and the wire
    protocol share.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <locale.h>
#include <cmocka.h>
#include "mesh.h"

static void
test_name_accepts_the_eventbridge_alphabet (void **state)
{
    (void) state;
    assert_true (mesh_name_valid ("rewards"));
    assert_true (mesh_name_valid ("payment-processed"));
    assert_true (mesh_name_valid ("Rule_1.v2"));
    assert_true (mesh_bus_name_valid ("eda_bus"));
    assert_true (mesh_bus_name_valid ("aws.partner/acme.com/123/orders"));
}

static void
test_name_refuses_what_is_not_a_name (void **state)
{
    (void) state;
    const char *bad [] = { "", "bad name", "rewards!", "a/b", "caf\xc3\xa9", "tab\t", "x\x7f" };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++)
        assert_false (mesh_name_valid (bad [i]));
    assert_false (mesh_name_valid (NULL));
    assert_false (mesh_bus_name_valid (NULL));
    assert_false (mesh_bus_name_valid ("bus name"));
    assert_false (mesh_bus_name_valid (""));
}

static void
test_name_lengths_end_at_64_and_256 (void **state)
{
    (void) state;
    char name [MESH_BUS_NAME_MAX + 2];
    memset (name, 'a', sizeof (name));
    name [MESH_NAME_MAX] = '\0';
    assert_true (mesh_name_valid (name));
    name [MESH_NAME_MAX] = 'a';
    name [MESH_NAME_MAX + 1] = '\0';
    assert_false (mesh_name_valid (name));
    assert_true (mesh_bus_name_valid (name));
    name [MESH_NAME_MAX + 1] = 'a';
    name [MESH_BUS_NAME_MAX] = '\0';
    assert_true (mesh_bus_name_valid (name));
    name [MESH_BUS_NAME_MAX] = 'a';
    name [MESH_BUS_NAME_MAX + 1] = '\0';
    assert_false (mesh_bus_name_valid (name));
}

//  A name read from a frame: a NUL inside is never part of a valid name,
//  so "rewards\0\0" cannot pass for rewards' topic.
static void
test_name_with_a_nul_inside_is_refused (void **state)
{
    (void) state;
    assert_true (mesh_name_valid_n ("rewards", 7));
    assert_false (mesh_name_valid_n ("rewards\0", 8));
    assert_false (mesh_name_valid_n ("rew\0rds", 7));
    assert_false (mesh_bus_name_valid_n ("eda_bus\0", 8));
    assert_false (mesh_name_valid_n ("rewards", 0));
}

//  The check is ASCII whatever the locale: a Latin-1 letter is no name.
static void
test_name_ignores_the_locale (void **state)
{
    (void) state;
    setlocale (LC_ALL, "C.UTF-8");
    assert_false (mesh_name_valid ("caf\xe9"));
    setlocale (LC_ALL, "C");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_name_accepts_the_eventbridge_alphabet),
        cmocka_unit_test (test_name_refuses_what_is_not_a_name),
        cmocka_unit_test (test_name_lengths_end_at_64_and_256),
        cmocka_unit_test (test_name_with_a_nul_inside_is_refused),
        cmocka_unit_test (test_name_ignores_the_locale),
    };
    return cmocka_run_group_tests_name ("name", tests, NULL, NULL);
}
