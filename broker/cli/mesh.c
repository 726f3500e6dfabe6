/*  mesh.c: the mesh command line, for people working on rules

    `mesh <command> [options]`, one command per entry of s_commands: each
    has a one-line summary (for `mesh --help`), its own help text (for
    `mesh <command> --help` and `mesh help <command>`) and a function.
    Adding a command is adding an entry. Every command talks to libmesh
    only, never to a running broker, so it answers the same on a laptop,
    in CI and on the broker's host.

    Exit status, like grep's: 0 for yes (the event matches), 1 for no, 2 for
    anything that stopped the command from answering (bad arguments, an
    invalid pattern or event, an unreadable file). Answers go to stdout,
    errors to stderr.

    JSON arguments are given inline or as @FILE (@- for standard input).
*/
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mesh.h"

#define streq(a, b) (strcmp ((a), (b)) == 0)

#define S_EXIT_YES      0
#define S_EXIT_NO       1
#define S_EXIT_TROUBLE  2

#define S_WHY_MAX       1024            //  room for one explanation


//  ---------------------------------------------------------------------
//  Arguments

//  One option of a command: --name VALUE (or --name=VALUE).
typedef struct {
    const char *name;
    const char **value;         //  where the value goes
} s_option_t;

//  Parse argv (after the command name) into options. Returns 0, 1 if help
//  was asked for, or -1 after printing what is wrong.
static int
s_parse_options (const char *command, int argc, char **argv, const s_option_t *options)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv [i];
        if (streq (arg, "--help") || streq (arg, "-h"))
            return 1;
        const s_option_t *option = NULL;
        const char *value = NULL;
        if (strncmp (arg, "--", 2) == 0) {
            const char *equals = strchr (arg, '=');
            size_t length = equals? (size_t) (equals - arg - 2): strlen (arg + 2);
            for (const s_option_t *o = options; o->name; o++)
                if (strlen (o->name) == length && strncmp (arg + 2, o->name, length) == 0)
                    option = o;
            if (option && equals)
                value = equals + 1;
            else
            if (option && i + 1 < argc)
                value = argv [++i];
            else
            if (option) {
                fprintf (stderr, "mesh %s: option --%s needs a value\n", command, option->name);
                return -1;
            }
        }
        if (!option) {
            fprintf (stderr, "mesh %s: unknown argument '%s' (see mesh %s --help)\n", command, arg, command);
            return -1;
        }
        *option->value = value;
    }
    return 0;
}

//  The text of a JSON argument: the argument itself, or the content of the
//  file it names as @FILE (@- reads standard input). Returns a malloc'd
//  string and its size, or NULL after printing why.
static char *
s_load_argument (const char *command, const char *what, const char *arg, size_t *size)
{
    if (arg [0] != '@') {
        *size = strlen (arg);
        return strdup (arg);
    }
    const char *path = arg + 1;
    FILE *file = streq (path, "-")? stdin: fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "mesh %s: %s: cannot open '%s': %s\n", command, what, path, strerror (errno));
        return NULL;
    }
    char *text = NULL;
    size_t capacity = 0;
    *size = 0;
    while (true) {
        if (*size + 4096 + 1 > capacity) {
            capacity = capacity? capacity * 2: 8192;
            char *grown = (char *) realloc (text, capacity);
            if (!grown) {
                free (text);
                text = NULL;
                break;
            }
            text = grown;
        }
        size_t got = fread (text + *size, 1, capacity - *size - 1, file);
        *size += got;
        if (got == 0)
            break;
    }
    bool failed = !text || ferror (file);
    if (file != stdin)
        fclose (file);
    if (failed) {
        fprintf (stderr, "mesh %s: %s: cannot read '%s': %s\n", command, what, path,
                 text? strerror (errno): "out of memory");
        free (text);
        return NULL;
    }
    text [*size] = '\0';
    return text;
}

//  A positive whole number option, or -1 after printing why.
static long
s_number_option (const char *command, const char *name, const char *value)
{
    char *end = NULL;
    errno = 0;
    long number = strtol (value, &end, 10);
    if (errno || !end || *end || end == value || number < 0) {
        fprintf (stderr, "mesh %s: --%s must be a whole number >= 0, got '%s'\n", command, name, value);
        return -1;
    }
    return number;
}

