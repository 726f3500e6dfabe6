/*  mesh_broker.c: mesh-broker's main

    Reads the options (flags, then environment, then defaults: the table
    below is the one reference), loads the rule files into routes over a
    targets registry, starts the engine actor and waits for SIGINT or SIGTERM. Everything that can be wrong at
    start-up (an option, a rule file, an endpoint in use) ends the process
    with one line on stderr and exit status 1.
*/
#include <dirent.h>
#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>
#include <sys/resource.h>
#include <math.h>
#include "mesh_broker.h"
#include "mesh_engine.h"
#include "mesh_log.h"
#include "mesh_routes.h"
#include "mesh_targets.h"

typedef struct {
    const char *settings_file;
    mesh_option_list_t configs;
    mesh_broker_options_t broker;
    mesh_rule_options_t rules;
    int stats_interval;         //  seconds
    const char *endpoints_file;
    const char *cpus;
    const char *log_level;
    const char *log_format;
    bool check;
    bool version;
} s_settings_t;

#define S_AT(field) offsetof (s_settings_t, field)

//  The options, in --help's order: name, short, environment variable,
//  type, bounds, default, value name, help, where the value goes.
static const mesh_option_t s_table [] = {
    { "settings", 0, "MESH_SETTINGS", MESH_OPTION_FILE, 0, 0, NULL, "FILE",
      "the broker's settings file: a JSON object of these options by name, as\n"
      "{\"ingest\": \"tcp://127.0.0.1:5600\", \"max-event-size\": 1048576} (docs/broker.md)",
      S_AT (settings_file), NULL },
    { "config", 'c', "MESH_CONFIG", MESH_OPTION_LIST, 0, 0, "config", "PATH",
      "rule file, or directory of *.json rule files; repeatable", S_AT (configs), NULL },
    { "ingest", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, S_AT (broker.ingest), mesh_flags_ingest },
    { "deliver", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, S_AT (broker.deliver), mesh_flags_deliver },
    { "api", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, S_AT (broker.api), mesh_flags_api },
    { "metrics", 0, "MESH_METRICS", MESH_OPTION_STRING, 0, 0, "", "[HOST:]PORT",
      "serve Prometheus's text format at http://HOST:PORT/metrics (and /healthz); the host is\n"
      "127.0.0.1 unless given, port 0 picks one; \"\": none", S_AT (broker.metrics), NULL },
    { "max-event-size", 0, "MESH_MAX_EVENT_SIZE", MESH_OPTION_SIZE, 1024, 256 << 20, "1048576", "BYTES",
      "largest event frame accepted, bytes (publishers limit entries to 256 KB)",
      S_AT (broker.limits.max_event_size), NULL },
    { "max-entry-size", 0, "MESH_MAX_ENTRY_SIZE", MESH_OPTION_SIZE, 1024, 256 << 20, "262144", "BYTES",
      "largest entry accepted as EventBridge counts it (source, detail-type, detail, resources), bytes",
      S_AT (broker.limits.max_entry_size), NULL },
    { "max-depth", 0, "MESH_MAX_DEPTH", MESH_OPTION_INT, 2, MESH_MAX_DEPTH_LIMIT, "1000", "N",
      "deepest nesting of maps and arrays accepted in an event", S_AT (broker.limits.max_depth), NULL },
    { "backlog-bytes", 0, "MESH_BACKLOG_BYTES", MESH_OPTION_SIZE, 0, 1LL << 40, "134217728", "BYTES",
      "bytes queued per slow target before its deliveries are dropped (counted)",
      S_AT (broker.backlog_bytes), NULL },
    { "sndhwm", 0, "MESH_SNDHWM", MESH_OPTION_INT, 1, 10000000, "10000", "N",
      "messages buffered per subscriber before the broker queues", S_AT (broker.sndhwm), NULL },
    { "stats-interval", 0, "MESH_STATS_INTERVAL", MESH_OPTION_INT, 0, 86400, "0", "SECONDS",
      "seconds between stats lines in the log; 0: only at exit", S_AT (stats_interval), NULL },
    { "heartbeat", 0, "MESH_HEARTBEAT", MESH_OPTION_INT, 0, 60000, "1000", "MS",
      "ms between heartbeats on each subscribed target's topic; 0: none",
      S_AT (broker.heartbeat_ms), NULL },
    { "startup-grace", 0, "MESH_STARTUP_GRACE", MESH_OPTION_INT, 0, 3600000, "3000", "MS",
      "ms to wait for every routed target's subscriber before opening ingest",
      S_AT (broker.startup_grace_ms), NULL },
    { "rules", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, S_AT (rules), mesh_flags_rule_options },
    { "endpoints-file", 0, "MESH_ENDPOINTS_FILE", MESH_OPTION_STRING, 0, 0, "", "FILE",
      "write the bound endpoints here (useful with tcp://127.0.0.1:*)", S_AT (endpoints_file), NULL },
    { "cpus", 0, "MESH_CPUS", MESH_OPTION_STRING, 0, 0, "", "LIST",
      "run the broker (its engine and libzmq's I/O thread) on these CPUs only, e.g. 0 or 2-3; "
      "one CPU keeps each event in the cache it arrived in (README)",
      S_AT (cpus), NULL },
    { "log-level", 0, "MESH_LOG_LEVEL", MESH_OPTION_STRING, 0, 0, "info", "LEVEL",
      "the least a log line must be to be written: debug, info, warning or error\n"
      "(debug also logs every routing decision, as --verbose)", S_AT (log_level), NULL },
    { "log-format", 0, "MESH_LOG_FORMAT", MESH_OPTION_STRING, 0, 0, "text", "FORMAT",
      "text, or json: one object a line (time, level, program, message), for log shippers",
      S_AT (log_format), NULL },
    { "check", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL,
      "load and check the rule files, print a summary, exit", S_AT (check), NULL },
    { "verbose", 'v', NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL,
      "log every routing decision (rule, target, sequence)", S_AT (broker.verbose), NULL },
    { "version", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL, "print the version", S_AT (version), NULL },
    { NULL }
};

