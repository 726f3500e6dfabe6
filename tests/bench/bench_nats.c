/*  bench_nats.c: the NATS side of the bus benchmark, one of its two baselines

    NATS core, the peer users compare mesh with: the same payload as mesh
    and the proxy get (bench_bus_common.c), on one subject, to three
    subscribers, with nats.c (Debian's libnats-dev) against Debian's
    nats-server, started by tests/bench/bench_bus.sh.

        bench_nats pub OPTIONS      publish --count events on --topic (the
                                    subject); in full-speed runs it flushes
                                    (a PING/PONG round trip) every 1,000
                                    events, the only back-pressure core NATS
                                    has, and always at the end; in paced
                                    runs it sends each event at once
                                    (natsOptions_SetSendAsap)
        bench_nats sub OPTIONS      subscribe, with pending limits lifted, and
                                    count and time every event as bench_bus
                                    sub does; dropped= is what the client
                                    library dropped, and a connection the
                                    server closed (slow consumer) ends the
                                    run with closed=1

    NATS core is at-most-once: what it drops is reported, not hidden.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <nats/nats.h>
#include "bench_bus_common.h"

#define S_FLUSH_EVERY   (getenv ("BENCH_NATS_FLUSH")? atoi (getenv ("BENCH_NATS_FLUSH")): 1000)

//  send_asap: write each publish to the socket at once. nats.c otherwise
//  buffers and its flusher thread waits a millisecond to gather more, which
//  is right at full speed and a millisecond of latency in a paced run.
static natsConnection *
s_connect (const char *url, bool send_asap)
{
    natsOptions *options = NULL;
    natsConnection *conn = NULL;
    natsStatus status = natsOptions_Create (&options);
    if (status == NATS_OK)
        status = natsOptions_SetURL (options, url);
    if (status == NATS_OK)
        status = natsOptions_SetAllowReconnect (options, false);
    if (status == NATS_OK)
        status = natsOptions_SetSendAsap (options, send_asap);
    if (status == NATS_OK)
        status = natsConnection_Connect (&conn, options);
    natsOptions_Destroy (options);
    if (status != NATS_OK) {
        fprintf (stderr, "bench nats: connect %s: %s\n", url, natsStatus_GetText (status));
        return NULL;
    }
    return conn;
}

static int
s_pub (bench_args_t *args)
{
    size_t size, slot;
    uint8_t *payload = bench_payload_new (args->payload, &size, &slot);
    if (!payload) {
        fprintf (stderr, "bench nats pub: unknown payload '%s'\n", args->payload);
        return 1;
    }
    natsConnection *conn = s_connect (args->endpoint, args->rate > 0);
    if (!conn)
        return 1;
    uint64_t deadline = bench_now () + (uint64_t) (args->timeout * 1e9);
    int ready = 0;
    while (bench_now () < deadline
       &&  (ready = bench_ready_count (args->ready_dir, args->ready_ids, args->ready_count))
           < args->ready_count) {
        bench_stamp (payload, slot, 0, bench_now ());
        natsConnection_Publish (conn, args->topic, payload, (int) size);
        natsConnection_Flush (conn);
        usleep (5000);
    }
    if (ready < args->ready_count) {
        fprintf (stderr, "bench nats pub: timeout: %d of %d subscribers ready\n", ready,
                 args->ready_count);
        return 1;
    }
    bench_pace_t pace;
    bench_pace_init (&pace, args->rate);
    uint64_t start = bench_now (), sent = 0;
    uint64_t stop = args->seconds > 0? start + (uint64_t) (args->seconds * 1e9): UINT64_MAX;
    natsStatus status = NATS_OK;
    for (uint64_t i = 0; i < args->count && bench_now () <= stop && status == NATS_OK; i++) {
        bench_stamp (payload, slot, i + 1, bench_pace_due (&pace, i));
        status = natsConnection_Publish (conn, args->topic, payload, (int) size);
        if (status == NATS_OK && args->rate <= 0 && (i + 1) % S_FLUSH_EVERY == 0)
            status = natsConnection_Flush (conn);
        sent += status == NATS_OK;
    }
    //  The end event carries the count sent.
    bench_stamp (payload, slot, BENCH_END, sent);
    if (status == NATS_OK)
        status = natsConnection_Publish (conn, args->topic, payload, (int) size);
    if (status == NATS_OK)
        status = natsConnection_FlushTimeout (conn, 30000);
    uint64_t end = bench_now ();
    if (status != NATS_OK) {
        fprintf (stderr, "bench nats pub: publish: %s\n", natsStatus_GetText (status));
        return 1;
    }
    bench_pub_report (sent, size, start, end);
    natsConnection_Destroy (conn);
    free (payload);
    return 0;
}

static int
s_sub (bench_args_t *args)
{
    natsConnection *conn = s_connect (args->endpoint, false);
    if (!conn)
        return 1;
    natsSubscription *sub = NULL;
    natsStatus status = natsConnection_SubscribeSync (&sub, conn, args->topic);
    if (status == NATS_OK)
        status = natsSubscription_SetPendingLimits (sub, -1, -1);
    if (status == NATS_OK)
        status = natsConnection_Flush (conn);   //  the server has our SUB
    if (status != NATS_OK) {
        fprintf (stderr, "bench nats sub: subscribe: %s\n", natsStatus_GetText (status));
        return 1;
    }
    bench_tally_t tally;
    bench_tally_init (&tally, args->id, args->count, args->ready_dir);
    bench_catch_stop ();
    uint64_t deadline = bench_now () + (uint64_t) (args->timeout * 1e9);
    bool done = false, closed = false;
    const char *why = "";
    while (!done && !bench_stopped ()) {
        if (bench_now () > deadline) {
            why = "timeout";
            break;
        }
        natsMsg *msg = NULL;
        status = natsSubscription_NextMsg (&msg, sub, 100);
        if (status == NATS_TIMEOUT)
            continue;
        if (status != NATS_OK) {
            closed = true;
            why = natsStatus_GetText (status);
            break;
        }
        done = bench_tally_take (&tally, natsMsg_GetData (msg), (size_t) natsMsg_GetDataLength (msg));
        natsMsg_Destroy (msg);
    }
    int64_t dropped = 0;
    natsSubscription_GetDropped (sub, &dropped);
    //  One key=value line: the error's words joined by '_'.
    char note [256];
    snprintf (note, sizeof (note), "dropped=%lld closed=%d%s%s", (long long) dropped, closed,
              *why? " error=": "", why);
    for (char *c = strstr (note, "error="); c && *c; c++)
        if (*c == ' ')
            *c = '_';
    bench_tally_report (&tally, args->lat_file, note);
    bench_tally_fini (&tally);
    natsSubscription_Destroy (sub);
    natsConnection_Destroy (conn);
    return 0;
}

int
main (int argc, char *argv [])
{
    const char *command = argc > 1? argv [1]: "";
    bench_args_t args;
    if (!strcmp (command, "pub") || !strcmp (command, "sub")) {
        if (bench_args_parse (&args, command, argc - 2, argv + 2))
            return 2;
        int rc = command [0] == 'p'? s_pub (&args): s_sub (&args);
        nats_Close ();
        return rc;
    }
    fprintf (stderr, "usage: bench_nats pub ... | sub ...\n"
                     "(run by tests/bench/bench_bus.sh; see the top of tests/bench/bench_nats.c)\n");
    return 2;
}
