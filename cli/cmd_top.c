/*  cmd_top.c: mesh top, the running broker's rates, refreshed every second

    Asks the API for the stats once a --interval (on one connection kept
    for the purpose) and shows what changed since the last time as rates:
    events per second by bus and by rule, deliveries per second and
    backlog by target, refusals by reason, the connections open. On a
    terminal it is a full screen (ncurses): 's' changes the order of the
    rules and targets (rate, name, backlog), 'q' quits. When stdout is not
    a terminal, or with --plain, it prints one line a refresh instead,
    key=value pairs that a script can read.
*/
#include <curses.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

typedef struct {
    cli_broker_t broker;
    int interval_ms;
    int for_ms;
    bool plain;
} s_settings_t;

static const mesh_option_t s_table [] = {
    { "interval", 0, NULL, MESH_OPTION_INT, 100, 60000, "1000", "MS", "between refreshes",
      offsetof (s_settings_t, interval_ms), NULL },
    { "for", 0, NULL, MESH_OPTION_INT, -1, 86400000, "-1", "MS", "stop after MS; -1: when q is pressed (or Ctrl-C)",
      offsetof (s_settings_t, for_ms), NULL },
    { "plain", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL,
      "one line a refresh even on a terminal (always so when stdout is not one)", offsetof (s_settings_t, plain), NULL },
    { "broker", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, offsetof (s_settings_t, broker),
      cli_broker_options },
    { NULL }
};

static const mesh_options_t s_spec = {
    "mesh top",
    "Usage: mesh top [--interval MS] [--for MS] [--plain] [--api EP]",
    "Show the running broker's rates, refreshed every second: events by bus and\n"
    "rule, deliveries and backlog by target, refusals by reason, connections.\n"
    "On a terminal: 's' changes the order (rate, name, backlog), 'q' quits.\n"
    "Otherwise one line a refresh: time=... ingest=N/s routed=N/s ... target:NAME=R/s,backlog=B ...",
    "Exit status: 0 after q, Ctrl-C or --for; 2 when nothing answered at the\n"
    "endpoint within --timeout.\n",
    s_table
};


static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

static long long
s_int (json_t *object, const char *key)
{
    return (long long) json_integer_value (json_object_get (object, key));
}

//  One row: a name, a rate since the last refresh, and a level (a backlog).
typedef struct {
    char name [160];
    double rate;
    long long level;
} s_row_t;

typedef enum { S_BY_RATE, S_BY_NAME, S_BY_BACKLOG, S_ORDERS } s_order_t;
static s_order_t s_order;

static int
s_compare (const void *a, const void *b)
{
    const s_row_t *x = (const s_row_t *) a, *y = (const s_row_t *) b;
    if (s_order == S_BY_NAME)
        return strcmp (x->name, y->name);
    if (s_order == S_BY_BACKLOG)
        return x->level < y->level? 1: x->level > y->level? -1: strcmp (x->name, y->name);
    return x->rate < y->rate? 1: x->rate > y->rate? -1: strcmp (x->name, y->name);
}

//  The rate of key in now since previous (an object of the same shape), per second.
static double
s_rate (json_t *now, json_t *previous, const char *key, double seconds)
{
    if (!previous || seconds <= 0)
        return 0;
    long long delta = s_int (now, key) - s_int (previous, key);
    return delta > 0? (double) delta / seconds: 0;
}

//  The previous refresh's object whose "name" is name, in an array.
static json_t *
s_named (json_t *array, const char *name)
{
    size_t i;
    json_t *item;
    json_array_foreach (array, i, item)
        if (!strcmp (json_string_value (json_object_get (item, "name")), name))
            return item;
    return NULL;
}

typedef struct {
    s_row_t targets [256], rules [512];
    size_t target_count, rule_count;
    double ingest, routed, unmatched, refused;
    long long peers, backlog;
    double uptime;
} s_view_t;

static const char *s_refusals [] = {
    "unknown_bus", "malformed", "oversized", "refused_oversized_entry", "refused_reserved_source",
    "refused_bad_source", "refused_bad_detail_type", "refused_bad_id", "refused_bad_time", "refused_non_finite"
};

static void
s_view (s_view_t *view, json_t *now, json_t *previous, double seconds, long long peers)
{
    memset (view, 0, sizeof (*view));
    json_t *counters = json_object_get (now, "counters");
    json_t *before = previous? json_object_get (previous, "counters"): NULL;
    view->ingest = s_rate (counters, before, "received", seconds);
    view->routed = s_rate (counters, before, "routed", seconds);
    view->unmatched = s_rate (counters, before, "unmatched", seconds);
    for (size_t i = 0; i < sizeof (s_refusals) / sizeof (s_refusals [0]); i++)
        view->refused += s_rate (counters, before, s_refusals [i], seconds);
    view->peers = peers;
    view->backlog = s_int (counters, "queued");
    view->uptime = (double) s_int (now, "uptime_ms") / 1000;
    size_t i;
    json_t *target;
    json_array_foreach (json_object_get (now, "targets"), i, target) {
        if (view->target_count == 256)
            break;
        s_row_t *row = &view->targets [view->target_count++];
        const char *name = json_string_value (json_object_get (target, "name"));
        snprintf (row->name, sizeof (row->name), "%s", name);
        row->rate = s_rate (target, previous? s_named (json_object_get (previous, "targets"), name): NULL,
                            "delivered", seconds);
        row->level = s_int (target, "backlog");
    }
    json_t *bus;
    json_array_foreach (json_object_get (now, "buses"), i, bus) {
        const char *bus_name = json_string_value (json_object_get (bus, "name"));
        json_t *old_bus = previous? s_named (json_object_get (previous, "buses"), bus_name): NULL;
        size_t k;
        json_t *rule;
        json_array_foreach (json_object_get (bus, "rules"), k, rule) {
            if (view->rule_count == 512)
                break;
            s_row_t *row = &view->rules [view->rule_count++];
            const char *name = json_string_value (json_object_get (rule, "name"));
            snprintf (row->name, sizeof (row->name), "%s/%s", bus_name, name);
            row->rate = s_rate (rule, old_bus? s_named (json_object_get (old_bus, "rules"), name): NULL,
                                "triggered", seconds);
            row->level = s_int (rule, "triggered");
        }
    }
    qsort (view->targets, view->target_count, sizeof (s_row_t), s_compare);
    qsort (view->rules, view->rule_count, sizeof (s_row_t), s_compare);
}

