/*  payment: publishes Payment Processed events

    The publisher of the example: each event has source demo.payments,
    detail-type "Payment Processed" and a detail with total_cost,
    customer_id, order_id, address and items. Three ways to say what to
    publish: one payment from flags (--total), payments as JSON lines on
    stdin (each line a detail object), or N generated payments whose totals
    spread above and below 200 (--count, --rate, --seed).

    Entries go out through libmesh's batch loop (mesh_batch_t) in
    put-events calls of up to 10, with EventBridge's per-entry results: a
    bad line is reported with its error code and the rest are still sent.
    It says what it knows and no more: an event is "queued" when libzmq has
    it, and at exit the summary says how many the broker's host took
    ("handed over"), how many went with a broker that went away ("lost")
    and how many the linger could not hand over in time; any of the last
    two makes the exit status 1.
*/
#include <czmq.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include "mesh.h"

typedef struct {
    const char *ingest;
    const char *bus;
    const char *source;
    const char *detail_type;
    int batch;
    double total;               //  -1: not given
    const char *customer;
    const char *address;
    const char *order;
    int items;
    bool from_stdin;
    int64_t count;              //  -1: not given
    double rate;
    int64_t seed;
    mesh_pub_options_t pub;
    bool monitor;
    bool quiet;
} s_settings_t;

#define S_AT(field) offsetof (s_settings_t, field)

static const mesh_option_t s_table [] = {
    { "ingest", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, S_AT (ingest), mesh_flags_ingest },
    { "bus", 0, "MESH_BUS", MESH_OPTION_STRING, 0, 0, "eda_bus", "NAME", "event bus", S_AT (bus), NULL },
    { "source", 0, NULL, MESH_OPTION_STRING, 0, 0, "demo.payments", "TEXT", "event source", S_AT (source), NULL },
    { "detail-type", 0, NULL, MESH_OPTION_STRING, 0, 0, "Payment Processed", "TEXT", "event detail-type",
      S_AT (detail_type), NULL },
    { "batch", 0, NULL, MESH_OPTION_INT, 1, MESH_MAX_ENTRIES, "10", "N", "entries per put-events call",
      S_AT (batch), NULL },
    { "total", 0, NULL, MESH_OPTION_DOUBLE, 0, INFINITY, NULL, "AMOUNT", "publish one payment of this total_cost",
      S_AT (total), NULL },
    { "customer-id", 0, NULL, MESH_OPTION_STRING, 0, 0, "3213", "ID", "with --total: the customer",
      S_AT (customer), NULL },
    { "address", 0, NULL, MESH_OPTION_STRING, 0, 0, "12 Harbour St, Leith", "TEXT",
      "with --total: the delivery address", S_AT (address), NULL },
    { "order-id", 0, NULL, MESH_OPTION_STRING, 0, 0, "ord-000001", "ID", "with --total: the order",
      S_AT (order), NULL },
    { "items", 0, NULL, MESH_OPTION_INT, 0, 100, "2", "N", "with --total: how many items", S_AT (items), NULL },
    { "stdin", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL, "publish one payment per JSON line on stdin",
      S_AT (from_stdin), NULL },
    { "count", 0, NULL, MESH_OPTION_INT64, 0, INFINITY, NULL, "N", "publish N generated payments",
      S_AT (count), NULL },
    { "rate", 0, NULL, MESH_OPTION_DOUBLE, 0, INFINITY, "0", "R",
      "generated events per second; 0: as fast as the broker takes them", S_AT (rate), NULL },
    { "seed", 0, NULL, MESH_OPTION_INT64, 0, INFINITY, "1", "S", "seed of the generated payments",
      S_AT (seed), NULL },
    { "connect-timeout", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL,
      S_AT (pub.connect_timeout_ms), mesh_flags_connect_timeout },
    { "linger", 0, NULL, MESH_OPTION_INT, 0, 3600000, "5000", "MS",
      "at exit, how long to wait for the broker to take what is queued", S_AT (pub.linger_ms), NULL },
    { "monitor", 0, NULL, MESH_OPTION_TABLE, 0, 0, NULL, NULL, NULL, S_AT (monitor), mesh_flags_monitor },
    { "quiet", 0, NULL, MESH_OPTION_BOOL, 0, 0, NULL, NULL, "no line per event, only the summary",
      S_AT (quiet), NULL },
    { NULL }
};

