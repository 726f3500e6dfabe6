/*  bench_bus.c: the ZeroMQ side of the bus benchmark

    One program, five commands, each run as its own process by
    tests/bench/bench_bus.sh (see there for what is measured and how):

        bench_bus proxy FILE        the baseline: a bare XSUB->XPUB zmq_proxy,
                                    XPUB_NODROP, bound on loopback ports it
                                    writes to FILE (ingest=..., deliver=...)
        bench_bus pub OPTIONS       a publisher: XPUB with XPUB_NODROP, the
                                    socket libmesh's mesh_pub uses, sending
                                    [bus][event] (docs/protocol.md); the same
                                    publisher for the proxy and for mesh
        bench_bus sub OPTIONS       a subscriber: SUB on a topic ("" for the
                                    proxy, "rewards\0" for mesh); the event is
                                    the last frame of messages of at least
                                    --frames frames (2 through the proxy, 2
                                    from mesh, protocol v2, whose hellos and
                                    heartbeats have 1); what carries no bench
                                    slot is skipped too
        bench_bus payload KIND      print the payload's size in bytes
        bench_bus lat FILE...       p50, p99 and p99.9 of the latencies the
                                    subscribers wrote, pooled, in microseconds

    The clients use raw libzmq rather than mesh_pub/mesh_sub so that the
    proxy and mesh see the same clients doing the same work per event
    (mesh_sub decodes every event into a mesh_event_t, which no baseline
    subscriber would do); on the wire they do exactly what libmesh does.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "bench_bus_common.h"

#define S_HWM   10000       //  mesh_pub's and the broker's default

static int
s_proxy (const char *file)
{
    void *ctx = zmq_ctx_new ();
    void *xsub = zmq_socket (ctx, ZMQ_XSUB);
    void *xpub = zmq_socket (ctx, ZMQ_XPUB);
    int hwm = S_HWM, nodrop = 1, linger = 0;
    zmq_setsockopt (xsub, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (xpub, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (xpub, ZMQ_XPUB_NODROP, &nodrop, sizeof (nodrop));
    zmq_setsockopt (xsub, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (xpub, ZMQ_LINGER, &linger, sizeof (linger));
    if (zmq_bind (xsub, "tcp://127.0.0.1:*") || zmq_bind (xpub, "tcp://127.0.0.1:*")) {
        fprintf (stderr, "bench proxy: bind: %s\n", zmq_strerror (zmq_errno ()));
        return 1;
    }
    char ingest [256], deliver [256];
    size_t size = sizeof (ingest);
    zmq_getsockopt (xsub, ZMQ_LAST_ENDPOINT, ingest, &size);
    size = sizeof (deliver);
    zmq_getsockopt (xpub, ZMQ_LAST_ENDPOINT, deliver, &size);
    char temp [4096];
    snprintf (temp, sizeof (temp), "%s.tmp", file);
    FILE *out = fopen (temp, "w");
    if (!out) {
        perror (temp);
        return 1;
    }
    fprintf (out, "ingest=%s\ndeliver=%s\n", ingest, deliver);
    fclose (out);
    rename (temp, file);
    zmq_proxy (xsub, xpub, NULL);       //  until SIGTERM ends the process
    return 0;
}

static int
s_pub (bench_args_t *args)
{
    size_t size, slot;
    uint8_t *payload = bench_payload_new (args->payload, &size, &slot);
    if (!payload) {
        fprintf (stderr, "bench pub: unknown payload '%s'\n", args->payload);
        return 1;
    }
    void *ctx = zmq_ctx_new ();
    void *pub = zmq_socket (ctx, ZMQ_XPUB);
    //  Back-pressure blocks a send for at most 30 s, as mesh_pub's default.
    int hwm = S_HWM, nodrop = 1, linger = 30000, sndtimeo = 30000;
    zmq_setsockopt (pub, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (pub, ZMQ_SNDTIMEO, &sndtimeo, sizeof (sndtimeo));
    zmq_setsockopt (pub, ZMQ_XPUB_NODROP, &nodrop, sizeof (nodrop));
    zmq_setsockopt (pub, ZMQ_LINGER, &linger, sizeof (linger));
    if (zmq_connect (pub, args->endpoint)) {
        fprintf (stderr, "bench pub: connect %s: %s\n", args->endpoint, zmq_strerror (zmq_errno ()));
        return 1;
    }
    uint64_t deadline = bench_now () + (uint64_t) (args->timeout * 1e9);
    //  The broker's (or proxy's) subscription first: it says we are connected.
    zmq_pollitem_t item = { pub, 0, ZMQ_POLLIN, 0 };
    bool subscribed = false;
    while (!subscribed && bench_now () < deadline) {
        if (zmq_poll (&item, 1, 100) == 1) {
            char frame [256];
            int got = zmq_recv (pub, frame, sizeof (frame), 0);
            subscribed = got >= 1 && frame [0] == 1;
        }
    }
    //  Then probes until every subscriber has seen one.
    size_t bus_size = strlen (args->bus);
    int ready = 0;
    while (subscribed && bench_now () < deadline
       &&  (ready = bench_ready_count (args->ready_dir, args->ready_ids, args->ready_count))
           < args->ready_count) {
        bench_stamp (payload, slot, 0, bench_now ());
        zmq_send (pub, args->bus, bus_size, ZMQ_SNDMORE);
        zmq_send (pub, payload, size, 0);
        usleep (5000);
    }
    if (!subscribed || ready < args->ready_count) {
        fprintf (stderr, "bench pub: %s: %d of %d subscribers ready\n",
                 subscribed? "timeout": "no subscription from the broker", ready, args->ready_count);
        return 1;
    }
    bench_pace_t pace;
    bench_pace_init (&pace, args->rate);
    uint64_t start = bench_now (), sent = 0;
    uint64_t stop = args->seconds > 0? start + (uint64_t) (args->seconds * 1e9): UINT64_MAX;
    //  The last send is the end event, which carries the count sent.
    for (uint64_t i = 0; i <= args->count; i++) {
        bool last = i == args->count || bench_now () > stop;
        if (last)
            bench_stamp (payload, slot, BENCH_END, sent);
        else
            bench_stamp (payload, slot, i + 1, bench_pace_due (&pace, i));
        if (zmq_send (pub, args->bus, bus_size, ZMQ_SNDMORE) == -1
        ||  zmq_send (pub, payload, size, 0) == -1) {
            fprintf (stderr, "bench pub: send: %s\n", zmq_strerror (zmq_errno ()));
            return 1;
        }
        if (last)
            break;
        sent++;
    }
    uint64_t end = bench_now ();
    bench_pub_report (sent, size, start, end);
    zmq_close (pub);                    //  linger flushes what is queued
    zmq_ctx_term (ctx);
    free (payload);
    return 0;
}

static int
s_sub (bench_args_t *args)
{
    void *ctx = zmq_ctx_new ();
    void *sub = zmq_socket (ctx, ZMQ_SUB);
    int hwm = S_HWM, linger = 0;
    zmq_setsockopt (sub, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (sub, ZMQ_LINGER, &linger, sizeof (linger));
    //  "rewards" on the command line is the topic "rewards\0" on the wire.
    size_t topic_size = strlen (args->topic);
    zmq_setsockopt (sub, ZMQ_SUBSCRIBE, args->topic, topic_size? topic_size + 1: 0);
    if (zmq_connect (sub, args->endpoint)) {
        fprintf (stderr, "bench sub: connect %s: %s\n", args->endpoint, zmq_strerror (zmq_errno ()));
        return 1;
    }
    bench_tally_t tally;
    bench_tally_init (&tally, args->id, args->count, args->ready_dir);
    bench_catch_stop ();
    uint64_t deadline = bench_now () + (uint64_t) (args->timeout * 1e9);
    zmq_pollitem_t item = { sub, 0, ZMQ_POLLIN, 0 };
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    bool done = false;
    const char *note = NULL;
    while (!done && !bench_stopped ()) {
        if (bench_now () > deadline) {
            note = "timeout=1";
            break;
        }
        if (zmq_poll (&item, 1, 100) != 1)
            continue;
        //  Drain what is there before polling again.
        while (!done) {
            int frames = 0, more = 1;
            if (zmq_msg_recv (&msg, sub, ZMQ_DONTWAIT) == -1)
                break;
            frames = 1;
            more = zmq_msg_more (&msg);
            while (more) {
                zmq_msg_recv (&msg, sub, 0);
                frames++;
                more = zmq_msg_more (&msg);
            }
            if (frames >= args->frames)
                done = bench_tally_take (&tally, zmq_msg_data (&msg), zmq_msg_size (&msg));
        }
    }
    zmq_msg_close (&msg);
    bench_tally_report (&tally, args->lat_file, note);
    bench_tally_fini (&tally);
    zmq_close (sub);
    zmq_ctx_term (ctx);
    return 0;
}

static int
s_compare (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y? -1: x > y;
}

static int
s_lat (int argc, char *argv [])
{
    uint64_t *all = NULL;
    size_t count = 0, alloc = 0;
    for (int i = 0; i < argc; i++) {
        FILE *file = fopen (argv [i], "rb");
        if (!file) {
            perror (argv [i]);
            return 1;
        }
        uint64_t value;
        while (fread (&value, sizeof (value), 1, file) == 1) {
            if (count == alloc) {
                alloc = alloc? alloc * 2: 65536;
                all = realloc (all, alloc * sizeof (uint64_t));
            }
            all [count++] = value;
        }
        fclose (file);
    }
    if (!count) {
        printf ("lat samples=0 p50=- p99=- p999=-\n");
        return 0;
    }
    qsort (all, count, sizeof (uint64_t), s_compare);
    double p [3] = { 0.50, 0.99, 0.999 };
    double us [3];
    for (int i = 0; i < 3; i++) {
        size_t at = (size_t) (p [i] * (double) count);
        us [i] = (double) all [at < count? at: count - 1] / 1000.0;
    }
    printf ("lat samples=%zu p50=%.0f p99=%.0f p999=%.0f\n", count, us [0], us [1], us [2]);
    free (all);
    return 0;
}

int
main (int argc, char *argv [])
{
    const char *command = argc > 1? argv [1]: "";
    bench_args_t args;
    if (!strcmp (command, "proxy") && argc == 3)
        return s_proxy (argv [2]);
    if (!strcmp (command, "lat"))
        return s_lat (argc - 2, argv + 2);
    if (!strcmp (command, "payload") && argc == 3) {
        size_t size, slot;
        uint8_t *payload = bench_payload_new (argv [2], &size, &slot);
        if (!payload)
            return 1;
        printf ("%zu\n", size);
        free (payload);
        return 0;
    }
    if (!strcmp (command, "pub") || !strcmp (command, "sub")) {
        if (bench_args_parse (&args, command, argc - 2, argv + 2))
            return 2;
        return command [0] == 'p'? s_pub (&args): s_sub (&args);
    }
    fprintf (stderr, "usage: bench_bus proxy FILE | pub ... | sub ... | payload KIND | lat FILE...\n"
                     "(run by tests/bench/bench_bus.sh; see the top of tests/bench/bench_bus.c)\n");
    return 2;
}
