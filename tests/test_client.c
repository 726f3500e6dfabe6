/*  test_client.c: put-events validation, the publisher and the subscriber

    Validation needs no broker: every EventBridge error an entry can get is
    checked here with its code and message. The round trip through a real
    mesh-broker process checks what a subscriber receives. Then the loss
    reports: a publisher's readiness across a broker restart, a restarted
    subscriber (the library and the warehouse service) counting what it
    missed, a broker restart counted once, a lost tail seen through a
    heartbeat (from a stand-in broker until the real one sends them), a
    drain that counts what a stalled broker did not take, and payment's
    exit status when the broker goes.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>
#include <inttypes.h>
#include <signal.h>
#include "mesh.h"
#include "support/testkit.h"

#define COUNT(a) (sizeof (a) / sizeof ((a) [0]))

static mesh_entry_t
s_entry (void)
{
    return (mesh_entry_t) { .source = "demo.payments", .detail_type = "Payment Processed",
                            .detail = "{\"total_cost\": 242.58}" };
}

//  Validate one entry and check the outcome: NULL code means it must pass.
static void
s_expect (const mesh_entry_t *entry, const char *code, const char *message)
{
    mesh_entry_result_t result;
    mesh_event_t *event = mesh_entry_to_event (entry, "eda_bus", NULL, &result);
    if (!code) {
        if (!event)
            fail_msg ("refused: %s: %s", result.error_code, result.error_message);
        assert_int_equal (strlen (result.event_id), 36);
        assert_string_equal (result.event_id, mesh_event_id (event));
        mesh_event_destroy (&event);
        return;
    }
    assert_null (event);
    assert_string_equal (result.error_code, code);
    if (!strstr (result.error_message, message))
        fail_msg ("expected '%s' in '%s'", message, result.error_message);
    assert_int_equal (result.event_id [0], '\0');
}

static void
test_entry_valid_gets_an_event_with_defaults (void **state)
{
    (void) state;
    mesh_entry_t entry = s_entry ();
    const char *resources [] = { "arn:aws:ec2:us-east-1:123456789012:instance/i-1" };
    entry.resources = resources;
    entry.resource_count = 1;
    entry.time = "2026-11-27T10:00:00+01:00";
    mesh_entry_result_t result;
    mesh_event_t *event = mesh_entry_to_event (&entry, "eda_bus", NULL, &result);
    assert_non_null (event);
    assert_string_equal (mesh_event_source (event), "demo.payments");
    assert_string_equal (mesh_event_detail_type (event), "Payment Processed");
    assert_string_equal (mesh_event_time (event), "2026-11-27T09:00:00Z");
    assert_int_equal (mesh_event_resource_count (event), 1);
    double total;
    assert_int_equal (mesh_event_get_number (event, "detail.total_cost", &total), 0);
    assert_true (total == 242.58);
    mesh_event_destroy (&event);
}

static void
test_entry_requires_source_detail_type_and_detail (void **state)
{
    (void) state;
    mesh_entry_t entry = s_entry ();
    entry.source = NULL;
    s_expect (&entry, "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.");
    entry = s_entry ();
    entry.detail_type = NULL;
    s_expect (&entry, "InvalidArgument",
              "Parameter DetailType is not valid. Reason: DetailType is a required argument.");
    entry = s_entry ();
    entry.detail = NULL;
    s_expect (&entry, "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.");
}

static void
test_entry_detail_must_be_a_json_object (void **state)
{
    (void) state;
    const char *bad [] = { "[1, 2]", "\"text\"", "{\"a\": ", "42", "null", "{\"a\":1} trailing", "" };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        mesh_entry_t entry = s_entry ();
        entry.detail = bad [i];
        s_expect (&entry, "MalformedDetail", "Detail is malformed.");
    }
    mesh_entry_t entry = s_entry ();
    entry.detail = "{}";
    s_expect (&entry, NULL, NULL);
}

static void
test_entry_refuses_reserved_sources_bad_buses_times_and_text (void **state)
{
    (void) state;
    mesh_entry_t entry = s_entry ();
    entry.source = "aws.ec2";
    s_expect (&entry, "NotAuthorizedForSourceException", "Not authorized for the source");
    entry = s_entry ();
    entry.event_bus_name = "no spaces allowed";
    s_expect (&entry, "InvalidArgument", "Parameter EventBusName is not valid");
    entry = s_entry ();
    entry.time = "yesterday";
    s_expect (&entry, "InvalidArgument", "Parameter Time is not valid");
    entry = s_entry ();
    entry.time = "2026-13-01T00:00:00Z";
    s_expect (&entry, "InvalidArgument", "Parameter Time is not valid");
    entry = s_entry ();
    entry.source = "bad\xc3\x28utf8";
    s_expect (&entry, "InvalidArgument", "Parameter Source is not valid");
    entry = s_entry ();
    const char *resources [] = { "ok", NULL };
    entry.resources = resources;
    entry.resource_count = 2;
    s_expect (&entry, "InvalidArgument", "Parameter Resources is not valid");
}

static void
test_entry_over_the_size_limit_is_refused (void **state)
{
    (void) state;
    size_t size = 300 * 1024;
    char *detail = malloc (size + 16);
    strcpy (detail, "{\"pad\":\"");
    memset (detail + 8, 'x', size);
    strcpy (detail + 8 + size, "\"}");
    mesh_entry_t entry = s_entry ();
    entry.detail = detail;
    s_expect (&entry, "InvalidArgument", "over the limit of 262144");
    free (detail);
}

static void
test_put_events_checks_the_request (void **state)
{
    (void) state;
    mesh_pub_options_t options;
    mesh_pub_options_init (&options);
    options.connect_timeout_ms = 200;
    mesh_error_t err = { 0 };
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", tk_free_port ());
    mesh_pub_t *pub = mesh_pub_new (endpoint, "eda_bus", &options, &err);
    assert_non_null (pub);
    mesh_entry_t entries [11];
    mesh_entry_result_t results [11];
    for (int i = 0; i < 11; i++)
        entries [i] = s_entry ();
    assert_int_equal (mesh_pub_put_events (pub, entries, 0, results, &err), -1);
    assert_int_equal (err.code, MESH_EINVAL);
    assert_int_equal (mesh_pub_put_events (pub, entries, 11, results, &err), -1);
    assert_non_null (strstr (err.text, "Member must have length between 1 and 10, got 11"));

    //  total size over the limit: 10 entries of 30 KB
    char *detail = malloc (30 * 1024 + 16);
    strcpy (detail, "{\"pad\":\"");
    memset (detail + 8, 'x', 30 * 1024);
    strcpy (detail + 8 + 30 * 1024, "\"}");
    for (int i = 0; i < 10; i++)
        entries [i].detail = detail;
    assert_int_equal (mesh_pub_put_events (pub, entries, 10, results, &err), -1);
    assert_int_equal (err.code, MESH_ETOOBIG);
    assert_non_null (strstr (err.text, "Total size of the entries in the request is over the limit"));
    free (detail);

    //  all entries invalid: answered without a broker
    entries [0] = s_entry ();
    entries [0].source = NULL;
    entries [1] = s_entry ();
    entries [1].detail = "[]";
    assert_int_equal (mesh_pub_put_events (pub, entries, 2, results, &err), 2);
    assert_string_equal (results [0].error_code, "InvalidArgument");
    assert_string_equal (results [1].error_code, "MalformedDetail");

    //  what the broker would refuse is refused here, before anything is sent:
    //  an empty source, a detail-type over 128 characters, an id that is not
    //  a UUID v4 (the broker's own check, mesh_event_check)
    char long_type [130];
    memset (long_type, 't', 129);
    long_type [129] = '\0';
    entries [0] = s_entry ();
    entries [0].source = "";
    entries [1] = s_entry ();
    entries [1].detail_type = long_type;
    entries [2] = s_entry ();
    entries [2].id = "order-42";
    int64_t quick = zclock_mono ();
    assert_int_equal (mesh_pub_put_events (pub, entries, 3, results, &err), 3);
    assert_true (zclock_mono () - quick < 150);         //  nothing waited for a broker
    for (int i = 0; i < 3; i++) {
        assert_string_equal (results [i].error_code, "InvalidArgument");
        assert_int_equal (results [i].event_id [0], '\0');
    }
    assert_non_null (strstr (results [0].error_message, "'source' must be 1 to 256 characters"));
    assert_non_null (strstr (results [1].error_message, "'detail-type' must be 1 to 128 characters"));
    assert_non_null (strstr (results [2].error_message, "'id' is not a lowercase UUID v4"));

    //  a valid entry and no broker: a timeout, reported, and the entry not sent
    entries [1] = s_entry ();
    int64_t start = zclock_mono ();
    assert_int_equal (mesh_pub_put_events (pub, entries, 2, results, &err), -1);
    assert_true (zclock_mono () - start >= 150);
    assert_int_equal (err.code, MESH_ETIMEDOUT);
    assert_non_null (strstr (err.text, "no broker at"));
    assert_string_equal (results [0].error_code, "InvalidArgument");
    assert_string_equal (results [1].error_code, "InternalFailure");
    assert_int_equal (results [1].event_id [0], '\0');
    mesh_pub_destroy (&pub);
    assert_null (pub);
}

//  Options on the stack start from whatever was there: init sets every
//  field (a resume position left over made a fresh subscriber count the
//  broker's whole history as missed).
static void
test_subscriber_options_init_sets_every_field (void **state)
{
    (void) state;
    mesh_sub_options_t options;
    memset (&options, 0xa5, sizeof (options));
    mesh_sub_options_init (&options);
    assert_int_equal (options.resume_epoch, 0);
    assert_int_equal (options.resume_seq, 0);
    assert_int_equal (options.connect_timeout_ms, 5000);
    assert_int_equal (options.rcvhwm, 10000);
}

static void
test_subscriber_refuses_bad_names_and_times_out (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    assert_null (mesh_sub_new ("tcp://127.0.0.1:1", "bad name", NULL, &err));
    assert_int_equal (err.code, MESH_EINVAL);
    mesh_sub_options_t options;
    mesh_sub_options_init (&options);
    options.connect_timeout_ms = 200;
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", tk_free_port ());
    assert_null (mesh_sub_new (endpoint, "rewards", &options, &err));
    assert_int_equal (err.code, MESH_ETIMEDOUT);
    assert_non_null (strstr (err.text, "subscriber 'rewards': no broker at"));
}

//  Through a real broker: what put-events sends, the subscriber receives,
//  with its rule, bus and sequence; "rewards" never sees "rewards-v2".
static void
test_publish_and_receive_through_the_broker (void **state)
{
    (void) state;
    char *dir = tk_tempdir ();
    char config [512], deliver [256], ingest [256];
    snprintf (config, sizeof (config), "%s/bus.json", dir);
    tk_write (config,
        "{\"bus\":\"shop\",\"rules\":["
        "{\"name\":\"big\",\"event_pattern\":{\"detail\":{\"amount\":[{\"numeric\":[\">\",100]}]}},"
        " \"targets\":[{\"name\":\"rewards\"}]},"
        "{\"name\":\"all\",\"event_pattern\":{\"source\":[\"shop\"]},"
        " \"targets\":[{\"name\":\"rewards-v2\"}]}]}");
    tk_proc_t broker;
    assert_int_equal (tk_broker_start (&broker, dir, config, deliver, NULL), 0);
    mesh_error_t err = { 0 };
    mesh_sub_t *rewards = mesh_sub_new (deliver, "rewards", NULL, &err);
    mesh_sub_t *v2 = mesh_sub_new (deliver, "rewards-v2", NULL, &err);
    assert_non_null (rewards);
    assert_non_null (v2);
    assert_true (mesh_sub_routed (rewards));
    assert_int_equal (tk_broker_ingest (dir, ingest, 10000), 0);

    mesh_pub_t *pub = mesh_pub_new (ingest, "shop", NULL, &err);
    assert_non_null (pub);
    mesh_entry_t entries [3] = {
        { .source = "shop", .detail_type = "Order", .detail = "{\"amount\": 150, \"who\": \"\xf0\x9f\x98\x80\"}" },
        { .source = "shop", .detail_type = "Order", .detail = "{\"amount\": 50}" },
        { .source = "shop", .detail_type = "Order", .detail = "{\"amount\": 100.5}" },
    };
    mesh_entry_result_t results [3];
    assert_int_equal (mesh_pub_put_events (pub, entries, 3, results, &err), 0);

    mesh_delivery_t delivery;
    assert_int_equal (mesh_sub_recv (rewards, &delivery, 5000, &err), 1);
    assert_string_equal (delivery.rule, "big");
    assert_string_equal (delivery.bus, "shop");
    assert_string_equal (delivery.target, "rewards");
    assert_int_equal (delivery.seq, 1);
    assert_int_equal (delivery.missed, 0);
    assert_string_equal (mesh_event_id (delivery.event), results [0].event_id);
    assert_string_equal (mesh_event_get_string (delivery.event, "detail.who"), "\xf0\x9f\x98\x80");
    assert_int_equal (mesh_sub_recv (rewards, &delivery, 5000, &err), 1);
    assert_int_equal (delivery.seq, 2);
    assert_string_equal (mesh_event_id (delivery.event), results [2].event_id);
    assert_int_equal (mesh_sub_recv (rewards, &delivery, 300, &err), 0);

    for (int i = 0; i < 3; i++) {
        assert_int_equal (mesh_sub_recv (v2, &delivery, 5000, &err), 1);
        assert_string_equal (delivery.rule, "all");
        assert_int_equal (delivery.seq, (uint64_t) i + 1);
        assert_string_equal (mesh_event_id (delivery.event), results [i].event_id);
    }
    mesh_sub_stats_t stats;
    mesh_sub_stats (v2, &stats);
    assert_int_equal (stats.received, 3);
    assert_int_equal (stats.missed, 0);

    mesh_pub_destroy (&pub);
    mesh_sub_destroy (&rewards);
    mesh_sub_destroy (&v2);
    assert_int_equal (tk_stop (&broker), 0);
    tk_tempdir_remove (&dir);
}

//  Loss that cannot be avoided is visible: a subscriber that stops reading
//  while 20,000 events pass loses some to the broker's bounded queue, and
//  the sequence numbers account for every one of them.
static void
test_subscriber_sees_every_gap_a_slow_read_causes (void **state)
{
    (void) state;
    char *dir = tk_tempdir ();
    char config [512], deliver [256], ingest [256];
    snprintf (config, sizeof (config), "%s/bus.json", dir);
    tk_write (config, "{\"bus\":\"shop\",\"rules\":[{\"name\":\"all\","
                      "\"event_pattern\":{\"source\":[\"shop\"]},\"targets\":[{\"name\":\"slow\"}]}]}");
    const char *extra [] = { "--backlog-bytes", "20000", "--sndhwm", "10", NULL };
    tk_proc_t broker;
    assert_int_equal (tk_broker_start (&broker, dir, config, deliver, extra), 0);
    mesh_sub_options_t options;
    mesh_sub_options_init (&options);
    options.rcvhwm = 10;
    mesh_error_t err = { 0 };
    mesh_sub_t *sub = mesh_sub_new (deliver, "slow", &options, &err);
    assert_non_null (sub);
    assert_int_equal (tk_broker_ingest (dir, ingest, 10000), 0);
    mesh_pub_t *pub = mesh_pub_new (ingest, "shop", NULL, &err);
    assert_non_null (pub);

    //  20,000 events while nobody reads: far more than every buffer holds
    const uint64_t total = 20000;
    char padding [400];
    memset (padding, 'x', sizeof (padding) - 1);
    padding [sizeof (padding) - 1] = '\0';
    char detail [512];
    snprintf (detail, sizeof (detail), "{\"pad\":\"%s\"}", padding);
    mesh_entry_t entries [10];
    mesh_entry_result_t results [10];
    for (int i = 0; i < 10; i++)
        entries [i] = (mesh_entry_t) { .source = "shop", .detail_type = "Order", .detail = detail };
    for (uint64_t sent = 0; sent < total; sent += 10)
        assert_int_equal (mesh_pub_put_events (pub, entries, 10, results, &err), 0);
    zclock_sleep (500);

    //  Now read everything there is, then one more event after the drain.
    mesh_delivery_t delivery;
    uint64_t last = 0;
    while (mesh_sub_recv (sub, &delivery, 1000, &err) == 1) {
        assert_true (delivery.seq > last);
        last = delivery.seq;
    }
    mesh_sub_stats_t stats;
    mesh_sub_stats (sub, &stats);
    assert_true (stats.missed > 0);
    //  Everything the subscriber was told of is received or missed: up to
    //  the last delivery, or further when a heartbeat has shown the tail
    //  that overflowed after it
    uint64_t epoch, known;
    assert_true (mesh_sub_position (sub, &epoch, &known));
    assert_true (known >= last && known <= total);
    assert_int_equal (stats.received + stats.missed, known);
    assert_int_equal (mesh_pub_put_events (pub, entries, 1, results, &err), 0);
    assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), 1);
    assert_int_equal (delivery.seq, total + 1);
    mesh_sub_stats (sub, &stats);
    //  every event is either received or counted as missed
    assert_int_equal (stats.received + stats.missed, total + 1);

    mesh_pub_destroy (&pub);
    mesh_sub_destroy (&sub);
    assert_int_equal (tk_stop (&broker), 0);
    char *text = tk_read (broker.err);
    char *at = strstr (text, "target:slow=");
    assert_non_null (at);
    unsigned long long seq, delivered, none, overflow;
    assert_int_equal (sscanf (at, "target:slow=seq:%llu,delivered:%llu,no_subscriber:%llu,overflow:%llu",
                              &seq, &delivered, &none, &overflow), 4);
    //  what the broker dropped is what the subscriber missed
    assert_int_equal (seq, total + 1);
    assert_int_equal (overflow, stats.missed);
    assert_int_equal (delivered, stats.received);
    free (text);
    tk_tempdir_remove (&dir);
}


// --------------------------------------------------------------------------
//  Heartbeats and honest loss reports (issue 7, item 7)

//  A broker on fixed loopback ports, so that it can be restarted on the
//  same endpoints: starts it with bus "shop" routing every "shop" event to
//  the target "warehouse", waits until its ingest is open.
typedef struct {
    char dir [256];
    char config [512];
    char ingest [64];
    char deliver [64];
    char endpoints [512];
} s_site_t;

static void
s_site_init (s_site_t *site, const char *dir)
{
    snprintf (site->dir, sizeof (site->dir), "%s", dir);
    snprintf (site->config, sizeof (site->config), "%s/bus.json", dir);
    tk_write (site->config, "{\"bus\":\"shop\",\"rules\":[{\"name\":\"all\","
                            "\"event_pattern\":{\"source\":[\"shop\"]},\"targets\":[{\"name\":\"warehouse\"}]}]}");
    snprintf (site->ingest, sizeof (site->ingest), "tcp://127.0.0.1:%d", tk_free_port ());
    snprintf (site->deliver, sizeof (site->deliver), "tcp://127.0.0.1:%d", tk_free_port ());
    snprintf (site->endpoints, sizeof (site->endpoints), "%s/endpoints", dir);
}

static void
s_site_start (s_site_t *site, tk_proc_t *broker)
{
    remove (site->endpoints);
    const char *argv [] = { tk_bin ("mesh-broker"), "--config", site->config, "--ingest", site->ingest,
                            "--deliver", site->deliver, "--api", "tcp://127.0.0.1:*", "--startup-grace", "200",
                            "--endpoints-file", site->endpoints, NULL };
    assert_int_equal (tk_start (broker, site->dir, "broker", (char *const *) argv, NULL), 0);
    char ingest [256];
    assert_int_equal (tk_broker_ingest (site->dir, ingest, 10000), 0);
}

//  Put count events of source "shop" with detail {"n": first + i}.
static void
s_put (mesh_pub_t *pub, int first, int count)
{
    for (int i = 0; i < count; i++) {
        char detail [64];
        snprintf (detail, sizeof (detail), "{\"n\": %d}", first + i);
        mesh_entry_t entry = { .source = "shop", .detail_type = "Order", .detail = detail };
        mesh_entry_result_t result;
        mesh_error_t err = { 0 };
        if (mesh_pub_put_events (pub, &entry, 1, &result, &err))
            fail_msg ("put-events: %s", err.text);
    }
}

//  Wait up to timeout_ms for the publisher's readiness to be ready.
static bool
s_wait_readiness (mesh_pub_t *pub, bool ready, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (mesh_pub_ready (pub) != ready) {
        if (zclock_mono () > deadline)
            return false;
        zclock_sleep (10);
    }
    return true;
}

//  The publisher's readiness follows the broker: false when it stops,
//  nothing sent meanwhile (a timeout per entry, not a silent loss), true
//  when it is back on the same endpoint, and the next event is delivered.
static void
test_publisher_readiness_follows_the_broker (void **state)
{
    (void) state;
    char *dir = tk_tempdir ();
    s_site_t site;
    s_site_init (&site, dir);
    tk_proc_t broker;
    s_site_start (&site, &broker);
    mesh_pub_options_t options;
    mesh_pub_options_init (&options);
    options.connect_timeout_ms = 300;
    mesh_error_t err = { 0 };
    mesh_pub_t *pub = mesh_pub_new (site.ingest, "shop", &options, &err);
    assert_non_null (pub);
    assert_int_equal (mesh_pub_wait_ready (pub, 5000, &err), 0);
    assert_true (mesh_pub_ready (pub));
    s_put (pub, 0, 3);
    assert_int_equal (mesh_pub_drain (pub, 5000), 0);

    assert_int_equal (tk_stop (&broker), 0);
    assert_true (s_wait_readiness (pub, false, 5000));
    //  Nothing is sent while the broker is away: each entry says so
    mesh_entry_t entries [2] = {
        { .source = "shop", .detail_type = "Order", .detail = "{\"n\": 100}" },
        { .source = "shop", .detail_type = "Order", .detail = "{\"n\": 101}" },
    };
    mesh_entry_result_t results [2];
    assert_int_equal (mesh_pub_put_events (pub, entries, 2, results, &err), -1);
    assert_int_equal (err.code, MESH_ETIMEDOUT);
    for (int i = 0; i < 2; i++) {
        assert_string_equal (results [i].error_code, "InternalFailure");
        assert_non_null (strstr (results [i].error_message, "no broker at"));
    }

    tk_proc_t again;
    s_site_start (&site, &again);
    assert_true (s_wait_readiness (pub, true, 5000));
    mesh_sub_t *sub = mesh_sub_new (site.deliver, "warehouse", NULL, &err);
    assert_non_null (sub);
    s_put (pub, 200, 1);
    mesh_delivery_t delivery;
    assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), 1);
    assert_int_equal (delivery.seq, 1);
    double n = 0;
    assert_int_equal (mesh_event_get_number (delivery.event, "detail.n", &n), 0);
    assert_true (n == 200);
    assert_int_equal (mesh_pub_drain (pub, 5000), 0);
    mesh_pub_stats_t stats;
    mesh_pub_stats (pub, &stats);
    assert_true (stats.exact);
    assert_int_equal (stats.queued, 4);
    assert_int_equal (stats.handed, 4);
    assert_int_equal (stats.lost + stats.pending + stats.uncounted, 0);
    mesh_sub_destroy (&sub);
    mesh_pub_destroy (&pub);
    assert_int_equal (tk_stop (&again), 0);
    assert_int_equal (tk_stat (again.err, "received"), 1);
    tk_tempdir_remove (&dir);
}

//  A subscriber that joins while its target has a backlog: what was queued
//  before its subscription reaches it before its hello and is ignored, and
//  every delivery after its hello names a route it was told of, whichever
//  rule routed it. The first subscriber, which caused the backlog, resolves
//  every delivery too. Each subscriber reads in its own thread.
typedef struct {
    const char *deliver;
    size_t expected;            //  deliveries to read before reporting
} s_reader_args_t;

static void
s_reader_actor (zsock_t *pipe, void *args)
{
    s_reader_args_t *reader = (s_reader_args_t *) args;
    zsock_signal (pipe, 0);                    //  started (zactor_new returns)
    mesh_error_t err = { 0 };
    mesh_sub_options_t options;
    mesh_sub_options_init (&options);
    options.rcvhwm = 10;
    options.connect_timeout_ms = 20000;
    mesh_sub_t *sub = mesh_sub_new (reader->deliver, "warehouse", &options, &err);
    zsock_signal (pipe, sub? 0: 1);             //  subscribed: its hello came
    char *go = zstr_recv (pipe);               //  "go": read now
    zstr_free (&go);
    size_t received = 0, big = 0, wrong = 0;
    uint64_t last_seq = 0, first_seq = 0;
    mesh_delivery_t delivery;
    while (sub && received < reader->expected && mesh_sub_recv (sub, &delivery, 10000, &err) == 1) {
        double n = -1;
        mesh_event_get_number (delivery.event, "detail.n", &n);
        if (streq (delivery.rule, "big"))
            big++;
        if (!streq (delivery.bus, "shop") || !(streq (delivery.rule, "all") || (streq (delivery.rule, "big") && n >= 100)))
            wrong++;
        if (!received)
            first_seq = delivery.seq;
        else
        if (delivery.seq != last_seq + 1)
            wrong++;
        last_seq = delivery.seq;
        received++;
    }
    mesh_sub_stats_t stats = { 0 };
    if (sub)
        mesh_sub_stats (sub, &stats);
    zsock_send (pipe, "88888", (uint64_t) received, (uint64_t) big, (uint64_t) wrong,
                stats.malformed + stats.missed, first_seq);
    zsock_wait (pipe);                          //  until told to go away
    mesh_sub_destroy (&sub);
}

static void
test_subscriber_joining_a_backlog_resolves_every_route (void **state)
{
    (void) state;
    char *dir = tk_tempdir ();
    s_site_t site;
    s_site_init (&site, dir);
    tk_write (site.config, "{\"bus\":\"shop\",\"rules\":["
              "{\"name\":\"all\",\"event_pattern\":{\"source\":[\"shop\"]},\"targets\":[{\"name\":\"warehouse\"}]},"
              "{\"name\":\"big\",\"event_pattern\":{\"detail\":{\"n\":[{\"numeric\":[\">=\",100]}]}},"
              "\"targets\":[{\"name\":\"warehouse\"}]}]}");
    tk_proc_t broker;
    const char *argv [] = { tk_bin ("mesh-broker"), "--config", site.config, "--ingest", site.ingest,
                            "--deliver", site.deliver, "--api", "tcp://127.0.0.1:*", "--startup-grace", "0", "--sndhwm", "10",
                            "--stats-interval", "1", "--endpoints-file", site.endpoints, NULL };
    assert_int_equal (tk_start (&broker, site.dir, "broker", (char *const *) argv, NULL), 0);
    char ingest [256];
    assert_int_equal (tk_broker_ingest (site.dir, ingest, 10000), 0);
    //  20,000 events, 39,900 deliveries, while the first subscriber reads
    //  nothing: far more than ZeroMQ's and the kernel's buffers hold
    const int events = 20000, later = 50;
    size_t before = (size_t) events + (size_t) (events - 100), after = 2 * (size_t) later;
    s_reader_args_t first_args = { site.deliver, before + after };
    zactor_t *first = zactor_new (s_reader_actor, &first_args);
    assert_non_null (first);
    assert_int_equal (zsock_wait (first), 0);
    mesh_error_t err = { 0 };
    mesh_pub_t *pub = mesh_pub_new (site.ingest, "shop", NULL, &err);
    assert_non_null (pub);
    s_put (pub, 0, events);
    assert_int_equal (mesh_pub_drain (pub, 10000), 0);
    //  Every one routed (the stats line says so) before the second subscribes
    char routed [32];
    snprintf (routed, sizeof (routed), " routed=%d ", events);
    assert_true (tk_wait_for (broker.err, routed, 30000));
    //  The second subscribes now; its hello waits behind the backlog
    s_reader_args_t second_args = { site.deliver, after };
    zactor_t *second = zactor_new (s_reader_actor, &second_args);
    assert_non_null (second);
    zclock_sleep (300);
    zpoller_t *poller = zpoller_new (second, NULL);
    if (zpoller_wait (poller, 0))
        fail_msg ("the second subscriber's hello came before the backlog drained: no backlog formed");
    zpoller_destroy (&poller);
    zstr_send (first, "go");
    zstr_send (second, "go");
    assert_int_equal (zsock_wait (second), 0);  //  its hello came: the backlog drained past it
    s_put (pub, events, later);
    assert_int_equal (mesh_pub_drain (pub, 10000), 0);
    uint64_t received, big, wrong, lost, first_seq;
    assert_int_equal (zsock_recv (first, "88888", &received, &big, &wrong, &lost, &first_seq), 0);
    assert_int_equal (received, before + after);
    assert_int_equal (big, events - 100 + later);
    assert_int_equal (wrong, 0);
    assert_int_equal (lost, 0);
    assert_int_equal (first_seq, 1);
    assert_int_equal (zsock_recv (second, "88888", &received, &big, &wrong, &lost, &first_seq), 0);
    assert_int_equal (received, after);         //  only what came after its hello
    assert_int_equal (big, later);
    assert_int_equal (wrong, 0);
    assert_int_equal (lost, 0);
    assert_int_equal (first_seq, before + 1);
    zsock_signal (first, 0);
    zsock_signal (second, 0);
    zactor_destroy (&first);
    zactor_destroy (&second);
    mesh_pub_destroy (&pub);
    assert_int_equal (tk_stop (&broker), 0);
    tk_tempdir_remove (&dir);
}

//  A subscriber that resumes where its previous run stopped counts what was
//  given out while it was away; a brand-new one does not count the
//  broker's history.
static void
test_restarted_subscriber_reports_what_it_missed (void **state)
{
    (void) state;
    char *dir = tk_tempdir ();
    s_site_t site;
    s_site_init (&site, dir);
    tk_proc_t broker;
    s_site_start (&site, &broker);
    mesh_error_t err = { 0 };
    mesh_sub_t *sub = mesh_sub_new (site.deliver, "warehouse", NULL, &err);
    assert_non_null (sub);
    mesh_pub_t *pub = mesh_pub_new (site.ingest, "shop", NULL, &err);
    assert_non_null (pub);
    s_put (pub, 0, 5);
    mesh_delivery_t delivery;
    for (int i = 0; i < 5; i++)
        assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), 1);
    uint64_t epoch, seq;
    assert_true (mesh_sub_position (sub, &epoch, &seq));
    assert_int_equal (seq, 5);
    mesh_sub_destroy (&sub);

    //  Seven events while the target has no subscriber: they go to nobody
    zclock_sleep (200);
    s_put (pub, 5, 7);
    assert_int_equal (mesh_pub_drain (pub, 5000), 0);
    zclock_sleep (300);

    mesh_sub_options_t options;
    mesh_sub_options_init (&options);
    options.resume_epoch = epoch;
    options.resume_seq = seq;
    mesh_sub_t *resumed = mesh_sub_new (site.deliver, "warehouse", &options, &err);
    assert_non_null (resumed);
    mesh_sub_t *fresh = mesh_sub_new (site.deliver, "warehouse", NULL, &err);
    assert_non_null (fresh);
    mesh_sub_stats_t stats;
    mesh_sub_stats (resumed, &stats);
    assert_int_equal (stats.missed, 7);         //  the hello showed the jump
    mesh_sub_stats (fresh, &stats);
    assert_int_equal (stats.missed, 0);         //  not its loss
    s_put (pub, 12, 1);
    assert_int_equal (mesh_sub_recv (resumed, &delivery, 5000, &err), 1);
    assert_int_equal (delivery.seq, 13);
    assert_int_equal (delivery.missed, 7);
    assert_false (delivery.restarted);
    assert_int_equal (mesh_sub_recv (fresh, &delivery, 5000, &err), 1);
    assert_int_equal (delivery.seq, 13);
    assert_int_equal (delivery.missed, 0);
    mesh_sub_stats (resumed, &stats);
    assert_int_equal (stats.received, 1);
    assert_int_equal (stats.missed, 7);
    assert_int_equal (stats.restarts, 0);
    mesh_sub_destroy (&resumed);
    mesh_sub_destroy (&fresh);
    mesh_pub_destroy (&pub);
    assert_int_equal (tk_stop (&broker), 0);
    //  What the subscriber counted is what the broker dropped
    char *text = tk_read (broker.err);
    assert_non_null (strstr (text, "target:warehouse=seq:13,delivered:"));
    assert_non_null (strstr (text, ",no_subscriber:7,"));
    free (text);
    tk_tempdir_remove (&dir);
}

//  The same through the warehouse service, a real process: with --state it
//  saves where it stopped and its next run reports what it missed.
static void
test_restarted_service_reports_what_it_missed (void **state)
{
    (void) state;
    char *dir = tk_tempdir ();
    s_site_t site;
    s_site_init (&site, dir);
    tk_proc_t broker;
    s_site_start (&site, &broker);
    char state_file [512];
    snprintf (state_file, sizeof (state_file), "%s/warehouse.state", dir);
    const char *argv [] = { tk_bin ("warehouse"), "--deliver", site.deliver, "--state", state_file, NULL };
    tk_proc_t first, second;
    assert_int_equal (tk_start (&first, dir, "warehouse1", (char *const *) argv, NULL), 0);
    assert_true (tk_wait_for (first.err, "ready", 5000));
    mesh_error_t err = { 0 };
    mesh_pub_t *pub = mesh_pub_new (site.ingest, "shop", NULL, &err);
    assert_non_null (pub);
    s_put (pub, 0, 3);
    assert_int_equal (tk_wait_count (first.out, "seq=", 3, 5000), 3);
    assert_int_equal (tk_stop (&first), 0);
    assert_true (tk_wait_for (first.err, "handled 3 event(s), missed 0, malformed 0, restarts 0", 1000));
    s_put (pub, 3, 4);                          //  to nobody
    assert_int_equal (mesh_pub_drain (pub, 5000), 0);
    zclock_sleep (300);
    assert_int_equal (tk_start (&second, dir, "warehouse2", (char *const *) argv, NULL), 0);
    assert_true (tk_wait_for (second.err, "ready", 5000));
    s_put (pub, 7, 1);
    assert_int_equal (tk_wait_count (second.out, "seq=8 ", 1, 5000), 1);
    assert_int_equal (tk_stop (&second), 0);
    assert_true (tk_wait_for (second.err, "missed 4 event(s) before seq=8", 1000));
    assert_true (tk_wait_for (second.err, "handled 1 event(s), missed 4, malformed 0, restarts 0", 1000));
    mesh_pub_destroy (&pub);
    assert_int_equal (tk_stop (&broker), 0);
    tk_tempdir_remove (&dir);
}

//  A broker restarted on the same endpoints is one restart for its
//  subscriber, which goes on receiving from the new run.
static void
test_broker_restart_is_reported_as_one (void **state)
{
    (void) state;
    char *dir = tk_tempdir ();
    s_site_t site;
    s_site_init (&site, dir);
    tk_proc_t broker;
    s_site_start (&site, &broker);
    mesh_error_t err = { 0 };
    mesh_sub_t *sub = mesh_sub_new (site.deliver, "warehouse", NULL, &err);
    assert_non_null (sub);
    mesh_pub_t *pub = mesh_pub_new (site.ingest, "shop", NULL, &err);
    assert_non_null (pub);
    s_put (pub, 0, 2);
    mesh_delivery_t delivery;
    for (int i = 0; i < 2; i++)
        assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), 1);
    assert_int_equal (tk_stop (&broker), 0);
    tk_proc_t again;
    s_site_start (&site, &again);
    //  The new run's hello is the restart, before any delivery
    mesh_sub_stats_t stats;
    int64_t deadline = zclock_mono () + 5000;
    do {
        assert_int_equal (mesh_sub_recv (sub, &delivery, 50, &err), 0);
        mesh_sub_stats (sub, &stats);
    } while (stats.restarts == 0 && zclock_mono () < deadline);
    assert_int_equal (stats.restarts, 1);
    s_put (pub, 2, 2);
    if (mesh_sub_recv (sub, &delivery, 5000, &err) != 1) {
        tk_stop (&again);
        fail_msg ("nothing after the restart: %s", tk_read (again.err));
    }
    assert_int_equal (delivery.seq, 1);
    assert_true (delivery.restarted);
    assert_int_equal (delivery.missed, 0);
    assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), 1);
    assert_int_equal (delivery.seq, 2);
    assert_false (delivery.restarted);
    mesh_sub_stats (sub, &stats);
    assert_int_equal (stats.restarts, 1);
    assert_int_equal (stats.missed, 0);
    assert_int_equal (stats.received, 4);
    mesh_sub_destroy (&sub);
    mesh_pub_destroy (&pub);
    assert_int_equal (tk_stop (&again), 0);
    tk_tempdir_remove (&dir);
}

//  A stand-in broker's deliver side, in an actor: an XPUB bound on
//  loopback that sends its port, answers the subscription with a hello of
//  a long-running broker (seq 10, epoch 7), then on each command
//  [kind][seq][epoch] from the pipe ("hello", "delivery", "heartbeat")
//  sends that message on the topic of "warehouse", and answers "ok". The
//  other kinds are messages a broker of this version never sends, for the
//  subscriber to refuse or ignore: "v1" (a delivery with version 1's "v"),
//  "v1-layout" (a delivery as version 1 sent it, [topic][header][event]
//  with "v": 1), "three" (a delivery with a third frame), "hello-two" (a hello
//  with a second frame), "trailing" (a byte after a delivery's header),
//  "other-target" (a delivery whose header names "shipping"), "goodbye"
//  and "goodbye-two" (an unknown ctl in one frame and in two).
static void
s_deliver_actor (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_t *deliver = zsock_new (ZMQ_XPUB);
    int port = zsock_bind (deliver, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", port);
    zpoller_t *poller = zpoller_new (pipe, deliver, NULL);
    while (true) {
        zsock_t *which = zpoller_wait (poller, -1);
        char *kind = NULL, *seq = NULL, *epoch = NULL;
        if (which == deliver) {
            zframe_t *subscription = zframe_recv (deliver);
            bool subscribed = subscription && zframe_size (subscription) > 0 && zframe_data (subscription) [0] == 1;
            zframe_destroy (&subscription);
            if (!subscribed)
                continue;
            kind = strdup ("hello");
            seq = strdup ("10");
            epoch = strdup ("7");
        }
        else
        if (which != pipe)
            break;
        else
        if (zsock_recv (pipe, "sss", &kind, &seq, &epoch) == -1 || streq (kind, "$TERM")) {
            zstr_free (&kind);
            zstr_free (&seq);
            zstr_free (&epoch);
            break;
        }
        bool hello = streq (kind, "hello") || streq (kind, "hello-two");
        bool goodbye = strncmp (kind, "goodbye", 7) == 0;
        bool route = streq (kind, "route") || streq (kind, "other-target");
        mesh_proto_header_t header = {
            .kind = hello? MESH_PROTO_HELLO
                  : streq (kind, "heartbeat")? MESH_PROTO_HEARTBEAT
                  : route? MESH_PROTO_ROUTE
                  : goodbye? MESH_PROTO_REQUEST: MESH_PROTO_DELIVERY,
            .bus = "shop", .bus_size = 4, .rule = "all", .rule_size = 3, .routed = true,
            .target = "warehouse", .target_size = 9, .route = streq (kind, "unrouted")? 5: 0,
            .seq = strtoull (seq, NULL, 10), .epoch = strtoull (epoch, NULL, 10),
        };
        if (streq (kind, "other-target")) {
            header.target = "shipping";
            header.target_size = 8;
        }
        uint8_t bytes [MESH_PROTO_HEAD_MAX + 1];
        size_t size = 0;
        mesh_error_t err = { 0 };
        memcpy (bytes, "warehouse", 10);        //  the topic, and the header after it
        int rc = mesh_proto_header_pack (&header, bytes + 10, sizeof (bytes) - 11, &size, &err);
        assert (rc == 0);
        (void) rc;
        size += 10;
        if (goodbye) {
            //  {"v": 3, "ctl": "goodbye"}: a kind of a later minor version
            memcpy (bytes + 10, "\x82\xa1v\x03\xa3" "ctl" "\xa7" "goodbye", 16);
            size = 26;
        }
        if (strncmp (kind, "v2", 2) == 0)
            bytes [13] = 0x02;                  //  "v": 3 is the map's first pair: \x83 \xa1 v 3
        if (streq (kind, "route-too-big")) {
            //  {"v": 3, "route": 2^20, "seq": N}: the limit, which no packer writes
            static const uint8_t big [] = { 0x83, 0xa1, 'v', 0x03, 0xa5, 'r', 'o', 'u', 't', 'e',
                                            0xce, 0x00, 0x10, 0x00, 0x00, 0xa3, 's', 'e', 'q', 0x01 };
            memcpy (bytes + 10, big, sizeof (big));
            size = 10 + sizeof (big);
        }
        if (streq (kind, "trailing"))
            bytes [size++] = 0xc0;
        void *handle = zsock_resolve (deliver);
        if (header.kind == MESH_PROTO_DELIVERY) {
            mesh_event_t *event = mesh_event_new ();
            mesh_event_set_source (event, "shop", NULL);
            mesh_event_set_detail_type (event, "Order", NULL);
            mesh_event_set_detail_json (event, "{}", 2, NULL, NULL);
            mesh_event_fill_defaults (event);
            void *data = NULL;
            size_t data_size = 0;
            mesh_event_encode (event, &data, &data_size, NULL);
            if (streq (kind, "v2-layout")) {
                //  [topic][header][event]
                zmq_send (handle, bytes, 10, ZMQ_SNDMORE);
                zmq_send (handle, bytes + 10, size - 10, ZMQ_SNDMORE);
            }
            else
                zmq_send (handle, bytes, size, ZMQ_SNDMORE);
            zmq_send (handle, data, data_size, streq (kind, "three")? ZMQ_SNDMORE: 0);
            if (streq (kind, "three"))
                zmq_send (handle, data, data_size, 0);
            free (data);
            mesh_event_destroy (&event);
        }
        else {
            bool two = streq (kind, "hello-two") || streq (kind, "goodbye-two");
            zmq_send (handle, bytes, size, two? ZMQ_SNDMORE: 0);
            if (two)
                zmq_send (handle, "\x80", 1, 0);
            if (streq (kind, "hello")) {
                //  As a broker does: what route 0 means, after every hello
                mesh_proto_header_t described = header;
                described.kind = MESH_PROTO_ROUTE;
                rc = mesh_proto_head_pack (&described, bytes, sizeof (bytes), &size, &err);
                assert (rc == 0);
                zmq_send (handle, bytes, size, 0);
            }
        }
        if (which == pipe)
            zstr_send (pipe, "ok");
        zstr_free (&kind);
        zstr_free (&seq);
        zstr_free (&epoch);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&deliver);
}

static void
s_stand_in (zactor_t *actor, const char *kind, uint64_t seq, uint64_t epoch)
{
    char seq_text [32], epoch_text [32];
    snprintf (seq_text, sizeof (seq_text), "%" PRIu64, seq);
    snprintf (epoch_text, sizeof (epoch_text), "%" PRIu64, epoch);
    zsock_send (actor, "sss", kind, seq_text, epoch_text);
    char *reply = zstr_recv (actor);
    assert_string_equal (reply, "ok");
    zstr_free (&reply);
}

//  A stand-in broker's deliver socket (s_deliver_actor) and a subscriber
//  of target connected to it.
static mesh_sub_t *
s_stand_in_sub (zactor_t **actor_p, const char *target)
{
    zactor_t *actor = zactor_new (s_deliver_actor, NULL);
    assert_non_null (actor);
    int port = 0;
    zsock_recv (actor, "i", &port);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    mesh_error_t err = { 0 };
    mesh_sub_t *sub = mesh_sub_new (endpoint, target, NULL, &err);
    assert_non_null (sub);
    *actor_p = actor;
    return sub;
}

//  Drops at the tail of a stream show at the next heartbeat, without a
//  delivery after them; a heartbeat of a new epoch is a broker restart.
static void
test_lost_tail_shows_through_a_heartbeat (void **state)
{
    (void) state;
    zactor_t *actor;
    mesh_sub_t *sub = s_stand_in_sub (&actor, "warehouse");
    mesh_error_t err = { 0 };
    mesh_sub_stats_t stats;
    mesh_sub_stats (sub, &stats);
    assert_int_equal (stats.missed, 0);         //  a brand-new subscriber: not its loss
    s_stand_in (actor, "delivery", 11, 7);
    s_stand_in (actor, "delivery", 12, 7);
    s_stand_in (actor, "heartbeat", 12, 7);     //  nothing lost
    mesh_delivery_t delivery;
    assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), 1);
    assert_int_equal (delivery.seq, 11);
    assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), 1);
    assert_int_equal (delivery.seq, 12);
    assert_int_equal (mesh_sub_recv (sub, &delivery, 300, &err), 0);
    mesh_sub_stats (sub, &stats);
    assert_int_equal (stats.missed, 0);
    assert_int_equal (stats.heartbeats, 1);
    //  13 to 15 were given out and never came: the tail, seen by a heartbeat
    s_stand_in (actor, "heartbeat", 15, 7);
    s_stand_in (actor, "heartbeat", 15, 7);     //  the same news twice counts once
    assert_int_equal (mesh_sub_recv (sub, &delivery, 300, &err), 0);
    mesh_sub_stats (sub, &stats);
    assert_int_equal (stats.missed, 3);
    assert_int_equal (stats.heartbeats, 3);
    uint64_t epoch, seq;
    assert_true (mesh_sub_position (sub, &epoch, &seq));
    assert_int_equal (epoch, 7);
    assert_int_equal (seq, 15);
    //  The next delivery carries the gap the heartbeat showed
    s_stand_in (actor, "delivery", 16, 7);
    assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), 1);
    assert_int_equal (delivery.seq, 16);
    assert_int_equal (delivery.missed, 3);
    //  A heartbeat of another epoch: the broker restarted, and gave out 2
    //  numbers this subscriber never saw. The old run's route numbers mean
    //  nothing in the new one: a delivery needs its route said again
    s_stand_in (actor, "heartbeat", 2, 8);
    s_stand_in (actor, "delivery", 3, 8);
    assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), -1);
    assert_non_null (strstr (err.text, "delivery 3 names route 0, which the broker did not describe"));
    s_stand_in (actor, "route", 0, 8);
    s_stand_in (actor, "delivery", 4, 8);
    assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), 1);
    assert_int_equal (delivery.seq, 4);
    assert_true (delivery.restarted);
    assert_int_equal (delivery.missed, 3);     //  the two before the heartbeat, and 3
    assert_string_equal (delivery.bus, "shop");
    assert_string_equal (delivery.rule, "all");
    mesh_sub_stats (sub, &stats);
    assert_int_equal (stats.restarts, 1);
    assert_int_equal (stats.missed, 6);
    assert_int_equal (stats.malformed, 1);
    assert_int_equal (stats.received, 4);
    mesh_sub_destroy (&sub);
    zactor_destroy (&actor);
}

//  What a broker of this version never sends, over a real socket: each
//  refused and counted as malformed, or (an unknown ctl) ignored, and the
//  deliveries around them handed out with no gap.
static void
test_subscriber_refuses_what_version_3_forbids (void **state)
{
    (void) state;
    zactor_t *actor;
    mesh_sub_t *sub = s_stand_in_sub (&actor, "warehouse");
    mesh_error_t err = { 0 };
    const struct { const char *kind; const char *error; } cases [] = {
        { "v2", "frame 1: header: protocol version 2, this side speaks 3" },
        { "v2-layout", "frame 1: header: not MessagePack (0 bytes)" },
        { "unrouted", "names route 5, which the broker did not describe since its hello" },
        { "route-too-big", "frame 1: header: 'route': expected below 1048576, got 1048576" },
        { "three", "message: a delivery has 2 frames, got 3" },
        { "hello-two", "message: a hello has 1 frame, got 2" },
        { "trailing", "frame 1: header: 1 bytes after the map" },
        { "other-target", "message: header's target 'shipping' is not the topic's 'warehouse'" },
    };
    mesh_delivery_t delivery;
    uint64_t seq = 10;
    for (size_t i = 0; i < COUNT (cases); i++) {
        s_stand_in (actor, cases [i].kind, seq + 1, 7);
        mesh_error_clear (&err);
        assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), -1);
        assert_int_equal (err.code, MESH_EMALFORMED);
        if (!strstr (err.text, cases [i].error))
            fail_msg ("%s: expected '%s' in '%s'", cases [i].kind, cases [i].error, err.text);
        s_stand_in (actor, "delivery", ++seq, 7);
        assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), 1);
        assert_int_equal (delivery.seq, seq);
        assert_int_equal (delivery.missed, 0);
    }
    //  An unknown ctl, in one frame or two: nothing to hand out, nothing wrong
    s_stand_in (actor, "goodbye", 0, 7);
    s_stand_in (actor, "goodbye-two", 0, 7);
    s_stand_in (actor, "delivery", ++seq, 7);
    assert_int_equal (mesh_sub_recv (sub, &delivery, 5000, &err), 1);
    assert_int_equal (delivery.seq, seq);
    assert_true (delivery.size > 0);
    mesh_sub_stats_t stats;
    mesh_sub_stats (sub, &stats);
    assert_int_equal (stats.malformed, COUNT (cases));
    assert_int_equal (stats.received, COUNT (cases) + 1);
    assert_int_equal (stats.missed, 0);
    mesh_sub_destroy (&sub);
    zactor_destroy (&actor);
}

//  A stand-in ingest that takes the connection and never reads: what the
//  kernel's buffers do not hold stays queued, and a drain says how much.
static void
s_stalled_ingest_actor (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_t *ingest = zsock_new (ZMQ_XSUB);
    zsock_set_rcvhwm (ingest, 1);
    zsock_set_rcvbuf (ingest, 4096);
    int port = zsock_bind (ingest, "tcp://127.0.0.1:*");
    zmq_send (zsock_resolve (ingest), "\x01", 1, 0);
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", port);
    //  Handle the socket's commands (so that the publisher gets the
    //  subscription: libzmq replays it from this thread) without reading
    zpoller_t *poller = zpoller_new (pipe, NULL);
    while (!zpoller_wait (poller, 10) && !zpoller_terminated (poller))
        zsock_events (ingest);
    zpoller_destroy (&poller);
    char *command = zstr_recv (pipe);           //  $TERM
    zstr_free (&command);
    zsock_set_linger (ingest, 0);
    zsock_destroy (&ingest);
}

static void
test_drain_counts_what_the_broker_did_not_take (void **state)
{
    (void) state;
    zactor_t *actor = zactor_new (s_stalled_ingest_actor, NULL);
    assert_non_null (actor);
    int port = 0;
    zsock_recv (actor, "i", &port);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    mesh_pub_options_t options;
    mesh_pub_options_init (&options);
    options.send_timeout_ms = 2000;
    mesh_error_t err = { 0 };
    mesh_pub_t *pub = mesh_pub_new (endpoint, "shop", &options, &err);
    assert_non_null (pub);
    //  200 events of 100 KB: 20 MB, more than the kernel's buffers hold
    size_t size = 100 * 1024;
    char *detail = malloc (size + 16);
    strcpy (detail, "{\"pad\":\"");
    memset (detail + 8, 'x', size);
    strcpy (detail + 8 + size, "\"}");
    mesh_entry_t entry = { .source = "shop", .detail_type = "Order", .detail = detail };
    for (int i = 0; i < 200; i++) {
        mesh_entry_result_t result;
        assert_int_equal (mesh_pub_put_events (pub, &entry, 1, &result, &err), 0);
    }
    free (detail);
    int64_t start = zclock_mono ();
    uint64_t pending = mesh_pub_drain (pub, 300);
    assert_true (zclock_mono () - start >= 290);
    mesh_pub_stats_t stats;
    mesh_pub_stats (pub, &stats);
    assert_true (stats.exact);
    assert_int_equal (stats.queued, 200);
    assert_true (pending > 50);
    assert_int_equal (stats.pending, pending);
    assert_int_equal (stats.handed + stats.pending, 200);
    assert_int_equal (stats.lost, 0);
    mesh_pub_destroy (&pub);
    zactor_destroy (&actor);
}

//  payment, a real process, streaming when the broker stops and goes: it
//  says how many of its queued events were lost and exits 1.
static void
test_payment_reports_unhanded_events_when_the_broker_is_gone (void **state)
{
    (void) state;
    char *dir = tk_tempdir ();
    s_site_t site;
    s_site_init (&site, dir);
    tk_write (site.config, "{\"bus\":\"eda_bus\",\"rules\":[{\"name\":\"all\","
                           "\"event_pattern\":{\"source\":[\"demo.payments\"]},\"targets\":[{\"name\":\"warehouse\"}]}]}");
    tk_proc_t broker;
    s_site_start (&site, &broker);
    const char *argv [] = { tk_bin ("payment"), "--ingest", site.ingest, "--count", "100000", "--rate", "20000",
                            "--quiet", "--connect-timeout", "500", "--linger", "300", NULL };
    tk_proc_t payment;
    assert_int_equal (tk_start (&payment, dir, "payment", (char *const *) argv, NULL), 0);
    zclock_sleep (700);
    kill (broker.pid, SIGSTOP);                 //  it stops reading: events pile up
    zclock_sleep (700);
    kill (broker.pid, SIGKILL);                 //  and goes, with what it did not take
    assert_int_equal (tk_wait (&broker, 5000), -1);
    assert_int_equal (tk_wait (&payment, 10000), 1);
    char *text = tk_read (payment.err);
    assert_non_null (text);
    char *at = strstr (text, "payment: handed over ");
    if (!at)
        fail_msg ("no summary in: %s", text);
    unsigned long long handed = 0, lost = 0, unhanded = 0;
    assert_int_equal (sscanf (at, "payment: handed over %llu, lost %llu when the broker went away, "
                                  "not handed over %llu", &handed, &lost, &unhanded), 3);
    assert_true (lost > 0);
    assert_true (handed > 0);
    assert_non_null (strstr (text, "stopped on a request failure"));
    free (text);
    tk_tempdir_remove (&dir);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_entry_valid_gets_an_event_with_defaults),
        cmocka_unit_test (test_entry_requires_source_detail_type_and_detail),
        cmocka_unit_test (test_entry_detail_must_be_a_json_object),
        cmocka_unit_test (test_entry_refuses_reserved_sources_bad_buses_times_and_text),
        cmocka_unit_test (test_entry_over_the_size_limit_is_refused),
        cmocka_unit_test (test_put_events_checks_the_request),
        cmocka_unit_test (test_subscriber_options_init_sets_every_field),
        cmocka_unit_test (test_subscriber_refuses_bad_names_and_times_out),
        cmocka_unit_test (test_publish_and_receive_through_the_broker),
        cmocka_unit_test (test_subscriber_sees_every_gap_a_slow_read_causes),
        cmocka_unit_test (test_publisher_readiness_follows_the_broker),
        cmocka_unit_test (test_subscriber_joining_a_backlog_resolves_every_route),
        cmocka_unit_test (test_restarted_subscriber_reports_what_it_missed),
        cmocka_unit_test (test_restarted_service_reports_what_it_missed),
        cmocka_unit_test (test_broker_restart_is_reported_as_one),
        cmocka_unit_test (test_lost_tail_shows_through_a_heartbeat),
        cmocka_unit_test (test_subscriber_refuses_what_version_3_forbids),
        cmocka_unit_test (test_drain_counts_what_the_broker_did_not_take),
        cmocka_unit_test (test_payment_reports_unhanded_events_when_the_broker_is_gone),
    };
    return cmocka_run_group_tests_name ("client", tests, NULL, NULL);
}
