/*  cmd_stats.c: mesh stats, the running broker's counters  */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

typedef struct {
    cli_broker_t broker;
    bool all;
} s_settings_t;

static const mesh_option_t s_table [] = {
    { "all", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL,
      "every rule, not only those that matched (at most 1,000 a bus without it)",
      offsetof (s_settings_t, all), NULL },
    { "broker", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (s_settings_t, broker),
      cli_broker_options },
    { NULL }
};

static const mesh_options_t s_spec = {
    "mesh stats",
    "Usage: mesh stats [--api EP] [--timeout MS] [--output text|json]",
    "Print the running broker's counters, every one (docs/protocol.md lists\n"
    "them), each target's (subscribers, the last sequence number given out,\n"
    "deliveries, what was dropped and why, its backlog now), and EventBridge's\n"
    "metrics: MatchedEvents by bus, TriggeredRules and Invocations by rule\n"
    "(the rules that matched an event; --all for every one).",
    "Exit status: 0 when the broker answered, 1 when it refused the request,\n"
    "2 when nothing answered at the endpoint within --timeout.\n",
    s_table
};

static json_int_t
s_int (json_t *object, const char *key)
{
    return json_integer_value (json_object_get (object, key));
}

static int
s_run (int argc, char **argv)
{
    s_settings_t settings = { { NULL, 0, NULL }, false };
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, CLI_EXIT_TROUBLE);
    if (status >= 0)
        return status;
    json_t *reply = cli_call ("stats", &settings.broker, settings.all? "{\"op\":\"stats\",\"all\":true}"
                                                                      : "{\"op\":\"stats\"}", &status, NULL);
    if (!reply)
        return status;
    if (!strcmp (settings.broker.output, "json"))
        cli_print_json (reply);
    else {
        json_t *counters = json_object_get (reply, "counters");
        const char *key;
        json_t *value;
        printf ("counters (up %.1f s; ingest %lld events/s over the last second)\n",
                (double) s_int (reply, "uptime_ms") / 1000,
                (long long) json_integer_value (json_object_get (counters, "ingest_rate")));
        json_object_foreach (counters, key, value)
            printf ("  %-26s %lld\n", key, (long long) json_integer_value (value));
        json_t *targets = json_object_get (reply, "targets");
        printf ("targets\n  %-24s %5s %11s %11s %11s %11s %9s %12s\n", "name", "subs", "seq", "delivered",
                "no_subscr", "overflow", "backlog", "backlog_B");
        size_t i;
        json_t *target;
        json_array_foreach (targets, i, target)
            printf ("  %-24s %5lld %11lld %11lld %11lld %11lld %9lld %12lld\n",
                    json_string_value (json_object_get (target, "name")),
                    (long long) s_int (target, "subscribers"), (long long) s_int (target, "seq"),
                    (long long) s_int (target, "delivered"), (long long) s_int (target, "no_subscriber"),
                    (long long) s_int (target, "overflow"), (long long) s_int (target, "backlog"),
                    (long long) s_int (target, "backlog_bytes"));
        //  EventBridge's metrics: MatchedEvents by bus, TriggeredRules and Invocations by rule
        size_t b;
        json_t *bus;
        json_array_foreach (json_object_get (reply, "buses"), b, bus) {
            printf ("bus %s: %lld event(s), %lld matched a rule (MatchedEvents), %lld invocation(s)\n",
                    json_string_value (json_object_get (bus, "name")), (long long) s_int (bus, "events"),
                    (long long) s_int (bus, "matched_events"), (long long) s_int (bus, "invocations"));
            printf ("  %-32s %15s %15s\n", "rule", "TriggeredRules", "Invocations");
            json_t *rule;
            json_array_foreach (json_object_get (bus, "rules"), i, rule)
                printf ("  %-32s %15lld %15lld\n", json_string_value (json_object_get (rule, "name")),
                        (long long) s_int (rule, "triggered"), (long long) s_int (rule, "invocations"));
            if (s_int (bus, "rules_not_shown"))
                printf ("  (%lld more rule(s) matched: --all, or --output json, lists every one)\n",
                        (long long) s_int (bus, "rules_not_shown"));
        }
    }
    json_decref (reply);
    return CLI_EXIT_YES;
}

const cli_command_t cli_stats = {
    "stats", "print the running broker's counters and each target's", s_run
};
