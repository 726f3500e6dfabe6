/*  bench_bus_common.c: payload, stamps, tallies and pacing of the bus benchmark

    See bench_bus_common.h. Nothing here touches a socket: the two client
    programs (bench_bus.c for ZeroMQ, bench_nats.c for NATS) wrap it.
*/
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include "mesh.h"
#include "bench_bus_common.h"

uint64_t
bench_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

//  The example's payment (services/payment builds the same shape), with the
//  bench slot and, for the 4 KB kind, a note of pad bytes.
static uint8_t *
s_payload_encode (size_t pad, size_t *size_p)
{
    char *note = malloc (pad + 1);
    memset (note, 'x', pad);
    note [pad] = 0;
    char *detail = malloc (pad + 512);
    snprintf (detail, pad + 512,
              "{\"total_cost\":242.58,\"customer_id\":\"3213\",\"order_id\":\"ord-bench-1\","
              "\"address\":\"12 Harbour St, Leith\",\"items\":[{\"sku\":\"book-1984\",\"quantity\":1},"
              "{\"sku\":\"mug-blue\",\"quantity\":2}],\"bench\":\"%s%016d:%016d\"%s%s%s}",
              BENCH_MARK, 0, 0, pad? ",\"note\":\"": "", note, pad? "\"": "");
    mesh_error_t err;
    mesh_event_t *event = mesh_event_new ();
    void *data = NULL;
    if (mesh_event_set_source (event, "demo.payments", &err)
    ||  mesh_event_set_detail_type (event, "Payment Processed", &err)
    ||  mesh_event_set_time (event, "2026-12-01T00:00:00Z", &err)
    ||  mesh_event_set_id (event, "6f1c2a8e-3b7d-4e5f-9a0b-1c2d3e4f5a6b", &err)
    ||  mesh_event_set_detail_json (event, detail, strlen (detail), NULL, &err)) {
        fprintf (stderr, "bench: payload: %s\n", err.text);
        exit (1);
    }
    mesh_event_fill_defaults (event);
    if (mesh_event_encode (event, &data, size_p, &err)) {
        fprintf (stderr, "bench: payload: %s\n", err.text);
        exit (1);
    }
    mesh_event_destroy (&event);
    free (detail);
    free (note);
    return data;
}

uint8_t *
bench_payload_new (const char *kind, size_t *size_p, size_t *slot_p)
{
    uint8_t *data = NULL;
    if (strcmp (kind, "payment") == 0)
        data = s_payload_encode (0, size_p);
    else
    if (strcmp (kind, "4k") == 0) {
        //  The note's length header grows with it: converge in a few steps.
        size_t pad = 3500;
        for (int step = 0; step < 8; step++) {
            free (data);
            data = s_payload_encode (pad, size_p);
            if (*size_p == 4096)
                break;
            pad = pad + 4096 - *size_p;
        }
    }
    else
        return NULL;
    uint8_t *mark = memmem (data, *size_p, BENCH_MARK, BENCH_MARK_SIZE);
    if (!mark) {
        fprintf (stderr, "bench: payload: no slot\n");
        exit (1);
    }
    *slot_p = (size_t) (mark - data);
    return data;
}

static void
s_hex16 (uint8_t *out, uint64_t value)
{
    static const char digits [] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out [i] = (uint8_t) digits [value & 15];
        value >>= 4;
    }
}

static bool
s_unhex16 (const uint8_t *in, uint64_t *value)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        uint8_t c = in [i];
        if (c >= '0' && c <= '9')
            v = (v << 4) | (uint64_t) (c - '0');
        else
        if (c >= 'a' && c <= 'f')
            v = (v << 4) | (uint64_t) (c - 'a' + 10);
        else
            return false;
    }
    *value = v;
    return true;
}

void
bench_stamp (uint8_t *data, size_t slot, uint64_t seq, uint64_t stamp)
{
    s_hex16 (data + slot + BENCH_MARK_SIZE, seq);
    s_hex16 (data + slot + BENCH_MARK_SIZE + 17, stamp);
}

void
bench_tally_init (bench_tally_t *self, const char *id, uint64_t expected, const char *ready_dir)
{
    memset (self, 0, sizeof (*self));
    self->id = id;
    self->expected = expected;
    self->next = 1;
    self->warmup = expected / 100;      //  the first 1%: connections warming up
    self->capacity = expected;
    self->latency = malloc ((expected + 1) * sizeof (uint64_t));
    self->ready_dir = ready_dir;
}

void
bench_tally_fini (bench_tally_t *self)
{
    free (self->latency);
    self->latency = NULL;
}

static void
s_touch (const char *dir, const char *name)
{
    char path [4096];
    snprintf (path, sizeof (path), "%s/%s", dir, name);
    int fd = open (path, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0)
        close (fd);
}

bool
bench_tally_take (bench_tally_t *self, const void *data, size_t size)
{
    uint64_t now = bench_now ();
    const uint8_t *bytes = data;
    //  The slot is at the same offset in every event of a run: look once.
    if (self->slot + BENCH_SLOT_SIZE > size
    ||  memcmp (bytes + self->slot, BENCH_MARK, BENCH_MARK_SIZE) != 0) {
        const uint8_t *mark = memmem (bytes, size, BENCH_MARK, BENCH_MARK_SIZE);
        if (!mark || (size_t) (mark - bytes) + BENCH_SLOT_SIZE > size)
            return false;
        self->slot = (size_t) (mark - bytes);
    }
    uint64_t seq, stamp;
    if (!s_unhex16 (bytes + self->slot + BENCH_MARK_SIZE, &seq)
    ||  !s_unhex16 (bytes + self->slot + BENCH_MARK_SIZE + 17, &stamp))
        return false;
    if (seq == 0) {
        self->probes++;
        if (!self->ready && self->ready_dir) {
            s_touch (self->ready_dir, self->id);
            self->ready = true;
        }
        return false;
    }
    if (seq == BENCH_END) {
        self->expected = stamp;         //  what the publisher sent
        return true;
    }
    if (seq == self->next)
        self->next++;
    else
    if (seq > self->next) {
        self->lost += seq - self->next;
        self->next = seq + 1;
    }
    else {
        self->disordered++;
        return false;
    }
    self->received++;
    self->last_recv = now;
    if (seq > self->warmup && self->latency_count < self->capacity)
        self->latency [self->latency_count++] = now > stamp? now - stamp: 0;
    return false;
}

