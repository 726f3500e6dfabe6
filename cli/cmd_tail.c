/*  cmd_tail.c: mesh tail TARGET, what a target receives, as it comes

    Subscribes to the broker's deliver endpoint as TARGET (a subscriber
    like any other: the target's own subscribers still get every delivery)
    and prints each delivery: its rule, bus, sequence number and event.
    A gap in the sequence numbers or a broker restart is said where the
    library counts it (mesh_sub.h), before the delivery that shows it.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

typedef struct {
    const char *target;
    const char *deliver;
    int connect_timeout_ms;
    int64_t count;
    int timeout_ms;
    const char *output;
    bool pretty;
    bool monitor;
} s_settings_t;

static const mesh_option_t s_table [] = {
    { "target", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "TARGET", "the target, when not given first",
      offsetof (s_settings_t, target), NULL },
    { "count", 'n', NULL, MESH_OPTION_INT64, 0, 1000000000, "0", "N",
      "stop after N deliveries; 0: no limit", offsetof (s_settings_t, count), NULL },
    { "timeout", 0, NULL, MESH_OPTION_INT, -1, 86400000, "-1", "MS",
      "stop when nothing has arrived for MS; -1: never", offsetof (s_settings_t, timeout_ms), NULL },
    { "output", 'o', "MESH_OUTPUT", MESH_OPTION_STRING, 0, 0, "text", "FORMAT",
      "text (a line a delivery, for people) or json (an object a line, for scripts)",
      offsetof (s_settings_t, output), NULL },
    { "pretty", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL, "print each event indented, over several lines",
      offsetof (s_settings_t, pretty), NULL },
    { "deliver", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (s_settings_t, deliver),
      mesh_flags_deliver },
    { "connect-timeout", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL,
      offsetof (s_settings_t, connect_timeout_ms), mesh_flags_connect_timeout },
    { "monitor", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (s_settings_t, monitor),
      mesh_flags_monitor },
    { NULL }
};

static const mesh_options_t s_spec = {
    "mesh tail",
    "Usage: mesh tail TARGET [--count N] [--timeout MS] [--output text|json] [--pretty]",
    "Receive what the target TARGET receives, as another of its subscribers, and\n"
    "print each delivery: rule, bus, sequence number and the event as JSON. A gap\n"
    "in the sequence numbers (deliveries the broker dropped or gave out before\n"
    "this subscriber came) and a broker restart are said where they are seen.",
    "Exit status: 0 after --count deliveries, on --timeout or Ctrl-C; 1 when\n"
    "--timeout ended it before --count deliveries came; 2 when the broker did\n"
    "not answer within --connect-timeout or an argument is wrong.\n"
    "\n"
    "Example:\n"
    "  mesh tail warehouse --count 1\n",
    s_table
};

//  {"bus":...,"restarted":false} and the event's text into
//  {"bus":...,"restarted":false,"event":EVENT}; caller frees.
static char *
s_join (const char *head, const char *event)
{
    size_t size = strlen (head);
    const char *value = event? event: "null";
    char *line = (char *) malloc (size + strlen (value) + 16);
    if (!line)
        return NULL;
    memcpy (line, head, size - 1);          //  less its closing brace
    sprintf (line + size - 1, ",\"event\":%s}", value);
    return line;
}

//  One delivery: a line of text, or a JSON object whose event is the
//  event's own JSON text (libmesh's, which writes each number as it reads
//  back), indented with --pretty.
static void
s_print (const s_settings_t *settings, const mesh_delivery_t *delivery)
{
    char *event = mesh_msgpack_to_json (delivery->data, delivery->size, NULL, NULL);
    char *shown = event;
    if (!strcmp (settings->output, "json")) {
        json_t *head = json_pack ("{s:s, s:s, s:s, s:I, s:I, s:b}", "bus", delivery->bus,
                                  "rule", delivery->rule, "target", delivery->target,
                                  "seq", (json_int_t) delivery->seq, "missed", (json_int_t) delivery->missed,
                                  "restarted", delivery->restarted);
        char *text = json_dumps (head, JSON_PRESERVE_ORDER | JSON_COMPACT);
        json_decref (head);
        char *line = text? s_join (text, event): NULL;
        free (text);
        shown = line && settings->pretty? cli_json_indent (line): line;
        if (shown)
            printf ("%s\n", shown);
        if (shown != line)
            free (shown);
        free (line);
    }
    else {
        if (delivery->restarted)
            printf ("-- the broker restarted\n");
        if (delivery->missed)
            printf ("-- missed %llu before seq %llu\n", (unsigned long long) delivery->missed,
                    (unsigned long long) delivery->seq);
        if (event && settings->pretty)
            shown = cli_json_indent (event);
        printf ("seq %llu rule %s bus %s: %s\n", (unsigned long long) delivery->seq, delivery->rule,
                delivery->bus, shown? shown: "(an event that does not convert to JSON)");
        if (shown != event)
            free (shown);
    }
    free (event);
    fflush (stdout);
}

static int
s_run (int argc, char **argv)
{
    s_settings_t settings = { 0 };
    //  TARGET comes first (mesh tail warehouse --count 3), or as --target
    const char *target = NULL;
    char *rest [argc + 1];
    int rest_count = 0;
    for (int i = 0; i < argc; i++)
        if (i == 1 && argv [i][0] != '-')
            target = argv [i];
        else
            rest [rest_count++] = argv [i];
    rest [rest_count] = NULL;
    int status = mesh_options_main (&s_spec, rest_count, rest, &settings, stdout, stderr, CLI_EXIT_TROUBLE);
    if (status >= 0)
        return status;
    if (settings.target) {
        if (target) {
            fprintf (stderr, "mesh tail: one target: '%s' or --target '%s'\n", target, settings.target);
            return CLI_EXIT_TROUBLE;
        }
        target = settings.target;
    }
    if (!target) {
        fprintf (stderr, "mesh tail: which target? (see mesh tail --help)\n");
        return CLI_EXIT_TROUBLE;
    }
    if (strcmp (settings.output, "text") && strcmp (settings.output, "json")) {
        fprintf (stderr, "mesh tail: --output must be text or json, not '%s'\n", settings.output);
        return CLI_EXIT_TROUBLE;
    }
    mesh_sub_options_t options;
    mesh_sub_options_init (&options);
    options.connect_timeout_ms = settings.connect_timeout_ms;
    if (settings.monitor)
        options.monitor = stderr;
    mesh_error_t err = { 0 };
    mesh_sub_t *sub = mesh_sub_new (settings.deliver, target, &options, &err);
    if (!sub) {
        fprintf (stderr, "mesh tail: %s\n", err.text);
        return CLI_EXIT_TROUBLE;
    }
    if (!mesh_sub_routed (sub))
        fprintf (stderr, "mesh tail: no rule targets '%s' yet: nothing arrives until one does\n", target);
    int64_t received = 0;
    status = CLI_EXIT_YES;
    while (!settings.count || received < settings.count) {
        mesh_delivery_t delivery;
        int rc = mesh_sub_recv (sub, &delivery, settings.timeout_ms, &err);
        if (rc == 1) {
            s_print (&settings, &delivery);
            received++;
        }
        else
        if (rc == 0) {
            if (settings.count && received < settings.count && settings.timeout_ms >= 0)
                status = CLI_EXIT_NO;
            break;                  //  --timeout, or interrupted
        }
        else
            fprintf (stderr, "mesh tail: %s (skipped)\n", err.text);
    }
    mesh_sub_stats_t stats;
    mesh_sub_stats (sub, &stats);
    fprintf (stderr, "mesh tail: %lld deliver%s to '%s', %llu missed, %llu restart%s of the broker\n",
             (long long) received, received == 1? "y": "ies", target, (unsigned long long) stats.missed,
             (unsigned long long) stats.restarts, stats.restarts == 1? "": "s");
    mesh_sub_destroy (&sub);
    return status;
}

const cli_command_t cli_tail = {
    "tail", "receive as a target and print each delivery (rule, seq, event)", s_run
};
