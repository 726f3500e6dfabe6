/*  cmd_explain.c: mesh explain, why each rule of a rule file matches or not

    For every rule of a rule file, in file order: matched, or the first
    field and test that failed and why; a DISABLED rule never matches, and
    its line says whether its pattern would.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define S_WHY_MAX 1024              //  room for one explanation

typedef struct {
    const char *rules;
    const char *event;
    bool broker;
    const char *bus;
    const char *rule;
    cli_broker_t api;
} s_settings_t;

static const mesh_option_t s_table [] = {
    { "rules", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "FILE",
      "a rule file, as the broker's --config reads it", offsetof (s_settings_t, rules), NULL },
    { "event", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "EVENT",
      "the event: JSON text, or @FILE (@- for stdin); any JSON\n"
      "object (no field is required)", offsetof (s_settings_t, event), NULL },
    { "broker", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL,
      "ask the running broker (at --api) about the rules it runs on --bus", offsetof (s_settings_t, broker), NULL },
    { "bus", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "BUS", "with --broker: the bus whose rules to explain",
      offsetof (s_settings_t, bus), NULL },
    { "rule", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "RULE",
      "with --broker: that rule of the bus only (a bus past\n10,000 rules is explained one rule at a time)",
      offsetof (s_settings_t, rule), NULL },
    { "api", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (s_settings_t, api),
      cli_broker_options },
    { NULL }
};

static const mesh_options_t s_spec = {
    "mesh explain",
    "Usage: mesh explain --rules FILE --event EVENT\n"
    "       mesh explain --broker --bus BUS [--rule RULE] --event EVENT [--api EP]",
    "Say, for every rule of a rule file, whether the event matches it, and if\n"
    "not, the first field and test that failed and why:\n"
    "\n"
    "  payment-processed: no match: detail.total_cost is 99, not > 200\n"
    "  payment-to-warehouse: matched\n"
    "  audit-everything: disabled (its pattern matches)\n"
    "\n"
    "Rules are listed in file order; a DISABLED rule never matches, and the\n"
    "line says whether its pattern would. With --broker, the rules are the\n"
    "ones the running broker serves on --bus, with its limits.",
    "Exit status: 0 if at least one enabled rule matches, 1 if none does, 2 if\n"
    "the rule file or the event cannot be used.\n",
    s_table
};

//  The same question about the rules the broker runs on a bus (its API's
//  explain): the same lines and exit status.
static int
s_ask_broker (s_settings_t *settings)
{
    size_t size = 0;
    char *event = cli_text ("explain", "event", settings->event, &size);
    if (!event)
        return CLI_EXIT_TROUBLE;
    json_t *request = json_pack ("{s:s, s:s, s:s}", "op", "explain", "bus", settings->bus, "Event", event);
    free (event);
    if (request && settings->rule)
        json_object_set_new (request, "rule", json_string (settings->rule));
    char *text = request? json_dumps (request, JSON_COMPACT): NULL;
    json_decref (request);
    int status;
    json_t *reply = text? cli_call ("explain", &settings->api, text, &status, NULL): NULL;
    free (text);
    if (!reply)
        return CLI_EXIT_TROUBLE;
    if (!strcmp (settings->api.output, "json"))
        cli_print_json (reply);
    else {
        size_t i;
        json_t *rule;
        json_array_foreach (json_object_get (reply, "rules"), i, rule) {
            const char *name = json_string_value (json_object_get (rule, "name"));
            const char *why = json_string_value (json_object_get (rule, "why"));
            bool matched = json_is_true (json_object_get (rule, "matched"));
            bool enabled = !strcmp (json_string_value (json_object_get (rule, "state")), "ENABLED");
            if (enabled && matched)
                printf ("%s: matched\n", name);
            else
            if (enabled)
                printf ("%s: no match: %s\n", name, why);
            else
            if (matched)
                printf ("%s: disabled (its pattern matches)\n", name);
            else
                printf ("%s: disabled (its pattern does not match: %s)\n", name, why);
        }
    }
    bool any = json_is_true (json_object_get (reply, "matched"));
    json_decref (reply);
    return any? CLI_EXIT_YES: CLI_EXIT_NO;
}

static int
s_run (int argc, char **argv)
{
    s_settings_t settings = { NULL, NULL, false, NULL, NULL, { NULL, 0, NULL } };
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, CLI_EXIT_TROUBLE);
    if (status >= 0)
        return status;
    if (settings.rule && !settings.broker) {
        fprintf (stderr, "mesh explain: --rule is for --broker (a rule file's rules are all explained)\n");
        return CLI_EXIT_TROUBLE;
    }
    if (settings.broker) {
        if (!settings.bus || !settings.event || settings.rules) {
            fprintf (stderr, "mesh explain: --broker takes --bus and --event, not --rules (see mesh explain --help)\n");
            return CLI_EXIT_TROUBLE;
        }
        return s_ask_broker (&settings);
    }
    if (!settings.rules || !settings.event) {
        fprintf (stderr, "mesh explain: --rules and --event are required (see mesh explain --help)\n");
        return CLI_EXIT_TROUBLE;
    }
    int result = CLI_EXIT_TROUBLE;
    mesh_bus_t *bus = NULL;
    void *event = NULL;
    size_t event_text_size = 0, event_size = 0;
    char *event_text = cli_text ("explain", "event", settings.event, &event_text_size);
    if (!event_text)
        goto done;
    mesh_error_t err = { 0 };
    bus = mesh_bus_load (settings.rules, &err);
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
    result = any? CLI_EXIT_YES: CLI_EXIT_NO;

done:
    mesh_bus_destroy (&bus);
    free (event);
    free (event_text);
    return result;
}

const cli_command_t cli_explain = {
    "explain", "say, for each rule of a rule file, whether an event matches it and why not", s_run
};
