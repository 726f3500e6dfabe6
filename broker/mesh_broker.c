/*  mesh_broker.c: mesh-broker's main

    Reads the options (flags, then environment, then defaults: the table
    below is the one reference), loads the rule files, starts the proxy
    actor and waits for SIGINT or SIGTERM. Everything that can be wrong at
    start-up (an option, a rule file, an endpoint in use) ends the process
    with one line on stderr and exit status 1.
*/
#include <dirent.h>
#include <getopt.h>
#include "mesh_broker.h"

#define MESH_VERSION "0.1.0"

//  The options: flag, environment variable, default, meaning. --help prints
//  this table, so it cannot drift from what the code does.
typedef struct {
    const char *flag;
    const char *arg;            //  what the value is, for --help
    const char *env;
    const char *fallback;
    const char *help;
} s_option_t;

enum { OPT_CONFIG, OPT_INGEST, OPT_DELIVER, OPT_MAX_EVENT_SIZE, OPT_MAX_DEPTH, OPT_BACKLOG_BYTES,
       OPT_SNDHWM, OPT_STATS_INTERVAL, OPT_STARTUP_GRACE, OPT_MAX_PATTERN_SIZE,
       OPT_MAX_WILDCARD_COMPLEXITY, OPT_ENDPOINTS_FILE, OPT_COUNT };

static const s_option_t s_options [OPT_COUNT] = {
    [OPT_CONFIG]         = { "config", "PATH", "MESH_CONFIG", "config",
                             "rule file, or directory of *.json rule files; repeatable" },
    [OPT_INGEST]         = { "ingest", "EP", "MESH_INGEST", MESH_INGEST_DEFAULT,
                             "endpoint publishers connect to (XSUB, bound)" },
    [OPT_DELIVER]        = { "deliver", "EP", "MESH_DELIVER", MESH_DELIVER_DEFAULT,
                             "endpoint subscribers connect to (XPUB, bound)" },
    [OPT_MAX_EVENT_SIZE] = { "max-event-size", "BYTES", "MESH_MAX_EVENT_SIZE", "1048576",
                             "largest event frame accepted, bytes (publishers limit entries to 256 KB)" },
    [OPT_MAX_DEPTH]      = { "max-depth", "N", "MESH_MAX_DEPTH", "1000",
                             "deepest nesting of maps and arrays accepted in an event" },
    [OPT_BACKLOG_BYTES]  = { "backlog-bytes", "BYTES", "MESH_BACKLOG_BYTES", "134217728",
                             "bytes queued per slow target before its deliveries are dropped (counted)" },
    [OPT_SNDHWM]         = { "sndhwm", "N", "MESH_SNDHWM", "10000",
                             "messages buffered per subscriber before the broker queues" },
    [OPT_STATS_INTERVAL] = { "stats-interval", "SECONDS", "MESH_STATS_INTERVAL", "0",
                             "seconds between stats lines in the log; 0: only at exit" },
    [OPT_STARTUP_GRACE]  = { "startup-grace", "MS", "MESH_STARTUP_GRACE", "3000",
                             "ms to wait for every routed target's subscriber before opening ingest" },
    [OPT_MAX_PATTERN_SIZE] = { "max-pattern-size", "BYTES", "MESH_MAX_PATTERN_SIZE", "4096",
                             "longest event pattern accepted in a rule file, bytes (EventBridge: 4096)" },
    [OPT_MAX_WILDCARD_COMPLEXITY] = { "max-wildcard-complexity", "N", "MESH_MAX_WILDCARD_COMPLEXITY", "9",
                             "highest wildcard complexity score accepted; 0: no limit" },
    [OPT_ENDPOINTS_FILE] = { "endpoints-file", "FILE", "MESH_ENDPOINTS_FILE", "",
                             "write the bound endpoints here (useful with tcp://127.0.0.1:*)" },
};

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: mesh-broker [options]\n"
        "\n"
        "The mesh event bus broker: publishers put events on its ingest endpoint,\n"
        "it matches each against the rules of its bus (EventBridge event patterns)\n"
        "and delivers it to the targets of every rule that matches.\n"
        "\n"
        "options (flag, then environment variable, then default):\n");
    for (int i = 0; i < OPT_COUNT; i++)
    {
        char flag [64];
        snprintf (flag, sizeof (flag), "--%s %s", s_options [i].flag, s_options [i].arg);
        fprintf (out, "  %s\n      %s\n      [%s, default: %s]\n", flag, s_options [i].help,
                 s_options [i].env, *s_options [i].fallback? s_options [i].fallback: "none");
    }
    fprintf (out,
        "  -c PATH            the same as --config PATH\n"
        "  --check            load and check the rule files, print a summary, exit\n"
        "  -v, --verbose      log every routing decision (rule, target, sequence)\n"
        "  -h, --help         this text\n"
        "  --version          print the version\n"
        "\n"
        "Stops cleanly on SIGINT or SIGTERM and logs its counters. Exit status:\n"
        "0 after a clean stop, 1 on a bad option, a bad rule file or a busy endpoint.\n");
}

static int
s_fatal (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "mesh-broker: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    return 1;
}

