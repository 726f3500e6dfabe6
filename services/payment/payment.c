/*  payment: publishes Payment Processed events

    The publisher of the example: each event has source demo.payments,
    detail-type "Payment Processed" and a detail with total_cost,
    customer_id, order_id, address and items. Three ways to say what to
    publish: one payment from flags (--total), payments as JSON lines on
    stdin (each line a detail object), or N generated payments whose totals
    spread above and below 200 (--count, --rate, --seed).

    Entries go out in put-events batches of up to 10, with EventBridge's
    per-entry results: a bad line is reported with its error code and the
    rest are still sent.
*/
#include <czmq.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include "mesh.h"

typedef struct {
    const char *ingest;
    const char *bus;
    const char *source;
    const char *detail_type;
    int batch;
    bool quiet;
    mesh_pub_t *pub;
    //  the pending batch
    mesh_entry_t entries [MESH_MAX_ENTRIES];
    char *details [MESH_MAX_ENTRIES];
    char labels [MESH_MAX_ENTRIES][64];
    size_t pending;
    //  totals
    uint64_t published;
    uint64_t failed;
    uint64_t over_200;
    bool request_failed;
} self_t;

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: payment [options] --total AMOUNT [--customer-id ID] [--address TEXT] [--items N]\n"
        "       payment [options] --stdin\n"
        "       payment [options] --count N [--rate PER_SECOND] [--seed S]\n"
        "\n"
        "Publishes Payment Processed events (source demo.payments) to the mesh broker:\n"
        "one from flags, one per JSON line on stdin (each line is the event's detail,\n"
        "a JSON object), or N generated ones with total_cost spread from 20 to 380.\n"
        "\n"
        "options:\n"
        "  --ingest EP           broker's ingest endpoint [MESH_INGEST, default %s]\n"
        "  --bus NAME            event bus [MESH_BUS, default eda_bus]\n"
        "  --source TEXT         event source (default demo.payments)\n"
        "  --detail-type TEXT    event detail-type (default \"Payment Processed\")\n"
        "  --batch N             entries per put-events call, 1 to 10 (default 10)\n"
        "  --rate R              generated events per second (default 0: as fast as the\n"
        "                        broker takes them)\n"
        "  --seed S              seed of the generated payments (default 1)\n"
        "  --connect-timeout MS  how long to wait for the broker (default 5000)\n"
        "  --quiet               no line per event, only the summary\n"
        "  -h, --help            this text\n"
        "\n"
        "It prints one line per event published (its id and total_cost), one per\n"
        "entry refused (EventBridge's error code and message), and a summary on\n"
        "stderr. Exit status 0 when every event was published, 1 otherwise.\n",
        MESH_INGEST_DEFAULT);
}

//  Send the pending batch with put-events and report each entry.
static void
s_flush (self_t *self)
{
    if (self->pending == 0)
        return;
    mesh_entry_result_t results [MESH_MAX_ENTRIES];
    mesh_error_t err = { 0 };
    int rc = mesh_pub_put_events (self->pub, self->entries, self->pending, results, &err);
    if (rc == -1) {
        fprintf (stderr, "payment: put-events failed: %s\n", err.text);
        self->request_failed = true;
    }
    for (size_t i = 0; i < self->pending; i++) {
        if (*results [i].event_id) {
            self->published++;
            if (!self->quiet)
                printf ("payment: published id=%s %s\n", results [i].event_id, self->labels [i]);
        }
        else {
            self->failed++;
            printf ("payment: refused %s: %s: %s\n", self->labels [i], results [i].error_code,
                    results [i].error_message);
        }
        free (self->details [i]);
        self->details [i] = NULL;
    }
    fflush (stdout);
    self->pending = 0;
}

//  Queue one entry; detail is taken.
static void
s_add (self_t *self, char *detail, const char *label)
{
    size_t i = self->pending++;
    self->details [i] = detail;
    self->entries [i] = (mesh_entry_t) { .source = self->source, .detail_type = self->detail_type,
                                         .detail = detail, .event_bus_name = self->bus };
    snprintf (self->labels [i], sizeof (self->labels [i]), "%s", label);
    if ((int) self->pending >= self->batch)
        s_flush (self);
}

