/*  cmd_test_pattern.c: mesh test-pattern, EventBridge's TestEventPattern

    Match one event against one event pattern and print true or false. The
    event is checked first, as TestEventPattern validates its parameters
    before it looks at the pattern; an invalid pattern gets AWS's message
    and where in the pattern the problem is.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

typedef struct {
    const char *pattern;
    const char *event;
    mesh_rule_options_t rules;
    bool broker;
    cli_broker_t api;
} s_settings_t;

static const mesh_option_t s_table [] = {
    { "pattern", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "PATTERN",
      "the event pattern: JSON text, or @FILE (@- for stdin)", offsetof (s_settings_t, pattern), NULL },
    { "event", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "EVENT",
      "the event: JSON text, or @FILE; like TestEventPattern's, a JSON\n"
      "object with id, account, source, time, region and detail-type",
      offsetof (s_settings_t, event), NULL },
    { "rules", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL,
      offsetof (s_settings_t, rules), mesh_flags_rule_options },
    { "broker", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL,
      "ask the running broker (at --api), so that its compiler and limits apply",
      offsetof (s_settings_t, broker), NULL },
    { "api", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (s_settings_t, api),
      cli_broker_options },
    { NULL }
};

static const mesh_options_t s_spec = {
    "mesh test-pattern",
    "Usage: mesh test-pattern --pattern PATTERN --event EVENT [options]",
    "Match one event against one event pattern, as EventBridge's TestEventPattern\n"
    "does, and print true or false.",
    "Exit status: 0 and \"true\" if the event matches, 1 and \"false\" if not,\n"
    "2 if the pattern or the event is invalid, with AWS's error on stderr:\n"
    "  InvalidEventPatternException: Event pattern is not valid. Reason: <reason>\n"
    "    at <where in the pattern>\n"
    "  ValidationException: Parameter Event is not valid.\n"
    "\n"
    "Example:\n"
    "  mesh test-pattern --pattern '{\"source\":[\"demo.payments\"]}' --event @event.json\n"
    "  mesh test-pattern --broker --pattern @pattern.json --event @event.json   (the broker's limits)\n",
    s_table
};

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

//  The same question to the running broker (its API's test-event-pattern):
//  the same answer, the same words and exit status, its own limits.
static int
s_ask_broker (s_settings_t *settings, const char *pattern, const char *event)
{
    json_t *request = json_pack ("{s:s, s:s, s:s}", "op", "test-event-pattern", "EventPattern", pattern,
                                 "Event", event);
    char *text = request? json_dumps (request, JSON_COMPACT): NULL;
    json_decref (request);
    if (!text) {
        fprintf (stderr, "mesh test-pattern: out of memory\n");
        return CLI_EXIT_TROUBLE;
    }
    //  A refusal is the broker's words, as this command prints them: trouble (2)
    int status;
    json_t *reply = cli_call ("test-pattern", &settings->api, text, &status, NULL);
    free (text);
    if (!reply)
        return CLI_EXIT_TROUBLE;
    bool match = json_is_true (json_object_get (reply, "Result"));
    if (!strcmp (settings->api.output, "json"))
        cli_print_json (reply);
    else
        printf ("%s\n", match? "true": "false");
    json_decref (reply);
    return match? CLI_EXIT_YES: CLI_EXIT_NO;
}

static int
s_run (int argc, char **argv)
{
    s_settings_t settings = { NULL, NULL, { 0, 0 }, false, { NULL, 0, NULL } };
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, CLI_EXIT_TROUBLE);
    if (status >= 0)
        return status;
    if (!settings.pattern || !settings.event) {
        fprintf (stderr, "mesh test-pattern: --pattern and --event are required (see mesh test-pattern --help)\n");
        return CLI_EXIT_TROUBLE;
    }
    int result = CLI_EXIT_TROUBLE;
    mesh_rule_t *rule = NULL;
    void *event = NULL;
    size_t pattern_size = 0, event_text_size = 0, event_size = 0;
    char *pattern_text = cli_text ("test-pattern", "pattern", settings.pattern, &pattern_size);
    char *event_text = cli_text ("test-pattern", "event", settings.event, &event_text_size);
    if (!pattern_text || !event_text)
        goto done;
    if (settings.broker) {
        result = s_ask_broker (&settings, pattern_text, event_text);
        goto done;
    }

    mesh_error_t err = { 0 };
    if (mesh_event_check_test_pattern (event_text, event_text_size, &err)) {
        fprintf (stderr, "ValidationException: %s\n", err.text);
        goto done;
    }
    mesh_pattern_error_t problem;
    rule = mesh_rule_new_with ("test-pattern", pattern_text, pattern_size, &settings.rules, &problem, &err);
    if (!rule) {
        s_print_pattern_error (&problem, &err, &settings.rules);
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
        result = match? CLI_EXIT_YES: CLI_EXIT_NO;
    }

done:
    mesh_rule_destroy (&rule);
    free (event);
    free (pattern_text);
    free (event_text);
    return result;
}

const cli_command_t cli_test_pattern = {
    "test-pattern", "match an event against a pattern, as EventBridge's TestEventPattern does", s_run
};
