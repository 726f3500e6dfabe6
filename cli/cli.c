/*  cli.c: the pieces every command of bin/mesh shares (cli.h)  */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"

char *
cli_text (const char *command, const char *what, const char *arg, size_t *size)
{
    mesh_error_t err = { 0 };
    char *text = mesh_options_text (arg, size, &err);
    if (!text)
        fprintf (stderr, "mesh %s: %s: %s\n", command, what, err.text);
    return text;
}

//  The same with json as the default output (mesh put, whose reply is
//  the AWS CLI's).
const mesh_option_t cli_broker_options_json [] = {
    { "api", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (cli_broker_t, api), mesh_flags_api },
    { "timeout", 0, "MESH_TIMEOUT", MESH_OPTION_INT, 1, 3600000, "2000", "MS",
      "how long to wait for the broker's answer, ms", offsetof (cli_broker_t, timeout_ms), NULL },
    { "output", 'o', "MESH_OUTPUT", MESH_OPTION_STRING, 0, 0, "json", "FORMAT",
      "json (as the AWS CLI prints it) or text (as its --output text does)",
      offsetof (cli_broker_t, output), NULL },
    { 0 }
};

const mesh_option_t cli_broker_options [] = {
    { "api", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (cli_broker_t, api), mesh_flags_api },
    { "timeout", 0, "MESH_TIMEOUT", MESH_OPTION_INT, 1, 3600000, "2000", "MS",
      "how long to wait for the broker's answer, ms", offsetof (cli_broker_t, timeout_ms), NULL },
    { "output", 'o', "MESH_OUTPUT", MESH_OPTION_STRING, 0, 0, "text", "FORMAT",
      "text (for people) or json (the broker's reply, for scripts)", offsetof (cli_broker_t, output), NULL },
    { 0 }
};

static double
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec * 1e3 + (double) now.tv_nsec / 1e6;
}

json_t *
cli_call (const char *command, const cli_broker_t *broker, const char *request, int *status,
          double *round_trip_ms)
{
    return cli_call_on (NULL, command, broker, request, status, round_trip_ms);
}

json_t *
cli_call_on (mesh_call_t *kept, const char *command, const cli_broker_t *broker, const char *request,
             int *status, double *round_trip_ms)
{
    *status = CLI_EXIT_TROUBLE;
    if (strcmp (broker->output, "text") && strcmp (broker->output, "json")) {
        fprintf (stderr, "mesh %s: --output must be text or json, not '%s'\n", command, broker->output);
        return NULL;
    }
    mesh_error_t err = { 0 };
    mesh_call_t *call = kept? kept: mesh_call_new (broker->api, &err);
    if (!call) {
        fprintf (stderr, "mesh %s: %s\n", command, err.text);
        return NULL;
    }
    double start = s_now_ms ();
    char *text = mesh_call_json (call, request, broker->timeout_ms, &err);
    if (round_trip_ms)
        *round_trip_ms = s_now_ms () - start;
    if (!kept)
        mesh_call_destroy (&call);
    if (!text) {
        fprintf (stderr, "mesh %s: %s\n", command, err.text);
        return NULL;
    }
    json_error_t json_err;
    json_t *reply = json_loads (text, 0, &json_err);
    free (text);
    if (!json_is_object (reply)) {
        fprintf (stderr, "mesh %s: the broker's reply is not a map\n", command);
        json_decref (reply);
        return NULL;
    }
    if (json_is_true (json_object_get (reply, "ok"))) {
        *status = CLI_EXIT_YES;
        return reply;
    }
    json_t *error = json_object_get (reply, "error");
    const char *code = json_string_value (json_object_get (error, "code"));
    const char *message = json_string_value (json_object_get (error, "message"));
    if (!strcmp (broker->output, "json"))
        cli_print_json (reply);
    fprintf (stderr, "mesh %s: %s: %s\n", command, code? code: "Error", message? message: "(no message)");
    *status = CLI_EXIT_NO;
    json_decref (reply);
    return NULL;
}

void
cli_print_json (json_t *reply)
{
    char *text = json_dumps (reply, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
    if (text)
        printf ("%s\n", text);
    free (text);
}

char *
cli_json_indent (const char *text)
{
    size_t size = strlen (text), used = 0, room = 2 * size + 64;
    char *out = (char *) malloc (room);
    if (!out)
        return NULL;
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < size; i++) {
        char c = text [i];
        if (used + 2 * (size_t) depth + 8 >= room) {
            room = 2 * room + 2 * (size_t) depth + 8;
            char *grown = (char *) realloc (out, room);
            if (!grown) {
                free (out);
                return NULL;
            }
            out = grown;
        }
        if (in_string) {
            out [used++] = c;
            if (c == '\\' && i + 1 < size)
                out [used++] = text [++i];
            else
            if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
            out [used++] = c;
        }
        else
        if ((c == '{' || c == '[') && i + 1 < size && (text [i + 1] == '}' || text [i + 1] == ']')) {
            out [used++] = c;               //  {} and [] stay on one line
            out [used++] = text [++i];
        }
        else
        if (c == '{' || c == '[' || c == ',') {
            out [used++] = c;
            if (c != ',')
                depth++;
            out [used++] = '\n';
            for (int k = 0; k < 2 * depth; k++)
                out [used++] = ' ';
        }
        else
        if (c == '}' || c == ']') {
            depth--;
            out [used++] = '\n';
            for (int k = 0; k < 2 * depth; k++)
                out [used++] = ' ';
            out [used++] = c;
        }
        else
        if (c == ':') {
            out [used++] = ':';
            out [used++] = ' ';
        }
        else
            out [used++] = c;
    }
    out [used] = 0;
    return out;
}

volatile sig_atomic_t cli_stopped;

static void
s_on_signal (int signal)
{
    (void) signal;
    cli_stopped = 1;
}

void
cli_stop_on_signals (void)
{
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
}
