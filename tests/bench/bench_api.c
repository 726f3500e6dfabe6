/*  bench_api.c: put-events through the broker's API against fire-and-forget

    Run by tests/bench/bench_api.sh against a running mesh-broker (the
    example's rules): each round publishes --events payments twice, in
    batches of 10, alternately

      fire   mesh_pub_put_events on ingest (the publisher queues; the time
             runs until the broker's received counter, read through its
             API, says it has them all), and
      api    put-events requests on the API, one batch after the other,
             each waiting for its reply (the broker has routed the batch),

    and prints each run's events per second and, at the end, api / fire of
    the medians: what it costs to know that the broker has each event.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "mesh.h"

static double
s_now (void)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec * 1e-9;
}

static long long
s_received (mesh_call_t *call)
{
    mesh_error_t err = { 0 };
    char *text = mesh_call_json (call, "{\"op\":\"stats\"}", 10000, &err);
    if (!text) {
        fprintf (stderr, "bench_api: stats: %s\n", err.text);
        exit (1);
    }
    json_error_t json_err;
    json_t *reply = json_loads (text, 0, &json_err);
    free (text);
    long long received = json_integer_value (json_object_get (json_object_get (reply, "counters"), "received"));
    json_decref (reply);
    return received;
}

//  Fire and forget: queue them all, then wait until the broker has read them.
static double
s_fire (mesh_pub_t *pub, mesh_call_t *call, long events)
{
    long long before = s_received (call);
    mesh_entry_t entries [10];
    mesh_entry_result_t results [10];
    char details [10][64];
    mesh_error_t err = { 0 };
    double start = s_now ();
    for (long n = 0; n < events; n += 10) {
        for (int k = 0; k < 10; k++) {
            snprintf (details [k], sizeof (details [k]), "{\"total_cost\": %ld.5, \"n\": %ld}", (n + k) % 400, n + k);
            entries [k] = (mesh_entry_t) { .source = "demo.payments", .detail_type = "Payment Processed",
                                           .detail = details [k] };
        }
        if (mesh_pub_put_events (pub, entries, 10, results, &err)) {
            fprintf (stderr, "bench_api: fire: %s\n", err.text);
            exit (1);
        }
    }
    while (s_received (call) < before + events) {
        struct timespec pause = { 0, 500000 };      //  0.5 ms: the broker is not kept busy answering
        nanosleep (&pause, NULL);
    }
    return (double) events / (s_now () - start);
}

//  Through the API: each batch's reply before the next.
static double
s_api (mesh_call_t *call, long events)
{
    double start = s_now ();
    for (long n = 0; n < events; n += 10) {
        char request [2048];
        size_t used = (size_t) snprintf (request, sizeof (request), "{\"op\":\"put-events\",\"Entries\":[");
        for (int k = 0; k < 10; k++)
            used += (size_t) snprintf (request + used, sizeof (request) - used,
                "%s{\"Source\":\"demo.payments\",\"DetailType\":\"Payment Processed\",\"EventBusName\":\"eda_bus\","
                "\"Detail\":\"{\\\"total_cost\\\": %ld.5, \\\"n\\\": %ld}\"}", k? ",": "", (n + k) % 400, n + k);
        snprintf (request + used, sizeof (request) - used, "]}");
        mesh_error_t err = { 0 };
        char *reply = mesh_call_json (call, request, 10000, &err);
        if (!reply || !strstr (reply, "\"FailedEntryCount\":0")) {
            fprintf (stderr, "bench_api: put-events: %s\n", reply? reply: err.text);
            exit (1);
        }
        free (reply);
    }
    return (double) events / (s_now () - start);
}

static int
s_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

int
main (int argc, char **argv)
{
    if (argc != 5) {
        fprintf (stderr, "usage: bench_api INGEST API EVENTS RUNS\n");
        return 2;
    }
    const char *ingest = argv [1], *api = argv [2];
    long events = atol (argv [3]);
    int runs = atoi (argv [4]);
    if (events < 10 || runs < 1 || runs > 32) {
        fprintf (stderr, "bench_api: EVENTS >= 10, RUNS 1 to 32\n");
        return 2;
    }
    mesh_error_t err = { 0 };
    mesh_pub_options_t options;
    mesh_pub_options_init (&options);
    mesh_pub_t *pub = mesh_pub_new (ingest, "eda_bus", &options, &err);
    mesh_call_t *call = pub? mesh_call_new (api, &err): NULL;
    if (!call) {
        fprintf (stderr, "bench_api: %s\n", err.text);
        return 1;
    }
    double fire [32], put [32];
    for (int run = 0; run < runs; run++) {
        //  A B, then B A: a drift of the machine weighs on both
        if (run % 2 == 0) {
            fire [run] = s_fire (pub, call, events);
            put [run] = s_api (call, events);
        }
        else {
            put [run] = s_api (call, events);
            fire [run] = s_fire (pub, call, events);
        }
        printf ("  run %d: fire-and-forget %8.0f events/s, put-events through the API %8.0f events/s (%.2fx)\n",
                run + 1, fire [run], put [run], put [run] / fire [run]);
        fflush (stdout);
    }
    qsort (fire, (size_t) runs, sizeof (double), s_compare);
    qsort (put, (size_t) runs, sizeof (double), s_compare);
    printf ("medians of %d runs of %ld events, batches of 10: fire-and-forget %.0f events/s, "
            "put-events through the API %.0f events/s: %.2fx\n", runs, events, fire [runs / 2], put [runs / 2],
            put [runs / 2] / fire [runs / 2]);
    mesh_call_destroy (&call);
    mesh_pub_destroy (&pub);
    return 0;
}