//  The options every pattern-compiling command takes.
static int
s_rule_options (const char *command, const char *max_size, const char *max_complexity,
                mesh_rule_options_t *options)
{
    mesh_rule_options_init (options);
    if (max_size) {
        long number = s_number_option (command, "max-pattern-size", max_size);
        if (number < 0)
            return -1;
        options->max_pattern_size = (size_t) number;
    }
    if (max_complexity) {
        long number = s_number_option (command, "max-wildcard-complexity", max_complexity);
        if (number < 0 || number > 1000000) {
            if (number > 1000000)
                fprintf (stderr, "mesh %s: --max-wildcard-complexity is at most 1000000\n", command);
            return -1;
        }
        options->max_wildcard_complexity = (int) number;
    }
    return 0;
}


//  ---------------------------------------------------------------------
//  mesh test-pattern

static const char *s_test_pattern_help =
    "Usage: mesh test-pattern --pattern PATTERN --event EVENT [options]\n"
    "\n"
    "Match one event against one event pattern, as EventBridge's TestEventPattern\n"
    "does, and print true or false.\n"
    "\n"
    "  --pattern PATTERN    the event pattern: JSON text, or @FILE (@- for stdin)\n"
    "  --event EVENT        the event: JSON text, or @FILE. Like TestEventPattern,\n"
    "                       it must be a JSON object with id, account, source,\n"
    "                       time, region and detail-type\n"
    "  --max-pattern-size N        refuse patterns over N bytes (default %d)\n"
    "  --max-wildcard-complexity N refuse wildcards scoring over N (default %d, 0: no limit)\n"
    "\n"
    "Exit status: 0 and \"true\" if the event matches, 1 and \"false\" if not,\n"
    "2 if the pattern or the event is invalid, with AWS's error on stderr:\n"
    "  InvalidEventPatternException: Event pattern is not valid. Reason: <reason>\n"
    "    at <where in the pattern>\n"
    "  ValidationException: Parameter Event is not valid.\n"
    "\n"
    "Example:\n"
    "  mesh test-pattern --pattern '{\"source\":[\"demo.payments\"]}' --event @event.json\n";

//  Print why the pattern was refused, as AWS says it, and where.
static void
s_print_pattern_error (const mesh_pattern_error_t *problem, const mesh_error_t *err,
                       const mesh_rule_options_t *options)
{
    if (err->code == MESH_ETOOBIG)
        fprintf (stderr, "ValidationException: 1 validation error detected: Value at 'eventPattern' "
                         "failed to satisfy constraint: Member must have length less than or equal to %zu\n",
                 options->max_pattern_size);
    else
    if (err->code != MESH_EINVAL)
        fprintf (stderr, "mesh test-pattern: %s\n", err->text);
    else {
        fprintf (stderr, "InvalidEventPatternException: Event pattern is not valid. Reason: %s\n",
                 problem->reason);
        if (problem->line > 0)
            fprintf (stderr, "  at %s, line %d, column %d\n", problem->path, problem->line, problem->column);
        else
            fprintf (stderr, "  at %s\n", problem->path);
    }
}