static const mesh_options_t s_spec = {
    "payment",
    "usage: payment [options] --total AMOUNT [--customer-id ID] [--address TEXT] [--items N]\n"
    "       payment [options] --stdin\n"
    "       payment [options] --count N [--rate PER_SECOND] [--seed S]",
    "Publishes Payment Processed events (source demo.payments) to the mesh broker:\n"
    "one from flags, one per JSON line on stdin (each line is the event's detail,\n"
    "a JSON object), or N generated ones with total_cost spread from 20 to 380.",
    "It prints one line per event queued for the broker (its id and\n"
    "total_cost), one per entry refused (EventBridge's error code and message),\n"
    "and a summary on stderr: queued, refused, and of the queued ones how many\n"
    "were handed over (the broker's host acknowledged them), lost (the broker\n"
    "went away while they were queued) and not handed over (still queued when\n"
    "--linger ran out). Exit status 0 when every event was handed over, 1\n"
    "otherwise.\n",
    s_table
};

typedef struct {
    bool quiet;
    bool label_total;           //  add the detail's total_cost to each label (stdin)
    uint64_t over_200;
} s_report_t;

//  Each entry's result: one line, queued or refused.
static void
s_report (const mesh_entry_t *entry, const mesh_entry_result_t *result, const char *label, void *arg)
{
    s_report_t *self = (s_report_t *) arg;
    char text [128];
    snprintf (text, sizeof (text), "%s", label);
    json_t *detail = self->label_total? json_loads (entry->detail, JSON_DECODE_ANY, NULL): NULL;
    json_t *total = detail? json_object_get (detail, "total_cost"): NULL;
    if (json_is_number (total)) {
        size_t used = strlen (text);
        snprintf (text + used, sizeof (text) - used, " total_cost=%.2f", json_number_value (total));
        if (json_number_value (total) > 200)
            self->over_200++;
    }
    json_decref (detail);
    if (*result->event_id) {
        if (!self->quiet)
            printf ("payment: queued id=%s %s\n", result->event_id, text);
    }
    else
        printf ("payment: refused %s: %s: %s\n", text, result->error_code, result->error_message);
    fflush (stdout);
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

//  Add one payment to the batch; the detail is taken.
static int
s_add (mesh_batch_t *batch, const mesh_entry_t *template, char *detail, const char *label, mesh_error_t *err)
{
    mesh_entry_t entry = *template;
    entry.detail = detail;
    int rc = mesh_batch_add (batch, &entry, label, err);
    free (detail);
    return rc;
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

static int
s_generate (mesh_batch_t *batch, const mesh_entry_t *template, const s_settings_t *settings,
            s_report_t *report, mesh_error_t *err)
{
    static const char *addresses [] = { "12 Harbour St, Leith", "4 Rue des Lilas, Lyon",
                                        "221B Baker St, London", "7 Calle Mayor, Madrid" };
    uint64_t state = (uint64_t) settings->seed * 0x9E3779B97F4A7C15ULL + 1;
    int64_t start = zclock_usecs ();
    for (uint64_t i = 0; i < (uint64_t) settings->count && !zsys_interrupted; i++) {
        if (settings->rate > 0) {
            int64_t due = start + (int64_t) ((double) i * 1e6 / settings->rate);
            int64_t now = zclock_usecs ();
            if (due > now) {
                if (mesh_batch_flush (batch, err))      //  do not hold paced events back
                    return -1;
                zclock_sleep ((int) ((due - now) / 1000));
            }
        }
        double total = (double) (2000 + s_random (&state) % 36000) / 100.0;
        char customer [16], order [24], label [64];
        snprintf (customer, sizeof (customer), "%d", (int) (1000 + s_random (&state) % 9000));
        snprintf (order, sizeof (order), "ord-%06" PRIu64, i + 1);
        if (total > 200)
            report->over_200++;
        snprintf (label, sizeof (label), "order=%s total_cost=%.2f", order, total);
        if (s_add (batch, template, s_payment_detail (total, customer, order, addresses [i % 4],
                                                      1 + (int) (s_random (&state) % 4)), label, err))
            return -1;
    }
    return mesh_batch_flush (batch, err);
}

int
main (int argc, char *argv [])
{
    s_settings_t settings = { .total = -1, .count = -1 };
    mesh_pub_options_init (&settings.pub);
    int status = mesh_options_main (&s_spec, argc, argv, &settings, stdout, stderr, 1);
    if (status >= 0)
        return status;
    int modes = (settings.total >= 0) + settings.from_stdin + (settings.count >= 0);
    if (modes != 1) {
        fprintf (stderr, "payment: say what to publish: one of --total, --stdin or --count (see --help)\n");
        return 1;
    }
    zsys_init ();
    zsys_catch_interrupts ();       //  SIGINT/SIGTERM: send what is batched, then stop
    mesh_error_t err = { 0 };
    if (settings.monitor)
        settings.pub.monitor = stderr;
    mesh_pub_t *pub = mesh_pub_new (settings.ingest, settings.bus, &settings.pub, &err);
    if (!pub) {
        fprintf (stderr, "payment: %s\n", err.text);
        return 1;
    }
    s_report_t report = { .quiet = settings.quiet };
    mesh_batch_t *batch = mesh_batch_new (pub, (size_t) settings.batch, s_report, &report);
    assert (batch);
    mesh_entry_t template = { .source = settings.source, .detail_type = settings.detail_type,
                              .event_bus_name = settings.bus };
    int64_t start = zclock_mono ();
    int rc;
    if (settings.total >= 0) {
        char label [64];
        snprintf (label, sizeof (label), "total_cost=%.2f", settings.total);
        if (settings.total > 200)
            report.over_200++;
        rc = s_add (batch, &template, s_payment_detail (settings.total, settings.customer, settings.order,
                                                        settings.address, settings.items), label, &err);
        if (!rc)
            rc = mesh_batch_flush (batch, &err);
    }
    else
    if (settings.from_stdin) {
        report.label_total = true;
        rc = mesh_batch_put_lines (batch, stdin, &template, &err);
    }
    else
        rc = s_generate (batch, &template, &settings, &report, &err);
    if (rc)
        fprintf (stderr, "payment: put-events failed: %s\n", err.text);
    //  What linger would do, counted: wait for the broker's host to take
    //  what is queued, and say what it did not take
    uint64_t unhanded = mesh_pub_drain (pub, settings.pub.linger_ms);
    int64_t elapsed = zclock_mono () - start;
    mesh_batch_stats_t stats;
    mesh_batch_stats (batch, &stats);
    mesh_pub_stats_t sent;
    mesh_pub_stats (pub, &sent);
    fprintf (stderr, "payment: queued %" PRIu64 " event(s) (over_200=%" PRIu64 "), refused %" PRIu64
             ", in %" PRId64 " ms%s\n", stats.queued, report.over_200, stats.refused, elapsed,
             stats.request_failed? "; stopped on a request failure": "");
    if (sent.exact)
        fprintf (stderr, "payment: handed over %" PRIu64 ", lost %" PRIu64 " when the broker went away"
                 ", not handed over %" PRIu64 " when --linger (%d ms) ran out\n",
                 sent.handed, sent.lost, unhanded, settings.pub.linger_ms);
    else
        fprintf (stderr, "payment: handed over %" PRIu64 ", lost %" PRIu64 ", not handed over %" PRIu64
                 ", unknown %" PRIu64 " (the transport does not say)\n",
                 sent.handed, sent.lost, unhanded, sent.uncounted);
    mesh_batch_destroy (&batch);
    mesh_pub_destroy (&pub);
    return stats.refused || stats.request_failed || sent.lost || unhanded? 1: 0;
}