static void
s_print_plain (const s_view_t *view)
{
    char when [32];
    mesh_monitor_time (-1, when, sizeof (when));
    printf ("time=%s ingest=%.0f/s routed=%.0f/s unmatched=%.0f/s refused=%.0f/s backlog=%lld peers=%lld", when,
            view->ingest, view->routed, view->unmatched, view->refused, view->backlog, view->peers);
    for (size_t i = 0; i < view->target_count; i++)
        printf (" target:%s=%.0f/s,backlog=%lld", view->targets [i].name, view->targets [i].rate,
                view->targets [i].level);
    for (size_t i = 0; i < view->rule_count; i++)
        printf (" rule:%s=%.0f/s", view->rules [i].name, view->rules [i].rate);
    printf ("\n");
    fflush (stdout);
}

static void
s_draw (const s_view_t *view, const char *api)
{
    static const char *orders [] = { "rate", "name", "backlog" };
    erase ();
    mvprintw (0, 0, "mesh top - %s - up %.0f s - ingest %.0f/s, routed %.0f/s, unmatched %.0f/s, refused %.0f/s",
              api, view->uptime, view->ingest, view->routed, view->unmatched, view->refused);
    mvprintw (1, 0, "backlog %lld message(s), %lld connection(s) - sorted by %s ('s' to change, 'q' quits)",
              view->backlog, view->peers, orders [s_order]);
    int line = 3;
    attron (A_REVERSE);
    mvprintw (line++, 0, "%-40s %14s %12s", "TARGET", "deliveries/s", "backlog");
    attroff (A_REVERSE);
    for (size_t i = 0; i < view->target_count && line < LINES - 4; i++)
        mvprintw (line++, 0, "%-40.40s %14.0f %12lld", view->targets [i].name, view->targets [i].rate,
                  view->targets [i].level);
    line++;
    attron (A_REVERSE);
    mvprintw (line++, 0, "%-40s %14s %12s", "RULE", "matched/s", "matched");
    attroff (A_REVERSE);
    for (size_t i = 0; i < view->rule_count && line < LINES - 1; i++)
        mvprintw (line++, 0, "%-40.40s %14.0f %12lld", view->rules [i].name, view->rules [i].rate,
                  view->rules [i].level);
    refresh ();
}

static int
s_run (int argc, char **argv)
{
    s_settings_t settings = { { NULL, 0, NULL }, 1000, -1, false };
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, CLI_EXIT_TROUBLE);
    if (status >= 0)
        return status;
    settings.broker.output = "json";        //  the replies are read, not printed
    mesh_error_t err = { 0 };
    mesh_call_t *call = mesh_call_new (settings.broker.api, &err);
    if (!call) {
        fprintf (stderr, "mesh top: %s\n", err.text);
        return CLI_EXIT_TROUBLE;
    }
    //  The first answer before the screen is taken: no broker, no screen
    json_t *previous = cli_call_on (call, "top", &settings.broker, "{\"op\":\"stats\"}", &status, NULL);
    if (!previous) {
        mesh_call_destroy (&call);
        return status;
    }
    bool screen = !settings.plain && isatty (STDOUT_FILENO);
    if (screen) {
        initscr ();
        cbreak ();
        noecho ();
        curs_set (0);
        keypad (stdscr, TRUE);
    }
    cli_stop_on_signals ();
    double start = s_now (), last = start;
    while (!cli_stopped) {
        //  Wait out the interval, reading keys meanwhile
        double until = last + settings.interval_ms / 1000.0;
        while (!cli_stopped && s_now () < until) {
            if (screen) {
                timeout (50);
                int key = getch ();
                if (key == 'q' || key == 'Q')
                    cli_stopped = 1;
                else
                if (key == 's' || key == 'S')
                    s_order = (s_order_t) ((s_order + 1) % S_ORDERS);
            }
            else
                usleep (20000);
        }
        if (cli_stopped)
            break;
        json_t *now = cli_call_on (call, "top", &settings.broker, "{\"op\":\"stats\"}", &status, NULL);
        json_t *monitor = now? cli_call_on (call, "top", &settings.broker,
                                            "{\"op\":\"monitor\",\"since\":0,\"peers\":true}", &status, NULL)
                             : NULL;
        if (!monitor) {
            json_decref (now);
            break;                  //  status says why
        }
        double at = s_now ();
        s_view_t view;
        s_view (&view, now, previous, at - last, (long long) json_array_size (json_object_get (monitor, "peers")));
        json_decref (monitor);
        json_decref (previous);
        previous = now;
        last = at;
        if (screen)
            s_draw (&view, settings.broker.api);
        else
            s_print_plain (&view);
        if (settings.for_ms >= 0 && (at - start) * 1000 >= settings.for_ms)
            break;
    }
    if (screen)
        endwin ();
    json_decref (previous);
    mesh_call_destroy (&call);
    return status;
}

const cli_command_t cli_top = {
    "top", "the running broker's rates, refreshed every second (ncurses on a terminal)", s_run
};