void
bench_tally_report (bench_tally_t *self, const char *lat_file, const char *note)
{
    printf ("sub id=%s expected=%llu received=%llu lost=%llu disordered=%llu probes=%llu "
            "last_recv=%llu%s%s\n", self->id, (unsigned long long) self->expected,
            (unsigned long long) self->received,
            (unsigned long long) (self->lost + (self->next <= self->expected?
                                                self->expected + 1 - self->next: 0)),
            (unsigned long long) self->disordered, (unsigned long long) self->probes,
            (unsigned long long) self->last_recv, note? " ": "", note? note: "");
    fflush (stdout);
    if (lat_file) {
        FILE *file = fopen (lat_file, "wb");
        if (file) {
            fwrite (self->latency, sizeof (uint64_t), self->latency_count, file);
            fclose (file);
        }
    }
}

int
bench_ready_count (const char *ready_dir, char **ids, int count)
{
    int ready = 0;
    for (int i = 0; i < count; i++) {
        char path [4096];
        snprintf (path, sizeof (path), "%s/%s", ready_dir, ids [i]);
        if (access (path, F_OK) == 0)
            ready++;
    }
    return ready;
}

void
bench_pace_init (bench_pace_t *self, double rate)
{
    //  A 50 us timer slack would bunch a 10 K/s schedule into bursts.
    prctl (PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    self->rate = rate;
    self->start = bench_now ();
}

uint64_t
bench_pace_due (bench_pace_t *self, uint64_t i)
{
    if (self->rate <= 0)
        return bench_now ();
    uint64_t due = self->start + (uint64_t) ((double) i * 1e9 / self->rate);
    if (due > bench_now ()) {
        struct timespec ts = { (time_t) (due / 1000000000u), (long) (due % 1000000000u) };
        while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
    }
    return due;
}

static void
s_usage (void)
{
    fprintf (stderr,
        "pub: --endpoint EP --payload payment|4k --count N [--seconds S] [--rate R] [--bus BUS]\n"
        "     --ready-dir DIR --wait ID... [--timeout S]\n"
        "sub: --endpoint EP --topic T --id ID --count N --ready-dir DIR [--frames N]\n"
        "     [--latency FILE] [--timeout S]\n");
}

int
bench_args_parse (bench_args_t *self, const char *role, int argc, char *argv [])
{
    memset (self, 0, sizeof (*self));
    self->role = role;
    self->payload = "payment";
    self->topic = "";
    self->bus = "eda_bus";
    self->frames = 2;
    self->timeout = 60;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv [i];
        const char *value = i + 1 < argc? argv [i + 1]: NULL;
        if (!value) {
            fprintf (stderr, "bench: %s needs a value\n", arg);
            s_usage ();
            return -1;
        }
        i++;
        if (!strcmp (arg, "--endpoint"))    self->endpoint = value;
        else if (!strcmp (arg, "--payload")) self->payload = value;
        else if (!strcmp (arg, "--topic"))  self->topic = value;
        else if (!strcmp (arg, "--bus"))    self->bus = value;
        else if (!strcmp (arg, "--id"))     self->id = value;
        else if (!strcmp (arg, "--ready-dir")) self->ready_dir = value;
        else if (!strcmp (arg, "--latency")) self->lat_file = value;
        else if (!strcmp (arg, "--count"))  self->count = strtoull (value, NULL, 10);
        else if (!strcmp (arg, "--rate"))   self->rate = strtod (value, NULL);
        else if (!strcmp (arg, "--seconds")) self->seconds = strtod (value, NULL);
        else if (!strcmp (arg, "--frames")) self->frames = atoi (value);
        else if (!strcmp (arg, "--timeout")) self->timeout = strtod (value, NULL);
        else if (!strcmp (arg, "--wait")) {
            if (self->ready_count == 8) {
                fprintf (stderr, "bench: at most 8 --wait\n");
                return -1;
            }
            self->ready_ids [self->ready_count++] = argv [i];
        }
        else {
            fprintf (stderr, "bench: unknown option %s\n", arg);
            s_usage ();
            return -1;
        }
    }
    if (!self->endpoint || !self->count || !self->ready_dir
    ||  (!strcmp (self->role, "sub") && !self->id)) {
        fprintf (stderr, "bench: %s needs --endpoint, --count, --ready-dir%s\n", self->role,
                 strcmp (self->role, "sub")? "": " and --id");
        s_usage ();
        return -1;
    }
    return 0;
}

void
bench_pub_report (uint64_t sent, size_t size, uint64_t start, uint64_t end)
{
    printf ("pub sent=%llu size=%zu start=%llu end=%llu\n", (unsigned long long) sent, size,
            (unsigned long long) start, (unsigned long long) end);
    fflush (stdout);
}

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

void
bench_catch_stop (void)
{
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
}

bool
bench_stopped (void)
{
    return s_stop != 0;
}
