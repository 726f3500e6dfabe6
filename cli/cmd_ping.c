/*  cmd_ping.c: mesh ping, is the broker there and what is it  */
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
    "mesh ping",
    "Usage: mesh ping [--api EP] [--timeout MS] [--output text|json]",
    "Ask the running broker who it is: its version, protocol, process, how long\n"
    "it has been up, how many buses it serves and whether its ingest is open.",
    "Exit status: 0 when the broker answered, 1 when it refused the request,\n"
    "2 when nothing answered at the endpoint within --timeout.\n"
    "\n"
    "Example:\n"
    "  mesh ping --api tcp://127.0.0.1:5602\n",
    s_table
};

static int
s_run (int argc, char **argv)
{
    s_settings_t settings = { { NULL, 0, NULL } };
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, CLI_EXIT_TROUBLE);
    if (status >= 0)
        return status;
    double round_trip = 0;
    json_t *reply = cli_call ("ping", &settings.broker, "{\"op\":\"ping\"}", &status, &round_trip);
    if (!reply)
        return status;
    if (!strcmp (settings.broker.output, "json"))
        cli_print_json (reply);
    else {
        json_int_t uptime = json_integer_value (json_object_get (reply, "uptime_ms"));
        printf ("mesh-broker %s at %s: protocol %d, pid %d, up %.1f s, %d bus(es), ingest %s "
                "(answered in %.1f ms)\n",
                json_string_value (json_object_get (reply, "version")), settings.broker.api,
                (int) json_integer_value (json_object_get (reply, "protocol")),
                (int) json_integer_value (json_object_get (reply, "pid")), (double) uptime / 1000,
                (int) json_integer_value (json_object_get (reply, "buses")),
                json_is_true (json_object_get (reply, "ingest_open"))? "open": "not open yet",
                round_trip);
    }
    json_decref (reply);
    return CLI_EXIT_YES;
}

const cli_command_t cli_ping = {
    "ping", "ask the running broker its version, uptime and state", s_run
};
