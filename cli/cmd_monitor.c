/*  cmd_monitor.c: mesh monitor, the ZeroMQ socket monitor of the broker's sockets

    Asks the running broker's API for the monitor events of its sockets
    (ingest, deliver, api) that it keeps, and with --follow for the new
    ones as they come (it asks again every 200 ms): connections accepted
    and closed with the peer's address, handshakes that failed and why,
    sockets listening. --peers prints the connections open now instead.
*/
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

typedef struct {
    cli_broker_t broker;
    bool follow;
    bool peers;
    int64_t count;
    int timeout_ms;
} s_settings_t;

static const mesh_option_t s_table [] = {
    { "follow", 'f', NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL, "go on printing events as they come, until Ctrl-C",
      offsetof (s_settings_t, follow), NULL },
    { "peers", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL,
      "print the connections open now (socket, peer, since, messages in) instead", offsetof (s_settings_t, peers), NULL },
    { "count", 'n', NULL, MESH_OPTION_INT64, 0, 1000000000, "0", "N", "with --follow: stop after N events",
      offsetof (s_settings_t, count), NULL },
    { "for", 0, NULL, MESH_OPTION_INT, -1, 86400000, "-1", "MS", "with --follow: stop after MS; -1: never",
      offsetof (s_settings_t, timeout_ms), NULL },
    { "broker", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (s_settings_t, broker),
      cli_broker_options },
    { NULL }
};

static const mesh_options_t s_spec = {
    "mesh monitor",
    "Usage: mesh monitor [--follow [--count N] [--for MS]] [--peers] [--api EP] [--output text|json]",
    "Print what the ZeroMQ socket monitor says of the running broker's sockets:\n"
    "connections accepted and closed (with the peer's address), handshakes that\n"
    "failed and why, sockets listening. The broker keeps the last 4,096 events;\n"
    "--follow goes on with the new ones as they come.",
    "Exit status: 0 when the broker answered, 1 when it refused the request, 2\n"
    "when nothing answered at the endpoint within --timeout.\n",
    s_table
};


static void
s_print_event (const s_settings_t *settings, json_t *event)
{
    if (!strcmp (settings->broker.output, "json")) {
        char *text = json_dumps (event, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text)
            printf ("%s\n", text);
        free (text);
    }
    else {
        char when [32];
        mesh_monitor_time (json_integer_value (json_object_get (event, "time_ms")), when, sizeof (when));
        printf ("%s %-8s %-26s %s (value %lld)", when,
                json_string_value (json_object_get (event, "socket")), json_string_value (json_object_get (event, "event")),
                json_string_value (json_object_get (event, "address")),
                (long long) json_integer_value (json_object_get (event, "value")));
        json_t *messages = json_object_get (event, "messages");
        if (messages)
            printf (" after %lld message(s) in", (long long) json_integer_value (messages));
        printf ("\n");
    }
    fflush (stdout);
}

static int
s_run (int argc, char **argv)
{
    s_settings_t settings = { { NULL, 0, NULL }, false, false, 0, 0 };
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, CLI_EXIT_TROUBLE);
    if (status >= 0)
        return status;
    if (settings.peers) {
        json_t *reply = cli_call ("monitor", &settings.broker, "{\"op\":\"monitor\",\"peers\":true,\"since\":0}",
                                  &status, NULL);
        if (!reply)
            return status;
        if (!strcmp (settings.broker.output, "json"))
            cli_print_json (json_object_get (reply, "peers"));
        else {
            size_t i;
            json_t *peer;
            struct timespec clock;
            clock_gettime (CLOCK_REALTIME, &clock);
            int64_t now = (int64_t) clock.tv_sec * 1000 + clock.tv_nsec / 1000000;
            json_array_foreach (json_object_get (reply, "peers"), i, peer) {
                printf ("%-8s %-24s connected for %.1f s", json_string_value (json_object_get (peer, "socket")),
                        json_string_value (json_object_get (peer, "address")),
                        (double) (now - json_integer_value (json_object_get (peer, "since_ms"))) / 1000);
                json_t *messages = json_object_get (peer, "messages");
                if (messages)
                    printf (", %lld message(s) in", (long long) json_integer_value (messages));
                printf ("\n");
            }
        }
        json_decref (reply);
        return CLI_EXIT_YES;
    }
    cli_stop_on_signals ();
    //  One connection for every poll: a poll's own connection is one event, not one a poll
    if (strcmp (settings.broker.output, "text") && strcmp (settings.broker.output, "json")) {
        fprintf (stderr, "mesh monitor: --output must be text or json, not '%s'\n", settings.broker.output);
        return CLI_EXIT_TROUBLE;
    }
    mesh_error_t err = { 0 };
    mesh_call_t *call = mesh_call_new (settings.broker.api, &err);
    if (!call) {
        fprintf (stderr, "mesh monitor: %s\n", err.text);
        return CLI_EXIT_TROUBLE;
    }
    long long since = -1;
    int64_t printed = 0;
    struct timespec start;
    clock_gettime (CLOCK_MONOTONIC, &start);
    while (!cli_stopped) {
        char request [96];
        if (since < 0)
            snprintf (request, sizeof (request), "{\"op\":\"monitor\"}");
        else
            snprintf (request, sizeof (request), "{\"op\":\"monitor\",\"since\":%lld}", since);
        json_t *reply = cli_call_on (call, "monitor", &settings.broker, request, &status, NULL);
        if (!reply) {
            mesh_call_destroy (&call);
            return status;
        }
        if (json_integer_value (json_object_get (reply, "dropped")))
            printf ("-- %lld event(s) dropped before these: the broker keeps the last 4096\n",
                    (long long) json_integer_value (json_object_get (reply, "dropped")));
        size_t i;
        json_t *event;
        json_array_foreach (json_object_get (reply, "events"), i, event) {
            if (settings.count && printed >= settings.count)
                break;
            s_print_event (&settings, event);
            printed++;
        }
        since = json_integer_value (json_object_get (reply, "next"));
        bool more = json_array_size (json_object_get (reply, "events")) >= 1000;     //  a full reply: ask at once
        json_decref (reply);
        struct timespec now;
        clock_gettime (CLOCK_MONOTONIC, &now);
        double elapsed_ms = (double) (now.tv_sec - start.tv_sec) * 1e3 + (double) (now.tv_nsec - start.tv_nsec) / 1e6;
        if (!settings.follow || (settings.count && printed >= settings.count)
        ||  (settings.timeout_ms >= 0 && elapsed_ms >= settings.timeout_ms))
            break;
        if (!more)
            usleep (200000);
    }
    mesh_call_destroy (&call);
    return CLI_EXIT_YES;
}

const cli_command_t cli_monitor = {
    "monitor", "print the ZeroMQ socket monitor's events of the running broker's sockets", s_run
};
