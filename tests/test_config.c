/*  test_config.c: rule files, good and bad

    Every file tests/data/bad/NAME.json must be refused with the message
    fragment in its .err twin (and the file's path first); the good files
    and the shipped config/eda_bus.json must load with the rules and
    targets they say.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mesh.h"
#include "mesh_config.h"
#include "support/testkit.h"

static void
test_config_refuses_every_bad_file_with_its_message (void **state)
{
    (void) state;
    DIR *dir = opendir ("tests/data/bad");
    assert_non_null (dir);
    struct dirent *entry;
    int checked = 0;
    while ((entry = readdir (dir))) {
        size_t size = strlen (entry->d_name);
        if (size < 6 || strcmp (entry->d_name + size - 5, ".json"))
            continue;
        char path [512], expect_path [512];
        snprintf (path, sizeof (path), "tests/data/bad/%s", entry->d_name);
        snprintf (expect_path, sizeof (expect_path), "tests/data/bad/%.*s.err", (int) size - 5, entry->d_name);
        char *expect = tk_read (expect_path);
        if (!expect)
            fail_msg ("%s has no .err file with its expected message", path);
        mesh_error_t err = { 0 };
        mesh_bus_t *bus = mesh_bus_load (path, &err);
        if (bus)
            fail_msg ("%s: loaded, but should be refused with: %s", path, expect);
        assert_true (err.code == MESH_EINVAL || err.code == MESH_EMALFORMED);
        if (!strstr (err.text, expect))
            fail_msg ("%s: expected '%s' in: %s", path, expect, err.text);
        if (strncmp (err.text, path, strlen (path)))
            fail_msg ("%s: the message must start with the file's path: %s", path, err.text);
        free (expect);
        checked++;
    }
    closedir (dir);
    assert_true (checked >= 20);
}

static void
test_config_loads_the_shipped_example (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    mesh_bus_t *bus = mesh_bus_load ("config/eda_bus.json", &err);
    if (!bus)
        fail_msg ("%s", err.text);
    assert_string_equal (mesh_bus_name (bus), "eda_bus");
    assert_int_equal (mesh_bus_rule_total (bus), 3);
    const mesh_ruleset_t *set = mesh_bus_ruleset (bus);
    assert_int_equal (mesh_ruleset_size (set), 3);
    assert_string_equal (mesh_rule_name (mesh_ruleset_rule (set, 0)), "payment-processed");
    size_t count;
    const char *const *targets = mesh_bus_targets (bus, 0, &count);
    assert_int_equal (count, 1);
    assert_string_equal (targets [0], "rewards");
    targets = mesh_bus_targets (bus, 1, &count);
    assert_string_equal (targets [0], "warehouse");
    targets = mesh_bus_targets (bus, 2, &count);
    assert_string_equal (targets [0], "shipping");
    assert_non_null (strstr (mesh_bus_pattern (bus, 0), "numeric"));
    mesh_bus_destroy (&bus);
    assert_null (bus);
}

static void
test_config_skips_disabled_rules_and_takes_pattern_text (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    mesh_bus_t *bus = mesh_bus_load ("tests/data/good/disabled_and_text.json", &err);
    if (!bus)
        fail_msg ("%s", err.text);
    assert_int_equal (mesh_bus_rule_total (bus), 2);
    const mesh_ruleset_t *set = mesh_bus_ruleset (bus);
    assert_int_equal (mesh_ruleset_size (set), 1);
    assert_string_equal (mesh_rule_name (mesh_ruleset_rule (set, 0)), "as-text");
    size_t count;
    const char *const *targets = mesh_bus_targets (bus, 0, &count);
    assert_int_equal (count, 2);
    assert_string_equal (targets [1], "audit");

    //  and the pattern given as text really is the pattern
    void *event;
    size_t size;
    const char *big = "{\"source\":\"shop\",\"detail\":{\"amount\":10}}";
    const char *small = "{\"source\":\"shop\",\"detail\":{\"amount\":9.99}}";
    uint32_t hits [1];
    assert_int_equal (mesh_json_to_msgpack (big, strlen (big), NULL, &event, &size, &err), 0);
    assert_int_equal (mesh_ruleset_match (set, event, size, hits, &err), 1);
    free (event);
    assert_int_equal (mesh_json_to_msgpack (small, strlen (small), NULL, &event, &size, &err), 0);
    assert_int_equal (mesh_ruleset_match (set, event, size, hits, &err), 0);
    free (event);
    mesh_bus_destroy (&bus);
}

//  A pattern given as an object went through jansson: its numbers are
//  written back for the compiler in their shortest decimals, so 0.1 is 0.1
//  (json_dumps would write 0.10000000000000001, a number no double holds,
//  and the rule would be refused).
static void
test_config_pattern_object_keeps_its_decimals (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    mesh_bus_t *bus = mesh_bus_load ("tests/data/good/decimal_numbers.json", &err);
    if (!bus)
        fail_msg ("%s", err.text);
    assert_int_equal (mesh_bus_rule_total (bus), 2);
    const char *pattern = mesh_bus_pattern (bus, 0);
    if (!strstr (pattern, "[\">\",0.1,\"<=\",2500.0]") || !strstr (pattern, "6.386688990511104e+293"))
        fail_msg ("pattern written back as %s", pattern);

    //  and the numbers compare as written
    static const struct {
        const char *event;
        int hits;
    } cases [] = {
        { "{\"detail\":{\"price\":0.2,\"code\":1}}", 1 },
        { "{\"detail\":{\"price\":0.1,\"code\":1}}", 0 },
        { "{\"detail\":{\"price\":2500,\"code\":1}}", 1 },
        { "{\"detail\":{\"price\":0.2,\"code\":0.2}}", 0 },
        { "{\"detail\":{\"price\":0.30000000000000004,\"code\":0.2}}", 1 },
    };
    const mesh_ruleset_t *set = mesh_bus_ruleset (bus);
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        void *event;
        size_t size;
        uint32_t hits [2];
        assert_int_equal (mesh_json_to_msgpack (cases [i].event, strlen (cases [i].event), NULL,
                                                &event, &size, &err), 0);
        if (mesh_ruleset_match (set, event, size, hits, &err) != cases [i].hits)
            fail_msg ("%s: expected %d rule(s) to match", cases [i].event, cases [i].hits);
        free (event);
    }
    mesh_bus_destroy (&bus);
}

//  A rule file with one pattern of about size bytes (a long list of values).
static char *
s_big_rule_file (size_t size)
{
    char *text = malloc (size + 256);
    assert_non_null (text);
    size_t n = (size_t) sprintf (text, "{\"bus\":\"b\",\"rules\":[{\"name\":\"big\","
                                       "\"targets\":[{\"name\":\"t\"}],\"event_pattern\":{\"source\":[");
    size_t start = n;
    for (int i = 0; n - start < size; i++)
        n += (size_t) sprintf (text + n, "%s\"source-%05d\"", i? ",": "", i);
    strcpy (text + n, "]}}]}");
    return text;
}

static void
test_config_pattern_size_limit_is_configurable (void **state)
{
    (void) state;
    char *text = s_big_rule_file (5000);
    mesh_error_t err = { 0 };
    assert_null (mesh_bus_parse (text, strlen (text), "big.json", &err));
    assert_int_equal (err.code, MESH_ETOOBIG);
    assert_non_null (strstr (err.text, "big.json: rule 'big': pattern"));

    mesh_rule_options_t options;
    mesh_rule_options_init (&options);
    options.max_pattern_size = 8192;
    mesh_bus_t *bus = mesh_bus_parse_with (text, strlen (text), "big.json", &options, &err);
    if (!bus)
        fail_msg ("%s", err.text);
    assert_int_equal (mesh_ruleset_size (mesh_bus_ruleset (bus)), 1);
    mesh_bus_destroy (&bus);
    free (text);
}

static void
test_config_reports_a_missing_file (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    assert_null (mesh_bus_load ("tests/data/no-such-file.json", &err));
    assert_int_equal (err.code, MESH_EIO);
    assert_non_null (strstr (err.text, "tests/data/no-such-file.json: cannot open: No such file"));
}

static void
test_config_names_are_checked (void **state)
{
    (void) state;
    assert_true (mesh_name_valid ("rewards"));
    assert_true (mesh_name_valid ("rewards-v2.eu_1"));
    assert_false (mesh_name_valid (""));
    assert_false (mesh_name_valid ("a b"));
    assert_false (mesh_name_valid ("a/b"));
    assert_false (mesh_name_valid (NULL));
    char long_name [66];
    memset (long_name, 'a', 65);
    long_name [65] = '\0';
    assert_false (mesh_name_valid (long_name));
    long_name [64] = '\0';
    assert_true (mesh_name_valid (long_name));
    assert_true (mesh_bus_name_valid ("team/eda_bus"));
    assert_false (mesh_bus_name_valid ("eda bus"));
}

//  Every rule of the file, disabled ones too, for tools such as explain
static void
test_config_lists_every_rule_in_file_order (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    mesh_bus_t *bus = mesh_bus_load ("tests/data/good/disabled_and_text.json", &err);
    if (!bus)
        fail_msg ("%s", err.text);
    const char *pattern = NULL;
    int index = 0;
    assert_string_equal (mesh_bus_rule_info (bus, 0, &pattern, &index), "off");
    assert_int_equal (index, -1);
    assert_non_null (strstr (pattern, "\"source\""));
    assert_string_equal (mesh_bus_rule_info (bus, 1, &pattern, &index), "as-text");
    assert_int_equal (index, 0);
    assert_string_equal (pattern, mesh_bus_pattern (bus, 0));
    assert_string_equal (mesh_bus_rule_info (bus, 1, NULL, NULL), "as-text");
    mesh_bus_destroy (&bus);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_config_refuses_every_bad_file_with_its_message),
        cmocka_unit_test (test_config_loads_the_shipped_example),
        cmocka_unit_test (test_config_skips_disabled_rules_and_takes_pattern_text),
        cmocka_unit_test (test_config_pattern_object_keeps_its_decimals),
        cmocka_unit_test (test_config_lists_every_rule_in_file_order),
        cmocka_unit_test (test_config_pattern_size_limit_is_configurable),
        cmocka_unit_test (test_config_reports_a_missing_file),
        cmocka_unit_test (test_config_names_are_checked),
    };
    return cmocka_run_group_tests_name ("config", tests, NULL, NULL);
}