static int
s_test_pattern (int argc, char **argv)
{
    const char *pattern_arg = NULL, *event_arg = NULL, *max_size = NULL, *max_complexity = NULL;
    const s_option_t options [] = {
        { "pattern", &pattern_arg }, { "event", &event_arg },
        { "max-pattern-size", &max_size }, { "max-wildcard-complexity", &max_complexity },
        { NULL, NULL }
    };
    int rc = s_parse_options ("test-pattern", argc, argv, options);
    if (rc == 1) {
        printf (s_test_pattern_help, MESH_PATTERN_MAX_SIZE_DEFAULT, MESH_WILDCARD_COMPLEXITY_DEFAULT);
        return S_EXIT_YES;
    }
    if (rc < 0)
        return S_EXIT_TROUBLE;
    if (!pattern_arg || !event_arg) {
        fprintf (stderr, "mesh test-pattern: --pattern and --event are required (see mesh test-pattern --help)\n");
        return S_EXIT_TROUBLE;
    }
    mesh_rule_options_t rule_options;
    if (s_rule_options ("test-pattern", max_size, max_complexity, &rule_options))
        return S_EXIT_TROUBLE;

    int result = S_EXIT_TROUBLE;
    mesh_rule_t *rule = NULL;
    void *event = NULL;
    size_t pattern_size = 0, event_text_size = 0, event_size = 0;
    char *pattern_text = s_load_argument ("test-pattern", "pattern", pattern_arg, &pattern_size);
    char *event_text = s_load_argument ("test-pattern", "event", event_arg, &event_text_size);
    if (!pattern_text || !event_text)
        goto done;

    //  The event first: TestEventPattern validates its parameters before
    //  it looks at the pattern
    mesh_error_t err = { 0 };
    if (mesh_event_check_test_pattern (event_text, event_text_size, &err)) {
        fprintf (stderr, "ValidationException: %s\n", err.text);
        goto done;
    }
    mesh_pattern_error_t problem;
    rule = mesh_rule_new_with ("test-pattern", pattern_text, pattern_size, &rule_options, &problem, &err);
    if (!rule) {
        s_print_pattern_error (&problem, &err, &rule_options);
        goto done;
    }
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    if (mesh_json_to_msgpack (event_text, event_text_size, &limits, &event, &event_size, &err)) {
        fprintf (stderr, "ValidationException: " MESH_TEST_PATTERN_EVENT_INVALID " (%s)\n", err.text);
        goto done;
    }
    int match = mesh_rule_match (rule, event, event_size, &err);
    if (match < 0)
        fprintf (stderr, "ValidationException: " MESH_TEST_PATTERN_EVENT_INVALID " (%s)\n", err.text);
    else {
        printf ("%s\n", match? "true": "false");
        result = match? S_EXIT_YES: S_EXIT_NO;
    }

done:
    mesh_rule_destroy (&rule);
    free (event);
    free (pattern_text);
    free (event_text);
    return result;
}


//  ---------------------------------------------------------------------
//  mesh explain

static const char *s_explain_help =
    "Usage: mesh explain --rules FILE --event EVENT\n"
    "\n"
    "Say, for every rule of a rule file, whether the event matches it, and if\n"
    "not, the first field and test that failed and why:\n"
    "\n"
    "  payment-processed: no match: detail.total_cost is 99, not > 200\n"
    "  payment-to-warehouse: matched\n"
    "  audit-everything: disabled (its pattern matches)\n"
    "\n"
    "  --rules FILE         a rule file, as the broker's --config reads it\n"
    "  --event EVENT        the event: JSON text, or @FILE (@- for stdin); any\n"
    "                       JSON object (no field is required)\n"
    "\n"
    "Rules are listed in file order; a DISABLED rule never matches, and the\n"
    "line says whether its pattern would.\n"
    "\n"
    "Exit status: 0 if at least one enabled rule matches, 1 if none does, 2 if\n"
    "the rule file or the event cannot be used.\n";

