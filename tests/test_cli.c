/*  test_cli.c: the mesh command line, run as the real binary

    Each test starts bin/mesh (or $MESH_BIN/mesh) as a process with
    testkit, then checks its exit status and what it printed. With
    MESH_VALGRIND=1 the binary itself runs under valgrind's memcheck, and a
    memory error fails the test (valgrind exits 99).
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "support/testkit.h"

#define streq(a, b) (strcmp ((a), (b)) == 0)

typedef struct {
    char *dir;                  //  private temporary directory
    char *out;                  //  what the last run printed
    char *err;
    int runs;
} self_t;

static int
s_setup (void **state)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    assert_non_null (self);
    self->dir = tk_tempdir ();
    assert_non_null (self->dir);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    self_t *self = (self_t *) *state;
    free (self->out);
    free (self->err);
    tk_tempdir_remove (&self->dir);
    free (self);
    return 0;
}

//  valgrind's path when MESH_VALGRIND=1 asks for it (execv needs a path).
static const char *
s_valgrind (void)
{
    static char path [512];
    const char *wanted = getenv ("MESH_VALGRIND");
    if (!wanted || !streq (wanted, "1"))
        return NULL;
    const char *dirs = getenv ("PATH");
    char copy [4096];
    snprintf (copy, sizeof (copy), "%s", dirs? dirs: "/usr/bin:/bin");
    char *save = NULL;
    for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save)) {
        snprintf (path, sizeof (path), "%s/valgrind", dir);
        if (access (path, X_OK) == 0)
            return path;
    }
    return NULL;
}

//  Run mesh with the arguments (NULL-terminated) and standard input from
//  stdin_path (NULL: none); keep what it printed in self->out and
//  self->err and return its exit status.
static int
s_mesh (self_t *self, const char *stdin_path, ...)
{
    const char *argv [32];
    int argc = 0;
    const char *valgrind = s_valgrind ();
    if (valgrind) {
        argv [argc++] = valgrind;
        argv [argc++] = "-q";
        argv [argc++] = "--leak-check=full";
        argv [argc++] = "--error-exitcode=99";
    }
    argv [argc++] = tk_bin ("mesh");
    va_list args;
    va_start (args, stdin_path);
    const char *arg;
    while ((arg = va_arg (args, const char *)) && argc < 31)
        argv [argc++] = arg;
    va_end (args);
    argv [argc] = NULL;

    char name [32];
    snprintf (name, sizeof (name), "mesh-%d", self->runs++);
    tk_proc_t proc;
    assert_int_equal (tk_start (&proc, self->dir, name, (char *const *) argv, stdin_path), 0);
    int status = tk_wait (&proc, valgrind? 120000: 20000);
    free (self->out);
    free (self->err);
    self->out = tk_read (proc.out);
    self->err = tk_read (proc.err);
    assert_non_null (self->out);
    assert_non_null (self->err);
    if (status == 99)
        fail_msg ("valgrind found memory errors in mesh:\n%s", self->err);
    return status;
}

//  Write text to a file of the private directory; returns its path
//  (a static buffer, one of four).
static const char *
s_file (self_t *self, const char *name, const char *text)
{
    static char paths [4][512];
    static int next = 0;
    char *path = paths [next++ % 4];
    snprintf (path, 512, "%s/%s", self->dir, name);
    tk_write (path, text);
    return path;
}

#define ASSERT_CONTAINS(text, needle)                                           \
    do {                                                                        \
        if (!strstr ((text), (needle)))                                         \
            fail_msg ("expected '%s' in:\n%s", (needle), (text));               \
    } while (0)

static const char *s_event =
    "{\"version\":\"0\",\"id\":\"6f3c1a9e\",\"detail-type\":\"Payment Processed\","
    "\"source\":\"demo.payments\",\"account\":\"000000000000\",\"time\":\"2026-01-02T03:04:05Z\","
    "\"region\":\"local\",\"resources\":[],\"detail\":{\"total_cost\":300}}";

//  The demo's event with another detail (JSON text of the detail's members).
static char *
s_payment (const char *source, const char *detail)
{
    char *event = NULL;
    int rc = asprintf (&event,
        "{\"version\":\"0\",\"id\":\"6f3c1a9e\",\"detail-type\":\"Payment Processed\","
        "\"source\":\"%s\",\"account\":\"000000000000\",\"time\":\"2026-01-02T03:04:05Z\","
        "\"region\":\"local\",\"resources\":[],\"detail\":{%s}}", source, detail);
    assert_true (rc > 0);
    return event;
}


//  ---------------------------------------------------------------------
//  mesh, mesh --help, mesh <command> --help

static void
test_cli_help_lists_every_command_truthfully (void **state)
{
    self_t *self = (self_t *) *state;
    assert_int_equal (s_mesh (self, NULL, "--help", NULL), 0);
    ASSERT_CONTAINS (self->out, "Usage: mesh <command>");
    //  Every command listed answers its own --help, and `mesh help` says the same
    char *listing = strdup (self->out);
    char *commands = strstr (listing, "Commands:\n");
    assert_non_null (commands);
    int listed = 0;
    char *save = NULL;
    for (char *line = strtok_r (commands + 10, "\n", &save); line && strncmp (line, "  ", 2) == 0;
         line = strtok_r (NULL, "\n", &save)) {
        char command [64];
        assert_int_equal (sscanf (line, " %63s", command), 1);
        char usage [128];
        snprintf (usage, sizeof (usage), "Usage: mesh %s ", command);
        assert_int_equal (s_mesh (self, NULL, command, "--help", NULL), 0);
        ASSERT_CONTAINS (self->out, usage);
        char *help = strdup (self->out);
        assert_int_equal (s_mesh (self, NULL, "help", command, NULL), 0);
        assert_string_equal (self->out, help);
        free (help);
        listed++;
    }
    free (listing);
    assert_int_equal (listed, 11);      //  test-pattern, explain, ping, stats, rules, put, tail, reload, monitor, top, tap

    //  No command, or an unknown one: usage trouble
    assert_int_equal (s_mesh (self, NULL, NULL), 2);
    ASSERT_CONTAINS (self->err, "Usage: mesh <command>");
    assert_int_equal (s_mesh (self, NULL, "test-patern", NULL), 2);
    ASSERT_CONTAINS (self->err, "unknown command 'test-patern'");
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", "{}", NULL), 2);
    ASSERT_CONTAINS (self->err, "--pattern and --event are required");
    assert_int_equal (s_mesh (self, NULL, "explain", "--evnt", "x", NULL), 2);
    ASSERT_CONTAINS (self->err, "mesh explain: unknown argument '--evnt' (did you mean --event?)");
    //  --rule is for --broker's rules
    assert_int_equal (s_mesh (self, NULL, "explain", "--rule", "x", "--rules", "config/eda_bus.json", "--event", "{}",
                              NULL), 2);
    ASSERT_CONTAINS (self->err, "mesh explain: --rule is for --broker");
}


//  ---------------------------------------------------------------------
//  mesh test-pattern

static void
test_cli_test_pattern_answers_true_or_false (void **state)
{
    self_t *self = (self_t *) *state;
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern",
                              "{\"detail\":{\"total_cost\":[{\"numeric\":[\">\",200]}]}}",
                              "--event", s_event, NULL), 0);
    assert_string_equal (self->out, "true\n");
    assert_string_equal (self->err, "");
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern",
                              "{\"detail\":{\"total_cost\":[{\"numeric\":[\">\",500]}]}}",
                              "--event", s_event, NULL), 1);
    assert_string_equal (self->out, "false\n");
    //  --option=value works too
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern={\"source\":[\"demo.payments\"]}",
                              "--event", s_event, NULL), 0);
    assert_string_equal (self->out, "true\n");
}

static void
test_cli_test_pattern_refuses_invalid_patterns_as_aws_does (void **state)
{
    self_t *self = (self_t *) *state;
    const struct {
        const char *pattern;
        const char *first_line;
        const char *second_line;
    } cases [] = {
        { "this is valid json but not a dict",
          "InvalidEventPatternException: Event pattern is not valid. Reason: Unrecognized token 'this': "
          "was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n",
          "  at pattern, line 1, column 1\n" },
        { "{'bad': 'quotation'}",
          "InvalidEventPatternException: Event pattern is not valid. Reason: Unexpected character "
          "(''' (code 39)): was expecting double-quote to start field name\n",
          "  at pattern, line 1, column 2\n" },
        { "{\"not\": closed mark\"",
          "InvalidEventPatternException: Event pattern is not valid. Reason: Unrecognized token 'closed': "
          "was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n",
          "  at pattern, line 1, column 9\n" },
        { "[\"not\", \"a\", \"dict\", \"but valid json\"]",
          "InvalidEventPatternException: Event pattern is not valid. Reason: Filter is not an object\n",
          "  at pattern\n" },
        { "{\"detail\":{\"total_cost\":[{\"numeric\":10}]}}",
          "InvalidEventPatternException: Event pattern is not valid. Reason: Value of numeric must be an array.\n",
          "  at pattern.detail.total_cost\n" },
        { "{\"EventBusArn\":[{\"wildcard\":\"*:*:*:*:*:event-bus/*\"}]}",
          "InvalidEventPatternException: Event pattern is not valid. Reason: Rule is too complex - try using "
          "fewer wildcard characters or fewer repeating character sequences after a wildcard character\n",
          "  at pattern.EventBusArn\n" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", cases [i].pattern,
                                  "--event", s_event, NULL), 2);
        assert_string_equal (self->out, "");
        char expected [1024];
        snprintf (expected, sizeof (expected), "%s%s", cases [i].first_line, cases [i].second_line);
        assert_string_equal (self->err, expected);
    }
}

static void
test_cli_test_pattern_checks_the_event_as_test_event_pattern (void **state)
{
    self_t *self = (self_t *) *state;
    const char *pattern = "{\"body\":{\"test2\":[{\"numeric\":[\">\",100]}]}}";
    const char *events [] = {
        "plain string", "[\"plain string\"]", "{\"testEvent\":\"value\"}",
        "{\"id\":\"1\",\"account\":\"1\",\"source\":\"s\",\"time\":\"t\",\"detail-type\":\"d\"}",
    };
    for (size_t i = 0; i < sizeof (events) / sizeof (events [0]); i++) {
        assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", pattern,
                                  "--event", events [i], NULL), 2);
        assert_string_equal (self->out, "");
        assert_int_equal (strncmp (self->err, "ValidationException: Parameter Event is not valid.", 50), 0);
    }
    ASSERT_CONTAINS (self->err, "no 'region' field");
    //  resources is not required, detail-type may be an array (as on AWS)
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", "{\"source\":[\"s\"]}", "--event",
                              "{\"id\":\"1\",\"account\":\"1\",\"source\":\"s\",\"time\":\"t\",\"region\":\"r\","
                              "\"detail-type\":[\"d\"]}", NULL), 0);
}

static void
test_cli_test_pattern_reads_files_and_stdin (void **state)
{
    self_t *self = (self_t *) *state;
    char pattern_arg [600], event_arg [600], missing_arg [600];
    snprintf (pattern_arg, sizeof (pattern_arg), "@%s",
              s_file (self, "pattern.json", "{\n  \"source\": [\"demo.payments\"],\n"
                                            "  \"detail\": {\"total_cost\": [{\"numeric\": [\">\", 200]}]}\n}\n"));
    snprintf (event_arg, sizeof (event_arg), "@%s", s_file (self, "event.json", s_event));
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", pattern_arg, "--event", event_arg, NULL), 0);
    assert_string_equal (self->out, "true\n");

    //  @- is standard input
    const char *cheap = s_file (self, "cheap.json", "{\"id\":\"1\",\"account\":\"1\",\"source\":\"demo.payments\","
                                "\"time\":\"t\",\"region\":\"r\",\"detail-type\":\"d\",\"detail\":{\"total_cost\":5}}");
    assert_int_equal (s_mesh (self, cheap, "test-pattern", "--pattern", pattern_arg, "--event", "@-", NULL), 1);
    assert_string_equal (self->out, "false\n");

    //  An invalid pattern in a file: the line and column are the file's
    snprintf (pattern_arg, sizeof (pattern_arg), "@%s",
              s_file (self, "bad.json", "{\n  \"source\": [\"demo.payments\",]\n}\n"));
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", pattern_arg, "--event", event_arg, NULL), 2);
    assert_string_equal (self->err,
        "InvalidEventPatternException: Event pattern is not valid. Reason: Unexpected character (']' (code 93)): "
        "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n"
        "  at pattern, line 2, column 30\n");

    //  A file that is not there
    snprintf (missing_arg, sizeof (missing_arg), "@%s/nowhere.json", self->dir);
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", missing_arg, "--event", event_arg, NULL), 2);
    ASSERT_CONTAINS (self->err, "mesh test-pattern: pattern: cannot open '");
    ASSERT_CONTAINS (self->err, "nowhere.json': No such file or directory");
}

static void
test_cli_test_pattern_limits_are_options (void **state)
{
    self_t *self = (self_t *) *state;
    const char *complex = "{\"source\":[{\"wildcard\":\"*:*:*:*:*:event-bus/*\"}]}";
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", complex, "--event", s_event, NULL), 2);
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", complex, "--event", s_event,
                              "--max-wildcard-complexity", "11", NULL), 1);
    assert_string_equal (self->out, "false\n");
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", complex, "--event", s_event,
                              "--max-wildcard-complexity", "0", NULL), 1);

    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", "{\"source\":[\"demo.payments\"]}",
                              "--event", s_event, "--max-pattern-size", "20", NULL), 2);
    assert_string_equal (self->err, "ValidationException: 1 validation error detected: Value at 'eventPattern' "
                         "failed to satisfy constraint: Member must have length less than or equal to 20\n");
    assert_int_equal (s_mesh (self, NULL, "test-pattern", "--pattern", "{\"source\":[\"demo.payments\"]}",
                              "--event", s_event, "--max-pattern-size", "many", NULL), 2);
    ASSERT_CONTAINS (self->err, "mesh test-pattern: --max-pattern-size: expected an integer from 2 to ");
}


//  ---------------------------------------------------------------------
//  mesh explain

static void
test_cli_explain_says_why_each_rule_of_the_example_matches_or_not (void **state)
{
    self_t *self = (self_t *) *state;
    const char *rules = "config/eda_bus.json";
    struct {
        const char *detail;
        const char *first_line;
    } cases [] = {
        { "\"total_cost\":300", "payment-processed: matched\n" },
        { "\"total_cost\":99", "payment-processed: no match: detail.total_cost is 99, not > 200\n" },
        { "\"customer_id\":\"3213\"", "payment-processed: no match: detail.total_cost is missing\n" },
        { "\"total_cost\":\"300\"",
          "payment-processed: no match: detail.total_cost is the string \"300\", not a number\n" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        char *event = s_payment ("demo.payments", cases [i].detail);
        //  The other two rules only look at source and detail-type
        assert_int_equal (s_mesh (self, NULL, "explain", "--rules", rules, "--event", event, NULL), 0);
        char expected [512];
        snprintf (expected, sizeof (expected), "%spayment-to-warehouse: matched\npayment-to-shipping: matched\n",
                  cases [i].first_line);
        assert_string_equal (self->out, expected);
        assert_string_equal (self->err, "");
        free (event);
    }
    //  Nothing matches: exit 1, every rule says why
    char *event = s_payment ("demo.orders", "\"total_cost\":300");
    assert_int_equal (s_mesh (self, NULL, "explain", "--rules", rules, "--event", event, NULL), 1);
    assert_string_equal (self->out,
        "payment-processed: no match: source is \"demo.orders\", not \"demo.payments\"\n"
        "payment-to-warehouse: no match: source is \"demo.orders\", not \"demo.payments\"\n"
        "payment-to-shipping: no match: source is \"demo.orders\", not \"demo.payments\"\n");
    free (event);
}

static void
test_cli_explain_reports_disabled_rules_and_bad_input (void **state)
{
    self_t *self = (self_t *) *state;
    const char *rules = s_file (self, "rules.json",
        "{ \"bus\": \"b\", \"rules\": ["
        "  { \"name\": \"big\", \"state\": \"DISABLED\", \"targets\": [{ \"name\": \"t\" }],"
        "    \"event_pattern\": { \"detail\": { \"n\": [{ \"numeric\": [\">\", 10] }] } } },"
        "  { \"name\": \"not-x\", \"targets\": [{ \"name\": \"t\" }],"
        "    \"event_pattern\": { \"source\": [{ \"anything-but\": [\"x\"] }] } },"
        "  { \"name\": \"off\", \"state\": \"DISABLED\", \"targets\": [{ \"name\": \"t\" }],"
        "    \"event_pattern\": { \"source\": [\"x\"] } } ] }");
    assert_int_equal (s_mesh (self, NULL, "explain", "--rules", rules, "--event",
                              "{\"source\":\"x\",\"detail\":{\"n\":5}}", NULL), 1);
    assert_string_equal (self->out,
        "big: disabled (its pattern does not match: detail.n is 5, not > 10)\n"
        "not-x: no match: source is \"x\", which anything-but excludes\n"
        "off: disabled (its pattern matches)\n");

    //  A bad rule file, a bad event: trouble, and why
    const char *bad_rules = s_file (self, "bad.json",
        "{ \"bus\": \"b\", \"rules\": [ { \"name\": \"r\", \"targets\": [{ \"name\": \"t\" }],"
        "  \"event_pattern\": { \"a\": [{ \"numeric\": 10 }] } } ] }");
    assert_int_equal (s_mesh (self, NULL, "explain", "--rules", bad_rules, "--event", "{}", NULL), 2);
    ASSERT_CONTAINS (self->err, "rule 'r': pattern.a: Value of numeric must be an array.");
    assert_int_equal (s_mesh (self, NULL, "explain", "--rules", rules, "--event", "[1, 2]", NULL), 2);
    ASSERT_CONTAINS (self->err, "mesh explain: event: must be a JSON object");
    assert_int_equal (s_mesh (self, NULL, "explain", "--rules", rules, "--event", "{\"a\":", NULL), 2);
    ASSERT_CONTAINS (self->err, "mesh explain: event: json:");
    assert_string_equal (self->out, "");
}


int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_cli_help_lists_every_command_truthfully, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cli_test_pattern_answers_true_or_false, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cli_test_pattern_refuses_invalid_patterns_as_aws_does,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cli_test_pattern_checks_the_event_as_test_event_pattern,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cli_test_pattern_reads_files_and_stdin, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cli_test_pattern_limits_are_options, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cli_explain_says_why_each_rule_of_the_example_matches_or_not,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cli_explain_reports_disabled_rules_and_bad_input,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name ("cli", tests, NULL, NULL);
}
