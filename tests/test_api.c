/*  test_api.c: the broker's API against a real mesh-broker process

    Every test starts bin/mesh-broker on ephemeral loopback ports with the
    example's rules and talks to its API (docs/protocol.md, "The API") the
    way clients do: libmesh's mesh_call (a REQ socket), raw DEALER sockets
    for what a REQ cannot send, and bin/mesh's ping, stats, rules and put.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "mesh.h"
#include "support/testkit.h"

typedef struct {
    char *dir;
    tk_proc_t broker;
    char deliver [256];
    char ingest [256];
    char api [256];
    char out [512];             //  the last bin/mesh run's output
} self_t;

static int
s_setup (void **state)
{
    self_t *self = (self_t *) calloc (1, sizeof (self_t));
    self->dir = tk_tempdir ();
    const char *extra [] = { "--startup-grace", "0", NULL };
    if (tk_broker_start (&self->broker, self->dir, "config/eda_bus.json", self->deliver, extra)
    ||  tk_broker_ingest (self->dir, self->ingest, 10000)
    ||  !tk_broker_endpoint (self->dir, "api", self->api))
        return -1;
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    self_t *self = (self_t *) *state;
    tk_stop (&self->broker);
    tk_tempdir_remove (&self->dir);
    free (self);
    return 0;
}

//  One request through mesh_call; the reply's map (caller decrefs).
static json_t *
s_call (self_t *self, const char *request)
{
    mesh_error_t err = { 0 };
    mesh_call_t *call = mesh_call_new (self->api, &err);
    assert_non_null (call);
    char *text = mesh_call_json (call, request, 5000, &err);
    if (!text)
        fail_msg ("%s: %s", request, err.text);
    mesh_call_destroy (&call);
    json_error_t json_err;
    json_t *reply = json_loads (text, 0, &json_err);
    assert_non_null (reply);
    free (text);
    assert_int_equal (json_integer_value (json_object_get (reply, "v")), 3);
    return reply;
}

//  The error code of a refused reply ("" when it was ok).
static const char *
s_code (json_t *reply)
{
    if (json_is_true (json_object_get (reply, "ok")))
        return "";
    const char *code = json_string_value (json_object_get (json_object_get (reply, "error"), "code"));
    assert_non_null (code);
    assert_non_null (json_string_value (json_object_get (json_object_get (reply, "error"), "message")));
    return code;
}

static long long
s_counter (self_t *self, const char *name)
{
    json_t *reply = s_call (self, "{\"op\":\"stats\"}");
    json_t *value = json_object_get (json_object_get (reply, "counters"), name);
    assert_true (json_is_integer (value));
    long long count = json_integer_value (value);
    json_decref (reply);
    return count;
}

static void
test_api_answers_ping_stats_and_rules (void **state)
{
    self_t *self = (self_t *) *state;
    json_t *reply = s_call (self, "{\"op\":\"ping\",\"id\":7}");
    assert_string_equal (s_code (reply), "");
    assert_string_equal (json_string_value (json_object_get (reply, "op")), "ping");
    assert_int_equal (json_integer_value (json_object_get (reply, "id")), 7);
    assert_int_equal (json_integer_value (json_object_get (reply, "protocol")), 3);
    assert_int_equal (json_integer_value (json_object_get (reply, "pid")), self->broker.pid);
    assert_int_equal (json_integer_value (json_object_get (reply, "buses")), 1);
    assert_true (json_is_true (json_object_get (reply, "ingest_open")));
    assert_true (json_integer_value (json_object_get (reply, "uptime_ms")) >= 0);
    assert_non_null (json_string_value (json_object_get (reply, "version")));
    json_decref (reply);

    //  The example's three rules, as its file says them
    reply = s_call (self, "{\"op\":\"list-rules\"}");
    json_t *buses = json_object_get (reply, "buses");
    assert_int_equal (json_array_size (buses), 1);
    json_t *bus = json_array_get (buses, 0);
    assert_string_equal (json_string_value (json_object_get (bus, "name")), "eda_bus");
    json_t *rules = json_object_get (bus, "rules");
    assert_int_equal (json_array_size (rules), 3);
    const char *names [] = { "payment-processed", "payment-to-warehouse", "payment-to-shipping" };
    const char *targets [] = { "rewards", "warehouse", "shipping" };
    for (size_t i = 0; i < 3; i++) {
        json_t *rule = json_array_get (rules, i);
        assert_string_equal (json_string_value (json_object_get (rule, "name")), names [i]);
        assert_string_equal (json_string_value (json_object_get (rule, "state")), "ENABLED");
        assert_string_equal (json_string_value (json_array_get (json_object_get (rule, "targets"), 0)),
                             targets [i]);
        assert_non_null (strstr (json_string_value (json_object_get (rule, "pattern")),
                                 "\"source\":[\"demo.payments\"]"));
    }
    json_decref (reply);
    reply = s_call (self, "{\"op\":\"list-rules\",\"bus\":\"eda_bus\"}");
    assert_string_equal (s_code (reply), "");
    json_decref (reply);
    reply = s_call (self, "{\"op\":\"describe-rule\",\"bus\":\"eda_bus\",\"name\":\"payment-processed\"}");
    assert_string_equal (s_code (reply), "");
    assert_non_null (strstr (json_string_value (json_object_get (json_object_get (reply, "rule"), "pattern")),
                             "{\"numeric\":[\">\",200]}"));
    json_decref (reply);

    //  What the broker does not have: EventBridge's code and words
    reply = s_call (self, "{\"op\":\"list-rules\",\"bus\":\"EDA_BUS\"}");
    assert_string_equal (s_code (reply), "ResourceNotFoundException");
    assert_string_equal (json_string_value (json_object_get (json_object_get (reply, "error"), "message")),
                         "Event bus EDA_BUS does not exist.");
    json_decref (reply);
    reply = s_call (self, "{\"op\":\"describe-rule\",\"bus\":\"eda_bus\",\"name\":\"nope\"}");
    assert_string_equal (s_code (reply), "ResourceNotFoundException");
    assert_string_equal (json_string_value (json_object_get (json_object_get (reply, "error"), "message")),
                         "Rule nope does not exist on EventBus eda_bus.");
    json_decref (reply);

    //  Every counter, by name; the API's own count what came
    reply = s_call (self, "{\"op\":\"stats\"}");
    json_t *counters = json_object_get (reply, "counters");
    const char *keys [] = { "received", "routed", "unmatched", "unknown_bus", "malformed", "oversized",
                            "queued", "queued_bytes", "send_errors", "connections", "disconnections",
                            "refused_bad_id", "refused_non_finite", "api_requests", "api_errors",
                            "ingest_rate" };
    for (size_t i = 0; i < sizeof (keys) / sizeof (keys [0]); i++)
        if (!json_is_integer (json_object_get (counters, keys [i])))
            fail_msg ("stats has no counter '%s'", keys [i]);
    long long requests = json_integer_value (json_object_get (counters, "api_requests"));
    long long errors = json_integer_value (json_object_get (counters, "api_errors"));
    assert_int_equal (requests, 6);             //  the six before this one
    assert_int_equal (errors, 2);
    json_t *list = json_object_get (reply, "targets");
    assert_int_equal (json_array_size (list), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *target = json_array_get (list, i);
        assert_non_null (json_string_value (json_object_get (target, "name")));
        assert_true (json_is_integer (json_object_get (target, "backlog")));
        assert_true (json_is_true (json_object_get (target, "routed")));
    }
    json_decref (reply);
    assert_int_equal (s_counter (self, "api_requests"), 7);     //  a request counts once answered
}

//  A raw DEALER: the frames as given, then the reply's frames, joined as
//  "size:first bytes|..." is not needed; returns the reply's last frame
//  (caller frees) and its frame count, or NULL after timeout_ms.
static char *
s_raw (self_t *self, void *dealer, int frames, const void *const *data, const size_t *sizes,
       int timeout_ms, int *reply_frames)
{
    (void) self;
    for (int i = 0; i < frames; i++)
        assert_int_not_equal (zmq_send (dealer, data [i], sizes [i], i < frames - 1? ZMQ_SNDMORE: 0), -1);
    zmq_pollitem_t item = { dealer, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return NULL;
    char *last = NULL;
    int count = 0;
    int more = 1;
    while (more) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        assert_int_not_equal (zmq_msg_recv (&msg, dealer, 0), -1);
        more = zmq_msg_more (&msg);
        free (last);
        last = mesh_msgpack_to_json (zmq_msg_data (&msg), zmq_msg_size (&msg), NULL, NULL);
        if (!last)
            last = strdup ("");
        zmq_msg_close (&msg);
        count++;
    }
    *reply_frames = count;
    return last;
}

static void *
s_dealer (void *context, const char *endpoint)
{
    void *dealer = zmq_socket (context, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt (dealer, ZMQ_LINGER, &linger, sizeof (linger));
    assert_int_equal (zmq_connect (dealer, endpoint), 0);
    return dealer;
}

//  A request as [""][map], the map from JSON text.
static char *
s_raw_json (self_t *self, void *dealer, const char *json, int *frames)
{
    void *data;
    size_t size;
    assert_int_equal (mesh_json_to_msgpack (json, strlen (json), NULL, &data, &size, NULL), 0);
    const void *parts [] = { "", data };
    const size_t sizes [] = { 0, size };
    char *reply = s_raw (self, dealer, 2, parts, sizes, 5000, frames);
    free (data);
    assert_non_null (reply);
    return reply;
}

static void
s_assert_code (const char *reply, const char *code)
{
    char needle [128];
    snprintf (needle, sizeof (needle), "\"code\":\"%s\"", code);
    if (!strstr (reply, needle))
        fail_msg ("expected %s in %s", code, reply);
}

static void
test_api_refuses_hostile_requests_and_goes_on (void **state)
{
    self_t *self = (self_t *) *state;
    void *context = zmq_ctx_new ();
    void *dealer = s_dealer (context, self->api);
    int frames = 0;
    struct {
        const char *bytes;
        size_t size;
        const char *code;
    } bad [] = {
        { "\xc1", 1, "MalformedRequest" },                  //  a byte MessagePack never uses
        { "\x92\x01\x02", 3, "MalformedRequest" },          //  [1, 2]: not a map
        { "\x81\xa2op", 4, "MalformedRequest" },            //  a map cut short
        { "\x81\xa2op\xa4ping\x00", 10, "MalformedRequest" },    //  a byte after the map
        { "\x81\x01\xa4ping", 7, "MalformedRequest" },      //  {1: "ping"}: a key that is not a string
        { "\x80", 1, "ValidationException" },               //  {}: no op
        { "\x81\xa2op\x7b", 5, "ValidationException" },     //  {"op": 123}
        { "\x82\xa1v\x02\xa2op\xa4ping", 12, "UnsupportedVersion" },  //  {"v": 2, ...}
        { "\x81\xa2op\xa4pong", 9, "UnknownOperationException" },
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        const void *parts [] = { "", bad [i].bytes };
        const size_t sizes [] = { 0, bad [i].size };
        char *reply = s_raw (self, dealer, 2, parts, sizes, 5000, &frames);
        if (!reply)
            fail_msg ("no reply to bad request %zu", i);
        assert_int_equal (frames, 2);               //  the delimiter, then the reply
        s_assert_code (reply, bad [i].code);
        assert_non_null (strstr (reply, "\"ok\":false"));
        free (reply);
    }
    char *reply = s_raw_json (self, dealer, "{\"op\":\"describe-rule\",\"bus\":5,\"name\":\"x\"}", &frames);
    s_assert_code (reply, "ValidationException");
    free (reply);
    reply = s_raw_json (self, dealer, "{\"op\":\"describe-rule\",\"bus\":\"eda_bus\"}", &frames);
    s_assert_code (reply, "ValidationException");
    free (reply);
    //  Nested past the API's depth: refused, not followed
    char deep [256] = "{\"op\":\"ping\",\"x\":";
    for (int i = 0; i < 40; i++)
        strcat (deep, "[");
    for (int i = 0; i < 40; i++)
        strcat (deep, "]");
    strcat (deep, "}");
    reply = s_raw_json (self, dealer, deep, &frames);
    s_assert_code (reply, "MalformedRequest");
    free (reply);

    //  Frames: too many, an envelope without its delimiter, none at all
    const void *many [] = { "a", "b", "c", "d", "e", "f", "g" };
    const size_t many_sizes [] = { 1, 1, 1, 1, 1, 1, 1 };
    reply = s_raw (self, dealer, 7, many, many_sizes, 5000, &frames);
    assert_non_null (reply);
    s_assert_code (reply, "MalformedRequest");
    free (reply);
    const void *undelimited [] = { "x", "\x81\xa2op\xa4ping" };
    const size_t undelimited_sizes [] = { 1, 9 };
    reply = s_raw (self, dealer, 2, undelimited, undelimited_sizes, 5000, &frames);
    assert_non_null (reply);
    s_assert_code (reply, "MalformedRequest");
    free (reply);
    //  A DEALER that sends the map alone gets the reply alone
    const void *alone [] = { "\x81\xa2op\xa4ping" };
    const size_t alone_sizes [] = { 9 };
    reply = s_raw (self, dealer, 1, alone, alone_sizes, 5000, &frames);
    assert_non_null (reply);
    assert_int_equal (frames, 1);
    assert_non_null (strstr (reply, "\"ok\":true"));
    free (reply);

    //  Over the request limit (4 MiB), under the socket's (8 MiB): refused
    //  with a reply. Over the socket's: the connection ends, nothing else
    size_t big = 5u << 20;
    char *blob = (char *) calloc (1, big);
    const void *large [] = { "", blob };
    const size_t large_sizes [] = { 0, big };
    reply = s_raw (self, dealer, 2, large, large_sizes, 10000, &frames);
    assert_non_null (reply);
    s_assert_code (reply, "RequestTooLarge");
    free (reply);
    free (blob);
    void *hostile = s_dealer (context, self->api);
    size_t huge = 9u << 20;
    blob = (char *) calloc (1, huge);
    const void *huge_parts [] = { "", blob };
    const size_t huge_sizes [] = { 0, huge };
    assert_null (s_raw (self, hostile, 2, huge_parts, huge_sizes, 1000, &frames));
    free (blob);
    zmq_close (hostile);

    //  Through all of it: each refusal counted, the broker still answers
    //  and still routes (an event published now reaches its target)
    assert_true (s_counter (self, "api_errors") >= 15);
    mesh_error_t err = { 0 };
    mesh_sub_options_t sub_options;
    mesh_sub_options_init (&sub_options);
    mesh_sub_t *sub = mesh_sub_new (self->deliver, "warehouse", &sub_options, &err);
    assert_non_null (sub);
    mesh_pub_options_t pub_options;
    mesh_pub_options_init (&pub_options);
    mesh_pub_t *pub = mesh_pub_new (self->ingest, "eda_bus", &pub_options, &err);
    assert_non_null (pub);
    mesh_entry_t entry = { .source = "demo.payments", .detail_type = "Payment Processed",
                           .detail = "{\"total_cost\":12.5}" };
    mesh_entry_result_t result;
    assert_int_equal (mesh_pub_put_events (pub, &entry, 1, &result, &err), 0);
    mesh_delivery_t delivery;
    assert_int_equal (mesh_sub_recv (sub, &delivery, 10000, &err), 1);
    assert_string_equal (delivery.rule, "payment-to-warehouse");
    assert_int_equal (delivery.seq, 1);
    //  A stream of a second and more: the ingest rate says so while it lasts
    double until = (double) time (NULL) + 2.5;
    long long rate = 0;
    while ((double) time (NULL) < until && rate == 0) {
        for (int i = 0; i < 100; i++)
            assert_int_equal (mesh_pub_put_events (pub, &entry, 1, &result, &err), 0);
        usleep (10000);
        rate = s_counter (self, "ingest_rate");
    }
    assert_true (rate > 0);
    mesh_pub_destroy (&pub);
    mesh_sub_destroy (&sub);
    reply = s_raw_json (self, dealer, "{\"op\":\"ping\"}", &frames);
    assert_non_null (strstr (reply, "\"ok\":true"));
    free (reply);
    zmq_close (dealer);
    zmq_ctx_term (context);
    assert_true (s_counter (self, "routed") >= 1);
}

//  put-events: each entry answered, in order, with its EventId once the
//  broker took it, or EventBridge's error entry; what was taken is
//  delivered, what was refused is not.
static void
test_api_put_events_answers_each_entry (void **state)
{
    self_t *self = (self_t *) *state;
    mesh_error_t err = { 0 };
    mesh_sub_options_t sub_options;
    mesh_sub_options_init (&sub_options);
    mesh_sub_t *sub = mesh_sub_new (self->deliver, "warehouse", &sub_options, &err);
    assert_non_null (sub);
    json_t *reply = s_call (self,
        "{\"op\":\"put-events\",\"Entries\":["
        "{\"Source\":\"demo.payments\",\"DetailType\":\"Payment Processed\",\"Detail\":\"{\\\"n\\\":1}\","
        "\"EventBusName\":\"eda_bus\"},"
        "{\"Source\":\"demo.payments\",\"DetailType\":\"Payment Processed\",\"Detail\":\"{}\"},"
        "{\"Source\":\"aws.ec2\",\"DetailType\":\"x\",\"Detail\":\"{}\",\"EventBusName\":\"eda_bus\"},"
        "{\"Source\":\"demo.payments\",\"DetailType\":\"Payment Processed\",\"Detail\":\"not json\","
        "\"EventBusName\":\"eda_bus\"},"
        "{\"Source\":5,\"DetailType\":\"x\",\"Detail\":\"{}\",\"EventBusName\":\"eda_bus\"},"
        "{\"Source\":\"demo.payments\",\"DetailType\":\"Payment Processed\",\"Detail\":{\"n\":6},"
        "\"EventBusName\":\"eda_bus\",\"Resources\":[\"arn:x\"],\"Time\":\"2026-12-01T10:00:00Z\"},"
        "{\"Source\":\"other\",\"DetailType\":\"x\",\"Detail\":\"{}\",\"EventBusName\":\"eda_bus\"},"
        "\"not an entry\"]}");
    assert_string_equal (s_code (reply), "");
    assert_int_equal (json_integer_value (json_object_get (reply, "FailedEntryCount")), 5);
    json_t *entries = json_object_get (reply, "Entries");
    assert_int_equal (json_array_size (entries), 8);
    const char *codes [] = { NULL, "ResourceNotFoundException", "NotAuthorizedForSourceException",
                             "MalformedDetail", "InvalidArgument", NULL, NULL, "InvalidArgument" };
    for (size_t i = 0; i < 8; i++) {
        json_t *entry = json_array_get (entries, i);
        const char *id = json_string_value (json_object_get (entry, "EventId"));
        const char *code = json_string_value (json_object_get (entry, "ErrorCode"));
        if (codes [i]) {
            assert_null (id);
            assert_non_null (code);
            assert_string_equal (code, codes [i]);
            assert_non_null (json_string_value (json_object_get (entry, "ErrorMessage")));
        }
        else {
            assert_null (code);
            assert_non_null (id);
            assert_int_equal (strlen (id), 36);
        }
    }
    assert_string_equal (json_string_value (json_object_get (json_array_get (entries, 1), "ErrorMessage")),
                         "Event bus default does not exist.");
    //  The two payments reach warehouse, in order, with the ids the reply gave
    const char *first = json_string_value (json_object_get (json_array_get (entries, 0), "EventId"));
    const char *sixth = json_string_value (json_object_get (json_array_get (entries, 5), "EventId"));
    mesh_delivery_t delivery;
    assert_int_equal (mesh_sub_recv (sub, &delivery, 10000, &err), 1);
    assert_string_equal (mesh_event_id (delivery.event), first);
    assert_int_equal (delivery.seq, 1);
    assert_int_equal (mesh_sub_recv (sub, &delivery, 10000, &err), 1);
    assert_string_equal (mesh_event_id (delivery.event), sixth);
    assert_int_equal (delivery.seq, 2);
    json_decref (reply);
    //  "other" matched no rule: taken, not delivered; nothing else came
    assert_int_equal (mesh_sub_recv (sub, &delivery, 300, &err), 0);
    mesh_sub_destroy (&sub);
    assert_int_equal (s_counter (self, "routed"), 2);
    assert_int_equal (s_counter (self, "unmatched"), 1);
    assert_int_equal (s_counter (self, "unknown_bus"), 1);
    assert_int_equal (s_counter (self, "refused_reserved_source"), 0);  //  refused before routing
    //  EventBridge's metrics: by bus, and by each rule that matched
    reply = s_call (self, "{\"op\":\"stats\"}");
    json_t *bus = json_array_get (json_object_get (reply, "buses"), 0);
    assert_string_equal (json_string_value (json_object_get (bus, "name")), "eda_bus");
    assert_int_equal (json_integer_value (json_object_get (bus, "events")), 3);
    assert_int_equal (json_integer_value (json_object_get (bus, "matched_events")), 2);
    assert_int_equal (json_integer_value (json_object_get (bus, "invocations")), 4);
    json_t *rules = json_object_get (bus, "rules");
    assert_int_equal (json_array_size (rules), 2);          //  payment-processed matched none
    for (size_t i = 0; i < 2; i++) {
        json_t *rule = json_array_get (rules, i);
        assert_string_equal (json_string_value (json_object_get (rule, "name")),
                             i? "payment-to-shipping": "payment-to-warehouse");
        assert_int_equal (json_integer_value (json_object_get (rule, "triggered")), 2);
        assert_int_equal (json_integer_value (json_object_get (rule, "invocations")), 2);
    }
    json_decref (reply);
    reply = s_call (self, "{\"op\":\"stats\",\"all\":true}");
    bus = json_array_get (json_object_get (reply, "buses"), 0);
    assert_int_equal (json_array_size (json_object_get (bus, "rules")), 3);
    json_decref (reply);

    //  The request as a whole
    reply = s_call (self, "{\"op\":\"put-events\",\"Entries\":[]}");
    assert_string_equal (s_code (reply), "ValidationException");
    json_decref (reply);
    reply = s_call (self, "{\"op\":\"put-events\"}");
    assert_string_equal (s_code (reply), "ValidationException");
    json_decref (reply);
    char eleven [2048] = "{\"op\":\"put-events\",\"Entries\":[";
    for (int i = 0; i < 11; i++)
        strcat (eleven, i? ",{}": "{}");
    strcat (eleven, "]}");
    reply = s_call (self, eleven);
    assert_string_equal (s_code (reply), "ValidationException");
    json_decref (reply);
}

//  bin/mesh with args; returns its exit status, its stdout in self->out's file.
static int
s_mesh (self_t *self, ...)
{
    const char *argv [16] = { tk_bin ("mesh") };
    int argc = 1;
    va_list args;
    va_start (args, self);
    const char *arg;
    while ((arg = va_arg (args, const char *)) && argc < 15)
        argv [argc++] = arg;
    va_end (args);
    argv [argc] = NULL;
    tk_proc_t proc;
    tk_start (&proc, self->dir, "mesh", (char *const *) argv, NULL);
    int status = tk_wait (&proc, 20000);
    snprintf (self->out, sizeof (self->out), "%s", proc.out);
    return status;
}

static void
s_assert_file (const char *path, const char *needle)
{
    if (!tk_wait_for (path, needle, 0)) {
        char *text = tk_read (path);
        fail_msg ("%s has no '%s':\n%s", path, needle, text? text: "(unreadable)");
    }
}

static void
test_api_through_mesh_ping_stats_and_rules (void **state)
{
    self_t *self = (self_t *) *state;
    char err_path [600];
    assert_int_equal (s_mesh (self, "ping", "--api", self->api, NULL), 0);
    s_assert_file (self->out, "mesh-broker ");
    s_assert_file (self->out, "protocol 3");
    s_assert_file (self->out, "1 bus(es), ingest open");
    assert_int_equal (s_mesh (self, "ping", "--api", self->api, "--output", "json", NULL), 0);
    s_assert_file (self->out, "\"op\": \"ping\"");
    s_assert_file (self->out, "\"ok\": true");

    assert_int_equal (s_mesh (self, "rules", "--api", self->api, NULL), 0);
    s_assert_file (self->out, "bus eda_bus (config/eda_bus.json): 3 rule(s)");
    s_assert_file (self->out, "payment-to-shipping");
    assert_int_equal (s_mesh (self, "rules", "--api", self->api, "--bus", "eda_bus", "--name",
                              "payment-processed", NULL), 0);
    s_assert_file (self->out, "payment-processed            ENABLED  rewards");
    assert_int_equal (s_mesh (self, "rules", "--api", self->api, "--bus", "nope", NULL), 1);
    snprintf (err_path, sizeof (err_path), "%s/mesh.err", self->dir);
    s_assert_file (err_path, "mesh rules: ResourceNotFoundException: Event bus nope does not exist.");
    assert_int_equal (s_mesh (self, "rules", "--api", self->api, "--name", "x", NULL), 2);
    s_assert_file (err_path, "--name needs --bus");

    assert_int_equal (s_mesh (self, "stats", "--api", self->api, NULL), 0);
    s_assert_file (self->out, "api_requests");
    s_assert_file (self->out, "warehouse");
    s_assert_file (self->out, "bus eda_bus: 0 event(s), 0 matched a rule (MatchedEvents), 0 invocation(s)");
    assert_int_equal (s_mesh (self, "stats", "--api", self->api, "--all", NULL), 0);
    s_assert_file (self->out, "  payment-to-shipping                            0               0");
    assert_int_equal (s_mesh (self, "stats", "--api", self->api, "-o", "json", NULL), 0);
    s_assert_file (self->out, "\"counters\": {");
    assert_int_equal (s_mesh (self, "stats", "--api", self->api, "--output", "yaml", NULL), 2);
    s_assert_file (err_path, "--output must be text or json, not 'yaml'");

    //  The endpoint also comes from the environment; nobody there: trouble
    setenv ("MESH_API", self->api, 1);
    assert_int_equal (s_mesh (self, "ping", NULL), 0);
    unsetenv ("MESH_API");
    //  mesh put: flags, --entries inline and file://, JSON lines; the AWS CLI's shapes
    assert_int_equal (s_mesh (self, "put", "--api", self->api, "--bus", "eda_bus", "--source", "demo.payments",
                              "--detail-type", "Payment Processed", "--detail", "{\"total_cost\": 242.58}", NULL), 0);
    s_assert_file (self->out, "\"FailedEntryCount\": 0,");
    s_assert_file (self->out, "\"EventId\": \"");
    const char *entries = "[{\"Source\":\"demo.payments\",\"DetailType\":\"Payment Processed\","
                          "\"Detail\":\"{}\",\"EventBusName\":\"eda_bus\"},"
                          "{\"Source\":\"demo.payments\",\"DetailType\":\"Payment Processed\",\"Detail\":\"{}\"}]";
    assert_int_equal (s_mesh (self, "put", "--api", self->api, "--entries", entries, NULL), 1);
    s_assert_file (self->out, "\"FailedEntryCount\": 1,");
    s_assert_file (self->out, "\"ErrorCode\": \"ResourceNotFoundException\"");
    char path [600], url [620];
    snprintf (path, sizeof (path), "%s/entries.json", self->dir);
    tk_write (path, entries);
    snprintf (url, sizeof (url), "file://%s", path);
    assert_int_equal (s_mesh (self, "put", "--api", self->api, "--entries", url, "--output", "text", NULL), 1);
    s_assert_file (self->out, "ENTRIES\tResourceNotFoundException\tEvent bus default does not exist.");
    char lines [600];
    snprintf (lines, sizeof (lines), "%s/lines.jsonl", self->dir);
    char *text = calloc (1, 8192);
    for (int i = 0; i < 23; i++)
        strcat (text, "{\"Source\":\"demo.payments\",\"DetailType\":\"Payment Processed\",\"Detail\":\"{}\","
                      "\"EventBusName\":\"eda_bus\"}\n");
    tk_write (lines, text);
    free (text);
    long long before = s_counter (self, "routed");
    {
        const char *argv [] = { tk_bin ("mesh"), "put", "--api", self->api, "--output", "text", NULL };
        tk_proc_t proc;
        tk_start (&proc, self->dir, "mesh", (char *const *) argv, lines);
        assert_int_equal (tk_wait (&proc, 20000), 0);
        assert_int_equal (tk_count (proc.out, "ENTRIES\t"), 23);       //  three calls of 10, 10 and 3
    }
    assert_int_equal (s_counter (self, "routed"), before + 23);
    assert_int_equal (s_mesh (self, "put", "--api", self->api, "--source", "x", NULL), 2);
    s_assert_file (err_path, "--source and --detail-type go together");
    assert_int_equal (s_mesh (self, "put", "--api", self->api, "--entries", "[]", NULL), 2);
    s_assert_file (err_path, "--entries holds 1 to 10 entries, not 0");

    char nobody [64];
    snprintf (nobody, sizeof (nobody), "tcp://127.0.0.1:%d", tk_free_port ());
    assert_int_equal (s_mesh (self, "ping", "--api", nobody, "--timeout", "300", NULL), 2);
    s_assert_file (err_path, "within 300 ms (is mesh-broker running");
}

//  mesh tail receives what mesh put sent, as another subscriber of the
//  target, and says so when the broker restarted under it.
static void
test_api_tail_receives_what_put_sent (void **state)
{
    self_t *self = (self_t *) *state;
    //  A broker of our own on ports we know, so that a second one can take its place
    tk_stop (&self->broker);
    char ingest [64], deliver [64], api [64];
    snprintf (ingest, sizeof (ingest), "tcp://127.0.0.1:%d", tk_free_port ());
    snprintf (deliver, sizeof (deliver), "tcp://127.0.0.1:%d", tk_free_port ());
    snprintf (api, sizeof (api), "tcp://127.0.0.1:%d", tk_free_port ());
    const char *broker_argv [] = { tk_bin ("mesh-broker"), "--config", "config/eda_bus.json", "--ingest", ingest,
                                   "--deliver", deliver, "--api", api, "--startup-grace", "0", NULL };
    assert_int_equal (tk_start (&self->broker, self->dir, "broker", (char *const *) broker_argv, NULL), 0);
    assert_true (tk_wait_for (self->broker.err, "ready", 10000));

    tk_proc_t json_tail, text_tail;
    const char *json_argv [] = { tk_bin ("mesh"), "tail", "warehouse", "--deliver", deliver, "--count", "3",
                                 "--output", "json", "--connect-timeout", "10000", NULL };
    assert_int_equal (tk_start (&json_tail, self->dir, "tail-json", (char *const *) json_argv, NULL), 0);
    const char *text_argv [] = { tk_bin ("mesh"), "tail", "--target", "rewards", "--deliver", deliver,
                                 "--count", "2", "--connect-timeout", "10000", NULL };
    assert_int_equal (tk_start (&text_tail, self->dir, "tail-text", (char *const *) text_argv, NULL), 0);
    //  Both subscribed: the broker counts them
    snprintf (self->api, sizeof (self->api), "%s", api);
    for (int i = 0; i < 100 && s_counter (self, "subscriptions") < 2; i++)
        usleep (20000);
    assert_int_equal (s_counter (self, "subscriptions"), 2);

    assert_int_equal (s_mesh (self, "put", "--api", api, "--bus", "eda_bus", "--source", "demo.payments",
                              "--detail-type", "Payment Processed", "--detail", "{\"total_cost\": 242.58}",
                              "--output", "text", NULL), 0);
    char *put = tk_read (self->out);
    assert_non_null (put);
    char id [40] = "";
    assert_int_equal (sscanf (put, "0\nENTRIES\t%36s", id), 1);
    free (put);
    assert_true (tk_wait_for (json_tail.out, id, 10000));
    char needle [128];
    snprintf (needle, sizeof (needle), "\"rule\":\"payment-to-warehouse\",\"target\":\"warehouse\","
                                       "\"seq\":1,\"missed\":0,\"restarted\":false,\"event\":{");
    s_assert_file (json_tail.out, needle);
    s_assert_file (json_tail.out, "\"total_cost\":242.58}");         //  the number as it was written
    assert_true (tk_wait_for (text_tail.out, "seq 1 rule payment-processed bus eda_bus: {", 10000));

    //  The broker goes and another takes its place: the tails say so, and go on
    assert_int_equal (tk_stop (&self->broker), 0);
    assert_int_equal (tk_start (&self->broker, self->dir, "broker2", (char *const *) broker_argv, NULL), 0);
    assert_true (tk_wait_for (self->broker.err, "ready", 10000));
    for (int i = 0; i < 100 && s_counter (self, "subscriptions") < 2; i++)
        usleep (20000);
    assert_int_equal (s_mesh (self, "put", "--api", api, "--bus", "eda_bus", "--source", "demo.payments",
                              "--detail-type", "Payment Processed", "--detail", "{\"total_cost\": 300}", NULL), 0);
    assert_int_equal (s_mesh (self, "put", "--api", api, "--bus", "eda_bus", "--source", "demo.payments",
                              "--detail-type", "Payment Processed", "--detail", "{\"total_cost\": 5}", NULL), 0);
    assert_int_equal (tk_wait (&json_tail, 10000), 0);
    assert_int_equal (tk_wait (&text_tail, 10000), 0);
    s_assert_file (json_tail.out, "\"seq\":1,\"missed\":0,\"restarted\":true,");
    s_assert_file (json_tail.out, "\"seq\":2,\"missed\":0,\"restarted\":false,");
    s_assert_file (text_tail.out, "-- the broker restarted");
    s_assert_file (text_tail.out, "seq 1 rule payment-processed bus eda_bus: ");
    s_assert_file (json_tail.err, "mesh tail: 3 deliveries to 'warehouse', 0 missed, 1 restart of the broker");

    //  --count not reached by --timeout: 1; nobody at the endpoint: 2
    char nobody [64];
    snprintf (nobody, sizeof (nobody), "tcp://127.0.0.1:%d", tk_free_port ());
    assert_int_equal (s_mesh (self, "tail", "shipping", "--deliver", deliver, "--count", "1", "--timeout", "200",
                              NULL), 1);
    assert_int_equal (s_mesh (self, "tail", "shipping", "--deliver", nobody, "--connect-timeout", "200", NULL), 2);
    assert_int_equal (s_mesh (self, "tail", "--deliver", deliver, NULL), 2);
}

//  The n of each line of a tail's JSON output ("...\"n\":123}}"), and
//  each line's seq and rule: filled for count lines at most; returns the
//  number of lines.
typedef struct {
    long n;
    long seq;
    char rule [16];
} s_line_t;

static size_t
s_read_tail (const char *path, s_line_t *lines, size_t room)
{
    char *text = tk_read (path);
    if (!text)
        return 0;
    size_t count = 0;
    char *save = NULL;
    for (char *line = strtok_r (text, "\n", &save); line && count < room; line = strtok_r (NULL, "\n", &save)) {
        json_error_t json_err;
        json_t *object = json_loads (line, 0, &json_err);
        if (!object)
            fail_msg ("%s: not JSON: %s", path, line);
        lines [count].n = (long) json_integer_value (json_object_get (json_object_get (json_object_get (object, "event"),
                                                                                         "detail"), "n"));
        lines [count].seq = (long) json_integer_value (json_object_get (object, "seq"));
        snprintf (lines [count].rule, sizeof (lines [count].rule), "%s",
                  json_string_value (json_object_get (object, "rule")));
        assert_int_equal (json_integer_value (json_object_get (object, "missed")), 0);
        json_decref (object);
        count++;
    }
    free (text);
    return count;
}

#define S_STREAM    30000       //  events published while the rules change under them

//  Rules that name one source, each set with targets of its own and one
//  target in common: a reload in the middle of a stream must leave every
//  event matched by one whole set, before or after the swap, none lost,
//  the common target's sequence unbroken.
static void
test_api_reload_during_a_stream_loses_nothing_and_never_mixes (void **state)
{
    self_t *self = (self_t *) *state;
    tk_stop (&self->broker);
    char rules [600], next [620];
    snprintf (rules, sizeof (rules), "%s/rules.json", self->dir);
    snprintf (next, sizeof (next), "%s/rules.json.next", self->dir);
    const char *set_a = "{\"bus\":\"b\",\"rules\":["
        "{\"name\":\"a1\",\"event_pattern\":{\"source\":[\"s\"]},\"targets\":[{\"name\":\"old-1\"}]},"
        "{\"name\":\"a2\",\"event_pattern\":{\"source\":[\"s\"]},\"targets\":[{\"name\":\"old-2\"}]},"
        "{\"name\":\"a3\",\"event_pattern\":{\"source\":[\"s\"]},\"targets\":[{\"name\":\"both\"}]}]}";
    const char *set_b = "{\"bus\":\"b\",\"rules\":["
        "{\"name\":\"b1\",\"event_pattern\":{\"source\":[\"s\"]},\"targets\":[{\"name\":\"new-1\"}]},"
        "{\"name\":\"b2\",\"event_pattern\":{\"source\":[\"s\"]},\"targets\":[{\"name\":\"new-2\"}]},"
        "{\"name\":\"b3\",\"event_pattern\":{\"source\":[\"s\"]},\"targets\":[{\"name\":\"both\"}]}]}";
    tk_write (rules, set_a);
    const char *extra [] = { "--startup-grace", "0", NULL };
    assert_int_equal (tk_broker_start (&self->broker, self->dir, rules, self->deliver, extra), 0);
    assert_int_equal (tk_broker_ingest (self->dir, self->ingest, 10000), 0);
    assert_true (tk_broker_endpoint (self->dir, "api", self->api));

    const char *names [] = { "old-1", "old-2", "new-1", "new-2", "both" };
    tk_proc_t tails [5];
    for (int i = 0; i < 5; i++) {
        const char *argv [] = { tk_bin ("mesh"), "tail", names [i], "--deliver", self->deliver,
                                "--output", "json", "--timeout", "4000", NULL };
        char name [32];
        snprintf (name, sizeof (name), "tail-%s", names [i]);
        assert_int_equal (tk_start (&tails [i], self->dir, name, (char *const *) argv, NULL), 0);
    }
    for (int i = 0; i < 250 && s_counter (self, "subscriptions") < 5; i++)
        usleep (20000);
    assert_int_equal (s_counter (self, "subscriptions"), 5);

    mesh_error_t err = { 0 };
    mesh_pub_options_t options;
    mesh_pub_options_init (&options);
    mesh_pub_t *pub = mesh_pub_new (self->ingest, "b", &options, &err);
    assert_non_null (pub);
    char details [10][32];
    mesh_entry_t entries [10];
    mesh_entry_result_t results [10];
    for (long n = 0; n < S_STREAM; n += 10) {
        for (int k = 0; k < 10; k++) {
            snprintf (details [k], sizeof (details [k]), "{\"n\":%ld}", n + k);
            entries [k] = (mesh_entry_t) { .source = "s", .detail_type = "t", .detail = details [k] };
        }
        assert_int_equal (mesh_pub_put_events (pub, entries, 10, results, &err), 0);
        if (n == S_STREAM / 2) {
            //  The new set, in place at once, and the broker told while events flow
            tk_write (next, set_b);
            assert_int_equal (rename (next, rules), 0);
            assert_int_equal (kill (self->broker.pid, SIGHUP), 0);
        }
    }
    assert_int_equal (mesh_pub_drain (pub, 10000), 0);
    mesh_pub_destroy (&pub);
    for (int i = 0; i < 5; i++)
        assert_int_equal (tk_wait (&tails [i], 60000), 0);

    static s_line_t lines [5][S_STREAM + 1];
    size_t counts [5];
    for (int i = 0; i < 5; i++)
        counts [i] = s_read_tail (tails [i].out, lines [i], S_STREAM + 1);
    //  Nothing lost: every event once in each pair of one set, and in both
    assert_int_equal (counts [0] + counts [2], S_STREAM);
    assert_int_equal (counts [1] + counts [3], S_STREAM);
    assert_int_equal (counts [4], S_STREAM);
    assert_true (counts [0] > 0 && counts [2] > 0);         //  the swap came mid-stream
    assert_int_equal (counts [0], counts [1]);              //  a set's two targets, alike
    assert_int_equal (counts [2], counts [3]);
    //  Never a mix: the old set took the events before the swap, the new one
    //  every event after it, in order, each target's seq from 1 unbroken
    long cut = (long) counts [0];
    for (int i = 0; i < 4; i++)
        for (size_t k = 0; k < counts [i]; k++) {
            assert_int_equal (lines [i][k].n, (i < 2? 0: cut) + (long) k);
            assert_int_equal (lines [i][k].seq, (long) k + 1);
        }
    for (size_t k = 0; k < counts [4]; k++) {
        assert_int_equal (lines [4][k].n, (long) k);
        assert_int_equal (lines [4][k].seq, (long) k + 1);  //  the common target keeps its numbers
        assert_string_equal (lines [4][k].rule, (long) k < cut? "a3": "b3");
    }

    //  The bus counted every event across the swap; each rule its own
    json_t *reply = s_call (self, "{\"op\":\"stats\",\"all\":true}");
    json_t *bus = json_array_get (json_object_get (reply, "buses"), 0);
    assert_int_equal (json_integer_value (json_object_get (bus, "events")), S_STREAM);
    assert_int_equal (json_integer_value (json_object_get (bus, "matched_events")), S_STREAM);
    assert_int_equal (json_integer_value (json_object_get (bus, "invocations")), 3 * S_STREAM);
    json_t *rule = json_array_get (json_object_get (bus, "rules"), 2);
    assert_string_equal (json_string_value (json_object_get (rule, "name")), "b3");
    assert_int_equal (json_integer_value (json_object_get (rule, "triggered")), S_STREAM - cut);
    json_decref (reply);

    //  A file that is refused leaves the new set running, and says why
    tk_write (rules, "{\"bus\":\"b\",\"rules\":[{\"name\":\"bad\",\"event_pattern\":"
                     "{\"detail\":{\"x\":[{\"numeric\":10}]}},\"targets\":[{\"name\":\"t\"}]}]}");
    assert_int_equal (s_mesh (self, "reload", "--api", self->api, NULL), 1);
    char err_path [600];
    snprintf (err_path, sizeof (err_path), "%s/mesh.err", self->dir);
    char expected [800];
    snprintf (expected, sizeof (expected), "mesh reload: ReloadRefused: %s: rule 'bad': pattern.detail.x: "
              "Value of numeric must be an array.", rules);
    s_assert_file (err_path, expected);
    assert_int_equal (kill (self->broker.pid, SIGHUP), 0);
    assert_true (tk_wait_for (self->broker.err, "reload: refused, the rules that were running still are: ", 5000));
    //  Both refusals (mesh reload's and SIGHUP's) are in the log, and the API's gated line may be too
    assert_true (tk_wait_count (self->broker.err, "rule 'bad': pattern.detail.x: Value of numeric must be an array.",
                                2, 5000) >= 2);
    assert_int_equal (s_mesh (self, "rules", "--api", self->api, "--bus", "b", "--name", "b1", NULL), 0);
    //  And a good file again, through mesh reload
    tk_write (rules, set_a);
    assert_int_equal (s_mesh (self, "reload", "--api", self->api, NULL), 0);
    s_assert_file (self->out, "reloaded: 1 bus(es), 3 rule(s)");
    assert_int_equal (s_mesh (self, "rules", "--api", self->api, "--bus", "b", "--name", "a1", NULL), 0);
}

//  test-event-pattern and explain with the broker's own compiler, limits
//  and rules, through the API and through mesh test-pattern and mesh
//  explain --broker, which answer as they do without it.
static void
test_api_tests_patterns_and_explains_with_the_broker (void **state)
{
    self_t *self = (self_t *) *state;
    const char *event = "{\\\"id\\\":\\\"1\\\",\\\"account\\\":\\\"1\\\",\\\"source\\\":\\\"a\\\","
                        "\\\"time\\\":\\\"2026-01-01T00:00:00Z\\\",\\\"region\\\":\\\"r\\\","
                        "\\\"detail-type\\\":\\\"t\\\",\\\"detail\\\":{}}";
    char request [2048];
    snprintf (request, sizeof (request), "{\"op\":\"test-event-pattern\",\"EventPattern\":"
              "\"{\\\"source\\\":[\\\"a\\\"]}\",\"Event\":\"%s\"}", event);
    json_t *reply = s_call (self, request);
    assert_true (json_is_true (json_object_get (reply, "Result")));
    json_decref (reply);
    snprintf (request, sizeof (request), "{\"op\":\"test-event-pattern\",\"EventPattern\":"
              "\"{\\\"source\\\":[\\\"b\\\"]}\",\"Event\":\"%s\"}", event);
    reply = s_call (self, request);
    assert_string_equal (s_code (reply), "");
    assert_true (json_is_false (json_object_get (reply, "Result")));
    json_decref (reply);
    snprintf (request, sizeof (request), "{\"op\":\"test-event-pattern\",\"EventPattern\":"
              "\"{\\\"source\\\":[{\\\"numeric\\\":1}]}\",\"Event\":\"%s\"}", event);
    reply = s_call (self, request);
    assert_string_equal (s_code (reply), "InvalidEventPatternException");
    assert_non_null (strstr (json_string_value (json_object_get (json_object_get (reply, "error"), "message")),
                             "Event pattern is not valid. Reason: Value of numeric must be an array."));
    json_decref (reply);
    reply = s_call (self, "{\"op\":\"test-event-pattern\",\"EventPattern\":\"{}\",\"Event\":\"{}\"}");
    assert_string_equal (s_code (reply), "ValidationException");
    json_decref (reply);
    reply = s_call (self, "{\"op\":\"test-event-pattern\",\"Event\":\"{}\"}");
    assert_string_equal (s_code (reply), "ValidationException");
    json_decref (reply);

    //  Through bin/mesh: true and false with 0 and 1, as without a broker
    char event_path [600], pattern_path [600], big_path [600], err_path [600];
    snprintf (event_path, sizeof (event_path), "%s/event.json", self->dir);
    snprintf (pattern_path, sizeof (pattern_path), "%s/pattern.json", self->dir);
    snprintf (big_path, sizeof (big_path), "%s/big.json", self->dir);
    snprintf (err_path, sizeof (err_path), "%s/mesh.err", self->dir);
    tk_write (event_path, "{\"id\":\"1\",\"account\":\"1\",\"source\":\"demo.payments\",\"time\":"
                          "\"2026-01-01T00:00:00Z\",\"region\":\"r\",\"detail-type\":\"Payment Processed\","
                          "\"detail\":{\"total_cost\":99}}");
    tk_write (pattern_path, "{\"detail\":{\"total_cost\":[{\"numeric\":[\">\",50]}]}}");
    char event_arg [620], pattern_arg [620], big_arg [620];
    snprintf (event_arg, sizeof (event_arg), "@%s", event_path);
    snprintf (pattern_arg, sizeof (pattern_arg), "@%s", pattern_path);
    snprintf (big_arg, sizeof (big_arg), "@%s", big_path);
    assert_int_equal (s_mesh (self, "test-pattern", "--broker", "--api", self->api, "--pattern", pattern_arg,
                              "--event", event_arg, NULL), 0);
    s_assert_file (self->out, "true");
    tk_write (pattern_path, "{\"detail\":{\"total_cost\":[{\"numeric\":[\">\",500]}]}}");
    assert_int_equal (s_mesh (self, "test-pattern", "--broker", "--api", self->api, "--pattern", pattern_arg,
                              "--event", event_arg, NULL), 1);
    s_assert_file (self->out, "false");
    //  The broker's limit, not this command's: a pattern over its 4,096 bytes
    char *big = calloc (1, 6000);
    strcpy (big, "{\"source\":[\"");
    memset (big + strlen (big), 'x', 5000);
    strcat (big, "\"]}");
    tk_write (big_path, big);
    free (big);
    assert_int_equal (s_mesh (self, "test-pattern", "--pattern", big_arg, "--event", event_arg,
                              "--max-pattern-size", "100000", NULL), 1);
    assert_int_equal (s_mesh (self, "test-pattern", "--broker", "--api", self->api, "--pattern", big_arg,
                              "--event", event_arg, "--max-pattern-size", "100000", NULL), 2);
    s_assert_file (err_path, "Member must have length less than or equal to 4096");

    //  explain against the rules the broker runs
    assert_int_equal (s_mesh (self, "explain", "--broker", "--api", self->api, "--bus", "eda_bus", "--event",
                              event_arg, NULL), 0);
    s_assert_file (self->out, "payment-processed: no match: detail.total_cost is 99, not > 200");
    s_assert_file (self->out, "payment-to-warehouse: matched");
    tk_write (event_path, "{\"source\":\"other\"}");
    assert_int_equal (s_mesh (self, "explain", "--broker", "--api", self->api, "--bus", "eda_bus", "--event",
                              event_arg, NULL), 1);
    assert_int_equal (s_mesh (self, "explain", "--broker", "--api", self->api, "--bus", "nope", "--event",
                              event_arg, NULL), 2);
    s_assert_file (err_path, "Event bus nope does not exist.");
    assert_int_equal (s_mesh (self, "explain", "--broker", "--api", self->api, "--event", event_arg, NULL), 2);
    s_assert_file (err_path, "--broker takes --bus and --event");
}

//  A plain TCP connection to endpoint ("tcp://127.0.0.1:PORT"); its local
//  port in *port. Returns the descriptor.
static int
s_tcp_connect (const char *endpoint, int *port)
{
    int remote = atoi (strrchr (endpoint, ':') + 1);
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) remote) };
    inet_pton (AF_INET, "127.0.0.1", &to.sin_addr);
    assert_int_equal (connect (fd, (struct sockaddr *) &to, sizeof (to)), 0);
    struct sockaddr_in local;
    socklen_t size = sizeof (local);
    getsockname (fd, (struct sockaddr *) &local, &size);
    *port = ntohs (local.sin_port);
    return fd;
}

//  mesh monitor: the socket monitor's events of the broker's sockets, with
//  the peer's address, as they come, and the peers connected now.
static void
test_api_monitor_shows_connections_with_their_address (void **state)
{
    self_t *self = (self_t *) *state;
    tk_proc_t monitor;
    const char *argv [] = { tk_bin ("mesh"), "monitor", "--api", self->api, "--follow", "--for", "4000",
                            "--output", "json", NULL };
    assert_int_equal (tk_start (&monitor, self->dir, "monitor", (char *const *) argv, NULL), 0);
    assert_true (tk_wait_for (monitor.out, "\"event\":\"listening\"", 5000));
    //  A peer that connects and goes; one that talks nonsense
    int port = 0;
    int fd = s_tcp_connect (self->deliver, &port);
    char address [64];
    snprintf (address, sizeof (address), "\"address\":\"127.0.0.1:%d\"", port);
    char accepted [160], gone [160];
    snprintf (accepted, sizeof (accepted), "\"socket\":\"deliver\",\"event\":\"accepted\",\"value\":");
    snprintf (gone, sizeof (gone), "\"socket\":\"deliver\",\"event\":\"disconnected\",\"value\":");
    assert_true (tk_wait_for (monitor.out, address, 5000));
    s_assert_file (monitor.out, accepted);
    //  While it is connected, it is a peer
    assert_int_equal (s_mesh (self, "monitor", "--api", self->api, "--peers", "--output", "json", NULL), 0);
    char peer [128];
    snprintf (peer, sizeof (peer), "\"address\": \"127.0.0.1:%d\"", port);
    s_assert_file (self->out, peer);
    close (fd);
    assert_true (tk_wait_for (monitor.out, gone, 5000));
    int other = 0;
    fd = s_tcp_connect (self->ingest, &other);
    const char nonsense [] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal (write (fd, nonsense, sizeof (nonsense) - 1), (ssize_t) sizeof (nonsense) - 1);
    usleep (100000);
    close (fd);             //  libzmq waits for a greeting it never gets: the handshake fails then
    assert_true (tk_wait_for (monitor.out, "\"socket\":\"ingest\",\"event\":\"handshake_failed", 5000));
    assert_int_equal (tk_wait (&monitor, 10000), 0);
    //  Gone: no longer a peer; and the text form says the same
    assert_int_equal (s_mesh (self, "monitor", "--api", self->api, "--peers", NULL), 0);
    char *peers = tk_read (self->out);
    snprintf (peer, sizeof (peer), "127.0.0.1:%d", port);
    assert_null (strstr (peers, peer));
    free (peers);
    assert_int_equal (s_mesh (self, "monitor", "--api", self->api, NULL), 0);
    snprintf (peer, sizeof (peer), "deliver  disconnected               127.0.0.1:%d", port);
    s_assert_file (self->out, peer);

    //  The clients' own --monitor: their socket's events on stderr
    char line [400];
    tk_proc_t rewards, payment, tail;
    const char *rewards_argv [] = { tk_bin ("rewards"), "--deliver", self->deliver, "--count", "1", "--monitor",
                                    NULL };
    assert_int_equal (tk_start (&rewards, self->dir, "rewards", (char *const *) rewards_argv, NULL), 0);
    snprintf (line, sizeof (line), " connected %s (value ", self->deliver);
    assert_true (tk_wait_for (rewards.err, line, 10000));
    s_assert_file (rewards.err, "rewards: monitor: 20");
    assert_true (tk_wait_for (rewards.err, "handshake_succeeded", 10000));
    const char *payment_argv [] = { tk_bin ("payment"), "--ingest", self->ingest, "--bus", "eda_bus", "--total",
                                    "300", "--monitor", NULL };
    assert_int_equal (tk_start (&payment, self->dir, "payment", (char *const *) payment_argv, NULL), 0);
    assert_int_equal (tk_wait (&payment, 20000), 0);
    snprintf (line, sizeof (line), "publisher: monitor: ");
    s_assert_file (payment.err, line);
    snprintf (line, sizeof (line), " connected %s (value ", self->ingest);
    s_assert_file (payment.err, line);
    assert_int_equal (tk_wait (&rewards, 20000), 0);
    const char *tail_argv [] = { tk_bin ("mesh"), "tail", "warehouse", "--deliver", self->deliver, "--timeout", "300",
                                 "--monitor", NULL };
    assert_int_equal (tk_start (&tail, self->dir, "tail", (char *const *) tail_argv, NULL), 0);
    assert_int_equal (tk_wait (&tail, 20000), 0);
    snprintf (line, sizeof (line), "warehouse: monitor: ");
    s_assert_file (tail.err, line);

    //  Messages per peer: a publisher's, while it is connected and when it has gone
    const char *stream_argv [] = { tk_bin ("payment"), "--ingest", self->ingest, "--bus", "eda_bus", "--count",
                                   "30", "--rate", "20", "--quiet", NULL };
    assert_int_equal (tk_start (&payment, self->dir, "stream", (char *const *) stream_argv, NULL), 0);
    bool counted = false;
    for (int i = 0; i < 50 && !counted; i++) {
        usleep (100000);
        assert_int_equal (s_mesh (self, "monitor", "--api", self->api, "--peers", "--output", "json", NULL), 0);
        char *listing = tk_read (self->out);
        json_error_t json_err;
        json_t *list = json_loads (listing, 0, &json_err);
        free (listing);
        size_t i_peer;
        json_t *item;
        json_array_foreach (list, i_peer, item)
            if (!strcmp (json_string_value (json_object_get (item, "socket")), "ingest")
            &&  json_integer_value (json_object_get (item, "messages")) >= 5)
                counted = true;
        json_decref (list);
    }
    assert_true (counted);
    assert_int_equal (tk_wait (&payment, 20000), 0);
    for (int i = 0; i < 50; i++) {
        assert_int_equal (s_mesh (self, "monitor", "--api", self->api, NULL), 0);
        if (tk_count (self->out, " after 30 message(s) in") == 1)
            break;
        usleep (100000);
    }
    s_assert_file (self->out, "disconnected");
    assert_int_equal (tk_count (self->out, " after 30 message(s) in"), 1);
}

//  --log-format json: every line the broker writes is one JSON object;
//  --log-level warning: no info lines.
static void
test_api_broker_logs_json_lines_at_its_level (void **state)
{
    self_t *self = (self_t *) *state;
    tk_stop (&self->broker);
    const char *extra [] = { "--startup-grace", "0", "--log-format", "json", NULL };
    assert_int_equal (tk_broker_start (&self->broker, self->dir, "config/eda_bus.json", self->deliver, extra), 0);
    assert_int_equal (tk_broker_ingest (self->dir, self->ingest, 10000), 0);
    assert_true (tk_broker_endpoint (self->dir, "api", self->api));
    json_t *reply = s_call (self, "{\"op\":\"put-events\",\"Entries\":[{\"Source\":\"s\",\"DetailType\":\"t\","
                                  "\"Detail\":\"{}\",\"EventBusName\":\"nope\"}]}");
    json_decref (reply);
    int port = 0;
    int fd = s_tcp_connect (self->deliver, &port);
    char from [64];
    snprintf (from, sizeof (from), "accepted a connection from 127.0.0.1:%d", port);
    assert_true (tk_wait_for (self->broker.err, from, 5000));
    close (fd);
    snprintf (from, sizeof (from), "a connection from 127.0.0.1:%d closed", port);
    assert_true (tk_wait_for (self->broker.err, from, 5000));
    assert_int_equal (tk_stop (&self->broker), 0);
    char *text = tk_read (self->broker.err);
    assert_non_null (text);
    size_t lines = 0;
    bool warned = false, stopped = false;
    char *save = NULL;
    for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        json_error_t json_err;
        json_t *object = json_loads (line, 0, &json_err);
        if (!json_is_object (object))
            fail_msg ("not a JSON object: %s", line);
        const char *level = json_string_value (json_object_get (object, "level"));
        const char *message = json_string_value (json_object_get (object, "message"));
        assert_non_null (json_string_value (json_object_get (object, "time")));
        assert_string_equal (json_string_value (json_object_get (object, "program")), "mesh-broker");
        assert_non_null (level);
        assert_non_null (message);
        warned |= !strcmp (level, "warning") && strstr (message, "unknown bus 'nope'");
        stopped |= !strcmp (level, "info") && strstr (message, "stopping; final stats: ");
        json_decref (object);
        lines++;
    }
    free (text);
    assert_true (lines >= 5);
    assert_true (warned);
    assert_true (stopped);

    //  At warning, no info line is written
    const char *quiet [] = { "--startup-grace", "0", "--log-level", "warning", NULL };
    assert_int_equal (tk_broker_start (&self->broker, self->dir, "config/eda_bus.json", self->deliver, quiet), 0);
    assert_int_equal (tk_broker_ingest (self->dir, self->ingest, 10000), 0);
    assert_int_equal (tk_stop (&self->broker), 0);
    assert_int_equal (tk_count (self->broker.err, "I: "), 0);
    assert_true (tk_count (self->broker.err, "W: ") >= 1);         //  the start-up grace's warnings
    //  And a level it does not know is refused
    const char *bad [] = { tk_bin ("mesh-broker"), "--log-level", "loud", "--check", NULL };
    assert_int_equal (tk_start (&self->broker, self->dir, "broker", (char *const *) bad, NULL), 0);
    assert_int_equal (tk_wait (&self->broker, 10000), 1);
    s_assert_file (self->broker.err, "--log-level is debug, info, warning or error");
}

//  GET path from url ("http://127.0.0.1:PORT"): the whole response (caller frees).
static char *
s_http_get (const char *url, const char *method, const char *path)
{
    char endpoint [128];
    snprintf (endpoint, sizeof (endpoint), "tcp://%s", url + 7);
    int port = 0;
    int fd = s_tcp_connect (endpoint, &port);
    char request [256];
    int size = snprintf (request, sizeof (request), "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
    assert_int_equal (write (fd, request, (size_t) size), size);
    size_t room = 1 << 20, used = 0;
    char *response = calloc (1, room);
    ssize_t got;
    while ((got = read (fd, response + used, room - used - 1)) > 0)
        used += (size_t) got;
    close (fd);
    return response;
}

//  The value of a sample line "name{labels} value" (or "name value"); -1 if absent.
static long long
s_sample (const char *page, const char *series)
{
    char needle [256];
    snprintf (needle, sizeof (needle), "\n%s ", series);
    const char *at = strstr (page, needle);
    return at? atoll (at + strlen (needle)): -1;
}

//  --metrics: Prometheus's text format, every family typed, the counters
//  rising with what the broker does; /healthz; a bad address refused.
static void
test_api_metrics_serve_prometheus_text (void **state)
{
    self_t *self = (self_t *) *state;
    tk_stop (&self->broker);
    const char *extra [] = { "--startup-grace", "0", "--metrics", "0", NULL };
    assert_int_equal (tk_broker_start (&self->broker, self->dir, "config/eda_bus.json", self->deliver, extra), 0);
    assert_int_equal (tk_broker_ingest (self->dir, self->ingest, 10000), 0);
    assert_true (tk_broker_endpoint (self->dir, "api", self->api));
    char url [256];
    assert_true (tk_broker_endpoint (self->dir, "metrics", url));
    assert_int_equal (strncmp (url, "http://127.0.0.1:", 17), 0);
    char *health = s_http_get (url, "GET", "/healthz");
    assert_non_null (strstr (health, "200 OK"));
    assert_non_null (strstr (health, "\r\n\r\nok\n"));
    free (health);
    char *page = s_http_get (url, "GET", "/metrics");
    assert_non_null (strstr (page, "Content-Type: text/plain; version=0.0.4"));
    long long before = s_sample (page, "mesh_received_total");
    assert_true (before >= 0);
    free (page);
    json_t *reply = s_call (self, "{\"op\":\"put-events\",\"Entries\":[{\"Source\":\"demo.payments\","
                                  "\"DetailType\":\"Payment Processed\",\"Detail\":\"{\\\"total_cost\\\":300}\","
                                  "\"EventBusName\":\"eda_bus\"}]}");
    json_decref (reply);
    //  The page is at most a second old: it rises within two
    long long after = before;
    for (int i = 0; i < 40 && after <= before; i++) {
        usleep (100000);
        page = s_http_get (url, "GET", "/metrics");
        after = s_sample (page, "mesh_received_total");
        if (after <= before)
            free (page);
    }
    assert_int_equal (after, before + 1);
    //  Scraped with curl, as its users check an endpoint: every family has
    //  one TYPE line of a valid type, every sample a family
    char metrics_url [300];
    snprintf (metrics_url, sizeof (metrics_url), "%s/metrics", url);
    const char *curl_argv [] = { "/usr/bin/curl", "-sSf", metrics_url, NULL };
    tk_proc_t curl;
    assert_int_equal (tk_start (&curl, self->dir, "curl", (char *const *) curl_argv, NULL), 0);
    assert_int_equal (tk_wait (&curl, 10000), 0);
    char *body = tk_read (curl.out);
    assert_non_null (body);
    assert_true (s_sample (body, "mesh_received_total") >= after);     //  what the raw GET saw, or later
    int types = 0;
    char *save = NULL;
    char family [128] = "";
    for (char *line = strtok_r (body, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        if (!strncmp (line, "# HELP ", 7))
            continue;
        if (!strncmp (line, "# TYPE ", 7)) {
            char type [32];
            assert_int_equal (sscanf (line + 7, "%127s %31s", family, type), 2);
            assert_true (!strcmp (type, "counter") || !strcmp (type, "gauge") || !strcmp (type, "histogram"));
            if (!strcmp (type, "counter"))
                assert_non_null (strstr (family, "_total"));
            types++;
            continue;
        }
        assert_int_equal (strncmp (line, family, strlen (family)), 0);      //  a sample of its family
        const char *value = strrchr (line, ' ');
        assert_non_null (value);
        char *end = NULL;
        strtod (value + 1, &end);
        assert_true (*end == 0);
    }
    free (body);
    assert_true (types > 30);
    assert_int_equal (s_sample (page, "mesh_events_matched_total{bus=\"eda_bus\",rule=\"payment-processed\"}"), 1);
    assert_int_equal (s_sample (page, "mesh_bus_events_matched_total{bus=\"eda_bus\"}"), 1);
    assert_int_equal (s_sample (page, "mesh_target_no_subscriber_total{target=\"rewards\"}"), 1);
    assert_true (s_sample (page, "mesh_connected_peers") >= 0);
    //  The filter stage's histogram: the event counted, in every bucket from its own up
    assert_int_equal (s_sample (page, "mesh_filter_seconds_count"), after);
    assert_int_equal (s_sample (page, "mesh_filter_seconds_bucket{le=\"+Inf\"}"), after);
    assert_true (s_sample (page, "mesh_filter_seconds_bucket{le=\"0.01\"}") >= 1);
    assert_true (s_sample (page, "mesh_filter_seconds_bucket{le=\"5e-07\"}")
                 <= s_sample (page, "mesh_filter_seconds_bucket{le=\"1e-06\"}"));
    assert_non_null (strstr (page, "\nmesh_filter_seconds_sum "));
    //  Every series docs/grafana-dashboard.json queries is one the page has
    json_error_t json_err;
    json_t *dashboard = json_load_file ("docs/grafana-dashboard.json", 0, &json_err);
    if (!dashboard)
        fail_msg ("docs/grafana-dashboard.json: %s (line %d)", json_err.text, json_err.line);
    size_t i_panel, i_target, queried = 0;
    json_t *panel, *target;
    json_array_foreach (json_object_get (dashboard, "panels"), i_panel, panel)
        json_array_foreach (json_object_get (panel, "targets"), i_target, target) {
            const char *expr = json_string_value (json_object_get (target, "expr"));
            assert_non_null (expr);
            for (const char *at = strstr (expr, "mesh_"); at; at = strstr (at + 1, "mesh_")) {
                char series [128], labelled [128];
                size_t size = strspn (at, "abcdefghijklmnopqrstuvwxyz_");
                snprintf (series, sizeof (series), "\n%.*s ", (int) size, at);
                snprintf (labelled, sizeof (labelled), "\n%.*s{", (int) size, at);
                if (!strstr (page, series) && !strstr (page, labelled))
                    fail_msg ("the dashboard queries %.*s, which the broker does not serve", (int) size, at);
                queried++;
            }
        }
    assert_true (queried >= 20);
    json_decref (dashboard);
    free (page);
    char *other = s_http_get (url, "GET", "/nope");
    assert_non_null (strstr (other, "404"));
    free (other);
    other = s_http_get (url, "POST", "/metrics");
    assert_non_null (strstr (other, "405"));
    free (other);
    tk_stop (&self->broker);
    const char *bad [] = { tk_bin ("mesh-broker"), "--config", "config/eda_bus.json", "--ingest", "tcp://127.0.0.1:*",
                           "--deliver", "tcp://127.0.0.1:*", "--api", "", "--metrics", "localhost", NULL };
    assert_int_equal (tk_start (&self->broker, self->dir, "broker", (char *const *) bad, NULL), 0);
    assert_int_equal (tk_wait (&self->broker, 10000), 1);
    s_assert_file (self->broker.err, "--metrics: expected [HOST:]PORT with an IPv4 host, got 'localhost'");
}

//  mesh top: plain lines a script can read while a stream flows, and the
//  screen on a pseudo-terminal (script(1)) with the same rates.
static void
test_api_top_shows_the_rates_of_a_stream (void **state)
{
    self_t *self = (self_t *) *state;
    tk_proc_t payment, warehouse, top, screen;
    const char *warehouse_argv [] = { tk_bin ("warehouse"), "--deliver", self->deliver, "--quiet", NULL };
    assert_int_equal (tk_start (&warehouse, self->dir, "warehouse", (char *const *) warehouse_argv, NULL), 0);
    assert_true (tk_wait_for (warehouse.err, "ready", 10000));
    const char *payment_argv [] = { tk_bin ("payment"), "--ingest", self->ingest, "--bus", "eda_bus", "--count",
                                    "4000", "--rate", "1000", "--quiet", NULL };
    assert_int_equal (tk_start (&payment, self->dir, "payment", (char *const *) payment_argv, NULL), 0);
    const char *top_argv [] = { tk_bin ("mesh"), "top", "--api", self->api, "--for", "2500", NULL };
    assert_int_equal (tk_start (&top, self->dir, "top", (char *const *) top_argv, NULL), 0);
    char command [600];
    snprintf (command, sizeof (command), "TERM=xterm exec %s top --api %s --for 2200", tk_bin ("mesh"), self->api);
    const char *screen_argv [] = { "/usr/bin/script", "-q", "-e", "-c", command, "/dev/null", NULL };
    assert_int_equal (tk_start (&screen, self->dir, "screen", (char *const *) screen_argv, NULL), 0);
    int top_status = tk_wait (&top, 20000);
    if (top_status != 0) {
        char *why = tk_read (top.err);
        fail_msg ("mesh top exited %d: %s", top_status, why? why: "");
    }
    assert_int_equal (tk_wait (&screen, 20000), 0);
    //  Plain: a line a refresh, key=value, the stream's rate seen
    char *text = tk_read (top.out);
    assert_non_null (text);
    int lines = 0, flowing = 0;
    char *save = NULL;
    for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        double ingest = -1, deliveries = -1;
        assert_int_equal (strncmp (line, "time=20", 7), 0);
        const char *at = strstr (line, " ingest=");
        assert_non_null (at);
        ingest = atof (at + 8);
        at = strstr (line, " target:warehouse=");
        assert_non_null (at);
        deliveries = atof (at + 18);
        assert_non_null (strstr (line, " peers="));
        assert_non_null (strstr (line, " rule:eda_bus/payment-to-warehouse="));
        flowing += ingest > 100 && deliveries > 100;
        lines++;
    }
    free (text);
    assert_true (lines >= 2);
    assert_true (flowing >= 1);
    //  The screen: its header and its tables
    s_assert_file (screen.out, "mesh top - ");
    s_assert_file (screen.out, "TARGET");
    s_assert_file (screen.out, "warehouse");
    assert_int_equal (tk_wait (&payment, 20000), 0);
    tk_stop (&warehouse);
}

//  explain asks the interpreter rule by rule in the engine's thread: a bus
//  past 10,000 rules is refused, and the bus goes on routing.
static void
test_api_explain_refuses_a_bus_too_large_to_ask_rule_by_rule (void **state)
{
    self_t *self = (self_t *) *state;
    tk_stop (&self->broker);
    char path [600];
    snprintf (path, sizeof (path), "%s/big.json", self->dir);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fprintf (file, "{\"bus\":\"big\",\"rules\":[");
    for (int i = 0; i < 10001; i++)
        fprintf (file, "%s{\"name\":\"r%d\",\"event_pattern\":{\"detail\":{\"id\":[\"i%d\"]}},"
                       "\"targets\":[{\"name\":\"t\"}]}", i? ",": "", i, i);
    fprintf (file, "]}");
    fclose (file);
    const char *extra [] = { "--startup-grace", "0", NULL };
    assert_int_equal (tk_broker_start (&self->broker, self->dir, path, self->deliver, extra), 0);
    assert_int_equal (tk_broker_ingest (self->dir, self->ingest, 20000), 0);
    assert_true (tk_broker_endpoint (self->dir, "api", self->api));
    json_t *reply = s_call (self, "{\"op\":\"explain\",\"bus\":\"big\",\"Event\":\"{}\"}");
    assert_string_equal (s_code (reply), "ValidationException");
    assert_non_null (strstr (json_string_value (json_object_get (json_object_get (reply, "error"), "message")),
                             "bus big has 10001 rules; explain takes a bus of 10000 at most"));
    json_decref (reply);
    //  One rule of it is answered, whatever the bus's size; one it does not have is not
    assert_int_equal (s_mesh (self, "explain", "--broker", "--bus", "big", "--rule", "r9999", "--event",
                              "{\"detail\": {\"id\": \"i7\"}}", "--api", self->api, NULL), 1);
    s_assert_file (self->out, "r9999: no match: detail.id is \"i7\", not \"i9999\"");
    assert_int_equal (tk_count (self->out, ": "), 1);
    assert_int_equal (s_mesh (self, "explain", "--broker", "--bus", "big", "--rule", "r7", "--event",
                              "{\"detail\": {\"id\": \"i7\"}}", "--api", self->api, NULL), 0);
    s_assert_file (self->out, "r7: matched");
    reply = s_call (self, "{\"op\":\"explain\",\"bus\":\"big\",\"rule\":\"nope\",\"Event\":\"{}\"}");
    assert_string_equal (s_code (reply), "ResourceNotFoundException");
    json_decref (reply);
    reply = s_call (self, "{\"op\":\"ping\"}");
    assert_string_equal (s_code (reply), "");
    json_decref (reply);
}

//  A settings file sets the broker as its flags would; a wrong key stops
//  it with the one it resembles.
static void
test_api_settings_file_sets_the_broker (void **state)
{
    self_t *self = (self_t *) *state;
    tk_stop (&self->broker);
    char rules [600], settings [600], endpoints [600];
    snprintf (rules, sizeof (rules), "%s/one.json", self->dir);
    snprintf (settings, sizeof (settings), "%s/broker.conf", self->dir);
    snprintf (endpoints, sizeof (endpoints), "%s/endpoints", self->dir);
    remove (endpoints);
    tk_write (rules, "{\"bus\":\"from_settings\",\"rules\":[{\"name\":\"r\",\"event_pattern\":"
                     "{\"source\":[\"s\"]},\"targets\":[{\"name\":\"t\"}]}]}");
    char text [2048];
    snprintf (text, sizeof (text), "{\"config\": [\"%s\"], \"ingest\": \"tcp://127.0.0.1:*\", "
              "\"deliver\": \"tcp://127.0.0.1:*\", \"api\": \"tcp://127.0.0.1:*\", \"startup-grace\": 0,\n"
              " \"max-entry-size\": 2048, \"endpoints-file\": \"%s\"}", rules, endpoints);
    tk_write (settings, text);
    const char *argv [] = { tk_bin ("mesh-broker"), "--settings", settings, NULL };
    assert_int_equal (tk_start (&self->broker, self->dir, "broker", (char *const *) argv, NULL), 0);
    assert_int_equal (tk_broker_ingest (self->dir, self->ingest, 10000), 0);
    assert_true (tk_broker_endpoint (self->dir, "api", self->api));
    json_t *reply = s_call (self, "{\"op\":\"list-rules\"}");
    assert_string_equal (json_string_value (json_object_get (json_array_get (json_object_get (reply, "buses"), 0),
                                                             "name")), "from_settings");
    json_decref (reply);
    //  Its limit holds: an entry over 2,048 bytes is refused
    char big [4096];
    snprintf (big, sizeof (big), "{\"op\":\"put-events\",\"Entries\":[{\"Source\":\"s\",\"DetailType\":\"t\","
              "\"EventBusName\":\"from_settings\",\"Detail\":\"{\\\"x\\\":\\\"%03000d\\\"}\"}]}", 7);
    reply = s_call (self, big);
    assert_int_equal (json_integer_value (json_object_get (reply, "FailedEntryCount")), 1);
    json_decref (reply);
    tk_stop (&self->broker);

    //  A flag beats the file; a wrong key is refused, with where and the key it resembles
    tk_write (settings, "{\"config\": [\"config\"], \"ingst\": \"tcp://127.0.0.1:*\"}");
    assert_int_equal (tk_start (&self->broker, self->dir, "broker", (char *const *) argv, NULL), 0);
    assert_int_equal (tk_wait (&self->broker, 10000), 1);
    char expected [800];
    snprintf (expected, sizeof (expected), "mesh-broker: %s: unknown key 'ingst' (did you mean 'ingest'?)", settings);
    s_assert_file (self->broker.err, expected);
    tk_write (settings, "{\"sndhwm\": 0}");
    const char *with_flag [] = { tk_bin ("mesh-broker"), "--settings", settings, "--sndhwm", "5", "--check", NULL };
    assert_int_equal (tk_start (&self->broker, self->dir, "broker", (char *const *) with_flag, NULL), 0);
    assert_int_equal (tk_wait (&self->broker, 10000), 0);      //  the flag's 5: the file's 0 is never read
}

//  One payment on the ingest endpoint, as the example's service sends it.
static void
s_pay (self_t *self, const char *source, const char *total)
{
    tk_proc_t payment;
    const char *argv [] = { tk_bin ("payment"), "--ingest", self->ingest, "--bus", "eda_bus", "--source", source,
                            "--total", total, "--quiet", NULL };
    assert_int_equal (tk_start (&payment, self->dir, "pay", (char *const *) argv, NULL), 0);
    assert_int_equal (tk_wait (&payment, 20000), 0);
}

//  mesh tap: each event with the rules it matched, the targets and their
//  sequence numbers and what became of each delivery, or "no rule
//  matched" and explain's reason; --pattern shows the events it matches
//  only; tap-open refuses what it cannot do.
static void
test_api_tap_shows_rules_targets_and_why_not (void **state)
{
    self_t *self = (self_t *) *state;
    tk_proc_t warehouse, tap, big, one_rule;
    const char *warehouse_argv [] = { tk_bin ("warehouse"), "--deliver", self->deliver, "--quiet", NULL };
    assert_int_equal (tk_start (&warehouse, self->dir, "warehouse", (char *const *) warehouse_argv, NULL), 0);
    assert_true (tk_wait_for (warehouse.err, "ready", 10000));
    const char *tap_argv [] = { tk_bin ("mesh"), "tap", "--api", self->api, "--bus", "eda_bus", "--count", "2",
                                NULL };
    assert_int_equal (tk_start (&tap, self->dir, "tap", (char *const *) tap_argv, NULL), 0);
    const char *big_argv [] = { tk_bin ("mesh"), "tap", "--api", self->api, "--output", "json", "--count", "1",
                                "--pattern", "{\"source\": [\"demo.payments\"], \"detail\": {\"total_cost\": [{\"numeric\": "
                                "[\">\", 200]}]}}", NULL };
    assert_int_equal (tk_start (&big, self->dir, "tap-big", (char *const *) big_argv, NULL), 0);
    const char *one_argv [] = { tk_bin ("mesh"), "tap", "--api", self->api, "--bus", "eda_bus", "--rule",
                                "payment-processed", "--count", "2", "--pattern",
                                "{\"detail\": {\"total_cost\": [{\"numeric\": [\"<\", 1000]}]}}", NULL };
    assert_int_equal (tk_start (&one_rule, self->dir, "tap-one", (char *const *) one_argv, NULL), 0);
    assert_true (tk_wait_for (tap.err, "mesh tap: tapping bus eda_bus", 10000));
    assert_true (tk_wait_for (one_rule.err, "mesh tap: tapping bus eda_bus", 10000));
    //  The big tap says nothing on stderr with --output json: it is open once tap-open was answered
    for (int i = 0; i < 100; i++) {
        json_t *stats = s_call (self, "{\"op\":\"stats\"}");
        long long requests = json_integer_value (json_object_get (json_object_get (stats, "counters"), "api_requests"));
        json_decref (stats);
        if (requests >= 4)
            break;
        usleep (20000);
    }
    s_pay (self, "demo.payments", "12.5");          //  not big: the pattern tap skips it
    s_pay (self, "demo.orders", "300");             //  no rule matches its source
    s_pay (self, "demo.payments", "242.58");
    assert_int_equal (tk_wait (&tap, 20000), 0);
    assert_int_equal (tk_wait (&big, 20000), 0);
    assert_int_equal (tk_wait (&one_rule, 20000), 0);
    //  The first: two rules, their targets and sequence numbers, sent to the subscriber or to nobody
    s_assert_file (tap.out, " eda_bus #1 Payment Processed from demo.payments\n"
                            "    payment-to-warehouse -> warehouse seq 1 (sent)\n"
                            "    payment-to-shipping -> shipping seq 1 (no-subscriber)\n");
    //  The second: none, and why for each rule of the bus
    s_assert_file (tap.out, " eda_bus #2 Payment Processed from demo.orders\n    no rule matched\n"
                            "      payment-processed: source is \"demo.orders\", not \"demo.payments\"\n");
    s_assert_file (tap.out, "      payment-to-shipping: source is \"demo.orders\", not \"demo.payments\"\n");
    char *text = tk_read (tap.out);
    assert_null (strstr (text, "#3"));              //  --count 2
    free (text);
    //  --rule: the reason for that rule only, whether others matched or not
    s_assert_file (one_rule.out, "    payment-to-shipping -> shipping seq 1 (no-subscriber)\n    not payment-processed\n"
                                 "      payment-processed: detail.total_cost is 12.5, not > 200\n");
    s_assert_file (one_rule.out, "    no rule matched\n      payment-processed: source is \"demo.orders\"");
    text = tk_read (one_rule.out);
    assert_null (strstr (text, "      payment-to-shipping: "));     //  no other rule is explained
    free (text);
    //  --pattern: the big payment only, as a JSON line with its routes
    text = tk_read (big.out);
    json_error_t json_err;
    json_t *record = json_loads (text, 0, &json_err);
    if (!record)
        fail_msg ("not one JSON line: %s", text);
    free (text);
    assert_string_equal (json_string_value (json_object_get (record, "bus")), "eda_bus");
    assert_true (json_real_value (json_object_get (json_object_get (json_object_get (record, "event"), "detail"),
                                                   "total_cost")) > 242);
    json_t *routes = json_object_get (record, "routes");
    assert_int_equal (json_array_size (routes), 3);
    json_t *first = json_array_get (routes, 0);
    assert_string_equal (json_string_value (json_object_get (first, "rule")), "payment-processed");
    assert_string_equal (json_string_value (json_object_get (first, "target")), "rewards");
    assert_int_equal (json_integer_value (json_object_get (first, "seq")), 1);
    assert_string_equal (json_string_value (json_object_get (json_array_get (routes, 1), "outcome")), "sent");
    assert_int_equal (json_integer_value (json_object_get (json_array_get (routes, 1), "seq")), 2);
    json_decref (record);
    //  Closed at the end: every tap above is gone
    assert_int_equal (s_mesh (self, "stats", "--api", self->api, NULL), 0);

    //  What tap-open and tap-read refuse
    const char *refused [][2] = {
        { "{\"op\":\"tap-open\",\"bus\":\"nope\"}", "ResourceNotFoundException" },
        { "{\"op\":\"tap-open\",\"bus\":\"eda_bus\",\"rule\":\"nope\"}", "ResourceNotFoundException" },
        { "{\"op\":\"tap-open\",\"rule\":\"payment-processed\"}", "ValidationException" },
        { "{\"op\":\"tap-open\",\"pattern\":\"{\\\"source\\\": 5}\"}", "InvalidEventPatternException" },
        { "{\"op\":\"tap-open\",\"pattern\":\"[\"}", "InvalidEventPatternException" },
        { "{\"op\":\"tap-open\",\"capacity\":0}", "ValidationException" },
        { "{\"op\":\"tap-open\",\"capacity\":\"5\"}", "ValidationException" },
        { "{\"op\":\"tap-read\",\"tap\":99999}", "ResourceNotFoundException" },
        { "{\"op\":\"tap-read\"}", "ValidationException" },
        { "{\"op\":\"tap-close\",\"tap\":-1}", "ValidationException" },
    };
    for (size_t i = 0; i < sizeof (refused) / sizeof (refused [0]); i++) {
        json_t *reply = s_call (self, refused [i][0]);
        if (strcmp (s_code (reply), refused [i][1]))
            fail_msg ("%s: %s, not %s", refused [i][0], s_code (reply), refused [i][1]);
        json_decref (reply);
    }
    //  Eight at once, no more; a closed one is gone
    long long ids [8];
    for (int i = 0; i < 8; i++) {
        json_t *reply = s_call (self, "{\"op\":\"tap-open\"}");
        assert_string_equal (s_code (reply), "");
        ids [i] = json_integer_value (json_object_get (reply, "tap"));
        json_decref (reply);
    }
    json_t *reply = s_call (self, "{\"op\":\"tap-open\"}");
    assert_string_equal (s_code (reply), "LimitExceededException");
    json_decref (reply);
    //  A slot closed and opened again at once holds another pattern: what
    //  the bus's walk was given for the old one must not answer for it
    char request [160];
    snprintf (request, sizeof (request), "{\"op\":\"tap-close\",\"tap\":%lld}", ids [7]);
    json_decref (s_call (self, request));
    reply = s_call (self, "{\"op\":\"tap-open\",\"pattern\":\"{\\\"source\\\":[\\\"demo.payments\\\"]}\"}");
    ids [7] = json_integer_value (json_object_get (reply, "tap"));
    json_decref (reply);
    usleep (2200000);                   //  the routes take it at a tick, a second at most
    snprintf (request, sizeof (request), "{\"op\":\"tap-close\",\"tap\":%lld}", ids [7]);
    json_decref (s_call (self, request));
    reply = s_call (self, "{\"op\":\"tap-open\",\"pattern\":\"{\\\"source\\\":[\\\"demo.orders\\\"]}\"}");
    assert_string_equal (s_code (reply), "");
    ids [7] = json_integer_value (json_object_get (reply, "tap"));
    json_decref (reply);
    json_decref (s_call (self, "{\"op\":\"put-events\",\"Entries\":[{\"Source\":\"demo.payments\","
                               "\"DetailType\":\"Payment Processed\",\"Detail\":\"{}\",\"EventBusName\":\"eda_bus\"}]}"));
    snprintf (request, sizeof (request), "{\"op\":\"tap-read\",\"tap\":%lld}", ids [7]);
    reply = s_call (self, request);
    assert_int_equal (json_integer_value (json_object_get (reply, "seen")), 0);
    json_decref (reply);
    for (int i = 0; i < 8; i++) {
        snprintf (request, sizeof (request), "{\"op\":\"tap-close\",\"tap\":%lld}", ids [i]);
        reply = s_call (self, request);
        assert_string_equal (s_code (reply), "");
        json_decref (reply);
        reply = s_call (self, request);
        assert_string_equal (s_code (reply), "ResourceNotFoundException");
        json_decref (reply);
    }
    tk_stop (&warehouse);
}

//  A tap that is not read fills and drops, and says how many; the bus
//  delivers every event all the same.
static void
test_api_slow_tap_drops_and_says_so_while_delivery_keeps_up (void **state)
{
    self_t *self = (self_t *) *state;
    json_t *reply = s_call (self, "{\"op\":\"tap-open\",\"bus\":\"eda_bus\",\"capacity\":16}");
    assert_string_equal (s_code (reply), "");
    long long id = json_integer_value (json_object_get (reply, "tap"));
    json_decref (reply);
    tk_proc_t tail, tap, payment;
    const char *tap_argv [] = { tk_bin ("mesh"), "tap", "--api", self->api, "--capacity", "16", "--no-explain",
                                "--for", "30000", NULL };
    assert_int_equal (tk_start (&tap, self->dir, "tap", (char *const *) tap_argv, NULL), 0);
    assert_true (tk_wait_for (tap.err, "mesh tap: tapping", 10000));
    assert_int_equal (kill (tap.pid, SIGSTOP), 0);      //  a reader that cannot keep up
    const char *tail_argv [] = { tk_bin ("mesh"), "tail", "warehouse", "--deliver", self->deliver, "--count", "3000",
                                 "--timeout", "15000", NULL };
    assert_int_equal (tk_start (&tail, self->dir, "tail", (char *const *) tail_argv, NULL), 0);
    for (int i = 0; i < 200 && s_counter (self, "subscriptions") < 1; i++)
        usleep (20000);
    const char *payment_argv [] = { tk_bin ("payment"), "--ingest", self->ingest, "--bus", "eda_bus", "--count",
                                    "3000", "--quiet", NULL };
    assert_int_equal (tk_start (&payment, self->dir, "payment", (char *const *) payment_argv, NULL), 0);
    assert_int_equal (tk_wait (&payment, 20000), 0);
    assert_int_equal (kill (tap.pid, SIGCONT), 0);      //  well before the broker closes it unread
    //  Every delivery came, in order, no gap
    assert_int_equal (tk_wait (&tail, 20000), 0);
    char *text = tk_read (tail.out);
    assert_int_equal (tk_count (tail.out, " rule payment-to-warehouse bus eda_bus"), 3000);
    assert_null (strstr (text, "-- missed"));
    free (text);
    //  The unread tap kept its first 16 and counted the rest
    char request [96];
    snprintf (request, sizeof (request), "{\"op\":\"tap-read\",\"tap\":%lld}", id);
    reply = s_call (self, request);
    assert_string_equal (s_code (reply), "");
    assert_int_equal (json_array_size (json_object_get (reply, "records")), 16);
    assert_int_equal (json_integer_value (json_object_get (reply, "seen")), 3000);
    assert_int_equal (json_integer_value (json_object_get (reply, "dropped")), 3000 - 16);
    assert_int_equal (json_integer_value (json_object_get (json_array_get (json_object_get (reply, "records"), 15),
                                                           "number")), 16);
    json_decref (reply);
    //  The next record says how many were lost before it
    s_pay (self, "demo.payments", "1");
    reply = s_call (self, request);
    json_t *next = json_array_get (json_object_get (reply, "records"), 0);
    assert_non_null (next);
    assert_int_equal (json_integer_value (json_object_get (next, "number")), 3001);
    assert_int_equal (json_integer_value (json_object_get (next, "dropped_before")), 3000 - 16);
    json_decref (reply);
    //  mesh tap, woken, says it fell behind
    assert_true (tk_wait_for (tap.out, "event(s) dropped: this tap fell behind (the bus delivered them)", 10000));
    kill (tap.pid, SIGINT);
    assert_int_equal (tk_wait (&tap, 10000), 0);
}

//  docs/broker.md lists every option mesh-broker --help does.
static void
test_api_broker_doc_lists_every_option (void **state)
{
    (void) state;
    char *dir = tk_tempdir ();
    const char *argv [] = { tk_bin ("mesh-broker"), "--help", NULL };
    tk_proc_t proc;
    assert_int_equal (tk_start (&proc, dir, "help", (char *const *) argv, NULL), 0);
    assert_int_equal (tk_wait (&proc, 10000), 0);
    char *help = tk_read (proc.out);
    char *doc = tk_read ("docs/broker.md");
    assert_non_null (help);
    assert_non_null (doc);
    int listed = 0;
    char *save = NULL;
    for (char *line = strtok_r (help, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        char *flag = strstr (line, "--");
        if (strncmp (line, "  ", 2) || !flag || flag > line + 8)
            continue;
        size_t size = strcspn (flag, " \t");
        char needle [80];
        snprintf (needle, sizeof (needle), "`%.*s", (int) size, flag);
        if (!strstr (doc, needle))
            fail_msg ("docs/broker.md does not list %.*s", (int) size, flag);
        listed++;
    }
    assert_true (listed >= 20);
    free (help);
    free (doc);
    tk_tempdir_remove (&dir);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_api_answers_ping_stats_and_rules, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_refuses_hostile_requests_and_goes_on, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_put_events_answers_each_entry, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_through_mesh_ping_stats_and_rules, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_tail_receives_what_put_sent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_reload_during_a_stream_loses_nothing_and_never_mixes,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_tests_patterns_and_explains_with_the_broker, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_monitor_shows_connections_with_their_address, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_broker_logs_json_lines_at_its_level, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_metrics_serve_prometheus_text, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_top_shows_the_rates_of_a_stream, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_explain_refuses_a_bus_too_large_to_ask_rule_by_rule,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_settings_file_sets_the_broker, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_tap_shows_rules_targets_and_why_not, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_api_slow_tap_drops_and_says_so_while_delivery_keeps_up,
                                         s_setup, s_teardown),
        cmocka_unit_test (test_api_broker_doc_lists_every_option),
    };
    return cmocka_run_group_tests_name ("api", tests, NULL, NULL);
}