static int
s_explain (int argc, char **argv)
{
    const char *rules_arg = NULL, *event_arg = NULL;
    const s_option_t options [] = {
        { "rules", &rules_arg }, { "event", &event_arg }, { NULL, NULL }
    };
    int rc = s_parse_options ("explain", argc, argv, options);
    if (rc == 1) {
        printf ("%s", s_explain_help);
        return S_EXIT_YES;
    }
    if (rc < 0)
        return S_EXIT_TROUBLE;
    if (!rules_arg || !event_arg) {
        fprintf (stderr, "mesh explain: --rules and --event are required (see mesh explain --help)\n");
        return S_EXIT_TROUBLE;
    }

    int result = S_EXIT_TROUBLE;
    mesh_bus_t *bus = NULL;
    void *event = NULL;
    size_t event_text_size = 0, event_size = 0;
    char *event_text = s_load_argument ("explain", "event", event_arg, &event_text_size);
    if (!event_text)
        goto done;
    mesh_error_t err = { 0 };
    bus = mesh_bus_load (rules_arg, &err);
    if (!bus) {
        fprintf (stderr, "mesh explain: %s\n", err.text);
        goto done;
    }
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    if (mesh_json_to_msgpack (event_text, event_text_size, &limits, &event, &event_size, &err)) {
        fprintf (stderr, "mesh explain: event: %s\n", err.text);
        goto done;
    }
    //  It is JSON: an object starts with '{'
    size_t first = strspn (event_text, " \t\r\n");
    if (first >= event_text_size || event_text [first] != '{') {
        fprintf (stderr, "mesh explain: event: must be a JSON object\n");
        goto done;
    }
    const mesh_ruleset_t *set = mesh_bus_ruleset (bus);
    bool any = false;
    for (size_t i = 0; i < mesh_bus_rule_total (bus); i++) {
        const char *pattern = NULL;
        int index = -1;
        const char *name = mesh_bus_rule_info (bus, i, &pattern, &index);
        char why [S_WHY_MAX];
        if (index >= 0) {
            int match = mesh_rule_explain (mesh_ruleset_rule (set, (size_t) index),
                                           event, event_size, why, sizeof (why), &err);
            if (match < 0) {
                fprintf (stderr, "mesh explain: event: %s\n", err.text);
                goto done;
            }
            any = any || match;
            if (match)
                printf ("%s: matched\n", name);
            else
                printf ("%s: no match: %s\n", name, why);
            continue;
        }
        //  A disabled rule: would it match if it were enabled?
        mesh_rule_t *rule = mesh_rule_new (name, pattern, SIZE_MAX, &err);
        int match = rule? mesh_rule_explain (rule, event, event_size, why, sizeof (why), &err): -1;
        mesh_rule_destroy (&rule);
        if (match < 0) {
            fprintf (stderr, "mesh explain: rule '%s': %s\n", name, err.text);
            goto done;
        }
        if (match)
            printf ("%s: disabled (its pattern matches)\n", name);
        else
            printf ("%s: disabled (its pattern does not match: %s)\n", name, why);
    }
    result = any? S_EXIT_YES: S_EXIT_NO;

done:
    mesh_bus_destroy (&bus);
    free (event);
    free (event_text);
    return result;
}


//  ---------------------------------------------------------------------
//  The commands

typedef struct {
    const char *name;
    const char *summary;        //  one line, for mesh --help
    int (*run) (int argc, char **argv);
} s_command_t;

static const s_command_t s_commands [] = {
    { "test-pattern", "match an event against a pattern, as EventBridge's TestEventPattern does",
      s_test_pattern },
    { "explain",      "say, for each rule of a rule file, whether an event matches it and why not",
      s_explain },
    { NULL, NULL, NULL }
};

static void
s_usage (FILE *out)
{
    fprintf (out,
        "Usage: mesh <command> [options]\n"
        "       mesh <command> --help\n"
        "\n"
        "Work with mesh's event patterns and rule files, without a broker.\n"
        "\n"
        "Commands:\n");
    for (const s_command_t *command = s_commands; command->name; command++)
        fprintf (out, "  %-14s %s\n", command->name, command->summary);
    fprintf (out,
        "\n"
        "Exit status: 0 yes (matched), 1 no (did not match), 2 trouble (bad input).\n");
}

static const s_command_t *
s_command (const char *name)
{
    for (const s_command_t *command = s_commands; command->name; command++)
        if (streq (command->name, name))
            return command;
    return NULL;
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        s_usage (stderr);
        return S_EXIT_TROUBLE;
    }
    const char *name = argv [1];
    if (streq (name, "--help") || streq (name, "-h")) {
        s_usage (stdout);
        return S_EXIT_YES;
    }
    if (streq (name, "help")) {
        if (argc < 3) {
            s_usage (stdout);
            return S_EXIT_YES;
        }
        const s_command_t *command = s_command (argv [2]);
        if (!command) {
            fprintf (stderr, "mesh help: unknown command '%s' (see mesh --help)\n", argv [2]);
            return S_EXIT_TROUBLE;
        }
        char *help [] = { "--help" };
        return command->run (1, help);
    }
    const s_command_t *command = s_command (name);
    if (!command) {
        fprintf (stderr, "mesh: unknown command '%s' (see mesh --help)\n", name);
        return S_EXIT_TROUBLE;
    }
    return command->run (argc - 2, argv + 2);
}
