/*  service.c: the common body of the example's subscriber services

    Flags first, then environment (MESH_DELIVER), then defaults. Lines for
    events go to stdout, one per event, flushed as written so that a log
    file or a terminal sees them at once; status and errors go to stderr.
*/
#include <czmq.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include "service.h"

static void
s_usage (FILE *out, const char *name, const char *purpose)
{
    fprintf (out,
        "usage: %s [options]\n"
        "\n"
        "%s\n"
        "Subscribes to the mesh broker as target '%s' and prints one line per event.\n"
        "\n"
        "options:\n"
        "  --deliver EP          broker's deliver endpoint [MESH_DELIVER, default %s]\n"
        "  --target NAME         subscribe as this target instead of '%s'\n"
        "  --count N             exit after N events (default: run until SIGINT/SIGTERM)\n"
        "  --connect-timeout MS  how long to wait for the broker (default 5000; -1 forever)\n"
        "  --quiet               no line per event, only the summary at exit\n"
        "  -h, --help            this text\n"
        "\n"
        "On exit it prints to stderr how many events it handled and how many it\n"
        "missed (gaps in the broker's sequence numbers). Exit status 0, or 1 when\n"
        "it could not connect or got a bad option.\n",
        name, purpose, name, MESH_DELIVER_DEFAULT, name);
}

typedef struct {
    service_t service;
    service_handler_fn *handler;
} s_context_t;

static int
s_on_delivery (const mesh_delivery_t *delivery, void *arg)
{
    s_context_t *context = (s_context_t *) arg;
    if (delivery->missed)
        fprintf (stderr, "%s: missed %" PRIu64 " event(s) before seq=%" PRIu64 "\n",
                 context->service.name, delivery->missed, delivery->seq);
    return context->handler (&context->service, delivery);
}

int
service_subscriber_main (int argc, char *argv [], const char *name, const char *purpose,
                         service_handler_fn *handler)
{
    const char *deliver = mesh_env_endpoint ("MESH_DELIVER", MESH_DELIVER_DEFAULT);
    const char *target = name;
    unsigned long long count = 0;
    bool quiet = false;
    mesh_sub_options_t options;
    mesh_sub_options_init (&options);

    static struct option long_options [] = {
        { "deliver", required_argument, NULL, 'd' },
        { "target", required_argument, NULL, 't' },
        { "count", required_argument, NULL, 'n' },
        { "connect-timeout", required_argument, NULL, 'T' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    opterr = 0;
    int c;
    char *end;
    while ((c = getopt_long (argc, argv, "h", long_options, NULL)) != -1) {
        switch (c) {
            case 'd': deliver = optarg; break;
            case 't': target = optarg; break;
            case 'q': quiet = true; break;
            case 'h': s_usage (stdout, name, purpose); return 0;
            case 'n':
                count = strtoull (optarg, &end, 10);
                if (*end || end == optarg) {
                    fprintf (stderr, "%s: --count: expected a whole number, got '%s'\n", name, optarg);
                    return 1;
                }
                break;
            case 'T':
                options.connect_timeout_ms = (int) strtol (optarg, &end, 10);
                if (*end || end == optarg) {
                    fprintf (stderr, "%s: --connect-timeout: expected milliseconds, got '%s'\n", name, optarg);
                    return 1;
                }
                break;
            default:
                fprintf (stderr, "%s: unknown or incomplete option '%s' (see --help)\n", name, argv [optind - 1]);
                return 1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "%s: unexpected argument '%s' (see --help)\n", name, argv [optind]);
        return 1;
    }
    zsys_init ();
    zsys_catch_interrupts ();       //  SIGINT/SIGTERM end the run loop, then the summary
    mesh_error_t err = { 0 };
    mesh_sub_t *sub = mesh_sub_new (deliver, target, &options, &err);
    if (!sub) {
        fprintf (stderr, "%s: %s\n", name, err.text);
        return 1;
    }
    fprintf (stderr, "%s: ready: subscribed as target '%s' at %s\n", name, target, deliver);
    if (!mesh_sub_routed (sub))
        fprintf (stderr, "%s: warning: no rule on the broker targets '%s' yet\n", name, target);
    s_context_t context = { { name, quiet }, handler };
    int rc = mesh_sub_run (sub, s_on_delivery, &context, count, &err);
    if (rc)
        fprintf (stderr, "%s: %s\n", name, err.text);
    mesh_sub_stats_t stats;
    mesh_sub_stats (sub, &stats);
    fprintf (stderr, "%s: handled %" PRIu64 " event(s), missed %" PRIu64 ", malformed %" PRIu64 "\n",
             name, stats.received, stats.missed, stats.malformed);
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
