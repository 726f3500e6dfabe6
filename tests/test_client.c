/*  test_client.c: put-events validation, the publisher and the subscriber

    Validation needs no broker: every EventBridge error an entry can get is
    checked here with its code and message. The round trip through a real
    mesh-broker process checks what a subscriber receives.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>
#include "mesh.h"
#include "support/testkit.h"

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
    assert_int_equal (stats.received + stats.missed, last);
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
        cmocka_unit_test (test_subscriber_refuses_bad_names_and_times_out),
        cmocka_unit_test (test_publish_and_receive_through_the_broker),
        cmocka_unit_test (test_subscriber_sees_every_gap_a_slow_read_causes),
    };
    return cmocka_run_group_tests_name ("client", tests, NULL, NULL);
}
