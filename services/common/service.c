/*  service.c: the common body of the example's subscriber services

    Options from a table (mesh_options): flags first, then environment
    (MESH_DELIVER, MESH_CONNECT_TIMEOUT), then defaults. Lines for
    events go to stdout, one per event, flushed as written so that a log
    file or a terminal sees them at once; status and errors go to stderr.
*/
#include <czmq.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include "service.h"

typedef struct {
    const char *deliver;
    const char *target;
    const char *state;          //  file of the position between runs, or NULL
    int64_t count;
    mesh_sub_options_t sub;
    bool monitor;
    bool quiet;
} s_settings_t;

typedef struct {
    service_t service;
    service_handler_fn *handler;
} s_context_t;

static int
s_on_delivery (const mesh_delivery_t *delivery, void *arg)
{
    s_context_t *context = (s_context_t *) arg;
    if (delivery->restarted)
        fprintf (stderr, "%s: the broker restarted before seq=%" PRIu64 "\n", context->service.name,
                 delivery->seq);
    if (delivery->missed)
        fprintf (stderr, "%s: missed %" PRIu64 " event(s) before seq=%" PRIu64 "\n",
                 context->service.name, delivery->missed, delivery->seq);
    return context->handler (&context->service, delivery);
}

//  The position a previous run saved in path: "epoch seq". A missing file
//  is a first run (0, 0); a file that does not read is an error.
static int
s_state_load (const char *path, uint64_t *epoch, uint64_t *seq)
{
    *epoch = *seq = 0;
    FILE *file = fopen (path, "r");
    if (!file)
        return errno == ENOENT? 0: -1;
    unsigned long long e, q;
    int rc = fscanf (file, "%llu %llu", &e, &q) == 2? 0: -1;
    fclose (file);
    if (rc == 0) {
        *epoch = e;
        *seq = q;
    }
    return rc;
}

//  Save the position, replacing the file whole (a rename), so that a run
//  killed while saving leaves the previous position.
static int
s_state_save (const char *path, uint64_t epoch, uint64_t seq)
{
    char temp [1024];
    snprintf (temp, sizeof (temp), "%s.tmp", path);
    FILE *file = fopen (temp, "w");
    if (!file)
        return -1;
    int rc = fprintf (file, "%" PRIu64 " %" PRIu64 "\n", epoch, seq) > 0? 0: -1;
    if (fclose (file) || rc || rename (temp, path))
        return -1;
    return 0;
}

int
service_subscriber_main (int argc, char *argv [], const char *name, const char *purpose,
                         service_handler_fn *handler)
{
    #define S_AT(field) offsetof (s_settings_t, field)
    //  Built here: the target's default and the texts name the service.
    const mesh_option_t table [] = {
        { "deliver", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, S_AT (deliver), mesh_flags_deliver },
        { "target", 0, NULL, MESH_OPTION_STRING, 0, 0, name, "NAME", "subscribe as this target",
          S_AT (target), NULL },
        { "count", 0, NULL, MESH_OPTION_INT64, 0, INFINITY, "0", "N",
          "exit after N events; 0: run until SIGINT/SIGTERM", S_AT (count), NULL },
        { "connect-timeout", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL,
          S_AT (sub.connect_timeout_ms), mesh_flags_connect_timeout },
        { "state", 0, NULL, MESH_OPTION_STRING, 0, 0, NULL, "FILE",
          "where to keep the position between runs, so that a restart counts what it missed",
          S_AT (state), NULL },
        { "quiet", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL, "no line per event, only the summary at exit",
          S_AT (quiet), NULL },
        { "monitor", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, S_AT (monitor), mesh_flags_monitor },
        { NULL }
    };
    #undef S_AT
    char usage [128], about [512];
    snprintf (usage, sizeof (usage), "usage: %s [options]", name);
    snprintf (about, sizeof (about), "%s\nSubscribes to the mesh broker as target '%s' and prints one line per event.",
              purpose, name);
    const mesh_options_t spec = { name, usage, about,
        "On exit it prints to stderr how many events it handled, how many it\n"
        "missed (numbers the broker gave out that never arrived, seen in its\n"
        "deliveries, hellos and heartbeats) and how many broker restarts it saw.\n"
        "With --state FILE it saves where it stopped at exit and counts, at the\n"
        "next start, what was given out meanwhile. Exit status 0, or 1 when it\n"
        "could not connect, could not read or save its state, or got a bad option.\n", table };
    s_settings_t settings = { .count = 0 };
    mesh_sub_options_init (&settings.sub);
    int status = mesh_options_main (&spec, argc, argv, &settings, stdout, stderr, 1);
    if (status >= 0)
        return status;
    const char *deliver = settings.deliver, *target = settings.target;
    zsys_init ();
    zsys_catch_interrupts ();       //  SIGINT/SIGTERM end the run loop, then the summary
    if (settings.state
    &&  s_state_load (settings.state, &settings.sub.resume_epoch, &settings.sub.resume_seq)) {
        fprintf (stderr, "%s: --state: cannot read '%s': expected \"EPOCH SEQ\"\n", name, settings.state);
        return 1;
    }
    mesh_error_t err = { 0 };
    if (settings.monitor)
        settings.sub.monitor = stderr;
    mesh_sub_t *sub = mesh_sub_new (deliver, target, &settings.sub, &err);
    if (!sub) {
        fprintf (stderr, "%s: %s\n", name, err.text);
        return 1;
    }
    fprintf (stderr, "%s: ready: subscribed as target '%s' at %s\n", name, target, deliver);
    if (!mesh_sub_routed (sub))
        fprintf (stderr, "%s: warning: no rule on the broker targets '%s' yet\n", name, target);
    s_context_t context = { { name, settings.quiet }, handler };
    int rc = mesh_sub_run (sub, s_on_delivery, &context, (uint64_t) settings.count, &err);
    if (rc)
        fprintf (stderr, "%s: %s\n", name, err.text);
    mesh_sub_stats_t stats;
    mesh_sub_stats (sub, &stats);
    //  "missed M, malformed K" as before, so that readers of the old line still match
    fprintf (stderr, "%s: handled %" PRIu64 " event(s), missed %" PRIu64 ", malformed %" PRIu64
             ", restarts %" PRIu64 "\n", name, stats.received, stats.missed, stats.malformed, stats.restarts);
    uint64_t epoch, seq;
    if (settings.state && mesh_sub_position (sub, &epoch, &seq)
    &&  s_state_save (settings.state, epoch, seq)) {
        fprintf (stderr, "%s: --state: cannot save '%s': %s\n", name, settings.state, strerror (errno));
        rc = -1;
    }
    mesh_sub_destroy (&sub);
    return rc? 1: 0;
}

const char *
service_string (const mesh_delivery_t *delivery, const char *path, const char *fallback)
{
    const char *value = mesh_event_get_string (delivery->event, path);
    return value? value: fallback;
}

double
service_number (const mesh_delivery_t *delivery, const char *path, double fallback)
{
    double value;
    return mesh_event_get_number (delivery->event, path, &value) == 0? value: fallback;
}

void
service_log (const service_t *service, const mesh_delivery_t *delivery, const char *format, ...)
{
    if (service->quiet)
        return;
    printf ("%s: ", service->name);
    va_list args;
    va_start (args, format);
    vprintf (format, args);
    va_end (args);
    printf (" seq=%" PRIu64 " rule=%s id=%s\n", delivery->seq, delivery->rule,
            mesh_event_id (delivery->event));
    fflush (stdout);
}
