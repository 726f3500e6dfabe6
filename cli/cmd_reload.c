/*  cmd_reload.c: mesh reload, the running broker's rule files read again  */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

typedef struct {
    cli_broker_t broker;
} s_settings_t;

static const mesh_option_t s_table [] = {
    { "broker", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (s_settings_t, broker),
      cli_broker_options },
    { NULL }
};

static const mesh_options_t s_spec = {
    "mesh reload",
    "Usage: mesh reload [--api EP] [--timeout MS] [--output text|json]",
    "Have the running broker read its rule files again (those of its --config)\n"
    "and swap the new rules in between two events, as SIGHUP does: no event is\n"
    "lost or matched against half of a set, and the targets keep their sequence\n"
    "numbers, subscribers and backlogs. A file that is refused leaves the old\n"
    "rules running, and the reason is printed: file, rule, where, why.",
    "Exit status: 0 when the new rules run, 1 when the broker refused them (the\n"
    "old ones still run), 2 when nothing answered within --timeout.\n",
    s_table
};

static int
s_run (int argc, char **argv)
{
    s_settings_t settings = { { NULL, 0, NULL } };
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, CLI_EXIT_TROUBLE);
    if (status >= 0)
        return status;
    json_t *reply = cli_call ("reload", &settings.broker, "{\"op\":\"reload\"}", &status, NULL);
    if (!reply)
        return status;
    if (!strcmp (settings.broker.output, "json"))
        cli_print_json (reply);
    else {
        printf ("reloaded: %zu bus(es), %lld rule(s), swapped in %.1f ms\n",
                json_array_size (json_object_get (reply, "buses")),
                (long long) json_integer_value (json_object_get (reply, "rules")),
                json_real_value (json_object_get (reply, "ms")));
        size_t i;
        json_t *bus;
        json_array_foreach (json_object_get (reply, "buses"), i, bus)
            printf ("  bus %s from %s: %lld rule(s)\n", json_string_value (json_object_get (bus, "name")),
                    json_string_value (json_object_get (bus, "origin")),
                    (long long) json_integer_value (json_object_get (bus, "rules")));
    }
    json_decref (reply);
    return CLI_EXIT_YES;
}

const cli_command_t cli_reload = {
    "reload", "have the running broker read its rule files again and swap them in", s_run
};
