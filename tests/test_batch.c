/*  test_batch.c: the publishing loop (mesh_batch_t), against a stand-in broker

    The stand-in is what a broker's ingest is on the wire: an XSUB socket
    bound on loopback that subscribes to everything, in an actor. The tests
    read what arrives there frame by frame with mesh_proto_ingest_parse,
    and check what the batch reported for each entry.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>
#include "mesh.h"
#include "support/testkit.h"

typedef struct {
    zactor_t *broker;           //  the stand-in broker
    mesh_pub_t *pub;
    //  what the batch reported
    size_t reports;
    size_t sent;
    char labels [64][64];
    char codes [64][48];
} self_t;

//  The stand-in broker, in its own thread as a broker is in its own
//  process: libzmq replays the XSUB's subscription to a new publisher only
//  when the XSUB's thread handles its commands, which the publisher,
//  waiting for it, would otherwise block. Sends its port, then forwards
//  every ingest message to the pipe.
static void
s_broker_actor (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_t *ingest = zsock_new (ZMQ_XSUB);
    int port = zsock_bind (ingest, "tcp://127.0.0.1:*");
    zmq_send (zsock_resolve (ingest), "\x01", 1, 0);
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", port);
    zpoller_t *poller = zpoller_new (pipe, ingest, NULL);
    while (true) {
        zsock_t *which = zpoller_wait (poller, -1);
        if (which != ingest)
            break;              //  $TERM, or interrupted
        zmsg_t *msg = zmsg_recv (ingest);
        if (msg)
            zmsg_send (&msg, pipe);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&ingest);
}

static int
s_setup (void **state)
{
    self_t *self = calloc (1, sizeof (self_t));
    assert_non_null (self);
    self->broker = zactor_new (s_broker_actor, NULL);
    assert_non_null (self->broker);
    int port = 0;
    zsock_recv (self->broker, "i", &port);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);
    mesh_error_t err = { 0 };
    self->pub = mesh_pub_new (endpoint, "eda_bus", NULL, &err);
    assert_non_null (self->pub);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    self_t *self = *state;
    mesh_pub_destroy (&self->pub);
    zactor_destroy (&self->broker);
    free (self);
    return 0;
}

static void
s_report (const mesh_entry_t *entry, const mesh_entry_result_t *result, const char *label, void *arg)
{
    self_t *self = arg;
    assert_non_null (entry->detail);
    assert_true (self->reports < 64);
    snprintf (self->labels [self->reports], 64, "%s", label);
    snprintf (self->codes [self->reports], 48, "%s", *result->event_id? "sent": result->error_code);
    self->sent += *result->event_id != '\0';
    self->reports++;
}

//  Receive count ingest messages at the stand-in broker; each must be two
//  frames, the bus then an event with the detail's order number, in order.
static void
s_expect_events (self_t *self, size_t count, const char *bus)
{
    for (size_t i = 0; i < count; i++) {
        zmsg_t *msg = zmsg_recv (self->broker);
        assert_non_null (msg);
        zframe_t *first = zmsg_first (msg), *second = zmsg_next (msg);
        mesh_proto_frame_t frames [2] = {
            { zframe_data (first), zframe_size (first) },
            { second? zframe_data (second): NULL, second? zframe_size (second): 0 },
        };
        mesh_proto_frame_t bus_frame, event_frame;
        mesh_error_t err = { 0 };
        assert_int_equal (mesh_proto_ingest_parse (frames, zmsg_size (msg), &bus_frame, &event_frame, &err), 0);
        assert_int_equal (bus_frame.size, strlen (bus));
        assert_memory_equal (bus_frame.data, bus, bus_frame.size);
        mesh_event_t *event = mesh_event_decode (event_frame.data, event_frame.size, NULL, &err);
        assert_non_null (event);
        zmsg_destroy (&msg);
        mesh_event_destroy (&event);
    }
    zpoller_t *poller = zpoller_new (self->broker, NULL);
    assert_null (zpoller_wait (poller, 100));       //  and nothing more
    zpoller_destroy (&poller);
}

static void
test_batch_sends_full_batches_and_reports_every_entry (void **state)
{
    self_t *self = *state;
    mesh_batch_t *batch = mesh_batch_new (self->pub, 10, s_report, self);
    assert_non_null (batch);
    mesh_error_t err = { 0 };
    const char *resources [] = { "arn:a", "arn:b" };
    for (int i = 0; i < 25; i++) {
        char detail [64], label [16];
        snprintf (detail, sizeof (detail), i == 12? "{\"n\": %d": "{\"n\": %d}", i);
        snprintf (label, sizeof (label), "n=%d", i);
        mesh_entry_t entry = { .source = "demo.test", .detail_type = "Test", .detail = detail,
                               .resources = resources, .resource_count = 2 };
        if (mesh_batch_add (batch, &entry, label, &err))
            fail_msg ("%s", err.text);
        //  Its strings were copied: the caller's buffer may change at once
        memset (detail, 'x', sizeof (detail) - 1);
        //  Two full batches went out on their own, the third waits
        assert_int_equal (self->reports, (size_t) (i + 1) / 10 * 10);
    }
    assert_int_equal (mesh_batch_flush (batch, &err), 0);
    assert_int_equal (self->reports, 25);
    assert_string_equal (self->labels [0], "n=0");
    assert_string_equal (self->labels [24], "n=24");
    assert_string_equal (self->codes [12], "MalformedDetail");
    assert_string_equal (self->codes [13], "sent");
    mesh_batch_stats_t stats;
    mesh_batch_stats (batch, &stats);
    assert_int_equal (stats.queued, 24);
    assert_int_equal (stats.refused, 1);
    assert_false (stats.request_failed);
    s_expect_events (self, 24, "eda_bus");
    //  Nothing pending: a flush sends nothing
    assert_int_equal (mesh_batch_flush (batch, &err), 0);
    assert_int_equal (self->reports, 25);
    mesh_batch_destroy (&batch);
    assert_null (batch);
}

static void
test_batch_puts_lines_as_details (void **state)
{
    self_t *self = *state;
    mesh_batch_t *batch = mesh_batch_new (self->pub, 3, s_report, self);
    const char text [] = "{\"total_cost\": 512}\n\n{\"total_cost\": 5}\r\nnot json\n{\"a\": [1]}";
    FILE *input = fmemopen ((void *) text, sizeof (text) - 1, "r");
    assert_non_null (input);
    mesh_entry_t template = { .source = "demo.payments", .detail_type = "Payment Processed",
                              .event_bus_name = "other_bus" };
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_batch_put_lines (batch, input, &template, &err), 0);
    fclose (input);
    //  Blank lines are skipped but counted: labels are the input's line numbers
    assert_int_equal (self->reports, 4);
    assert_string_equal (self->labels [0], "line=1");
    assert_string_equal (self->labels [1], "line=3");
    assert_string_equal (self->labels [2], "line=4");
    assert_string_equal (self->codes [2], "MalformedDetail");
    assert_string_equal (self->labels [3], "line=5");
    assert_int_equal (self->sent, 3);
    s_expect_events (self, 3, "other_bus");
    mesh_batch_destroy (&batch);
}

static void
test_batch_stops_and_says_so_when_a_request_fails (void **state)
{
    self_t *self = *state;
    //  No broker at all: the request fails after connect_timeout_ms
    mesh_pub_options_t options;
    mesh_pub_options_init (&options);
    options.connect_timeout_ms = 200;
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", tk_free_port ());
    mesh_error_t err = { 0 };
    mesh_pub_t *pub = mesh_pub_new (endpoint, "eda_bus", &options, &err);
    assert_non_null (pub);
    mesh_batch_t *batch = mesh_batch_new (pub, 2, s_report, self);
    const char text [] = "{}\n{}\n{}\n{}\n";
    FILE *input = fmemopen ((void *) text, sizeof (text) - 1, "r");
    mesh_entry_t template = { .source = "s", .detail_type = "t" };
    assert_int_equal (mesh_batch_put_lines (batch, input, &template, &err), -1);
    assert_int_equal (err.code, MESH_ETIMEDOUT);
    fclose (input);
    //  The first batch was reported (not sent), and nothing was read after it
    assert_int_equal (self->reports, 2);
    assert_string_equal (self->codes [0], "InternalFailure");
    mesh_batch_stats_t stats;
    mesh_batch_stats (batch, &stats);
    assert_true (stats.request_failed);
    assert_int_equal (stats.refused, 2);
    assert_int_equal (stats.queued, 0);
    mesh_batch_destroy (&batch);
    mesh_pub_destroy (&pub);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_batch_sends_full_batches_and_reports_every_entry, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_batch_puts_lines_as_details, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_batch_stops_and_says_so_when_a_request_fails, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name ("batch", tests, NULL, NULL);
}
