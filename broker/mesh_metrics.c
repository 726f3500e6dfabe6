/*  mesh_metrics.c: the broker's counters for Prometheus (mesh_metrics.h)  */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mesh_metrics.h"
#include "mesh_queue.h"

struct _mesh_metrics_t {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    char *page;                     //  the latest, under lock
    atomic_bool wanted;
};

static enum MHD_Result
s_answer (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *data, size_t *data_size, void **state)
{
    (void) version; (void) data; (void) data_size; (void) state;
    mesh_metrics_t *self = (mesh_metrics_t *) cls;
    const char *type = "text/plain; charset=utf-8";
    unsigned int status = MHD_HTTP_OK;
    char *body = NULL;
    if (strcmp (method, "GET") && strcmp (method, "HEAD")) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        body = strdup ("only GET: /metrics, /healthz\n");
    }
    else
    if (!strcmp (url, "/metrics")) {
        atomic_store (&self->wanted, true);
        type = "text/plain; version=0.0.4; charset=utf-8";
        pthread_mutex_lock (&self->lock);
        body = strdup (self->page? self->page: "");
        pthread_mutex_unlock (&self->lock);
    }
    else
    if (!strcmp (url, "/healthz"))
        body = strdup ("ok\n");
    else {
        status = MHD_HTTP_NOT_FOUND;
        body = strdup ("not found: /metrics and /healthz are served\n");
    }
    if (!body)
        return MHD_NO;
    struct MHD_Response *response = MHD_create_response_from_buffer (strlen (body), body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free (body);
        return MHD_NO;
    }
    MHD_add_response_header (response, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response (connection, status, response);
    MHD_destroy_response (response);
    return rc;
}

