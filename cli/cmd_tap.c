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
#include <msgpack.h>
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
      "with --bus: explain why rule RULE did not match an event\n(whether others did or not), and no other rule",
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
    "  2026-12-03T07:56:44.690Z eda_bus #1 Payment Processed from demo.payments\n"
    "      payment-to-warehouse -> warehouse seq 9 (sent)\n"
    "      payment-to-shipping -> shipping seq 9 (sent)\n"
    "  2026-12-03T07:56:44.744Z eda_bus #2 Order Placed from demo.orders\n"
    "      no rule matched\n"
    "        payment-processed: source is \"demo.orders\", not \"demo.payments\"\n"
    "        ...\n"
    "\n"
    "With --rule, an event that other rules matched but not that one is\n"
    "explained too (\"not RULE\", and why).\n"
    "\n"    "A delivery is sent, queued (behind its target's backlog), dropped (the\n"
    "backlog was full) or no-subscriber (nobody subscribes to the target).\n"
    "The tap never slows the bus: when this command falls behind, the broker\n"
    "drops the tap's copies (not the deliveries) and a line says how many.\n"
    "Unmatched events are explained 10 a second at most; a bus of more than\n"
    "10,000 rules is explained with --rule only.",
    "Exit status: 0 when the tap ran, 1 when the broker refused it (an unknown\n"
    "bus or rule, a bad pattern, too many taps), 2 when nothing answered.\n",
    s_table
};

//  The replies of tap-read are read as MessagePack (msgpack-c), not as
//  JSON: a tap may bring thousands of events a second, and only the few
//  fields printed are looked at.
static const msgpack_object *
s_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t size = strlen (key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr [i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == size
        &&  memcmp (kv->key.via.str.ptr, key, size) == 0)
            return &kv->val;
    }
    return NULL;
}

static long long
s_int (const msgpack_object *value)
{
    if (value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (long long) value->via.u64;
    if (value && value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return (long long) value->via.i64;
    return 0;
}

//  A string of the reply, printed with its control characters escaped:
//  an event's text must not drive the operator's terminal.
static void
s_put (FILE *out, const msgpack_object *value, const char *absent)
{
    if (!value || value->type != MSGPACK_OBJECT_STR) {
        fputs (absent, out);
        return;
    }
    const unsigned char *text = (const unsigned char *) value->via.str.ptr;
    for (uint32_t i = 0; i < value->via.str.size; i++)
        if (text [i] < 0x20 || text [i] == 0x7f)
            fprintf (out, "\\x%02x", text [i]);
        else
            fputc (text [i], out);
}

//  A value of the reply as JSON text (caller frees), NULL if it is not one.
static char *
s_json (const msgpack_object *value)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, *value);
    mesh_limits_t limits;
    mesh_call_reply_limits (&limits);
    mesh_error_t err = { 0 };
    char *text = mesh_msgpack_to_json (buffer.data, buffer.size, &limits, &err);
    msgpack_sbuffer_destroy (&buffer);
    return text;
}

