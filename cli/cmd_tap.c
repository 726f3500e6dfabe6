/*  cmd_tap.c: mesh tap, the events entering the running broker's buses and where they went

    Opens a tap through the API (tap-open, broker/mesh_tap.h) and reads it
    every 100 ms (tap-read): for each event, the rules it matched and the
    targets it went to with their sequence numbers, or "no rule matched"
    and explain's reason for each rule of the bus (or for --rule only). A
    tap never holds the bus back: when this command cannot keep up the
    broker drops the tap's copies, and the gap is printed as such. At the
    end (Ctrl-C, --count, --for) the tap is closed; one left open by a
    killed command closes by itself after 10 s.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

#define S_POLL_US        100000     //  between two reads of an idle tap
#define S_EXPLAIN_RATE   10         //  unmatched events explained a second, at most

typedef struct {
    cli_broker_t broker;
    const char *bus;
    const char *pattern;
    const char *rule;
    int capacity;
    int64_t count;
    int for_ms;
    bool events;
    bool no_explain;
} s_settings_t;

static const mesh_option_t s_table [] = {
    { "bus", 'b', NULL, MESH_OPTION_STRING, 0, 0, NULL, "BUS", "only the events entering bus BUS (default: every bus)",
      offsetof (s_settings_t, bus), NULL },
    { "pattern", 'p', NULL, MESH_OPTION_STRING, 0, 0, NULL, "PATTERN",
      "only the events that match PATTERN, an event pattern:\nJSON text, or @FILE (@- for stdin)",
      offsetof (s_settings_t, pattern), NULL },
    { "rule", 'r', NULL, MESH_OPTION_STRING, 0, 0, NULL, "RULE",
      "with --bus: when an event matches nothing, explain\nwhy for rule RULE only (default: every rule of the bus)",
      offsetof (s_settings_t, rule), NULL },
    { "events", 'e', NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL, "print each event's JSON too",
      offsetof (s_settings_t, events), NULL },
    { "no-explain", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL, "do not ask why an event matched no rule",
      offsetof (s_settings_t, no_explain), NULL },
    { "capacity", 0, NULL, MESH_OPTION_INT, 1, 10000, "1000", "N",
      "the broker keeps N events for this tap between two reads;\npast them it drops (and this says how many)",
      offsetof (s_settings_t, capacity), NULL },
    { "count", 'n', NULL, MESH_OPTION_INT64, 0, 1000000000, "0", "N", "stop after N events (0: never)",
      offsetof (s_settings_t, count), NULL },
    { "for", 0, NULL, MESH_OPTION_INT, -1, 86400000, "-1", "MS", "stop after MS; -1: never",
      offsetof (s_settings_t, for_ms), NULL },
    { "broker", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (s_settings_t, broker),
      cli_broker_options },
    { NULL }
};

static const mesh_options_t s_spec = {
    "mesh tap",
    "Usage: mesh tap [--bus BUS [--rule RULE]] [--pattern PATTERN] [--events] [--count N] [--for MS]\n"
    "                [--api EP] [--output text|json]",
    "Watch the events entering the running broker's buses as they come, each\n"
    "with the rules it matched and the targets it went to:\n"
    "\n"
    "  10:42:07.114 demo #12 Payment Processed from demo.payments\n"
    "    payment-processed -> rewards seq 7 (sent)\n"
    "    payment-to-warehouse -> warehouse seq 7 (sent)\n"
    "  10:42:07.301 demo #13 Order Placed from demo.orders\n"
    "    no rule matched\n"
    "      payment-processed: source is \"demo.orders\", not one of [\"demo.payments\"]\n"
    "\n"
    "A delivery is sent, queued (behind its target's backlog), dropped (the\n"
    "backlog was full) or no-subscriber (nobody subscribes to the target).\n"
    "The tap never slows the bus: when this command falls behind, the broker\n"
    "drops the tap's copies (not the deliveries) and a line says how many.\n"
    "Unmatched events are explained 10 a second at most; a bus of more than\n"
    "10,000 rules is explained with --rule only.",
    "Exit status: 0 when the tap ran, 1 when the broker refused it (an unknown\n"
    "bus or rule, a bad pattern, too many taps), 2 when nothing answered.\n",
    s_table
};

static void
s_time (int64_t ms, char *text, size_t size)
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    localtime_r (&seconds, &tm);
    size_t used = strftime (text, size, "%H:%M:%S", &tm);
    snprintf (text + used, size - used, ".%03d", (int) (ms % 1000));
}

static const char *
s_field (json_t *event, const char *key)
{
    const char *value = json_string_value (json_object_get (event, key));
    return value? value: "?";
}

//  Why an unmatched event matched nothing, asked of the broker's explain.
static void
s_explain (mesh_call_t *call, const s_settings_t *settings, json_t *record)
{
    json_t *event = json_object_get (record, "event");
    char *event_text = json_dumps (event, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_t *request = json_pack ("{s:s, s:s, s:s}", "op", "explain", "bus",
                                 json_string_value (json_object_get (record, "bus")), "Event", event_text? event_text: "{}");
    free (event_text);
    if (settings->rule)
        json_object_set_new (request, "rule", json_string (settings->rule));
    char *text = json_dumps (request, JSON_COMPACT);
    json_decref (request);
    //  A refusal is printed here, not by cli_call_on: the tap goes on
    mesh_error_t err = { 0 };
    char *reply_text = text? mesh_call_json (call, text, settings->broker.timeout_ms, &err): NULL;
    json_error_t json_err;
    json_t *reply = reply_text? json_loads (reply_text, 0, &json_err): NULL;
    free (reply_text);
    free (text);
    if (!reply)
        printf ("      (not explained: %s)\n", err.text [0]? err.text: "no answer");
    else
    if (!json_is_true (json_object_get (reply, "ok")))
        printf ("      (not explained: %s)\n",
                json_string_value (json_object_get (json_object_get (reply, "error"), "message")));
    else {
        size_t i;
        json_t *rule;
        json_array_foreach (json_object_get (reply, "rules"), i, rule) {
            const char *why = json_string_value (json_object_get (rule, "why"));
            printf ("      %s: %s\n", json_string_value (json_object_get (rule, "name")),
                    why? why: json_is_true (json_object_get (rule, "matched"))? "matches now": "no match");
        }
        if (json_array_size (json_object_get (reply, "rules")) == 0)
            printf ("      (the bus has no rules)\n");
    }
    json_decref (reply);
}

//  One record, as text: the event's line, then its routes or why none.
static void
s_print (mesh_call_t *call, const s_settings_t *settings, json_t *record, int *explained)
{
    json_t *event = json_object_get (record, "event");
    json_t *routes = json_object_get (record, "routes");
    char when [32];
    s_time (json_integer_value (json_object_get (record, "time_ms")), when, sizeof (when));
    const char *bus = json_string_value (json_object_get (record, "bus"));
    long long number = (long long) json_integer_value (json_object_get (record, "number"));
    const char *refused = json_string_value (json_object_get (record, "refused"));
    if (refused) {
        printf ("%s %s #%lld refused: %s\n", when, bus, number, refused);
        return;
    }
    printf ("%s %s #%lld %s from %s\n", when, bus, number, s_field (event, "detail-type"), s_field (event, "source"));
    if (settings->events) {
        char *text = json_dumps (event, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf ("    %s\n", text? text: "?");
        free (text);
    }
    size_t i;
    json_t *route;
    json_array_foreach (routes, i, route)
        printf ("    %s -> %s seq %lld (%s)\n", json_string_value (json_object_get (route, "rule")),
                json_string_value (json_object_get (route, "target")),
                (long long) json_integer_value (json_object_get (route, "seq")),
                json_string_value (json_object_get (route, "outcome")));
    if (json_array_size (routes))
        return;
    printf ("    no rule matched\n");
    if (settings->no_explain)
        return;
    if (*explained >= S_EXPLAIN_RATE)
        printf ("      (not explained: more than %d unmatched events a second)\n", S_EXPLAIN_RATE);
    else {
        (*explained)++;
        s_explain (call, settings, record);
    }
}

static double
s_elapsed_ms (const struct timespec *start)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) (now.tv_sec - start->tv_sec) * 1e3 + (double) (now.tv_nsec - start->tv_nsec) / 1e6;
}

static int
s_run (int argc, char **argv)
{
    s_settings_t settings = { { NULL, 0, NULL }, NULL, NULL, NULL, 0, 0, 0, false, false };
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, CLI_EXIT_TROUBLE);
    if (status >= 0)
        return status;
    if (strcmp (settings.broker.output, "text") && strcmp (settings.broker.output, "json")) {
        fprintf (stderr, "mesh tap: --output must be text or json, not '%s'\n", settings.broker.output);
        return CLI_EXIT_TROUBLE;
    }
    if (settings.rule && !settings.bus) {
        fprintf (stderr, "mesh tap: --rule needs --bus: a rule is named on its bus\n");
        return CLI_EXIT_TROUBLE;
    }
    json_t *request = json_pack ("{s:s, s:i}", "op", "tap-open", "capacity", settings.capacity);
    if (settings.bus)
        json_object_set_new (request, "bus", json_string (settings.bus));
    if (settings.rule)
        json_object_set_new (request, "rule", json_string (settings.rule));
    if (settings.pattern) {
        size_t size = 0;
        char *pattern = cli_text ("tap", "pattern", settings.pattern, &size);
        if (!pattern) {
            json_decref (request);
            return CLI_EXIT_TROUBLE;
        }
        json_object_set_new (request, "pattern", json_string (pattern));
        free (pattern);
    }
    char *text = json_dumps (request, JSON_COMPACT);
    json_decref (request);
    mesh_error_t err = { 0 };
    mesh_call_t *call = text? mesh_call_new (settings.broker.api, &err): NULL;
    if (!call) {
        fprintf (stderr, "mesh tap: %s\n", text? err.text: "out of memory");
        free (text);
        return CLI_EXIT_TROUBLE;
    }
    json_t *reply = cli_call_on (call, "tap", &settings.broker, text, &status, NULL);
    free (text);
    if (!reply) {
        mesh_call_destroy (&call);
        return status;
    }
    long long tap = (long long) json_integer_value (json_object_get (reply, "tap"));
    json_decref (reply);
    if (!strcmp (settings.broker.output, "text"))
        fprintf (stderr, "mesh tap: tapping %s%s%s at %s (Ctrl-C stops)\n", settings.bus? "bus ": "every bus",
                 settings.bus? settings.bus: "", settings.pattern? ", events that match the pattern": "",
                 settings.broker.api);
    cli_stop_on_signals ();
    int64_t printed = 0;
    int explained = 0;
    struct timespec start, second;
    clock_gettime (CLOCK_MONOTONIC, &start);
    second = start;
    char read_request [96];
    snprintf (read_request, sizeof (read_request), "{\"op\":\"tap-read\",\"tap\":%lld}", tap);
    status = CLI_EXIT_YES;
    while (!cli_stopped) {
        reply = cli_call_on (call, "tap", &settings.broker, read_request, &status, NULL);
        if (!reply)
            break;              //  the tap was closed under us, or the broker is gone: said on stderr
        if (s_elapsed_ms (&second) >= 1000) {
            clock_gettime (CLOCK_MONOTONIC, &second);
            explained = 0;
        }
        size_t i;
        json_t *record;
        json_t *records = json_object_get (reply, "records");
        json_array_foreach (records, i, record) {
            if (settings.count && printed >= settings.count)
                break;
            long long dropped = (long long) json_integer_value (json_object_get (record, "dropped_before"));
            if (!strcmp (settings.broker.output, "json")) {
                char *line = json_dumps (record, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf ("%s\n", line? line: "{}");
                free (line);
            }
            else {
                if (dropped)
                    printf ("-- %lld event(s) dropped: this tap fell behind (the bus delivered them)\n", dropped);
                s_print (call, &settings, record, &explained);
            }
            printed++;
        }
        fflush (stdout);
        bool more = json_integer_value (json_object_get (reply, "waiting")) > 0;
        json_decref (reply);
        if ((settings.count && printed >= settings.count)
        ||  (settings.for_ms >= 0 && s_elapsed_ms (&start) >= settings.for_ms))
            break;
        if (!more)
            usleep (S_POLL_US);
    }
    char close_request [96];
    snprintf (close_request, sizeof (close_request), "{\"op\":\"tap-close\",\"tap\":%lld}", tap);
    int close_status;
    if (status == CLI_EXIT_YES)
        json_decref (cli_call_on (call, "tap", &settings.broker, close_request, &close_status, NULL));
    mesh_call_destroy (&call);
    return status;
}

const cli_command_t cli_tap = {
    "tap", "watch the events entering the running broker's buses, and the rules and targets each took", s_run
};