mesh_metrics_t *
mesh_metrics_start (const char *address, char *url, size_t url_size, mesh_error_t *err)
{
    char host [64] = "127.0.0.1";
    const char *colon = strrchr (address, ':');
    const char *port_text = colon? colon + 1: address;
    if (colon) {
        size_t size = (size_t) (colon - address);
        if (size == 0 || size >= sizeof (host)) {
            mesh_error_set (err, MESH_EINVAL, "--metrics: expected [HOST:]PORT, got '%s'", address);
            return NULL;
        }
        memcpy (host, address, size);
        host [size] = 0;
    }
    char *end = NULL;
    long port = strtol (port_text, &end, 10);
    struct sockaddr_in bind_to = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    if (!*port_text || *end || port < 0 || port > 65535 || inet_pton (AF_INET, host, &bind_to.sin_addr) != 1) {
        mesh_error_set (err, MESH_EINVAL, "--metrics: expected [HOST:]PORT with an IPv4 host, got '%s'", address);
        return NULL;
    }
    mesh_metrics_t *self = (mesh_metrics_t *) calloc (1, sizeof (mesh_metrics_t));
    if (!self) {
        mesh_error_set (err, MESH_ENOMEM, "--metrics: out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    atomic_init (&self->wanted, true);
    self->daemon = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, s_answer, self,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &bind_to,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 64,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 10, MHD_OPTION_END);
    if (!self->daemon) {
        mesh_error_set (err, MESH_EIO, "--metrics: cannot listen on %s:%ld (in use?)", host, port);
        mesh_metrics_stop (&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    snprintf (url, url_size, "http://%s:%u", host, info? (unsigned) info->port: (unsigned) port);
    return self;
}

void
mesh_metrics_stop (mesh_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mesh_metrics_t *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    pthread_mutex_destroy (&self->lock);
    free (self->page);
    free (self);
    *self_p = NULL;
}

bool
mesh_metrics_wanted (mesh_metrics_t *self)
{
    return atomic_load (&self->wanted);
}

void
mesh_metrics_publish (mesh_metrics_t *self, char *page)
{
    pthread_mutex_lock (&self->lock);
    free (self->page);
    self->page = page;
    pthread_mutex_unlock (&self->lock);
    atomic_store (&self->wanted, false);
}

//  A label value as Prometheus reads it: backslash, quote and newline escaped.
static void
s_label (FILE *out, const char *value)
{
    for (const char *c = value; *c; c++)
        if (*c == '\\' || *c == '"')
            fprintf (out, "\\%c", *c);
        else
        if (*c == '\n')
            fputs ("\\n", out);
        else
            fputc (*c, out);
}

static void
s_family (FILE *out, const char *name, const char *type, const char *help)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *
mesh_metrics_render (const mesh_stats_t *stats, mesh_targets_t *targets, const mesh_routes_t *routes,
                     size_t peers)
{
    char *page = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&page, &size);
    if (!out)
        return NULL;
    for (const mesh_stats_field_t *field = mesh_stats_fields; field->name; field++) {
        char name [96];
        snprintf (name, sizeof (name), "mesh_%s%s", field->name, field->gauge? "": "_total");
        s_family (out, name, field->gauge? "gauge": "counter", "the broker's counter of that name (docs/protocol.md)");
        fprintf (out, "%s %llu\n", name, (unsigned long long) mesh_stats_value (stats, field));
    }
    s_family (out, "mesh_connected_peers", "gauge", "connections open now on the broker's sockets");
    fprintf (out, "mesh_connected_peers %zu\n", peers);
    s_family (out, "mesh_filter_seconds", "histogram",
              "time the filter stage took an event: its checks, its bus and its rules matched");
    uint64_t below = 0;
    for (size_t i = 0; i < MESH_FILTER_BOUNDS; i++) {
        below += stats->filter.buckets [i];
        fprintf (out, "mesh_filter_seconds_bucket{le=\"%g\"} %llu\n", (double) mesh_filter_bounds_ns [i] / 1e9,
                 (unsigned long long) below);
    }
    fprintf (out, "mesh_filter_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long) stats->filter.count);
    fprintf (out, "mesh_filter_seconds_sum %.9f\n", (double) stats->filter.sum_ns / 1e9);
    fprintf (out, "mesh_filter_seconds_count %llu\n", (unsigned long long) stats->filter.count);
    static const struct {
        const char *name, *type, *help;
    } families [] = {
        { "mesh_target_delivered_total", "counter", "deliveries handed to the target's subscribers" },
        { "mesh_target_no_subscriber_total", "counter", "deliveries dropped: the target had no subscriber" },
        { "mesh_target_overflow_total", "counter", "deliveries dropped: the target's backlog was full" },
        { "mesh_target_seq", "gauge", "the last sequence number given out for the target" },
        { "mesh_target_subscribers", "gauge", "the target's subscriptions now" },
        { "mesh_target_backlog", "gauge", "messages queued for the target now" },
        { "mesh_target_backlog_bytes", "gauge", "what the target's queue costs now, bytes" },
    };
    for (size_t f = 0; f < sizeof (families) / sizeof (families [0]); f++) {
        s_family (out, families [f].name, families [f].type, families [f].help);
        mesh_target_t *target;
        for (size_t i = 0; (target = mesh_targets_at (targets, i)); i++) {
            uint64_t value = f == 0? target->delivered: f == 1? target->no_subscriber: f == 2? target->overflow
                           : f == 3? target->seq: f == 4? target->subscribers
                           : f == 5? mesh_queue_size (&target->queue): mesh_queue_bytes (&target->queue);
            fprintf (out, "%s{target=\"", families [f].name);
            s_label (out, target->name);
            fprintf (out, "\"} %llu\n", (unsigned long long) value);
        }
    }
    static const char *bus_families [3][2] = {
        { "mesh_bus_events_total", "events taken on the bus" },
        { "mesh_bus_events_matched_total", "events that matched a rule of the bus (MatchedEvents)" },
        { "mesh_bus_invocations_total", "(rule, target) deliveries the bus's events made (Invocations)" },
    };
    for (int f = 0; f < 3; f++) {
        s_family (out, bus_families [f][0], "counter", bus_families [f][1]);
        for (size_t b = 0; b < mesh_routes_bus_count (routes); b++) {
            const mesh_routes_counts_t *counts = mesh_routes_counts (routes, b);
            uint64_t value = f == 0? counts->events: f == 1? counts->matched_events: counts->invocations;
            fprintf (out, "%s{bus=\"", bus_families [f][0]);
            s_label (out, mesh_bus_name (mesh_routes_bus_at (routes, b)));
            fprintf (out, "\"} %llu\n", (unsigned long long) value);
        }
    }
    //  By rule, the rules that matched an event (TriggeredRules, Invocations)
    static const char *rule_families [2][2] = {
        { "mesh_events_matched_total", "events the rule matched (TriggeredRules)" },
        { "mesh_rule_invocations_total", "deliveries to the rule's targets (Invocations)" },
    };
    for (int f = 0; f < 2; f++) {
        s_family (out, rule_families [f][0], "counter", rule_families [f][1]);
        for (size_t b = 0; b < mesh_routes_bus_count (routes); b++) {
            const mesh_bus_t *bus = mesh_routes_bus_at (routes, b);
            const mesh_ruleset_t *ruleset = mesh_bus_ruleset (bus);
            for (size_t r = 0; r < mesh_ruleset_size (ruleset); r++) {
                uint64_t invocations = 0;
                uint64_t triggered = mesh_routes_triggered (routes, b, r, &invocations);
                if (!triggered)
                    continue;
                fprintf (out, "%s{bus=\"", rule_families [f][0]);
                s_label (out, mesh_bus_name (bus));
                fprintf (out, "\",rule=\"");
                s_label (out, mesh_rule_name (mesh_ruleset_rule (ruleset, r)));
                fprintf (out, "\"} %llu\n", (unsigned long long) (f? invocations: triggered));
            }
        }
    }
    if (fclose (out)) {
        free (page);
        return NULL;
    }
    return page;
}
