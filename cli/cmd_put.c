/*  cmd_put.c: mesh put, EventBridge's PutEvents through the broker's API

    Entries come from flags (one), from --entries in the AWS CLI's shape
    (a JSON array of {"Source", "DetailType", "Detail", "EventBusName",
    "Resources", "Time"}, inline or file://PATH), or as JSON lines on
    standard input, one entry a line. They go to the broker ten at a time
    (PutEvents' limit), and the replies are printed as one, the way
    `aws events put-events` prints its reply.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

typedef struct {
    const char *source;
    const char *detail_type;
    const char *detail;
    const char *bus;
    const char *time;
    mesh_option_list_t resources;
    const char *entries;
    cli_broker_t broker;
} s_settings_t;

static const mesh_option_t s_table [] = {
    { "source", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "SOURCE", "one entry's Source",
      offsetof (s_settings_t, source), NULL },
    { "detail-type", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "TYPE", "its DetailType",
      offsetof (s_settings_t, detail_type), NULL },
    { "detail", 0, NULL, MESH_OPTION_STRING, 0, 0, "{}", "JSON", "its Detail: a JSON object, or @FILE",
      offsetof (s_settings_t, detail), NULL },
    { "bus", 0, "MESH_BUS", MESH_OPTION_STRING, 0, 0, NULL, "BUS",
      "its EventBusName (absent: EventBridge's 'default')", offsetof (s_settings_t, bus), NULL },
    { "time", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "TIME", "its Time, RFC 3339 (absent: now)",
      offsetof (s_settings_t, time), NULL },
    { "resource", 0, NULL, MESH_OPTION_LIST, 0, 0, NULL, "ARN", "one of its Resources; repeatable",
      offsetof (s_settings_t, resources), NULL },
    { "entries", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "ENTRIES",
      "the AWS CLI's --entries: a JSON array of entries, inline, file://PATH or @PATH",
      offsetof (s_settings_t, entries), NULL },
    { "broker", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (s_settings_t, broker),
      cli_broker_options_json },
    { NULL }
};

static const mesh_options_t s_spec = {
    "mesh put",
    "Usage: mesh put --source SOURCE --detail-type TYPE [--detail JSON] [--bus BUS] [options]\n"
    "       mesh put --entries '[{\"Source\": ..., ...}]' | --entries file://entries.json\n"
    "       mesh put < entries.jsonl                  (one entry a line)",
    "Put events on the running broker's buses, as EventBridge's PutEvents: each\n"
    "entry is checked as EventBridge checks it and routed, and answered with its\n"
    "EventId once the broker has taken it, or with an error entry. Unlike\n"
    "EventBridge, an entry for a bus the broker does not have is refused\n"
    "(ResourceNotFoundException), never accepted and dropped.",
    "Output: the AWS CLI's, {\"FailedEntryCount\": 0, \"Entries\": [{\"EventId\": ...}]};\n"
    "--output text prints its text form (FailedEntryCount, then one ENTRIES line each).\n"
    "Exit status: 0 when every entry was taken, 1 when an entry failed or the broker\n"
    "refused the request, 2 when nothing answered within --timeout or the\n"
    "arguments or entries are not valid.\n"
    "\n"
    "Example:\n"
    "  mesh put --bus eda_bus --source demo.payments --detail-type 'Payment Processed' \\\n"
    "           --detail '{\"total_cost\": 242.58}'\n",
    s_table
};

//  One batch of entries (1 to 10) to the broker; their results appended
//  to results. Returns 0, or the exit status that stops the command.
static int
s_send (s_settings_t *settings, json_t *batch, json_t *results, int *failed)
{
    json_t *request = json_pack ("{s:s, s:O}", "op", "put-events", "Entries", batch);
    char *text = request? json_dumps (request, JSON_COMPACT): NULL;
    json_decref (request);
    if (!text) {
        fprintf (stderr, "mesh put: out of memory\n");
        return CLI_EXIT_TROUBLE;
    }
    int status;
    json_t *reply = cli_call ("put", &settings->broker, text, &status, NULL);
    free (text);
    if (!reply)
        return status;
    *failed += (int) json_integer_value (json_object_get (reply, "FailedEntryCount"));
    json_array_extend (results, json_object_get (reply, "Entries"));
    json_decref (reply);
    return 0;
}

//  The entry the flags describe.
static json_t *
s_flag_entry (s_settings_t *settings)
{
    size_t size = 0;
    char *detail = cli_text ("put", "--detail", settings->detail, &size);
    if (!detail)
        return NULL;
    json_t *entry = json_pack ("{s:s, s:s, s:s}", "Source", settings->source,
                               "DetailType", settings->detail_type, "Detail", detail);
    free (detail);
    if (settings->bus)
        json_object_set_new (entry, "EventBusName", json_string (settings->bus));
    if (settings->time)
        json_object_set_new (entry, "Time", json_string (settings->time));
    if (settings->resources.count) {
        json_t *list = json_array ();
        for (size_t i = 0; i < settings->resources.count; i++)
            json_array_append_new (list, json_string (settings->resources.items [i]));
        json_object_set_new (entry, "Resources", list);
    }
    return entry;
}

//  --entries as the AWS CLI takes it: file://PATH, @PATH, or the JSON itself.
static json_t *
s_entries_arg (const char *arg)
{
    char *text;
    size_t size = 0;
    if (strncmp (arg, "file://", 7) == 0) {
        char path [4096];
        snprintf (path, sizeof (path), "@%s", arg + 7);
        text = cli_text ("put", "--entries", path, &size);
    }
    else
        text = cli_text ("put", "--entries", arg, &size);
    if (!text)
        return NULL;
    json_error_t json_err;
    json_t *entries = json_loadb (text, size, 0, &json_err);
    free (text);
    if (!json_is_array (entries)) {
        if (entries)
            fprintf (stderr, "mesh put: --entries: a JSON array of entries, as the AWS CLI takes\n");
        else
            fprintf (stderr, "mesh put: --entries: line %d, column %d: %s\n", json_err.line, json_err.column,
                     json_err.text);
        json_decref (entries);
        return NULL;
    }
    return entries;
}

static int
s_run (int argc, char **argv)
{
    s_settings_t settings = { 0 };
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, CLI_EXIT_TROUBLE);
    if (status >= 0)
        return status;
    bool by_flags = settings.source || settings.detail_type;
    if (by_flags && (!settings.source || !settings.detail_type)) {
        fprintf (stderr, "mesh put: --source and --detail-type go together (see mesh put --help)\n");
        return CLI_EXIT_TROUBLE;
    }
    if (by_flags && settings.entries) {
        fprintf (stderr, "mesh put: --entries or --source and --detail-type, not both\n");
        return CLI_EXIT_TROUBLE;
    }
    json_t *results = json_array ();
    int failed = 0;
    status = 0;
    json_t *entries = NULL;
    if (by_flags) {
        json_t *entry = s_flag_entry (&settings);
        if (entry) {
            entries = json_array ();
            json_array_append_new (entries, entry);
        }
    }
    else
    if (settings.entries)
        entries = s_entries_arg (settings.entries);
    if (by_flags || settings.entries) {
        if (!entries)
            status = CLI_EXIT_TROUBLE;
        else
        if (json_array_size (entries) < 1 || json_array_size (entries) > 10) {
            //  As the AWS CLI: one call, of 1 to 10 entries
            fprintf (stderr, "mesh put: --entries holds 1 to 10 entries, not %zu (JSON lines on "
                             "standard input take any number)\n", json_array_size (entries));
            status = CLI_EXIT_TROUBLE;
        }
        else
            status = s_send (&settings, entries, results, &failed);
        json_decref (entries);
    }
    else {
        //  JSON lines, ten to a call
        char *line = NULL;
        size_t room = 0;
        ssize_t length;
        size_t number = 0;
        json_t *batch = json_array ();
        while (!status && (length = getline (&line, &room, stdin)) != -1) {
            number++;
            if (strspn (line, " \t\r\n") == (size_t) length)
                continue;
            json_error_t json_err;
            json_t *entry = json_loadb (line, (size_t) length, 0, &json_err);
            if (!json_is_object (entry)) {
                fprintf (stderr, "mesh put: standard input, line %zu: %s\n", number,
                         entry? "an entry is a JSON object": json_err.text);
                json_decref (entry);
                status = CLI_EXIT_TROUBLE;
                break;
            }
            json_array_append_new (batch, entry);
            if (json_array_size (batch) == 10) {
                status = s_send (&settings, batch, results, &failed);
                json_array_clear (batch);
            }
        }
        if (!status && json_array_size (batch))
            status = s_send (&settings, batch, results, &failed);
        if (!status && number == 0) {
            fprintf (stderr, "mesh put: no entries: give --source and --detail-type, --entries, or JSON "
                             "lines on standard input\n");
            status = CLI_EXIT_TROUBLE;
        }
        json_decref (batch);
        free (line);
    }
    if (json_array_size (results)) {
        //  What was answered is printed, even when a later batch failed
        if (!strcmp (settings.broker.output, "json")) {
            json_t *reply = json_pack ("{s:i, s:O}", "FailedEntryCount", failed, "Entries", results);
            char *text = json_dumps (reply, JSON_INDENT (4) | JSON_PRESERVE_ORDER);
            if (text)
                printf ("%s\n", text);
            free (text);
            json_decref (reply);
        }
        else {
            printf ("%d\n", failed);
            size_t i;
            json_t *result;
            json_array_foreach (results, i, result) {
                const char *id = json_string_value (json_object_get (result, "EventId"));
                if (id)
                    printf ("ENTRIES\t%s\n", id);
                else
                    printf ("ENTRIES\t%s\t%s\n", json_string_value (json_object_get (result, "ErrorCode")),
                            json_string_value (json_object_get (result, "ErrorMessage")));
            }
        }
    }
    json_decref (results);
    if (status)
        return status;
    return failed? CLI_EXIT_NO: CLI_EXIT_YES;
}

const cli_command_t cli_put = {
    "put", "put events on the running broker's buses, as EventBridge's PutEvents", s_run
};