static char *
s_payment_detail (double total, const char *customer, const char *order, const char *address, int items)
{
    json_t *list = json_array ();
    static const char *skus [] = { "book-1984", "mug-blue", "lamp-desk", "pen-black", "tea-green" };
    for (int i = 0; i < items; i++)
        json_array_append_new (list, json_pack ("{s:s, s:i}", "sku", skus [i % 5], "quantity", 1 + i % 3));
    //  The total as a two-decimal JSON number: parsed, it is a float.
    char total_text [64];
    snprintf (total_text, sizeof (total_text), "%.2f", total);
    json_t *detail = json_pack ("{s:o, s:s, s:s, s:s, s:o}",
                                "total_cost", json_loads (total_text, JSON_DECODE_ANY, NULL),
                                "customer_id", customer, "order_id", order,
                                "address", address, "items", list);
    char *text = json_dumps (detail, JSON_COMPACT | JSON_REAL_PRECISION (15));
    json_decref (detail);
    return text;
}

//  A small deterministic generator (xorshift64*), so a seed names a run.
static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

static void
s_generate (self_t *self, uint64_t count, double rate, uint64_t seed)
{
    static const char *addresses [] = { "12 Harbour St, Leith", "4 Rue des Lilas, Lyon",
                                        "221B Baker St, London", "7 Calle Mayor, Madrid" };
    uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
    int64_t start = zclock_usecs ();
    for (uint64_t i = 0; i < count && !zsys_interrupted && !self->request_failed; i++) {
        if (rate > 0) {
            int64_t due = start + (int64_t) ((double) i * 1e6 / rate);
            int64_t now = zclock_usecs ();
            if (due > now) {
                s_flush (self);     //  do not hold paced events back
                zclock_sleep ((int) ((due - now) / 1000));
            }
        }
        double total = (double) (2000 + s_random (&state) % 36000) / 100.0;
        char customer [16], order [24], label [64];
        snprintf (customer, sizeof (customer), "%d", (int) (1000 + s_random (&state) % 9000));
        snprintf (order, sizeof (order), "ord-%06" PRIu64, i + 1);
        if (total > 200)
            self->over_200++;
        snprintf (label, sizeof (label), "order=%s total_cost=%.2f", order, total);
        s_add (self, s_payment_detail (total, customer, order, addresses [i % 4],
                                       1 + (int) (s_random (&state) % 4)), label);
    }
    s_flush (self);
}

static void
s_read_stdin (self_t *self)
{
    char *line = NULL;
    size_t capacity = 0;
    ssize_t size;
    uint64_t number = 0;
    while (!zsys_interrupted && !self->request_failed && (size = getline (&line, &capacity, stdin)) != -1) {
        number++;
        while (size > 0 && (line [size - 1] == '\n' || line [size - 1] == '\r'))
            line [--size] = '\0';
        if (size == 0)
            continue;
        char label [64];
        json_t *detail = json_loads (line, JSON_DECODE_ANY, NULL);
        json_t *total = detail? json_object_get (detail, "total_cost"): NULL;
        if (json_is_number (total)) {
            snprintf (label, sizeof (label), "line=%" PRIu64 " total_cost=%.2f", number, json_number_value (total));
            if (json_number_value (total) > 200)
                self->over_200++;
        }
        else
            snprintf (label, sizeof (label), "line=%" PRIu64, number);
        json_decref (detail);
        s_add (self, strdup (line), label);
    }
    free (line);
    s_flush (self);
}

