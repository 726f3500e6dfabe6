/*  cmd_rules.c: mesh rules, the running broker's buses and rules  */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

typedef struct {
    cli_broker_t broker;
    const char *bus;
    const char *name;
} s_settings_t;

static const mesh_option_t s_table [] = {
    { "bus", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "BUS", "only this bus's rules",
      offsetof (s_settings_t, bus), NULL },
    { "name", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "RULE", "only this rule (with --bus), as "
      "EventBridge's DescribeRule", offsetof (s_settings_t, name), NULL },
    { "broker", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (s_settings_t, broker),
      cli_broker_options },
    { NULL }
};

static const mesh_options_t s_spec = {
    "mesh rules",
    "Usage: mesh rules [--bus BUS [--name RULE]] [--api EP] [--timeout MS] [--output text|json]",
    "List the rules the running broker serves, bus by bus: each rule's name,\n"
    "state, targets and event pattern, as its rule file says them.",
    "Exit status: 0 when the broker answered, 1 when it refused the request\n"
    "(a bus or a rule it does not have), 2 when nothing answered at the\n"
    "endpoint within --timeout.\n",
    s_table
};

static void
s_print_rule (json_t *rule)
{
    json_t *targets = json_object_get (rule, "targets");
    char list [512] = "";
    size_t i, used = 0;
    json_t *target;
    json_array_foreach (targets, i, target)
        if (used < sizeof (list))
            used += (size_t) snprintf (list + used, sizeof (list) - used, "%s%s", i? ",": "",
                                       json_string_value (target));
    printf ("  %-28s %-8s %-28s %s\n", json_string_value (json_object_get (rule, "name")),
            json_string_value (json_object_get (rule, "state")), *list? list: "-",
            json_string_value (json_object_get (rule, "pattern")));
}

static int
s_run (int argc, char **argv)
{
    s_settings_t settings = { { NULL, 0, NULL }, NULL, NULL };
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, CLI_EXIT_TROUBLE);
    if (status >= 0)
        return status;
    if (settings.name && !settings.bus) {
        fprintf (stderr, "mesh rules: --name needs --bus (see mesh rules --help)\n");
        return CLI_EXIT_TROUBLE;
    }
    json_t *request = settings.name
        ? json_pack ("{s:s, s:s, s:s}", "op", "describe-rule", "bus", settings.bus, "name", settings.name)
        : settings.bus? json_pack ("{s:s, s:s}", "op", "list-rules", "bus", settings.bus)
        : json_pack ("{s:s}", "op", "list-rules");
    char *text = request? json_dumps (request, JSON_COMPACT): NULL;
    json_decref (request);
    if (!text) {
        fprintf (stderr, "mesh rules: out of memory\n");
        return CLI_EXIT_TROUBLE;
    }
    json_t *reply = cli_call ("rules", &settings.broker, text, &status, NULL);
    free (text);
    if (!reply)
        return status;
    if (!strcmp (settings.broker.output, "json"))
        cli_print_json (reply);
    else
    if (settings.name) {
        json_t *rule = json_object_get (reply, "rule");
        printf ("bus %s\n", json_string_value (json_object_get (rule, "bus")));
        s_print_rule (rule);
    }
    else {
        size_t b;
        json_t *bus;
        json_array_foreach (json_object_get (reply, "buses"), b, bus) {
            json_t *rules = json_object_get (bus, "rules");
            printf ("bus %s (%s): %zu rule(s)\n", json_string_value (json_object_get (bus, "name")),
                    json_string_value (json_object_get (bus, "origin")), json_array_size (rules));
            size_t i;
            json_t *rule;
            json_array_foreach (rules, i, rule)
                s_print_rule (rule);
        }
    }
    json_decref (reply);
    return CLI_EXIT_YES;
}

const cli_command_t cli_rules = {
    "rules", "list the running broker's buses and rules (or describe one rule)", s_run
};