//  Parse a whole non-negative number within bounds, or fail with a message.
static int
s_parse_size (const char *name, const char *text, long long low, long long high, long long *value)
{
    char *end;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno || end == text || *end || v < low || v > high)
        return s_fatal ("--%s: expected a whole number from %lld to %lld, got '%s'", name, low, high, text);
    *value = v;
    return 0;
}

static int
s_compare (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  Load path (a rule file, or every *.json in a directory, in name order)
//  and append the buses to *buses.
static int
s_load_path (const char *path, const mesh_rule_options_t *options, mesh_bus_t ***buses, size_t *count)
{
    char **files = NULL;
    size_t file_count = 0;
    DIR *dir = opendir (path);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir (dir))) {
            size_t size = strlen (entry->d_name);
            if (size > 5 && streq (entry->d_name + size - 5, ".json") && entry->d_name [0] != '.') {
                files = realloc (files, (file_count + 1) * sizeof (char *));
                assert (files);
                files [file_count] = malloc (strlen (path) + size + 2);
                sprintf (files [file_count++], "%s/%s", path, entry->d_name);
            }
        }
        closedir (dir);
        if (file_count == 0)
            return s_fatal ("%s: no rule files (*.json) in this directory", path);
        qsort (files, file_count, sizeof (char *), s_compare);
    }
    else {
        files = malloc (sizeof (char *));
        files [file_count++] = strdup (path);
    }
    int rc = 0;
    for (size_t i = 0; i < file_count; i++) {
        mesh_error_t err = { 0 };
        mesh_bus_t *bus = rc? NULL: mesh_bus_load_with (files [i], options, &err);
        if (!rc && !bus)
            rc = s_fatal ("%s", err.text);
        if (bus) {
            *buses = realloc (*buses, (*count + 1) * sizeof (mesh_bus_t *));
            (*buses) [(*count)++] = bus;
        }
        free (files [i]);
    }
    free (files);
    return rc;
}

static int
s_write_endpoints (const char *path, const char *ingest, const char *deliver)
{
    char temp [4096];
    snprintf (temp, sizeof (temp), "%s.tmp", path);
    FILE *file = fopen (temp, "w");
    if (!file)
        return s_fatal ("--endpoints-file: cannot write %s: %s", temp, strerror (errno));
    if (*ingest)
        fprintf (file, "ingest=%s\n", ingest);
    fprintf (file, "deliver=%s\n", deliver);
    fclose (file);
    if (rename (temp, path))
        return s_fatal ("--endpoints-file: cannot rename to %s: %s", path, strerror (errno));
    return 0;
}