int
main (int argc, char *argv [])
{
    self_t self = { .ingest = mesh_env_endpoint ("MESH_INGEST", MESH_INGEST_DEFAULT),
                    .bus = mesh_env_endpoint ("MESH_BUS", "eda_bus"),
                    .source = "demo.payments", .detail_type = "Payment Processed", .batch = 10 };
    mesh_pub_options_t options;
    mesh_pub_options_init (&options);
    double total = -1, rate = 0;
    const char *customer = "3213", *address = "12 Harbour St, Leith", *order = NULL;
    int items = 2;
    long long count = -1;
    unsigned long long seed = 1;
    bool from_stdin = false;

    static struct option long_options [] = {
        { "ingest", required_argument, NULL, 'i' }, { "bus", required_argument, NULL, 'b' },
        { "source", required_argument, NULL, 's' }, { "detail-type", required_argument, NULL, 'D' },
        { "batch", required_argument, NULL, 'B' }, { "total", required_argument, NULL, 't' },
        { "customer-id", required_argument, NULL, 'c' }, { "address", required_argument, NULL, 'a' },
        { "order-id", required_argument, NULL, 'o' }, { "items", required_argument, NULL, 'I' },
        { "stdin", no_argument, NULL, 'S' }, { "count", required_argument, NULL, 'n' },
        { "rate", required_argument, NULL, 'r' }, { "seed", required_argument, NULL, 'e' },
        { "connect-timeout", required_argument, NULL, 'T' }, { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
    };
    opterr = 0;
    int c;
    char *end = NULL;
    //  Parse a number flag; on a bad value name the flag and stop.
    #define NUMBER(parse, target, test, what) \
        do { target = parse; if (*end || end == optarg || !(test)) { \
            const char *flag = "?"; \
            for (struct option *o = long_options; o->name; o++) \
                if (o->val == c) flag = o->name; \
            fprintf (stderr, "payment: --%s: expected %s, got '%s'\n", flag, what, optarg); \
            return 1; } } while (0)
    while ((c = getopt_long (argc, argv, "h", long_options, NULL)) != -1) {
        switch (c) {
            case 'i': self.ingest = optarg; break;
            case 'b': self.bus = optarg; break;
            case 's': self.source = optarg; break;
            case 'D': self.detail_type = optarg; break;
            case 'c': customer = optarg; break;
            case 'a': address = optarg; break;
            case 'o': order = optarg; break;
            case 'S': from_stdin = true; break;
            case 'q': self.quiet = true; break;
            case 'h': s_usage (stdout); return 0;
            case 'B': NUMBER (strtol (optarg, &end, 10), self.batch, self.batch >= 1 && self.batch <= 10,
                              "a batch size from 1 to 10"); break;
            case 't': NUMBER (strtod (optarg, &end), total, total >= 0, "an amount >= 0"); break;
            case 'I': NUMBER (strtol (optarg, &end, 10), items, items >= 0 && items <= 100,
                              "an item count from 0 to 100"); break;
            case 'n': NUMBER (strtoll (optarg, &end, 10), count, count >= 0, "a count >= 0"); break;
            case 'r': NUMBER (strtod (optarg, &end), rate, rate >= 0, "events per second >= 0"); break;
            case 'e': NUMBER (strtoull (optarg, &end, 10), seed, true, "a whole number"); break;
            case 'T': NUMBER (strtol (optarg, &end, 10), options.connect_timeout_ms, true, "milliseconds"); break;
            default:
                fprintf (stderr, "payment: unknown or incomplete option '%s' (see --help)\n", argv [optind - 1]);
                return 1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "payment: unexpected argument '%s' (see --help)\n", argv [optind]);
        return 1;
    }
    int modes = (total >= 0) + from_stdin + (count >= 0);
    if (modes != 1) {
        fprintf (stderr, "payment: say what to publish: one of --total, --stdin or --count (see --help)\n");
        return 1;
    }
    zsys_init ();
    zsys_catch_interrupts ();       //  SIGINT/SIGTERM: send what is batched, then stop
    mesh_error_t err = { 0 };
    self.pub = mesh_pub_new (self.ingest, self.bus, &options, &err);
    if (!self.pub) {
        fprintf (stderr, "payment: %s\n", err.text);
        return 1;
    }
    int64_t start = zclock_mono ();
    if (total >= 0) {
        char label [64];
        snprintf (label, sizeof (label), "total_cost=%.2f", total);
        if (total > 200)
            self.over_200++;
        s_add (&self, s_payment_detail (total, customer, order? order: "ord-000001", address, items), label);
        s_flush (&self);
    }
    else
    if (from_stdin)
        s_read_stdin (&self);
    else
        s_generate (&self, (uint64_t) count, rate, seed);
    int64_t elapsed = zclock_mono () - start;
    fprintf (stderr, "payment: published %" PRIu64 " event(s) (over_200=%" PRIu64 "), refused %" PRIu64
             ", in %" PRId64 " ms%s\n", self.published, self.over_200, self.failed, elapsed,
             self.request_failed? "; stopped on a request failure": "");
    mesh_pub_destroy (&self.pub);
    return self.failed || self.request_failed? 1: 0;
}
