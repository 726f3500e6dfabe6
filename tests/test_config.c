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
#include <jansson.h>
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

//  A pattern given as an object is compiled from its own text in the
//  file: its numbers are read as written (0.1 is 0.1, 2.5e3 stays 2.5e3),
//  and mesh_bus_pattern gives that text, less the whitespace between
//  tokens.
static void
test_config_pattern_object_is_compiled_as_written (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    mesh_bus_t *bus = mesh_bus_load ("tests/data/good/decimal_numbers.json", &err);
    if (!bus)
        fail_msg ("%s", err.text);
    assert_int_equal (mesh_bus_rule_total (bus), 2);
    assert_string_equal (mesh_bus_pattern (bus, 0),
                         "{\"detail\":{\"price\":[{\"numeric\":[\">\",0.1,\"<=\",2.5e3]}],"
                         "\"code\":[{\"anything-but\":[0.2,6.386688990511104e293]}]}}");

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

//  A number a double does not hold is refused in an object pattern with
//  the reason a text pattern gets, whatever its spelling (jansson read
//  9007199254740993.0 as 9007199254740992.0 when it parsed the file).
static void
test_config_pattern_object_refuses_numbers_as_text_does (void **state)
{
    (void) state;
    static const char *numbers [] = {
        "9007199254740993", "9007199254740993.0", "9.007199254740993e15",
        "0.30000000000000001", "1e400", NULL
    };
    for (const char **number = numbers; *number; number++) {
        char object [512], text [512];
        snprintf (object, sizeof (object),
                  "{\"bus\":\"b\",\"rules\":[{\"name\":\"r\",\"targets\":[{\"name\":\"t\"}],"
                  "\"event_pattern\":{\"detail\": {\"n\": [{\"numeric\": [\">\", %s]}]}}}]}", *number);
        snprintf (text, sizeof (text),
                  "{\"bus\":\"b\",\"rules\":[{\"name\":\"r\",\"targets\":[{\"name\":\"t\"}],"
                  "\"event_pattern\":\"{\\\"detail\\\": {\\\"n\\\": [{\\\"numeric\\\": [\\\">\\\", %s]}]}}\"}]}",
                  *number);
        char expected [256];
        snprintf (expected, sizeof (expected), "b.json: rule 'r': pattern.detail.n: Cannot compare number : %s",
                  *number);
        mesh_error_t object_err = { 0 }, text_err = { 0 };
        assert_null (mesh_bus_parse (object, strlen (object), "b.json", &object_err));
        assert_null (mesh_bus_parse (text, strlen (text), "b.json", &text_err));
        assert_int_equal (object_err.code, MESH_EINVAL);
        assert_string_equal (object_err.text, expected);
        assert_string_equal (text_err.text, expected);
    }
}

//  Two rules that name one target hold one string: the bus interns them.
static void
test_config_interns_target_names (void **state)
{
    (void) state;
    const char *text =
        "{\"bus\":\"b\",\"rules\":["
        "{\"name\":\"r1\",\"event_pattern\":{\"source\":[\"s\"]},\"targets\":[{\"name\":\"audit\"},{\"name\":\"billing\"}]},"
        "{\"name\":\"r2\",\"event_pattern\":{\"source\":[\"s\"]},\"targets\":[{\"name\":\"billing\"}]},"
        "{\"name\":\"r3\",\"event_pattern\":{\"source\":[\"s\"]},\"targets\":[{\"name\":\"audit\"}]}]}";
    mesh_error_t err = { 0 };
    mesh_bus_t *bus = mesh_bus_parse (text, strlen (text), "b.json", &err);
    if (!bus)
        fail_msg ("%s", err.text);
    size_t count [3];
    const char *const *targets [3];
    for (size_t i = 0; i < 3; i++)
        targets [i] = mesh_bus_targets (bus, i, &count [i]);
    assert_int_equal (count [0], 2);
    assert_string_equal (targets [0][0], "audit");
    assert_string_equal (targets [0][1], "billing");
    assert_ptr_equal (targets [1][0], targets [0][1]);
    assert_ptr_equal (targets [2][0], targets [0][0]);
    mesh_bus_destroy (&bus);
}

//  A file of count rules, one pattern spread over lines, indented as a
//  person writes it; bad (if not NULL) replaces the text of rule
//  bad_rule's pattern.
static char *
s_long_file (size_t count, size_t bad_rule, const char *bad)
{
    size_t room = count * 300 + 256;
    char *text = malloc (room);
    assert_non_null (text);
    size_t n = (size_t) snprintf (text, room, "{\n  \"bus\": \"long\",\n  \"rules\": [\n");
    for (size_t i = 0; i < count; i++) {
        const char *pattern = "{\n        \"source\": [\"démo.payments\"],\n"
                              "        \"detail\": {\"customer_id\": [\"c\"]}\n      }";
        n += (size_t) snprintf (text + n, room - n,
                                "    {\n      \"name\": \"rule-%zu\",\n      \"event_pattern\": %s,\n"
                                "      \"targets\": [{\"name\": \"t\"}]\n    }%s\n",
                                i, bad && i == bad_rule? bad: pattern, i + 1 < count? ",": "");
    }
    snprintf (text + n, room - n, "  ]\n}\n");
    return text;
}

//  Bad JSON deep in a file is named by the file's line and column, not
//  by a line and column in the rule or in its pattern: the ones jansson
//  gives for the whole file, whose tree the loader no longer builds.
static void
test_config_names_bad_json_by_the_file_line_and_column (void **state)
{
    (void) state;
    //  Each rule takes 8 lines from line 4: rule 700's pattern starts on
    //  line 5606, and the bad patterns go wrong on their second line
    static const struct {
        const char *pattern;
        const char *expected;
    } cases [] = {
        //  a missing comma, after a string with a two-byte character
        //  (columns count characters)
        { "{\n        \"source\": [\"démo\" \"x\"]}", "long.json:5607:29: ']' expected near '\"x\"'" },
        //  an unterminated string, then the rest of the file
        { "{\n        \"source\": [\"démo]}", "long.json:5607:" },
        //  two numbers for one: not JSON, though "[12]" is
        { "{\n        \"x\": [1 2]}", "long.json:5607:" },
        //  a bracket closed by the wrong one
        { "{\n        \"x\": [1}", "long.json:5607:" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        char *text = s_long_file (1000, 700, cases [i].pattern);
        mesh_error_t err = { 0 };
        assert_null (mesh_bus_parse (text, strlen (text), "long.json", &err));
        assert_int_equal (err.code, MESH_EMALFORMED);
        json_error_t whole;
        assert_null (json_loads (text, 0, &whole));
        char expected [512];
        snprintf (expected, sizeof (expected), "long.json:%d:%d: %s", whole.line, whole.column, whole.text);
        if (strcmp (err.text, expected) || !strstr (err.text, cases [i].expected))
            fail_msg ("expected '%s' (%s), got '%s'", expected, cases [i].expected, err.text);
        free (text);
    }
    //  An error in the pattern that is not JSON's is the rule's
    char *text = s_long_file (1000, 700, "{\n        \"source\": [{\"sufix\": \"x\"}]}");
    mesh_error_t err = { 0 };
    assert_null (mesh_bus_parse (text, strlen (text), "long.json", &err));
    assert_string_equal (err.text, "long.json: rule 'rule-700': pattern.source: Unrecognized match type sufix");
    free (text);

    //  and the same file, right, loads
    text = s_long_file (1000, 0, NULL);
    mesh_bus_t *bus = mesh_bus_parse (text, strlen (text), "long.json", &err);
    if (!bus)
        fail_msg ("%s", err.text);
    assert_int_equal (mesh_bus_rule_total (bus), 1000);
    assert_string_equal (mesh_bus_pattern (bus, 999),
                         "{\"source\":[\"démo.payments\"],\"detail\":{\"customer_id\":[\"c\"]}}");
    mesh_bus_destroy (&bus);
    free (text);
}

//  The text need not end in a NUL, and every prefix of a good file is
//  refused as JSON that ends too soon, read from a buffer of exactly its
//  size (so that ASan sees any read past it).
static void
test_config_refuses_every_truncation_of_a_file (void **state)
{
    (void) state;
    char *text = tk_read ("tests/data/good/disabled_and_text.json");
    assert_non_null (text);
    size_t size = strlen (text);
    while (size > 0 && (text [size - 1] == '\n' || text [size - 1] == ' '))
        size--;                         //  the file without its final newline
    for (size_t cut = 0; cut <= size; cut++) {
        char *copy = malloc (cut? cut: 1);
        assert_non_null (copy);
        memcpy (copy, text, cut);
        mesh_error_t err = { 0 };
        mesh_bus_t *bus = mesh_bus_parse (copy, cut, "cut.json", &err);
        if (cut == size && !bus)
            fail_msg ("the whole file: %s", err.text);
        if (cut < size && bus)
            fail_msg ("%zu bytes of %zu: loaded", cut, size);
        if (cut < size && err.code != MESH_EMALFORMED)
            fail_msg ("%zu bytes of %zu: %s", cut, size, err.text);
        mesh_bus_destroy (&bus);
        free (copy);
    }
    free (text);
}

//  One rule past the limit is refused at once: what follows it is not read
static void
test_config_refuses_a_rule_past_the_limit (void **state)
{
    (void) state;
    const char *rule = "{\"name\":\"r%06zu\",\"event_pattern\":{\"source\":[\"s\"]},\"targets\":[{\"name\":\"t\"}]},";
    size_t room = (size_t) (MESH_MAX_RULES_PER_BUS + 1) * 80 + 256;
    char *text = malloc (room);
    assert_non_null (text);
    size_t n = (size_t) snprintf (text, room, "{\"bus\":\"b\",\"rules\":[");
    for (size_t i = 0; i < MESH_MAX_RULES_PER_BUS; i++)
        n += (size_t) snprintf (text + n, room - n, rule, i);
    n += (size_t) snprintf (text + n, room - n, "not JSON at all");
    mesh_error_t err = { 0 };
    assert_null (mesh_bus_parse (text, n, "many.json", &err));
    assert_int_equal (err.code, MESH_EINVAL);
    assert_string_equal (err.text, "many.json: too many rules: more than 100000 (at most 100000 per bus)");
    free (text);
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
        cmocka_unit_test (test_config_pattern_object_is_compiled_as_written),
        cmocka_unit_test (test_config_pattern_object_refuses_numbers_as_text_does),
        cmocka_unit_test (test_config_interns_target_names),
        cmocka_unit_test (test_config_names_bad_json_by_the_file_line_and_column),
        cmocka_unit_test (test_config_refuses_every_truncation_of_a_file),
        cmocka_unit_test (test_config_refuses_a_rule_past_the_limit),
        cmocka_unit_test (test_config_lists_every_rule_in_file_order),
        cmocka_unit_test (test_config_pattern_size_limit_is_configurable),
        cmocka_unit_test (test_config_reports_a_missing_file),
        cmocka_unit_test (test_config_names_are_checked),
    };
    return cmocka_run_group_tests_name ("config", tests, NULL, NULL);
}