//  Why an unmatched event matched nothing, asked of the broker's explain.
static void
s_explain (mesh_call_t *call, const s_settings_t *settings, const msgpack_object *record)
{
    char *event_text = s_json (s_get (record, "event"));
    const msgpack_object *bus = s_get (record, "bus");
    json_t *request = json_pack ("{s:s, s:o, s:s}", "op", "explain", "bus",
                                 bus && bus->type == MSGPACK_OBJECT_STR
                                 ? json_stringn (bus->via.str.ptr, bus->via.str.size): json_null (),
                                 "Event", event_text? event_text: "{}");
    free (event_text);
    json_error_t json_err;
    if (request && settings->rule)
        json_object_set_new (request, "rule", json_string (settings->rule));
    char *text = request? json_dumps (request, JSON_COMPACT): NULL;
    json_decref (request);
    //  A refusal is printed here, not by cli_call_on: the tap goes on
    mesh_error_t err = { 0 };
    char *reply_text = text? mesh_call_json (call, text, settings->broker.timeout_ms, &err): NULL;
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
s_print (mesh_call_t *call, const s_settings_t *settings, const msgpack_object *record, int *explained)
{
    const msgpack_object *event = s_get (record, "event");
    const msgpack_object *routes = s_get (record, "routes");
    char when [32];
    mesh_monitor_time (s_int (s_get (record, "time_ms")), when, sizeof (when));     //  as mesh monitor says it
    printf ("%s ", when);
    s_put (stdout, s_get (record, "bus"), "?");
    printf (" #%lld ", s_int (s_get (record, "number")));
    const msgpack_object *refused = s_get (record, "refused");
    if (refused && refused->type == MSGPACK_OBJECT_STR) {
        fputs ("refused: ", stdout);
        s_put (stdout, refused, "");
        putchar ('\n');
        return;
    }
    s_put (stdout, s_get (event, "detail-type"), "?");
    fputs (" from ", stdout);
    s_put (stdout, s_get (event, "source"), "?");
    putchar ('\n');
    const msgpack_object *event_error = s_get (record, "event_error");
    if (event_error) {
        fputs ("    (the event is not shown: ", stdout);
        s_put (stdout, event_error, "");
        fputs (")\n", stdout);
    }
    else
    if (settings->events) {
        char *text = event? s_json (event): NULL;
        printf ("    %s\n", text? text: "?");
        free (text);
    }
    uint32_t count = routes && routes->type == MSGPACK_OBJECT_ARRAY? routes->via.array.size: 0;
    bool named = false;         //  --rule's rule among them
    for (uint32_t i = 0; i < count; i++) {
        const msgpack_object *route = &routes->via.array.ptr [i];
        const msgpack_object *rule = s_get (route, "rule");
        named = named || (settings->rule && rule && rule->type == MSGPACK_OBJECT_STR
                          && rule->via.str.size == strlen (settings->rule)
                          && !memcmp (rule->via.str.ptr, settings->rule, rule->via.str.size));
        fputs ("    ", stdout);
        s_put (stdout, s_get (route, "rule"), "?");
        fputs (" -> ", stdout);
        s_put (stdout, s_get (route, "target"), "?");
        printf (" seq %lld (", s_int (s_get (route, "seq")));
        s_put (stdout, s_get (route, "outcome"), "?");
        fputs (")\n", stdout);
    }
    if (count && (!settings->rule || named))
        return;
    if (!count)
        printf ("    no rule matched\n");
    else
        printf ("    not %s\n", settings->rule);     //  the rule watched, while others matched
    if (settings->no_explain || event_error || !event)
        return;
    if (*explained >= S_EXPLAIN_RATE)
        printf ("      (not explained: more than %d unmatched events a second)\n", S_EXPLAIN_RATE);
    else {
        (*explained)++;
        s_explain (call, settings, record);
    }
}

//  One tap-read: its records printed. Returns the number of records still
//  waiting in the broker (read again at once), or -1 after saying why it
//  failed on stderr (*status set).
static long long
s_read (mesh_call_t *call, const s_settings_t *settings, const char *request, int64_t *printed, int *explained,
        int *status)
{
    mesh_error_t err = { 0 };
    size_t size = 0;
    char *bytes = mesh_call_packed (call, request, settings->broker.timeout_ms, &size, &err);
    if (!bytes) {
        fprintf (stderr, "mesh tap: %s\n", err.text);
        *status = CLI_EXIT_TROUBLE;
        return -1;
    }
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    long long waiting = -1;
    const msgpack_object *reply = &unpacked.data;
    const msgpack_object *ok = NULL;
    if (msgpack_unpack_next (&unpacked, bytes, size, &offset) != MSGPACK_UNPACK_SUCCESS || offset != size
    ||  reply->type != MSGPACK_OBJECT_MAP || !(ok = s_get (reply, "ok")) || ok->type != MSGPACK_OBJECT_BOOLEAN) {
        fprintf (stderr, "mesh tap: the broker's reply is not a reply of its API\n");
        *status = CLI_EXIT_TROUBLE;
    }
    else
    if (!ok->via.boolean) {
        const msgpack_object *error = s_get (reply, "error");
        fputs ("mesh tap: ", stderr);
        s_put (stderr, s_get (error, "code"), "?");
        fputs (": ", stderr);
        s_put (stderr, s_get (error, "message"), "?");
        fputs ("\n", stderr);
        *status = CLI_EXIT_NO;
    }
    else {
        const msgpack_object *records = s_get (reply, "records");
        uint32_t count = records && records->type == MSGPACK_OBJECT_ARRAY? records->via.array.size: 0;
        for (uint32_t i = 0; i < count && !(settings->count && *printed >= settings->count); i++) {
            const msgpack_object *record = &records->via.array.ptr [i];
            if (!strcmp (settings->broker.output, "json")) {
                char *line = s_json (record);
                printf ("%s\n", line? line: "{}");
                free (line);
            }
            else {
                long long dropped = s_int (s_get (record, "dropped_before"));
                if (dropped)
                    printf ("-- %lld event(s) dropped: this tap fell behind (the bus delivered them)\n", dropped);
                s_print (call, settings, record, explained);
            }
            (*printed)++;
        }
        fflush (stdout);
        waiting = s_int (s_get (reply, "waiting"));
    }
    msgpack_unpacked_destroy (&unpacked);
    free (bytes);
    return waiting;
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
        if (s_elapsed_ms (&second) >= 1000) {
            clock_gettime (CLOCK_MONOTONIC, &second);
            explained = 0;
        }
        long long waiting = s_read (call, &settings, read_request, &printed, &explained, &status);
        if (waiting < 0)
            break;              //  the tap was closed under us, or the broker is gone: said on stderr
        if ((settings.count && printed >= settings.count)
        ||  (settings.for_ms >= 0 && s_elapsed_ms (&start) >= settings.for_ms))
            break;
        if (!waiting)
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