static const mesh_options_t s_spec = {
    "mesh-broker",
    "usage: mesh-broker [options]",
    "The mesh event bus broker: publishers put events on its ingest endpoint,\n"
    "it matches each against the rules of its bus (EventBridge event patterns)\n"
    "and delivers it to the targets of every rule that matches.",
    "SIGHUP (or mesh reload) reads the rule files again and swaps the rules\n"
    "between two events; a refused file leaves the old rules running, and says\n"
    "why in the log. Stops cleanly on SIGINT or SIGTERM and logs its counters.\n"
    "Exit status: 0 after a clean stop, 1 on a bad option, a bad rule file or a\n"
    "busy endpoint.\n",
    s_table
};

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

static int
s_compare (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  Append a copy of text to a growing list of strings; -1 if out of memory.
static int
s_append (char ***list, size_t *count, const char *text)
{
    char **grown = realloc (*list, (*count + 1) * sizeof (char *));
    if (!grown)
        return -1;
    *list = grown;
    if (!(grown [*count] = strdup (text)))
        return -1;
    (*count)++;
    return 0;
}

//  Load path (a rule file, or every *.json in a directory, in name order)
//  and append the buses to *buses. Every failure, out of memory included,
//  is one line in err and a non-zero return: a rule directory can be as
//  large as its owner likes.
static int
s_load_path (const char *path, const mesh_rule_options_t *options, mesh_bus_t ***buses, size_t *count,
             mesh_error_t *err)
{
    char **files = NULL;
    size_t file_count = 0;
    int rc = 0;
    DIR *dir = opendir (path);
    if (dir) {
        struct dirent *entry;
        while (!rc && (entry = readdir (dir))) {
            size_t size = strlen (entry->d_name);
            if (size > 5 && streq (entry->d_name + size - 5, ".json") && entry->d_name [0] != '.') {
                char *file = zsys_sprintf ("%s/%s", path, entry->d_name);
                if (!file || s_append (&files, &file_count, file))
                    rc = mesh_error_set (err, MESH_ENOMEM, "%s: out of memory listing the rule files", path);
                zstr_free (&file);
            }
        }
        closedir (dir);
        if (!rc && file_count == 0)
            rc = mesh_error_set (err, MESH_EINVAL, "%s: no rule files (*.json) in this directory", path);
        if (!rc)
            qsort (files, file_count, sizeof (char *), s_compare);
    }
    else
    if (s_append (&files, &file_count, path))
        rc = mesh_error_set (err, MESH_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < file_count; i++) {
        mesh_bus_t *bus = rc? NULL: mesh_bus_load_with (files [i], options, err);
        if (!rc && !bus)
            rc = -1;
        if (bus) {
            mesh_bus_t **grown = realloc (*buses, (*count + 1) * sizeof (mesh_bus_t *));
            if (grown) {
                *buses = grown;
                (*buses) [(*count)++] = bus;
            }
            else {
                mesh_bus_destroy (&bus);
                rc = mesh_error_set (err, MESH_ENOMEM, "%s: out of memory", files [i]);
            }
        }
        free (files [i]);
    }
    free (files);
    return rc;
}

//  Every rule file of --config compiled into new routes over targets, or
//  NULL with err (the file, the rule, the path and the reason).
static mesh_routes_t *
s_load_routes (const s_settings_t *settings, mesh_targets_t *targets, const mesh_limits_t *limits,
               uint64_t epoch, mesh_error_t *err)
{
    mesh_bus_t **buses = NULL;
    size_t bus_count = 0;
    for (size_t i = 0; i < settings->configs.count; i++)
        if (s_load_path (settings->configs.items [i], &settings->rules, &buses, &bus_count, err)) {
            for (size_t b = 0; b < bus_count; b++)
                mesh_bus_destroy (&buses [b]);
            free (buses);
            return NULL;
        }
    mesh_routes_t *routes = mesh_routes_new (buses, bus_count, targets, limits, epoch, err);
    free (buses);
    return routes;
}

//  The engine's reload (mesh_engine.h): the same files, read again.
typedef struct {
    const s_settings_t *settings;
    mesh_targets_t *targets;
    const mesh_limits_t *limits;
} s_reloader_t;

static mesh_routes_t *
s_reload (void *arg, uint64_t epoch, mesh_error_t *err)
{
    s_reloader_t *reloader = (s_reloader_t *) arg;
    return s_load_routes (reloader->settings, reloader->targets, reloader->limits, epoch, err);
}

static volatile sig_atomic_t s_hangup;

static void
s_on_hangup (int signal)
{
    (void) signal;
    s_hangup = 1;
}

static int
s_write_endpoints (const char *path, const char *ingest, const char *deliver, const char *api,
                   const char *metrics)
{
    char temp [4096];
    snprintf (temp, sizeof (temp), "%s.tmp", path);
    FILE *file = fopen (temp, "w");
    if (!file)
        return s_fatal ("--endpoints-file: cannot write %s: %s", temp, strerror (errno));
    if (*ingest)
        fprintf (file, "ingest=%s\n", ingest);
    fprintf (file, "deliver=%s\n", deliver);
    if (*api)
        fprintf (file, "api=%s\n", api);
    if (*metrics)
        fprintf (file, "metrics=%s\n", metrics);
    fclose (file);
    if (rename (temp, path))
        return s_fatal ("--endpoints-file: cannot rename to %s: %s", path, strerror (errno));
    return 0;
}

//  --cpus: a list of CPU numbers and ranges ("0", "2-3", "0,2-3") into set.
//  0, or -1 with why.
static int
s_parse_cpus (const char *text, cpu_set_t *set, char *why, size_t why_size)
{
    CPU_ZERO (set);
    const char *p = text;
    while (*p) {
        char *end;
        errno = 0;
        long first = strtol (p, &end, 10), last;
        if (end == p || errno || first < 0 || first >= CPU_SETSIZE)
            goto bad;
        last = first;
        p = end;
        if (*p == '-') {
            last = strtol (++p, &end, 10);
            if (end == p || errno || last < first || last >= CPU_SETSIZE)
                goto bad;
            p = end;
        }
        for (long cpu = first; cpu <= last; cpu++)
            CPU_SET ((int) cpu, set);
        if (*p == ',' && p [1])
            p++;
        else
        if (*p)
            goto bad;
    }
    if (CPU_COUNT (set) == 0)
        goto bad;
    return 0;
bad:
    snprintf (why, why_size, "--cpus: expected CPU numbers and ranges such as 0 or 0,2-3 (below %d), got '%s'",
              CPU_SETSIZE, text);
    return -1;
}

//  Loading the rule files frees some of what it allocated (each rule's
//  JSON, the automaton builder's scratch; the file's text, which jemalloc
//  returns at once, being that large): give those pages back to the system
//  before serving. With jemalloc (mesh-broker's allocator, Makefile) that
//  is its purge of every arena, which it would otherwise do only as later
//  allocations let it (100,000 rules of issue 8's shape (a): 160 MB to 156
//  since a file is read one rule at a time; 342 to 190 when it was parsed
//  whole); with glibc, malloc_trim. mallctl is looked up, not linked, so a
//  build with another allocator runs the same.
static void
s_give_back_memory (void)
{
    typedef int (mallctl_fn) (const char *, void *, size_t *, void *, size_t);
    mallctl_fn *mallctl = (mallctl_fn *) dlsym (RTLD_DEFAULT, "mallctl");
    if (!mallctl || mallctl ("arena.4096.purge", NULL, NULL, NULL, 0))   //  4096: every arena
        malloc_trim (0);
}

int
main (int argc, char *argv [])
{
    s_settings_t settings = { .stats_interval = 0 };
    mesh_limits_init (&settings.broker.limits);
    mesh_rule_options_init (&settings.rules);
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, 1);
    if (status >= 0)
        return status;
    if (settings.version) {
        printf ("mesh-broker %s (libzmq %d.%d.%d, czmq %d.%d.%d)\n", MESH_VERSION,
                ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH,
                CZMQ_VERSION_MAJOR, CZMQ_VERSION_MINOR, CZMQ_VERSION_PATCH);
        return 0;
    }
    mesh_broker_options_t options = settings.broker;
    options.rule_options = settings.rules;
    if (mesh_say_setup (settings.log_level, settings.log_format))
        return s_fatal ("--log-level is debug, info, warning or error, and --log-format text or json "
                        "(got '%s' and '%s')", settings.log_level, settings.log_format);
    if (options.verbose)
        mesh_say_setup ("debug", settings.log_format);
    else
        options.verbose = streq (settings.log_level, "debug");
    options.stats_interval_ms = settings.stats_interval * 1000;
    bool check = settings.check;
    cpu_set_t cpus;
    char why [160];
    if (*settings.cpus && s_parse_cpus (settings.cpus, &cpus, why, sizeof (why)))
        return s_fatal ("%s", why);

    mesh_error_t err = { 0 };
    mesh_targets_t *targets = mesh_targets_new (MESH_MAX_TARGETS, MESH_MAX_UNROUTED_TARGETS);
    if (!targets)
        return s_fatal ("out of memory");
    mesh_routes_t *routes = s_load_routes (&settings, targets, &options.limits, (uint64_t) zclock_time (), &err);
    if (!routes) {
        mesh_targets_destroy (&targets);
        return s_fatal ("%s", err.text);
    }
    for (size_t i = 0; i < mesh_routes_bus_count (routes); i++) {
        const mesh_bus_t *bus = mesh_routes_bus_at (routes, i);
        size_t enabled = mesh_ruleset_size (mesh_bus_ruleset (bus));
        if (check || streq (settings.log_format, "text"))
            fprintf (check? stdout: stderr, "mesh-broker: bus '%s' from %s: %zu rule(s), %zu enabled\n",
                     mesh_bus_name (bus), mesh_bus_origin (bus), mesh_bus_rule_total (bus), enabled);
        else
            mesh_say (MESH_SAY_INFO, "bus '%s' from %s: %zu rule(s), %zu enabled", mesh_bus_name (bus),
                      mesh_bus_origin (bus), mesh_bus_rule_total (bus), enabled);
    }
    if (check) {
        mesh_routes_destroy (&routes);
        mesh_targets_destroy (&targets);
        return 0;
    }
    s_give_back_memory ();

    zsys_set_logident ("mesh-broker");
    zsys_set_logstream (stderr);
    //  Every connection is a file descriptor: take all the system allows
    //  (the soft limit is often 1,024 of a far higher hard one). Running out
    //  anyway is logged by the engine and survived.
    struct rlimit files;
    if (getrlimit (RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        if (setrlimit (RLIMIT_NOFILE, &files))
            mesh_say (MESH_SAY_WARNING, "cannot raise the open files limit: %s", strerror (errno));
    }
    zsys_catch_interrupts ();       //  SIGINT/SIGTERM stop us cleanly, whatever ZSYS_SIGHANDLER says
    //  Before the engine and libzmq's I/O thread exist: they inherit it.
    //  On one CPU the engine reads each event from the cache the I/O
    //  thread wrote it to (README, how fast the bus is).
    if (*settings.cpus && sched_setaffinity (0, sizeof (cpus), &cpus))
        return s_fatal ("--cpus %s: not CPUs this process may run on (%s)", settings.cpus, strerror (errno));
    size_t bus_total = mesh_routes_bus_count (routes);
    s_reloader_t reloader = { &settings, targets, &options.limits };
    mesh_engine_args_t args = { routes, targets, &options, s_reload, &reloader };
    routes = NULL;              //  the engine's now, given back in args.routes when it ends
    struct sigaction hangup = { .sa_handler = s_on_hangup, .sa_flags = SA_RESTART };
    sigemptyset (&hangup.sa_mask);
    sigaction (SIGHUP, &hangup, NULL);
    zactor_t *engine = zactor_new (mesh_engine_actor, &args);
    if (!engine)
        return s_fatal ("cannot start the engine: %s", zmq_strerror (zmq_errno ()));
    //  Deliver binds at once, ingest when the subscribers are back or the
    //  start-up grace is over: ask until both are bound, writing the
    //  endpoints file at each stage so that a script can start subscribers.
    int rc = 0;
    bool deliver_written = false;
    while (!rc && !zsys_interrupted) {
        zstr_send (engine, "ENDPOINTS");
        char *status = NULL, *ingest = NULL, *deliver = NULL, *api = NULL, *metrics = NULL;
        zstr_recvx (engine, &status, &ingest, &deliver, &api, &metrics, NULL);
        bool open = false;
        if (!status || !streq (status, "OK"))
            rc = s_fatal ("%s", ingest? ingest: "the engine did not start");
        else
        if (*ingest) {
            mesh_say (MESH_SAY_INFO, "ingest %s, deliver %s, api %s, metrics %s; %zu bus(es); mesh-broker %s ready",
                      ingest, deliver, api && *api? api: "(none)", metrics && *metrics? metrics: "(none)", bus_total,
                      MESH_VERSION);
            if (*settings.endpoints_file)
                rc = s_write_endpoints (settings.endpoints_file, ingest, deliver, api? api: "", metrics? metrics: "");
            open = true;
        }
        else
        if (!deliver_written) {
            mesh_say (MESH_SAY_INFO, "deliver %s open; ingest opens when the targets' subscribers are connected "
                       "(at most %d ms)", deliver, options.startup_grace_ms);
            if (*settings.endpoints_file)
                rc = s_write_endpoints (settings.endpoints_file, "", deliver, api? api: "", metrics? metrics: "");
            deliver_written = true;
        }
        zstr_free (&status);
        zstr_free (&ingest);
        zstr_free (&deliver);
        zstr_free (&api);
        zstr_free (&metrics);
        if (open)
            break;
        zclock_sleep (20);
    }
    while (!rc && !zsys_interrupted) {
        if (s_hangup) {
            //  SIGHUP: the engine reads the rule files again and swaps the
            //  routes between two events, or keeps the old ones (it logs which)
            s_hangup = 0;
            zstr_send (engine, "RELOAD");
            char *result = zstr_recv (engine);
            zstr_free (&result);
        }
        zclock_sleep (50);
    }
    zstr_send (engine, "STATS");
    char *line = zstr_recv (engine);
    if (line)
        mesh_say (MESH_SAY_INFO, "stopping; final stats: %s", line);
    zstr_free (&line);
    zactor_destroy (&engine);
    routes = args.routes;
    mesh_routes_destroy (&routes);
    mesh_targets_destroy (&targets);
    return rc;
}