int
main (int argc, char *argv [])
{
    const char *values [OPT_COUNT];
    for (int i = 0; i < OPT_COUNT; i++)
        values [i] = mesh_env_endpoint (s_options [i].env, s_options [i].fallback);
    const char *configs [64];
    int config_count = 0;
    bool verbose = false, check = false;

    struct option long_options [OPT_COUNT + 5];
    for (int i = 0; i < OPT_COUNT; i++)
        long_options [i] = (struct option) { s_options [i].flag, required_argument, NULL, 1000 + i };
    long_options [OPT_COUNT]     = (struct option) { "verbose", no_argument, NULL, 'v' };
    long_options [OPT_COUNT + 1] = (struct option) { "help", no_argument, NULL, 'h' };
    long_options [OPT_COUNT + 2] = (struct option) { "version", no_argument, NULL, 2000 };
    long_options [OPT_COUNT + 3] = (struct option) { "check", no_argument, NULL, 2001 };
    long_options [OPT_COUNT + 4] = (struct option) { NULL, 0, NULL, 0 };
    int c;
    opterr = 0;
    while ((c = getopt_long (argc, argv, "c:vh", long_options, NULL)) != -1) {
        if (c == 'h') {
            s_usage (stdout);
            return 0;
        }
        if (c == 2000) {
            printf ("mesh-broker %s (libzmq %d.%d.%d, czmq %d.%d.%d)\n", MESH_VERSION,
                    ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH,
                    CZMQ_VERSION_MAJOR, CZMQ_VERSION_MINOR, CZMQ_VERSION_PATCH);
            return 0;
        }
        if (c == 'v')
            verbose = true;
        else
        if (c == 2001)
            check = true;
        else
        if (c == 'c' || c == 1000 + OPT_CONFIG) {
            if (config_count == 64)
                return s_fatal ("--config: at most 64 paths");
            configs [config_count++] = optarg;
        }
        else
        if (c >= 1000 && c < 1000 + OPT_COUNT)
            values [c - 1000] = optarg;
        else {
            s_fatal ("unknown or incomplete option '%s' (see --help)", argv [optind - 1]);
            return 1;
        }
    }
    if (optind < argc)
        return s_fatal ("unexpected argument '%s' (see --help)", argv [optind]);
    if (config_count == 0)
        configs [config_count++] = values [OPT_CONFIG];

    mesh_broker_options_t options = { .ingest = values [OPT_INGEST], .deliver = values [OPT_DELIVER],
                                      .verbose = verbose };
    mesh_limits_init (&options.limits);
    long long number;
    if (s_parse_size ("max-event-size", values [OPT_MAX_EVENT_SIZE], 1024, 256LL << 20, &number))
        return 1;
    options.limits.max_event_size = (size_t) number;
    if (s_parse_size ("max-depth", values [OPT_MAX_DEPTH], 2, MESH_MAX_DEPTH_LIMIT, &number))
        return 1;
    options.limits.max_depth = (int) number;
    if (s_parse_size ("backlog-bytes", values [OPT_BACKLOG_BYTES], 0, 1LL << 40, &number))
        return 1;
    options.backlog_bytes = (size_t) number;
    if (s_parse_size ("sndhwm", values [OPT_SNDHWM], 1, 10000000, &number))
        return 1;
    options.sndhwm = (int) number;
    if (s_parse_size ("stats-interval", values [OPT_STATS_INTERVAL], 0, 86400, &number))
        return 1;
    options.stats_interval_ms = (int) number * 1000;
    if (s_parse_size ("startup-grace", values [OPT_STARTUP_GRACE], 0, 3600000, &number))
        return 1;
    options.startup_grace_ms = (int) number;

    mesh_rule_options_t rule_options;
    mesh_rule_options_init (&rule_options);
    if (s_parse_size ("max-pattern-size", values [OPT_MAX_PATTERN_SIZE], 2, 1 << 24, &number))
        return 1;
    rule_options.max_pattern_size = (size_t) number;
    if (s_parse_size ("max-wildcard-complexity", values [OPT_MAX_WILDCARD_COMPLEXITY], 0, 1000000, &number))
        return 1;
    rule_options.max_wildcard_complexity = (int) number;

    mesh_bus_t **buses = NULL;
    size_t bus_count = 0;
    for (int i = 0; i < config_count; i++)
        if (s_load_path (configs [i], &rule_options, &buses, &bus_count)) {
            for (size_t b = 0; b < bus_count; b++)
                mesh_bus_destroy (&buses [b]);
            free (buses);
            return 1;
        }
    mesh_error_t err = { 0 };
    mesh_filter_t *filter = mesh_filter_new (buses, bus_count, &options.limits, (uint64_t) zclock_time (), &err);
    free (buses);
    if (!filter)
        return s_fatal ("%s", err.text);
    for (size_t i = 0; i < mesh_filter_bus_count (filter); i++) {
        const mesh_bus_t *bus = mesh_filter_bus_at (filter, i);
        size_t enabled = mesh_ruleset_size (mesh_bus_ruleset (bus));
        fprintf (check? stdout: stderr, "mesh-broker: bus '%s' from %s: %zu rule(s), %zu enabled\n",
                 mesh_bus_name (bus), mesh_bus_origin (bus), mesh_bus_rule_total (bus), enabled);
    }
    if (check) {
        mesh_filter_destroy (&filter);
        return 0;
    }

    zsys_set_logident ("mesh-broker");
    zsys_set_logstream (stderr);
    zsys_catch_interrupts ();       //  SIGINT/SIGTERM stop us cleanly, whatever ZSYS_SIGHANDLER says
    mesh_proxy_args_t args = { filter, &options };
    zactor_t *proxy = zactor_new (mesh_proxy_actor, &args);
    assert (proxy);
    //  Deliver binds at once, ingest when the subscribers are back or the
    //  start-up grace is over: ask until both are bound, writing the
    //  endpoints file at each stage so that a script can start subscribers.
    int rc = 0;
    bool deliver_written = false;
    while (!rc && !zsys_interrupted) {
        zstr_send (proxy, "ENDPOINTS");
        char *status = NULL, *ingest = NULL, *deliver = NULL;
        zstr_recvx (proxy, &status, &ingest, &deliver, NULL);
        bool open = false;
        if (!status || !streq (status, "OK"))
            rc = s_fatal ("%s", ingest? ingest: "the proxy did not start");
        else
        if (*ingest) {
            zsys_info ("ingest %s, deliver %s; %zu bus(es); mesh-broker %s ready", ingest, deliver,
                       mesh_filter_bus_count (filter), MESH_VERSION);
            if (*values [OPT_ENDPOINTS_FILE])
                rc = s_write_endpoints (values [OPT_ENDPOINTS_FILE], ingest, deliver);
            open = true;
        }
        else
        if (!deliver_written) {
            zsys_info ("deliver %s open; ingest opens when the targets' subscribers are connected "
                       "(at most %d ms)", deliver, options.startup_grace_ms);
            if (*values [OPT_ENDPOINTS_FILE])
                rc = s_write_endpoints (values [OPT_ENDPOINTS_FILE], "", deliver);
            deliver_written = true;
        }
        zstr_free (&status);
        zstr_free (&ingest);
        zstr_free (&deliver);
        if (open)
            break;
        zclock_sleep (20);
    }
    while (!rc && !zsys_interrupted)
        zclock_sleep (50);
    zstr_send (proxy, "STATS");
    char *line = zstr_recv (proxy);
    if (line)
        zsys_info ("stopping; final stats: %s", line);
    zstr_free (&line);
    zactor_destroy (&proxy);
    mesh_filter_destroy (&filter);
    return rc;
}
