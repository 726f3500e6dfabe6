/*  test_options.c: the option tables (mesh_options, mesh_flags)

    Precedence (flag, then environment, then default), every type with its
    bounds, the errors' words, did-you-mean, included tables, and --help
    generated from the table.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mesh.h"
#include "support/testkit.h"

typedef struct {
    const char *settings;
    const char *ingest;
    mesh_option_list_t configs;
    int sndhwm;
    size_t backlog;
    int64_t count;
    double rate;
    bool verbose;
    mesh_rule_options_t rules;
} s_settings_t;

#define S_AT(field) offsetof (s_settings_t, field)

static const mesh_option_t s_table [] = {
    { "settings", 0, "TEST_MESH_SETTINGS", MESH_OPTION_FILE, 0, 0, NULL, "FILE", "a settings file",
      S_AT (settings), NULL },
    { "ingest", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, S_AT (ingest), mesh_flags_ingest },
    { "config", 'c', "TEST_MESH_CONFIG", MESH_OPTION_LIST, 0, 0, "config", "PATH", "rule files; repeatable",
      S_AT (configs), NULL },
    { "sndhwm", 0, "TEST_MESH_SNDHWM", MESH_OPTION_INT, 1, 10000000, "10000", "N", "high-water mark",
      S_AT (sndhwm), NULL },
    { "backlog-bytes", 0, NULL, MESH_OPTION_SIZE, 0, 1LL << 40, "1024", "BYTES", "queue size\nper target",
      S_AT (backlog), NULL },
    { "count", 'n', NULL, MESH_OPTION_INT64, 0, INFINITY, NULL, "N", "how many", S_AT (count), NULL },
    { "rate", 0, NULL, MESH_OPTION_DOUBLE, 0, 1000, "0.5", "R", "per second", S_AT (rate), NULL },
    { "verbose", 'v', "TEST_MESH_VERBOSE", MESH_OPTION_BOOL, 0, 0, NULL, NULL, "say more", S_AT (verbose), NULL },
    { "rules", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, S_AT (rules), mesh_flags_rule_options },
    { NULL }
};

static const mesh_options_t s_spec = { "test", "usage: test [options]", "A test program.", "The end.\n", s_table };

//  Parse the NULL-terminated arguments into *settings (count starts at -1).
static int
s_parse (s_settings_t *settings, mesh_error_t *err, ...)
{
    char *argv [32] = { "test" };
    int argc = 1;
    va_list args;
    va_start (args, err);
    char *arg;
    while ((arg = va_arg (args, char *)))
        argv [argc++] = arg;
    va_end (args);
    memset (settings, 0, sizeof (*settings));
    settings->count = -1;
    mesh_error_clear (err);
    return mesh_options_parse (&s_spec, argc, argv, settings, err);
}

#define ASSERT_REFUSED(rc, err, needle)                                         \
    do {                                                                        \
        assert_int_equal ((rc), -1);                                            \
        assert_int_equal ((err).code, MESH_EINVAL);                             \
        if (!strstr ((err).text, (needle)))                                     \
            fail_msg ("expected '%s' in '%s'", (needle), (err).text);           \
    } while (0)

static int
s_setup (void **state)
{
    (void) state;
    unsetenv ("TEST_MESH_CONFIG");
    unsetenv ("TEST_MESH_SNDHWM");
    unsetenv ("TEST_MESH_VERBOSE");
    unsetenv ("TEST_MESH_SETTINGS");
    unsetenv ("MESH_INGEST");
    unsetenv ("MESH_MAX_PATTERN_SIZE");
    return 0;
}

static void
test_options_defaults_fill_what_is_not_given (void **state)
{
    (void) state;
    s_settings_t s;
    mesh_error_t err;
    assert_int_equal (s_parse (&s, &err, NULL), 0);
    assert_string_equal (s.ingest, MESH_INGEST_DEFAULT);
    assert_int_equal (s.configs.count, 1);
    assert_string_equal (s.configs.items [0], "config");
    assert_int_equal (s.sndhwm, 10000);
    assert_int_equal (s.backlog, 1024);
    assert_int_equal (s.count, -1);                 //  no default: left as it was
    assert_true (s.rate == 0.5);
    assert_false (s.verbose);
    assert_int_equal (s.rules.max_pattern_size, MESH_PATTERN_MAX_SIZE_DEFAULT);
    assert_int_equal (s.rules.max_wildcard_complexity, MESH_WILDCARD_COMPLEXITY_DEFAULT);
}

static void
test_options_flag_beats_environment_beats_default (void **state)
{
    (void) state;
    s_settings_t s;
    mesh_error_t err;
    setenv ("TEST_MESH_SNDHWM", "77", 1);
    setenv ("MESH_INGEST", "tcp://127.0.0.1:9", 1);
    setenv ("TEST_MESH_CONFIG", "from-env", 1);
    setenv ("TEST_MESH_VERBOSE", "1", 1);
    assert_int_equal (s_parse (&s, &err, NULL), 0);
    assert_int_equal (s.sndhwm, 77);
    assert_string_equal (s.ingest, "tcp://127.0.0.1:9");
    assert_string_equal (s.configs.items [0], "from-env");
    assert_true (s.verbose);
    assert_int_equal (s_parse (&s, &err, "--sndhwm", "5", "--ingest=tcp://x:1", "-c", "a", "--config", "b", NULL), 0);
    assert_int_equal (s.sndhwm, 5);
    assert_string_equal (s.ingest, "tcp://x:1");
    assert_int_equal (s.configs.count, 2);
    assert_string_equal (s.configs.items [1], "b");
    //  An empty variable counts as unset
    setenv ("TEST_MESH_SNDHWM", "", 1);
    assert_int_equal (s_parse (&s, &err, NULL), 0);
    assert_int_equal (s.sndhwm, 10000);
    //  A bad variable is refused with the same words as a bad flag
    setenv ("TEST_MESH_SNDHWM", "lots", 1);
    ASSERT_REFUSED (s_parse (&s, &err, NULL), err,
                    "--sndhwm (from TEST_MESH_SNDHWM): expected an integer from 1 to 10000000, got 'lots'");
    setenv ("TEST_MESH_VERBOSE", "maybe", 1);
    assert_int_equal (s_parse (&s, &err, "--sndhwm", "3", NULL), -1);
    assert_non_null (strstr (err.text, "--verbose (from TEST_MESH_VERBOSE): expected 1 or 0, got 'maybe'"));
    s_setup (NULL);
}

static void
test_options_refuse_values_outside_type_and_bounds (void **state)
{
    (void) state;
    s_settings_t s;
    mesh_error_t err;
    ASSERT_REFUSED (s_parse (&s, &err, "--sndhwm", "x", NULL), err,
                    "--sndhwm: expected an integer from 1 to 10000000, got 'x'");
    ASSERT_REFUSED (s_parse (&s, &err, "--sndhwm", "0", NULL), err, "got '0'");
    ASSERT_REFUSED (s_parse (&s, &err, "--sndhwm", "12abc", NULL), err, "got '12abc'");
    ASSERT_REFUSED (s_parse (&s, &err, "--sndhwm", "", NULL), err, "got ''");
    ASSERT_REFUSED (s_parse (&s, &err, "--sndhwm", "99999999999999999999", NULL), err, "got '9999");
    ASSERT_REFUSED (s_parse (&s, &err, "--backlog-bytes", "-1", NULL), err,
                    "--backlog-bytes: expected an integer from 0 to 1099511627776, got '-1'");
    ASSERT_REFUSED (s_parse (&s, &err, "-n", "-5", NULL), err, "--count: expected an integer >= 0, got '-5'");
    ASSERT_REFUSED (s_parse (&s, &err, "--rate", "1e9", NULL), err, "--rate: expected a number from 0 to 1000, got '1e9'");
    ASSERT_REFUSED (s_parse (&s, &err, "--rate", "nan", NULL), err, "got 'nan'");
    ASSERT_REFUSED (s_parse (&s, &err, "--max-pattern-size", "1", NULL), err,
                    "--max-pattern-size: expected an integer from 2 to 16777216, got '1'");
    //  and the values at the bounds are taken
    assert_int_equal (s_parse (&s, &err, "--sndhwm", "10000000", "-n", "0", "--rate", "1000",
                               "--backlog-bytes", "1099511627776", "-n5", NULL), 0);
    assert_int_equal (s.sndhwm, 10000000);
    assert_int_equal (s.count, 5);
    assert_int_equal (s.backlog, 1ULL << 40);
}

static void
test_options_refuse_unknown_and_malformed_arguments (void **state)
{
    (void) state;
    s_settings_t s;
    mesh_error_t err;
    ASSERT_REFUSED (s_parse (&s, &err, "--sndhmw", "3", NULL), err, "unknown argument '--sndhmw' (did you mean --sndhwm?)");
    ASSERT_REFUSED (s_parse (&s, &err, "--conf", "x", NULL), err, "unknown argument '--conf' (did you mean --config?)");
    ASSERT_REFUSED (s_parse (&s, &err, "--max-patern-size=3", NULL), err,
                    "unknown argument '--max-patern-size' (did you mean --max-pattern-size?)");
    ASSERT_REFUSED (s_parse (&s, &err, "--no-such-flag", NULL), err, "unknown argument '--no-such-flag' (see test --help)");
    ASSERT_REFUSED (s_parse (&s, &err, "-x", NULL), err, "unknown argument '-x' (see test --help)");
    ASSERT_REFUSED (s_parse (&s, &err, "stray", NULL), err, "unexpected argument 'stray' (see test --help)");
    ASSERT_REFUSED (s_parse (&s, &err, "--", "stray", NULL), err, "unexpected argument 'stray'");
    ASSERT_REFUSED (s_parse (&s, &err, "--sndhwm", NULL), err, "--sndhwm needs a value (N)");
    ASSERT_REFUSED (s_parse (&s, &err, "--verbose=1", NULL), err, "--verbose takes no value, got '1'");
    assert_int_equal (s_parse (&s, &err, "-v", "--", NULL), 0);
    assert_true (s.verbose);
    //  --help and -h, wherever they are
    assert_int_equal (s_parse (&s, &err, "--sndhwm", "3", "--help", NULL), MESH_OPTIONS_HELP);
    assert_int_equal (s_parse (&s, &err, "-h", "--bad", NULL), MESH_OPTIONS_HELP);
    //  too many list values
    char *argv [2 * MESH_OPTION_LIST_MAX + 3] = { "test" };
    int argc = 1;
    for (int i = 0; i <= MESH_OPTION_LIST_MAX; i++) {
        argv [argc++] = "-c";
        argv [argc++] = "x";
    }
    memset (&s, 0, sizeof (s));
    ASSERT_REFUSED (mesh_options_parse (&s_spec, argc, argv, &s, &err), err, "--config: at most 64 values");
}

//  A settings file: its keys are the options' long names, its values come
//  after the flag's and the variable's and before the default, and what
//  it gets wrong is refused with where and why.
static void
test_options_settings_file_comes_between_environment_and_default (void **state)
{
    (void) state;
    char *dir = tk_tempdir ();
    char path [512], bad [512];
    snprintf (path, sizeof (path), "%s/settings.json", dir);
    snprintf (bad, sizeof (bad), "%s/bad.json", dir);
    tk_write (path, "{\"sndhwm\": 42, \"ingest\": \"tcp://127.0.0.1:7\", \"config\": [\"a\", \"b\"],\n"
                    " \"rate\": 2.5, \"verbose\": true, \"max-pattern-size\": 100, \"count\": 9}");
    s_settings_t s;
    mesh_error_t err;
    assert_int_equal (s_parse (&s, &err, "--settings", path, NULL), 0);
    assert_string_equal (s.settings, path);
    assert_int_equal (s.sndhwm, 42);
    assert_string_equal (s.ingest, "tcp://127.0.0.1:7");
    assert_int_equal (s.configs.count, 2);
    assert_string_equal (s.configs.items [1], "b");
    assert_true (s.rate == 2.5);
    assert_true (s.verbose);
    assert_int_equal (s.rules.max_pattern_size, 100);  //  an included table's option too
    assert_int_equal (s.count, 9);
    assert_int_equal (s.backlog, 1024);                 //  not in the file: the default
    //  The flag beats the variable beats the file
    setenv ("TEST_MESH_SNDHWM", "77", 1);
    assert_int_equal (s_parse (&s, &err, "--settings", path, NULL), 0);
    assert_int_equal (s.sndhwm, 77);
    assert_int_equal (s_parse (&s, &err, "--settings", path, "--sndhwm", "5", "-c", "x", NULL), 0);
    assert_int_equal (s.sndhwm, 5);
    assert_int_equal (s.configs.count, 1);
    unsetenv ("TEST_MESH_SNDHWM");
    //  The file from its variable
    setenv ("TEST_MESH_SETTINGS", path, 1);
    assert_int_equal (s_parse (&s, &err, NULL), 0);
    assert_int_equal (s.sndhwm, 42);
    assert_string_equal (s.settings, path);
    unsetenv ("TEST_MESH_SETTINGS");
    //  What is refused, and how it is said
    struct {
        const char *text;
        const char *why;
    } cases [] = {
        { "{\"sndhmw\": 3}", "unknown key 'sndhmw' (did you mean 'sndhwm'?)" },
        { "{\"settings\": \"x\"}", "unknown key 'settings'" },
        { "{\"sndhwm\": \"3\"}", "'sndhwm': expected an integer" },
        { "{\"sndhwm\": 0}", "'sndhwm': expected an integer from 1 to 10000000, got '0'" },
        { "{\"sndhwm\": 2.5}", "'sndhwm': expected an integer" },
        { "{\"verbose\": 1}", "'verbose': expected true or false" },
        { "{\"ingest\": 5}", "'ingest': expected a string" },
        { "{\"config\": \"a\"}", "'config': expected an array of strings" },
        { "{\"config\": [1]}", "'config': expected an array of strings" },
        { "[1, 2]", "a settings file is one JSON object" },
        { "{\"sndhwm\": 3,\n \"sndhwm\": 4}", "line 2" },
        { "{\"sndhwm\": 3,}", "line 1, column 14" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        tk_write (bad, cases [i].text);
        ASSERT_REFUSED (s_parse (&s, &err, "--settings", bad, NULL), err, cases [i].why);
        assert_non_null (strstr (err.text, bad));           //  and which file
    }
    char missing [600];
    snprintf (missing, sizeof (missing), "%s/none.json", dir);
    assert_int_equal (s_parse (&s, &err, "--settings", missing, NULL), -1);
    assert_non_null (strstr (err.text, "none.json"));
    tk_tempdir_remove (&dir);
    s_setup (NULL);
}

static void
test_options_help_comes_from_the_table (void **state)
{
    (void) state;
    char *help = mesh_options_help (&s_spec);
    assert_non_null (help);
    const char *expected [] = {
        "usage: test [options]\n\nA test program.\n\noptions (flag, then environment variable, then settings "
        "file, then default):\n",
        "      --settings FILE       a settings file\n                            [TEST_MESH_SETTINGS]\n",
        "      --ingest EP           the broker's ingest endpoint",
        "                            [MESH_INGEST; default: tcp://127.0.0.1:5600]\n",
        "  -c, --config PATH         rule files; repeatable\n"
        "                            [TEST_MESH_CONFIG; default: config]\n",
        "      --sndhwm N            high-water mark\n"
        "                            [TEST_MESH_SNDHWM; 1 to 10000000; default: 10000]\n",
        "      --backlog-bytes BYTES\n                            queue size\n                            per target\n",
        "  -n, --count N             how many\n                            [>= 0]\n",
        "  -v, --verbose             say more\n                            [TEST_MESH_VERBOSE]\n",
        "      --max-wildcard-complexity N\n",
        "  -h, --help                this text\n\nThe end.\n",
    };
    for (size_t i = 0; i < sizeof (expected) / sizeof (expected [0]); i++)
        if (!strstr (help, expected [i]))
            fail_msg ("expected '%s' in:\n%s", expected [i], help);
    free (help);
}

static void
test_options_text_reads_inline_files_and_says_why_not (void **state)
{
    (void) state;
    size_t size;
    mesh_error_t err = { 0 };
    char *text = mesh_options_text ("{\"a\":1}", &size, &err);
    assert_string_equal (text, "{\"a\":1}");
    assert_int_equal (size, 7);
    free (text);
    char *dir = tk_tempdir ();
    char path [512], arg [520];
    snprintf (path, sizeof (path), "%s/p.json", dir);
    tk_write (path, "{\n}\n");
    snprintf (arg, sizeof (arg), "@%s", path);
    text = mesh_options_text (arg, &size, &err);
    assert_string_equal (text, "{\n}\n");
    free (text);
    snprintf (arg, sizeof (arg), "@%s/missing.json", dir);
    assert_null (mesh_options_text (arg, &size, &err));
    assert_int_equal (err.code, MESH_EIO);
    assert_non_null (strstr (err.text, "cannot open '"));
    assert_non_null (strstr (err.text, "missing.json': No such file or directory"));
    tk_tempdir_remove (&dir);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup (test_options_defaults_fill_what_is_not_given, s_setup),
        cmocka_unit_test_setup (test_options_flag_beats_environment_beats_default, s_setup),
        cmocka_unit_test_setup (test_options_refuse_values_outside_type_and_bounds, s_setup),
        cmocka_unit_test_setup (test_options_refuse_unknown_and_malformed_arguments, s_setup),
        cmocka_unit_test_setup (test_options_settings_file_comes_between_environment_and_default, s_setup),
        cmocka_unit_test_setup (test_options_help_comes_from_the_table, s_setup),
        cmocka_unit_test_setup (test_options_text_reads_inline_files_and_says_why_not, s_setup),
    };
    return cmocka_run_group_tests_name ("options", tests, NULL, NULL);
}
