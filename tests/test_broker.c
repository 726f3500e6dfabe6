/*  test_broker.c: the bus end to end, with the real binaries

    Every test starts mesh-broker and the example's services as separate
    processes on loopback (ephemeral ports reported by the broker), drives
    them the way a user would, and checks what each service printed and
    what the broker counted.
*/
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>
#include <inttypes.h>
#include "mesh.h"
#include "support/testkit.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    char *dir;
    tk_proc_t procs [8];
    int count;
    char ingest [256];
    char deliver [256];
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof (fixture_t));
    self->dir = tk_tempdir ();
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    for (int i = 0; i < self->count; i++)
        tk_stop (&self->procs [i]);
    tk_tempdir_remove (&self->dir);
    free (self);
    return 0;
}

static tk_proc_t *
s_proc (fixture_t *self)
{
    assert_true (self->count < 8);
    return &self->procs [self->count++];
}

//  True if the file contains needle now.
static bool
s_contains (const char *path, const char *needle)
{
    char *text = tk_read (path);
    bool found = text && strstr (text, needle);
    free (text);
    return found;
}

static void
s_dump (tk_proc_t *proc)
{
    char *text = tk_read (proc->err);
    fprintf (stderr, "---- %s stderr ----\n%s\n", proc->name, text? text: "(none)");
    free (text);
}

//  Start the broker on the shipped example config (or another) and wait for
//  its deliver endpoint. extra: NULL-terminated further arguments.
static tk_proc_t *
s_broker (fixture_t *self, const char *config, const char *const *extra)
{
    tk_proc_t *broker = s_proc (self);
    if (tk_broker_start (broker, self->dir, config, self->deliver, extra)) {
        s_dump (broker);
        fail_msg ("the broker did not start");
    }
    return broker;
}

static void
s_broker_ingest (fixture_t *self, tk_proc_t *broker)
{
    if (tk_broker_ingest (self->dir, self->ingest, 10000)) {
        s_dump (broker);
        fail_msg ("the broker did not open ingest");
    }
}

//  Start a subscriber service and wait until it reports ready.
static tk_proc_t *
s_service (fixture_t *self, const char *name, const char *endpoint, bool wait)
{
    tk_proc_t *proc = s_proc (self);
    const char *argv [] = { tk_bin (name), "--deliver", endpoint, "--connect-timeout", "20000", NULL };
    assert_int_equal (tk_start (proc, self->dir, name, (char *const *) argv, NULL), 0);
    if (wait && !tk_wait_for (proc->err, "ready", 10000)) {
        s_dump (proc);
        fail_msg ("%s did not become ready", name);
    }
    return proc;
}

//  Collect the value after key= on each line containing needle, in order.
static size_t
s_values (const char *path, const char *needle, const char *key, char values [][64], size_t max)
{
    char *text = tk_read (path);
    size_t count = 0;
    char *save = NULL;
    for (char *line = text? strtok_r (text, "\n", &save): NULL; line; line = strtok_r (NULL, "\n", &save)) {
        if (!strstr (line, needle))
            continue;
        char pattern [64];
        snprintf (pattern, sizeof (pattern), "%s=", key);
        char *at = strstr (line, pattern);
        if (!at || count == max)
            continue;
        at += strlen (pattern);
        size_t size = strcspn (at, " )");
        snprintf (values [count++], 64, "%.*s", (int) size, at);
    }
    free (text);
    return count;
}

// --------------------------------------------------------------------------

//  The example: rewards gets exactly the payments over 200, warehouse and
//  shipping get all of them, each in order with sequence numbers 1, 2, ...
static void
test_broker_routes_the_example (void **state)
{
    fixture_t *self = *state;
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", NULL);
    tk_proc_t *rewards = s_service (self, "rewards", self->deliver, true);
    tk_proc_t *warehouse = s_service (self, "warehouse", self->deliver, true);
    tk_proc_t *shipping = s_service (self, "shipping", self->deliver, true);
    s_broker_ingest (self, broker);

    char input [512];
    snprintf (input, sizeof (input), "%s/payments.jsonl", self->dir);
    tk_write (input,
        "{\"total_cost\": 242.58, \"customer_id\": \"3213\", \"order_id\": \"o1\", \"items\": [1, 2]}\n"
        "{\"total_cost\": 199.99, \"customer_id\": \"11\", \"order_id\": \"o2\"}\n"
        "{\"total_cost\": 200, \"customer_id\": \"12\", \"order_id\": \"o3\"}\n"
        "{\"total_cost\": 200.01, \"customer_id\": \"13\", \"order_id\": \"o4\"}\n"
        "{\"total_cost\": \"300\", \"customer_id\": \"14\", \"order_id\": \"o5\"}\n"
        "{\"total_cost\": 1000, \"customer_id\": \"15\", \"order_id\": \"o6\"}\n");
    tk_proc_t *payment = s_proc (self);
    const char *argv [] = { tk_bin ("payment"), "--ingest", self->ingest, "--stdin", NULL };
    tk_start (payment, self->dir, "payment", (char *const *) argv, input);
    assert_int_equal (tk_wait (payment, 20000), 0);
    assert_int_equal (tk_count (payment->out, "queued id="), 6);

    assert_int_equal (tk_wait_count (warehouse->out, "seq=", 6, 5000), 6);
    assert_int_equal (tk_wait_count (shipping->out, "seq=", 6, 5000), 6);
    assert_int_equal (tk_wait_count (rewards->out, "seq=", 3, 5000), 3);
    zclock_sleep (300);         //  nothing more may arrive
    assert_int_equal (tk_count (rewards->out, "seq="), 3);

    //  rewards: 242.58, 200.01 and 1000, not 199.99, 200 or the string "300"
    char values [8][64];
    assert_int_equal (s_values (rewards->out, "earns", "order", values, 8), 3);
    assert_string_equal (values [0], "o1");
    assert_string_equal (values [1], "o4");
    assert_string_equal (values [2], "o6");
    assert_int_equal (s_values (rewards->out, "earns", "seq", values, 8), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal (atoi (values [i]), i + 1);
    assert_true (s_contains (rewards->out, "customer 3213 earns 24 points"));

    const char *expected [] = { "o1", "o2", "o3", "o4", "o5", "o6" };
    tk_proc_t *all [] = { warehouse, shipping };
    for (int s = 0; s < 2; s++) {
        assert_int_equal (s_values (all [s]->out, "order", "seq", values, 8), 6);
        for (int i = 0; i < 6; i++)
            assert_int_equal (atoi (values [i]), i + 1);
    }
    char orders [8][64];
    size_t n = s_values (warehouse->out, "reserve", "seq", values, 8);
    assert_int_equal (n, 6);
    //  warehouse lines name the order: "reserve N item(s) for order oX"
    char *text = tk_read (warehouse->out);
    for (int i = 0; i < 6; i++) {
        snprintf (orders [i], 64, "for order %s ", expected [i]);
        assert_non_null (strstr (text, orders [i]));
    }
    assert_non_null (strstr (text, "reserve 2 item(s) for order o1"));
    free (text);

    //  The ids the services saw are the ids payment published.
    char published [8][64], seen [8][64];
    assert_int_equal (s_values (payment->out, "queued", "id", published, 8), 6);
    assert_int_equal (s_values (shipping->out, "order", "id", seen, 8), 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal (published [i], seen [i]);

    assert_int_equal (tk_stop (broker), 0);
    assert_int_equal (tk_stat (broker->err, "received"), 6);
    assert_int_equal (tk_stat (broker->err, "routed"), 6);
    assert_int_equal (tk_stat (broker->err, "malformed"), 0);
}

//  100,000 events in a burst reach every target complete and in order.
static void
test_broker_delivers_a_burst_of_100k_complete_and_in_order (void **state)
{
    fixture_t *self = *state;
    const size_t total = 100000;
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", NULL);
    tk_proc_t *rewards = s_service (self, "rewards", self->deliver, true);
    tk_proc_t *warehouse = s_service (self, "warehouse", self->deliver, true);
    tk_proc_t *shipping = s_service (self, "shipping", self->deliver, true);
    s_broker_ingest (self, broker);

    tk_proc_t *payment = s_proc (self);
    const char *argv [] = { tk_bin ("payment"), "--ingest", self->ingest, "--count", "100000",
                            "--seed", "7", "--quiet", NULL };
    tk_start (payment, self->dir, "payment", (char *const *) argv, NULL);
    assert_int_equal (tk_wait (payment, 240000), 0);
    char *summary = tk_read (payment->err);
    char *at = strstr (summary, "over_200=");
    assert_non_null (at);
    size_t over_200 = strtoul (at + 9, NULL, 10);
    free (summary);
    assert_true (over_200 > total / 3 && over_200 < total * 2 / 3);

    assert_int_equal (tk_wait_count (warehouse->out, "seq=", total, 20000), total);
    assert_int_equal (tk_wait_count (shipping->out, "seq=", total, 20000), total);
    assert_int_equal (tk_wait_count (rewards->out, "seq=", over_200, 20000), over_200);

    //  In order: sequence numbers 1..N and orders ord-000001.. in turn.
    tk_proc_t *all [] = { warehouse, shipping, rewards };
    for (int s = 0; s < 3; s++) {
        FILE *file = fopen (all [s]->out, "r");
        char line [512];
        uint64_t expect = 1;
        while (fgets (line, sizeof (line), file)) {
            char *seq = strstr (line, "seq=");
            assert_non_null (seq);
            uint64_t got = strtoull (seq + 4, NULL, 10);
            if (got != expect)
                fail_msg ("%s: expected seq=%" PRIu64 ", got: %s", all [s]->name, expect, line);
            if (s < 2) {
                char order [32];
                snprintf (order, sizeof (order), "ord-%06" PRIu64 " ", expect);
                if (!strstr (line, order))
                    fail_msg ("%s: expected %s in: %s", all [s]->name, order, line);
            }
            expect++;
        }
        fclose (file);
    }
    for (int s = 0; s < 3; s++) {
        assert_int_equal (tk_stop (all [s]), 0);
        assert_true (tk_wait_for (all [s]->err, "missed 0, malformed 0", 1000));
    }
    assert_int_equal (tk_stop (broker), 0);
    assert_int_equal (tk_stat (broker->err, "received"), (long long) total);
}

//  A raw XPUB publisher, as a hostile or buggy peer would be.
static void *
s_raw_publisher (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_XPUB);
    zsock_set_xpub_nodrop (sock, 1);
    zsock_set_linger (sock, 5000);
    assert_int_equal (zsock_connect (sock, "%s", endpoint), 0);
    zsock_set_rcvtimeo (sock, 10000);
    char *subscription = zstr_recv (sock);      //  the broker's \x01
    assert_non_null (subscription);
    zstr_free (&subscription);
    return sock;
}

static void
s_send2 (zsock_t *sock, const char *bus, size_t bus_size, const void *data, size_t size)
{
    assert_int_not_equal (zmq_send (zsock_resolve (sock), bus, bus_size, ZMQ_SNDMORE), -1);
    assert_int_not_equal (zmq_send (zsock_resolve (sock), data, size, 0), -1);
}

static void
s_send_valid (zsock_t *sock, int number)
{
    char json [256];
    snprintf (json, sizeof (json),
              "{\"source\":\"demo.payments\",\"detail-type\":\"Payment Processed\","
              "\"detail\":{\"total_cost\":50,\"order_id\":\"valid-%d\"}}", number);
    mesh_error_t err = { 0 };
    mesh_event_t *event = mesh_event_from_json (json, strlen (json), NULL, &err);
    assert_non_null (event);
    mesh_event_fill_defaults (event);
    void *data;
    size_t size;
    assert_int_equal (mesh_event_encode (event, &data, &size, &err), 0);
    s_send2 (sock, "eda_bus", 7, data, size);
    free (data);
    mesh_event_destroy (&event);
}

//  Garbage on the ingest socket is counted and does not disturb delivery.
static void
test_broker_counts_garbage_and_keeps_delivering (void **state)
{
    fixture_t *self = *state;
    const char *extra [] = { "--max-event-size", "65536", "--max-depth", "50", NULL };
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", extra);
    tk_proc_t *warehouse = s_service (self, "warehouse", self->deliver, true);
    s_service (self, "shipping", self->deliver, true);
    s_service (self, "rewards", self->deliver, true);
    s_broker_ingest (self, broker);
    zsock_t *sock = s_raw_publisher (self->ingest);

    //  A hostile subscriber: 500 subscriptions that are not target topics.
    //  Counted, logged at most once per 10 s, and delivery goes on.
    zsock_t *spam = zsock_new (ZMQ_SUB);
    for (int i = 0; i < 500; i++) {
        char topic [32];
        int size = snprintf (topic, sizeof (topic), "not a target %d", i);
        zmq_setsockopt (zsock_resolve (spam), ZMQ_SUBSCRIBE, topic, (size_t) size + 1);
    }
    assert_int_equal (zsock_connect (spam, "%s", self->deliver), 0);

    int valid = 0;
    s_send_valid (sock, ++valid);
    //  one frame only
    zstr_send (sock, "eda_bus");
    s_send_valid (sock, ++valid);
    //  three frames
    zstr_sendx (sock, "eda_bus", "x", "y", NULL);
    s_send_valid (sock, ++valid);
    //  not MessagePack at all (0xc1 is never used), truncated, a bare array
    s_send2 (sock, "eda_bus", 7, "\xc1\x00", 2);
    s_send2 (sock, "eda_bus", 7, "\x85\xa7version", 9);
    s_send2 (sock, "eda_bus", 7, "\x92\x01\x02", 3);
    s_send_valid (sock, ++valid);
    //  a map without the envelope's fields
    s_send2 (sock, "eda_bus", 7, "\x81\xa1" "a\x01", 4);
    //  an unknown bus, and a bus name that is not text
    s_send2 (sock, "no_such_bus", 11, "\x80", 1);
    s_send2 (sock, "\xff\xfe\x00", 3, "\x80", 1);
    //  oversized: 100 KB of detail
    {
        size_t size = 100 * 1024;
        char *json = malloc (size + 200);
        int n = sprintf (json, "{\"source\":\"demo.payments\",\"detail-type\":\"Payment Processed\","
                               "\"detail\":{\"pad\":\"");
        memset (json + n, 'x', size);
        strcpy (json + n + size, "\"}}");
        mesh_limits_t limits;
        mesh_limits_init (&limits);
        limits.max_event_size = 1 << 20;
        mesh_event_t *event = mesh_event_from_json (json, strlen (json), &limits, NULL);
        assert_non_null (event);
        mesh_event_fill_defaults (event);
        void *data;
        size_t data_size;
        assert_int_equal (mesh_event_encode (event, &data, &data_size, NULL), 0);
        s_send2 (sock, "eda_bus", 7, data, data_size);
        free (data);
        free (json);
        mesh_event_destroy (&event);
    }
    s_send_valid (sock, ++valid);
    //  nesting deeper than --max-depth 50: detail {"a":[[[[...]]]]}
    {
        char deep [512];
        int n = sprintf (deep, "\x86\xa7version\xa1" "0\xa2id\xa1x\xa6source\xa1s\xab" "detail-type\xa1t"
                               "\xa4time\xa1z\xa6" "detail\x81\xa1" "a");
        for (int i = 0; i < 60; i++)
            deep [n++] = (char) 0x91;
        deep [n++] = (char) 0xc0;
        s_send2 (sock, "eda_bus", 7, deep, (size_t) n);
    }
    //  invalid UTF-8 in a string
    static const char bad_utf8 [] = "\x86\xa7version\xa1" "0\xa2id\xa1x\xa6source\xa2\xc3\x28"
                                    "\xab" "detail-type\xa1t\xa4time\xa1z\xa6" "detail\x80";
    s_send2 (sock, "eda_bus", 7, bad_utf8, sizeof (bad_utf8) - 1);
    s_send_valid (sock, ++valid);
    zsock_destroy (&sock);

    size_t expected = (size_t) valid;
    assert_int_equal (tk_wait_count (warehouse->out, "seq=", expected, 5000), expected);
    zclock_sleep (200);
    assert_int_equal (tk_count (warehouse->out, "seq="), expected);
    char values [16][64];
    assert_int_equal (s_values (warehouse->out, "order", "seq", values, 16), expected);
    for (size_t i = 0; i < expected; i++)
        assert_int_equal (atoi (values [i]), (int) i + 1);

    assert_int_equal (tk_stop (broker), 0);
    if (tk_stat (broker->err, "malformed") != 8)
        s_dump (broker);
    //  1 frame, 3 frames, 0xc1, truncated, array, no envelope, deep, bad UTF-8
    //  = 8 malformed; oversized 1; unknown bus 2
    assert_int_equal (tk_stat (broker->err, "malformed"), 8);
    assert_int_equal (tk_stat (broker->err, "oversized"), 1);
    assert_int_equal (tk_stat (broker->err, "unknown_bus"), 2);
    assert_int_equal (tk_stat (broker->err, "routed"), (long long) expected);
    assert_true (s_contains (broker->err, "unknown bus 'no_such_bus'"));
    assert_int_equal (tk_stat (broker->err, "ignored_subscriptions"), 500);
    assert_true (tk_count (broker->err, "ignored a subscription") <= 2);
    zsock_destroy (&spam);
}

//  Send the example's payment with its envelope's own JSON members (e.g.
//  "\"source\":\"aws.x\",") in front and a detail padded to pad bytes.
static void
s_send_crafted (zsock_t *sock, const char *members, size_t pad)
{
    char *json = malloc (pad + 512);
    assert_non_null (json);
    int n = sprintf (json, "{%s\"source\":\"demo.payments\",\"detail-type\":\"Payment Processed\","
                           "\"detail\":{\"total_cost\":50,\"pad\":\"", members);
    memset (json + n, 'x', pad);
    strcpy (json + n + pad, "\"}}");
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    limits.max_event_size = 1 << 20;
    mesh_error_t err = { 0 };
    //  A repeated key keeps the first in jansson's strict mode; give each once
    mesh_event_t *event = mesh_event_from_json (json, strlen (json), &limits, &err);
    if (!event)
        fail_msg ("%s", err.text);
    mesh_event_fill_defaults (event);
    void *data;
    size_t size;
    assert_int_equal (mesh_event_encode (event, &data, &size, &err), 0);
    s_send2 (sock, "eda_bus", 7, data, size);
    free (data);
    free (json);
    mesh_event_destroy (&event);
}

//  EventBridge's limits on what publishers send, each refused under its
//  own counter and logged, and the next good event still delivered.
static void
test_broker_refuses_each_eventbridge_limit_and_keeps_delivering (void **state)
{
    fixture_t *self = *state;
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", NULL);
    tk_proc_t *warehouse = s_service (self, "warehouse", self->deliver, true);
    s_service (self, "shipping", self->deliver, true);
    s_service (self, "rewards", self->deliver, true);
    s_broker_ingest (self, broker);
    zsock_t *sock = s_raw_publisher (self->ingest);
    static const struct { const char *members; size_t pad; const char *counter; const char *log; } cases [] = {
        { "", 300 * 1024, "refused_oversized_entry", "event: entry of 30" },
        { "\"id\":\"not-a-uuid\",", 0, "refused_bad_id", "event: 'id' is not a lowercase UUID v4: 'not-a-uuid'" },
        { "\"time\":\"2026-01-02 03:04:05\",", 0, "refused_bad_time",
          "event: 'time' is not RFC 3339 UTC to the second (2026-01-02T03:04:05Z): '2026-01-02 03:04:05'" },
    };
    int valid = 0;
    s_send_valid (sock, ++valid);
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        s_send_crafted (sock, cases [i].members, cases [i].pad);
        s_send_valid (sock, ++valid);
    }
    //  source and detail-type replaced: encoded by hand
    static const char *sources [] = { "aws.ec2", "", NULL };
    static const char *detail_types [] = { "Payment Processed", "Payment Processed", "" };
    for (int i = 0; i < 3; i++) {
        char json [512];
        snprintf (json, sizeof (json), "{\"source\":\"%s\",\"detail-type\":\"%s\",\"detail\":{\"total_cost\":50}}",
                  sources [i]? sources [i]: "demo.payments", detail_types [i]);
        mesh_error_t err = { 0 };
        mesh_event_t *event = mesh_event_from_json (json, strlen (json), NULL, &err);
        assert_non_null (event);
        mesh_event_fill_defaults (event);
        void *data;
        size_t size;
        assert_int_equal (mesh_event_encode (event, &data, &size, &err), 0);
        s_send2 (sock, "eda_bus", 7, data, size);
        free (data);
        mesh_event_destroy (&event);
        s_send_valid (sock, ++valid);
    }
    //  a detail-type of 129 characters
    {
        char json [512];
        char long_type [130];
        memset (long_type, 't', 129);
        long_type [129] = '\0';
        snprintf (json, sizeof (json), "{\"source\":\"demo.payments\",\"detail-type\":\"%s\",\"detail\":{}}",
                  long_type);
        mesh_event_t *event = mesh_event_from_json (json, strlen (json), NULL, NULL);
        assert_non_null (event);
        mesh_event_fill_defaults (event);
        void *data;
        size_t size;
        assert_int_equal (mesh_event_encode (event, &data, &size, NULL), 0);
        s_send2 (sock, "eda_bus", 7, data, size);
        free (data);
        mesh_event_destroy (&event);
        s_send_valid (sock, ++valid);
    }
    //  a NaN in the detail, packed by hand: {"total_cost": NaN}
    {
        const char *json = "{\"source\":\"demo.payments\",\"detail-type\":\"Payment Processed\","
                           "\"detail\":{\"total_cost\":1.5}}";
        mesh_event_t *event = mesh_event_from_json (json, strlen (json), NULL, NULL);
        assert_non_null (event);
        mesh_event_fill_defaults (event);
        uint8_t *data;
        size_t size;
        assert_int_equal (mesh_event_encode (event, (void **) &data, &size, NULL), 0);
        //  1.5 is the only float64 (0xcb): make it NaN in place
        uint8_t *at = memchr (data, 0xcb, size);
        assert_non_null (at);
        static const uint8_t nan_bits [9] = { 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0 };
        memcpy (at, nan_bits, 9);
        s_send2 (sock, "eda_bus", 7, data, size);
        free (data);
        mesh_event_destroy (&event);
        s_send_valid (sock, ++valid);
    }
    zsock_destroy (&sock);

    size_t expected = (size_t) valid;
    assert_int_equal (tk_wait_count (warehouse->out, "seq=", expected, 5000), expected);
    zclock_sleep (200);
    assert_int_equal (tk_count (warehouse->out, "seq="), expected);
    assert_int_equal (tk_stop (broker), 0);
    assert_int_equal (tk_stat (broker->err, "refused_non_finite"), 1);
    assert_true (s_contains (broker->err, "event: a float that is not finite (NaN or infinity, which JSON cannot write) at offset"));
    if (tk_stat (broker->err, "refused_bad_id") != 1)
        s_dump (broker);
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        assert_int_equal (tk_stat (broker->err, cases [i].counter), 1);
        assert_true (s_contains (broker->err, cases [i].log));
    }
    assert_int_equal (tk_stat (broker->err, "refused_reserved_source"), 1);
    assert_true (s_contains (broker->err, "event: source 'aws.ec2' is reserved"));
    assert_int_equal (tk_stat (broker->err, "refused_bad_source"), 1);
    assert_true (s_contains (broker->err, "event: 'source' must be 1 to 256 characters, got 0"));
    assert_int_equal (tk_stat (broker->err, "refused_bad_detail_type"), 2);
    assert_true (s_contains (broker->err, "event: 'detail-type' must be 1 to 128 characters, got 0"));
    assert_int_equal (tk_stat (broker->err, "malformed"), 0);
    assert_int_equal (tk_stat (broker->err, "oversized"), 0);
    assert_int_equal (tk_stat (broker->err, "routed"), (long long) expected);
    assert_int_equal (tk_stat (broker->err, "received"), (long long) expected + 8);
}

//  A publisher that starts before the broker still gets its first event
//  delivered: it waits for the broker instead of sending into the void.
static void
test_publisher_started_before_the_broker_is_delivered (void **state)
{
    fixture_t *self = *state;
    char ingest [64], deliver [64];
    snprintf (ingest, sizeof (ingest), "tcp://127.0.0.1:%d", tk_free_port ());
    snprintf (deliver, sizeof (deliver), "tcp://127.0.0.1:%d", tk_free_port ());

    tk_proc_t *payment = s_proc (self);
    const char *argv [] = { tk_bin ("payment"), "--ingest", ingest, "--total", "250",
                            "--connect-timeout", "20000", NULL };
    tk_start (payment, self->dir, "payment", (char *const *) argv, NULL);
    tk_proc_t *rewards = s_service (self, "rewards", deliver, false);
    zclock_sleep (700);
    assert_int_equal (tk_count (payment->out, "queued"), 0);     //  still waiting

    tk_proc_t *broker = s_proc (self);
    const char *broker_argv [] = { tk_bin ("mesh-broker"), "--config", "config/eda_bus.json",
                                   "--ingest", ingest, "--deliver", deliver, "--api", "tcp://127.0.0.1:*", NULL };
    tk_start (broker, self->dir, "broker", (char *const *) broker_argv, NULL);
    //  Only rewards is running: the broker opens ingest after its start-up
    //  grace, once rewards is subscribed. payment's event must then arrive.
    assert_int_equal (tk_wait (payment, 20000), 0);
    assert_int_equal (tk_wait_count (rewards->out, "seq=", 1, 10000), 1);
    assert_true (s_contains (rewards->out, "total_cost=250.00"));
    assert_int_equal (tk_stop (broker), 0);
    assert_int_equal (tk_stat (broker->err, "received"), 1);
}

//  One subscriber that stops reading does not hold up the others; what it
//  cannot take is queued, then counted as overflow, never silently lost.
static void
test_slow_target_does_not_stall_the_others (void **state)
{
    fixture_t *self = *state;
    const char *extra [] = { "--backlog-bytes", "4000000", "--sndhwm", "100", NULL };
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", extra);
    tk_proc_t *warehouse = s_service (self, "warehouse", self->deliver, true);
    s_service (self, "rewards", self->deliver, true);
    //  shipping's subscriber: subscribes, then never reads
    zsock_t *stuck = zsock_new (ZMQ_SUB);
    zsock_set_rcvhwm (stuck, 10);
    zsock_set_rcvbuf (stuck, 4096);
    zmq_setsockopt (zsock_resolve (stuck), ZMQ_SUBSCRIBE, "shipping", 9);
    assert_int_equal (zsock_connect (stuck, "%s", self->deliver), 0);
    s_broker_ingest (self, broker);

    tk_proc_t *payment = s_proc (self);
    //  At 5,000 a second warehouse keeps up (its 4 MB backlog rides out a
    //  pause of about a second on a loaded machine); shipping's 20,000
    //  deliveries (about 14 MB, as the queue counts them) cannot fit.
    const char *argv [] = { tk_bin ("payment"), "--ingest", self->ingest, "--count", "20000",
                            "--rate", "5000", "--quiet", NULL };
    tk_start (payment, self->dir, "payment", (char *const *) argv, NULL);
    assert_int_equal (tk_wait (payment, 120000), 0);
    assert_int_equal (tk_wait_count (warehouse->out, "seq=", 20000, 20000), 20000);

    assert_int_equal (tk_stop (broker), 0);
    char *text = tk_read (broker->err);
    char *at = strstr (text, "target:shipping=");
    assert_non_null (at);
    unsigned long long seq, delivered, none, overflow;
    assert_int_equal (sscanf (at, "target:shipping=seq:%llu,delivered:%llu,no_subscriber:%llu,overflow:%llu",
                              &seq, &delivered, &none, &overflow), 4);
    assert_int_equal (seq, 20000);
    assert_true (overflow > 0);
    assert_non_null (strstr (text, "target 'shipping' is too slow"));
    free (text);
    zsock_destroy (&stuck);
}

//  A subscriber that keeps up loses nothing, however small the broker's
//  --sndhwm: its backlog drains at the subscriber's pace, not on a timer.
static void
test_subscriber_that_keeps_up_loses_nothing_at_sndhwm_100 (void **state)
{
    fixture_t *self = *state;
    const char *extra [] = { "--sndhwm", "100", "--backlog-bytes", "4000000", NULL };
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", extra);
    tk_proc_t *rewards = s_service (self, "rewards", self->deliver, true);
    tk_proc_t *warehouse = s_service (self, "warehouse", self->deliver, true);
    tk_proc_t *shipping = s_service (self, "shipping", self->deliver, true);
    s_broker_ingest (self, broker);

    const size_t total = 50000;
    tk_proc_t *payment = s_proc (self);
    const char *argv [] = { tk_bin ("payment"), "--ingest", self->ingest, "--count", "50000",
                            "--rate", "40000", "--seed", "3", "--quiet", NULL };
    tk_start (payment, self->dir, "payment", (char *const *) argv, NULL);
    assert_int_equal (tk_wait (payment, 120000), 0);
    assert_int_equal (tk_wait_count (warehouse->out, "seq=", total, 20000), total);
    assert_int_equal (tk_wait_count (shipping->out, "seq=", total, 20000), total);
    tk_proc_t *all [] = { warehouse, shipping, rewards };
    for (int s = 0; s < 3; s++) {
        assert_int_equal (tk_stop (all [s]), 0);
        if (!tk_wait_for (all [s]->err, "missed 0,", 1000))
            s_dump (all [s]);
        assert_true (tk_wait_for (all [s]->err, "missed 0,", 1000));
    }
    assert_int_equal (tk_stop (broker), 0);
    char *text = tk_read (broker->err);
    const char *names [] = { "rewards", "warehouse", "shipping" };
    for (int s = 0; s < 3; s++) {
        char key [64];
        snprintf (key, sizeof (key), "target:%s=", names [s]);
        char *at = strstr (text, key);
        assert_non_null (at);
        unsigned long long seq, delivered, none, overflow;
        char format [128];
        snprintf (format, sizeof (format), "%sseq:%%llu,delivered:%%llu,no_subscriber:%%llu,overflow:%%llu", key);
        assert_int_equal (sscanf (at, format, &seq, &delivered, &none, &overflow), 4);
        if (overflow || delivered != seq)
            fail_msg ("%s: seq %llu delivered %llu overflow %llu", names [s], seq, delivered, overflow);
    }
    free (text);
}

//  A target's counters from the broker's final stats line.
typedef struct {
    unsigned long long seq, delivered, no_subscriber, overflow;
} s_target_stats_t;

static bool
s_target_stats (const char *err_path, const char *name, s_target_stats_t *stats)
{
    char *text = tk_read (err_path);
    char *final = text? strstr (text, "final stats:"): NULL;
    char key [96];
    snprintf (key, sizeof (key), " target:%s=", name);
    char *at = final? strstr (final, key): NULL;
    bool found = at && sscanf (at + strlen (key), "seq:%llu,delivered:%llu,no_subscriber:%llu,overflow:%llu",
                               &stats->seq, &stats->delivered, &stats->no_subscriber, &stats->overflow) == 4;
    free (text);
    return found;
}

static long long
s_rss_kb (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
    char *text = tk_read (path);
    char *at = text? strstr (text, "VmRSS:"): NULL;
    long long kb = at? atoll (at + 6): -1;
    free (text);
    return kb;
}

//  Run payment to publish count events at full speed and wait for it.
static void
s_publish (fixture_t *self, const char *count)
{
    tk_proc_t *payment = s_proc (self);
    const char *argv [] = { tk_bin ("payment"), "--ingest", self->ingest, "--count", count,
                            "--seed", "5", "--quiet", NULL };
    tk_start (payment, self->dir, "payment", (char *const *) argv, NULL);
    assert_int_equal (tk_wait (payment, 120000), 0);
}

//  A socket subscribed to everything ("") or to a name without its NUL
//  that never reads holds back nobody: the broker applies only exact
//  target topics, so nothing is ever sent to it.
static void
test_subscriber_to_everything_that_never_reads_stalls_nothing (void **state)
{
    fixture_t *self = *state;
    const char *extra [] = { "--sndhwm", "100", NULL };
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", extra);
    zsock_t *greedy [2];
    const char *topics [] = { "", "rewards" };
    for (int i = 0; i < 2; i++) {
        greedy [i] = zsock_new (ZMQ_SUB);
        zsock_set_rcvhwm (greedy [i], 10);
        zsock_set_rcvbuf (greedy [i], 4096);
        zmq_setsockopt (zsock_resolve (greedy [i]), ZMQ_SUBSCRIBE, topics [i], strlen (topics [i]));
        assert_int_equal (zsock_connect (greedy [i], "%s", self->deliver), 0);
    }
    tk_proc_t *services [3] = {
        s_service (self, "rewards", self->deliver, true),
        s_service (self, "warehouse", self->deliver, true),
        s_service (self, "shipping", self->deliver, true),
    };
    s_broker_ingest (self, broker);
    s_publish (self, "30000");
    assert_int_equal (tk_wait_count (services [1]->out, "seq=", 30000, 10000), 30000);
    assert_int_equal (tk_wait_count (services [2]->out, "seq=", 30000, 10000), 30000);
    for (int s = 0; s < 3; s++) {
        assert_int_equal (tk_stop (services [s]), 0);
        assert_true (tk_wait_for (services [s]->err, "missed 0,", 1000));
    }
    //  Nothing at all reached the greedy sockets.
    for (int i = 0; i < 2; i++) {
        zsock_set_rcvtimeo (greedy [i], 100);
        zmsg_t *msg = zmsg_recv (greedy [i]);
        assert_null (msg);
        zsock_destroy (&greedy [i]);
    }
    assert_int_equal (tk_stop (broker), 0);
    assert_int_equal (tk_stat (broker->err, "ignored_subscriptions"), 2);
    const char *names [] = { "rewards", "warehouse", "shipping" };
    for (int s = 0; s < 3; s++) {
        s_target_stats_t stats;
        assert_true (s_target_stats (broker->err, names [s], &stats));
        assert_int_equal (stats.overflow, 0);
        assert_int_equal (stats.delivered, stats.seq);
    }
}

//  A plain TCP connection that has done the ZMTP 3.0 handshake of a SUB
//  socket (NULL mechanism), to send frames libzmq's SUB would not. Returns
//  the descriptor, or -1.
static int
s_zmtp_sub_connect (const char *endpoint)
{
    int port = atoi (strrchr (endpoint, ':') + 1);
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (fd < 0 || connect (fd, (struct sockaddr *) &address, sizeof (address))) {
        if (fd >= 0)
            close (fd);
        return -1;
    }
    uint8_t greeting [64] = { 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'N', 'U', 'L', 'L' };
    uint8_t ready [] = { 0x04, 26, 5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e', 't', '-',
                         'T', 'y', 'p', 'e', 0, 0, 0, 3, 'S', 'U', 'B' };
    ready [1] = (uint8_t) (sizeof (ready) - 2);
    uint8_t peer [64 + 64];
    if (write (fd, greeting, sizeof (greeting)) != sizeof (greeting)
    ||  write (fd, ready, sizeof (ready)) != sizeof (ready)
    ||  read (fd, peer, sizeof (peer)) <= 0) {
        close (fd);
        return -1;
    }
    return fd;
}

//  A subscription of megabytes and an ingest frame far over the event
//  size limit end their connection unread (ZMQ_MAXMSGSIZE): the broker
//  does not grow, counts the disconnections and goes on delivering.
static void
test_oversized_subscription_and_ingest_frame_are_not_read_whole (void **state)
{
    fixture_t *self = *state;
    const char *extra [] = { "--max-event-size", "65536", NULL };
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", extra);
    tk_proc_t *warehouse = s_service (self, "warehouse", self->deliver, true);
    s_service (self, "shipping", self->deliver, true);
    s_service (self, "rewards", self->deliver, true);
    s_broker_ingest (self, broker);
    long long rss_before = s_rss_kb (broker->pid);

    //  The subscription is sent by hand (ZMTP 3.0 over a plain TCP
    //  socket): libzmq's own SUB would store 32 MB in its trie first.
    size_t huge = 32 << 20;
    int raw = s_zmtp_sub_connect (self->deliver);
    assert_true (raw >= 0);
    uint8_t frame [9] = { 0x02 };
    for (int i = 0; i < 8; i++)
        frame [1 + i] = (uint8_t) ((uint64_t) huge >> (56 - 8 * i));
    char *bytes = calloc (1, 4 << 20);
    bytes [0] = 1;              //  subscribe
    ssize_t sent = send (raw, frame, sizeof (frame), MSG_NOSIGNAL);
    for (int i = 0; i < 32 && sent > 0; i++)
        sent = send (raw, bytes, 1 << 20, MSG_NOSIGNAL);      //  stops when the broker hangs up
    (void) sent;
    zsock_t *pub = s_raw_publisher (self->ingest);
    s_send2 (pub, "eda_bus", 7, bytes, 4 << 20);
    free (bytes);
    //  Both connections are cut; the broker goes on.
    zclock_sleep (1500);
    long long rss_after = s_rss_kb (broker->pid);
    close (raw);
    zsock_set_linger (pub, 0);
    zsock_destroy (&pub);
    zsock_t *honest = s_raw_publisher (self->ingest);
    s_send_valid (honest, 1);
    assert_int_equal (tk_wait_count (warehouse->out, "seq=", 1, 5000), 1);
    zsock_destroy (&honest);
    if (rss_after - rss_before > 20000)
        fail_msg ("the broker grew from %lld kB to %lld kB", rss_before, rss_after);
    assert_int_equal (tk_stop (broker), 0);
    assert_true (tk_stat (broker->err, "disconnections") >= 2);
    assert_int_equal (tk_stat (broker->err, "received"), 1);
    assert_int_equal (tk_stat (broker->err, "oversized"), 0);
}

//  Subscriptions to invented names: bounded (1,000 targets no rule names),
//  counted, one log line per 10 s, and forgotten once unsubscribed.
static void
test_subscription_churn_is_counted_bounded_and_expires (void **state)
{
    fixture_t *self = *state;
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", NULL);
    zsock_t *churn = zsock_new (ZMQ_SUB);
    zsock_set_sndhwm (churn, 0);            //  a SUB drops subscriptions over its high-water mark
    assert_int_equal (zsock_connect (churn, "%s", self->deliver), 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1500; i++) {
            char topic [32];
            int size = snprintf (topic, sizeof (topic), "invented-%d", i);
            zmq_setsockopt (zsock_resolve (churn), round % 2? ZMQ_UNSUBSCRIBE: ZMQ_SUBSCRIBE,
                            topic, (size_t) size + 1);
        }
        zclock_sleep (500);
    }
    zsock_destroy (&churn);
    zclock_sleep (1500);        //  a housekeeping tick forgets them
    tk_proc_t *warehouse = s_service (self, "warehouse", self->deliver, true);
    s_service (self, "shipping", self->deliver, true);
    s_service (self, "rewards", self->deliver, true);
    s_broker_ingest (self, broker);
    s_publish (self, "10");
    assert_int_equal (tk_wait_count (warehouse->out, "seq=", 10, 5000), 10);
    assert_int_equal (tk_stop (broker), 0);
    //  Rounds 1 and 3 subscribe 1,500 names: 1,000 taken each time.
    assert_int_equal (tk_stat (broker->err, "ignored_subscriptions"), 1000);
    assert_true (tk_stat (broker->err, "subscriptions") >= 2000);
    assert_true (tk_stat (broker->err, "expired_targets") >= 2000);
    assert_false (s_contains (broker->err, "target:invented-"));
    assert_true (tk_count (broker->err, "subscribed") <= 3);
    assert_true (tk_count (broker->err, "ignored a subscription") <= 2);
}

//  Hundreds of connections opened and closed: counted, a line per 10 s,
//  and the bus works as before.
static void
test_connection_flood_is_counted_and_survived (void **state)
{
    fixture_t *self = *state;
    const char *extra [] = { "--startup-grace", "0", NULL };
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", extra);
    s_broker_ingest (self, broker);
    enum { FLOOD = 150 };
    zsock_t *socks [2 * FLOOD];
    for (int i = 0; i < 2 * FLOOD; i++) {
        socks [i] = zsock_new (i % 2? ZMQ_SUB: ZMQ_PUB);
        zsock_set_linger (socks [i], 0);
        assert_int_equal (zsock_connect (socks [i], "%s", i % 2? self->deliver: self->ingest), 0);
    }
    zclock_sleep (1000);
    for (int i = 0; i < 2 * FLOOD; i++)
        zsock_destroy (&socks [i]);
    zclock_sleep (500);
    tk_proc_t *warehouse = s_service (self, "warehouse", self->deliver, true);
    s_publish (self, "10");
    assert_int_equal (tk_wait_count (warehouse->out, "seq=", 10, 5000), 10);
    assert_int_equal (tk_stop (broker), 0);
    assert_true (tk_stat (broker->err, "connections") >= 2 * FLOOD);
    assert_true (tk_stat (broker->err, "disconnections") >= 2 * FLOOD);
    assert_true (tk_count (broker->err, "accepted a connection") <= 4);
}

//  Out of file descriptors: the broker says so and, once connections
//  close, serves new ones.
static void
test_running_out_of_file_descriptors_is_logged_and_survived (void **state)
{
    fixture_t *self = *state;
    char command [1024];
    snprintf (command, sizeof (command),
              "ulimit -n 48 && exec %s --config config/eda_bus.json --ingest tcp://127.0.0.1:* "
              "--deliver tcp://127.0.0.1:* --api 'tcp://127.0.0.1:*' --startup-grace 0 --endpoints-file %s/endpoints",
              tk_bin ("mesh-broker"), self->dir);
    tk_proc_t *broker = s_proc (self);
    const char *argv [] = { "/bin/sh", "-c", command, NULL };
    assert_int_equal (tk_start (broker, self->dir, "broker", (char *const *) argv, NULL), 0);
    s_broker_ingest (self, broker);
    char *text = tk_read (broker->err);
    char *at = text? strstr (text, "deliver "): NULL;
    assert_non_null (at);
    snprintf (self->deliver, sizeof (self->deliver), "%.*s", (int) strcspn (at + 8, " ,;\n"), at + 8);
    free (text);
    enum { MANY = 80 };
    zsock_t *socks [MANY];
    for (int i = 0; i < MANY; i++) {
        socks [i] = zsock_new (ZMQ_SUB);
        zsock_set_linger (socks [i], 0);
        assert_int_equal (zsock_connect (socks [i], "%s", self->deliver), 0);
    }
    bool logged = tk_wait_for (broker->err, "out of file descriptors", 5000);
    for (int i = 0; i < MANY; i++)
        zsock_destroy (&socks [i]);
    if (!logged)
        s_dump (broker);
    assert_true (logged);
    zclock_sleep (500);
    tk_proc_t *warehouse = s_service (self, "warehouse", self->deliver, true);
    s_publish (self, "10");
    assert_int_equal (tk_wait_count (warehouse->out, "seq=", 10, 5000), 10);
    assert_int_equal (tk_stop (broker), 0);
    assert_true (tk_stat (broker->err, "accept_failures") >= 1);
    assert_true (tk_count (broker->err, "out of file descriptors") <= 3);
}

//  Receive one deliver-side message on a raw SUB and parse its header
//  (mesh_proto). Returns its kind, or 0 on timeout.
static mesh_proto_kind_t
s_recv_header (zsock_t *sub, int timeout_ms, uint64_t *seq, uint64_t *epoch, char *target)
{
    zsock_set_rcvtimeo (sub, timeout_ms);
    zmsg_t *msg = zmsg_recv (sub);
    if (!msg)
        return 0;
    mesh_proto_frame_t frames [4];
    size_t count = 0;
    for (zframe_t *frame = zmsg_first (msg); frame && count < 4; frame = zmsg_next (msg))
        frames [count++] = (mesh_proto_frame_t) { zframe_data (frame), zframe_size (frame) };
    mesh_proto_header_t header;
    mesh_error_t err = { 0 };
    if (mesh_proto_message_parse (frames, count, &header, &err))
        fail_msg ("a message the protocol refuses: %s", err.text);
    //  Version 3: the topic and the header in frame 1, the event in frame 2
    assert_int_equal (header.version, 3);
    assert_int_equal (count, header.kind == MESH_PROTO_DELIVERY? 2: 1);
    *seq = header.seq;
    *epoch = header.epoch;
    snprintf (target, MESH_NAME_MAX + 1, "%.*s", (int) header.target_size, header.target);
    zmsg_destroy (&msg);
    return header.kind;
}

//  Every subscribed target gets a heartbeat about once a second: two
//  frames, the last seq given out and the epoch. After a tail lost to
//  overflow, nothing else shows the loss: the heartbeat does.
static void
test_heartbeat_carries_the_last_seq_and_shows_a_lost_tail (void **state)
{
    fixture_t *self = *state;
    const char *extra [] = { "--startup-grace", "0", "--heartbeat", "300", "--sndhwm", "100",
                             "--backlog-bytes", "20000", NULL };
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", extra);
    s_broker_ingest (self, broker);
    zsock_t *warehouse = zsock_new (ZMQ_SUB);
    zsock_set_rcvhwm (warehouse, 10);
    zsock_set_rcvbuf (warehouse, 4096);
    zmq_setsockopt (zsock_resolve (warehouse), ZMQ_SUBSCRIBE, "warehouse", 10);
    assert_int_equal (zsock_connect (warehouse, "%s", self->deliver), 0);
    uint64_t seq, epoch, hello_epoch;
    char target [MESH_NAME_MAX + 1];
    assert_int_equal (s_recv_header (warehouse, 5000, &seq, &hello_epoch, target), MESH_PROTO_HELLO);

    zsock_t *pub = s_raw_publisher (self->ingest);
    for (int i = 1; i <= 5; i++)
        s_send_valid (pub, i);
    //  What the deliveries' route number means comes first, once
    assert_int_equal (s_recv_header (warehouse, 5000, &seq, &epoch, target), MESH_PROTO_ROUTE);
    assert_string_equal (target, "warehouse");
    for (uint64_t i = 1; i <= 5; i++) {
        assert_int_equal (s_recv_header (warehouse, 5000, &seq, &epoch, target), MESH_PROTO_DELIVERY);
        assert_int_equal (seq, i);
    }
    assert_int_equal (s_recv_header (warehouse, 2000, &seq, &epoch, target), MESH_PROTO_HEARTBEAT);
    assert_int_equal (seq, 5);
    assert_int_equal (epoch, hello_epoch);
    assert_string_equal (target, "warehouse");

    //  Now stop reading while 20,000 more are routed: the 20 KB backlog
    //  overflows, and the last deliveries are lost with nothing after them.
    for (int i = 0; i < 20000; i++)
        s_send_valid (pub, 100 + i);
    zclock_sleep (1500);
    uint64_t last_delivery = 5;
    mesh_proto_kind_t kind;
    while ((kind = s_recv_header (warehouse, 3000, &seq, &epoch, target))) {
        if (kind == MESH_PROTO_DELIVERY) {
            assert_true (seq > last_delivery);
            last_delivery = seq;
        }
        else
        if (kind == MESH_PROTO_HEARTBEAT && seq == 20005)
            break;
    }
    assert_int_equal (kind, MESH_PROTO_HEARTBEAT);
    assert_int_equal (seq, 20005);
    assert_true (last_delivery < 20005);         //  the lost tail, seen
    zsock_destroy (&pub);
    zsock_destroy (&warehouse);
    assert_int_equal (tk_stop (broker), 0);
    assert_true (tk_stat (broker->err, "heartbeats") >= 2);
    s_target_stats_t stats;
    assert_true (s_target_stats (broker->err, "warehouse", &stats));
    assert_int_equal (stats.seq, 20005);
    assert_int_equal (stats.delivered + stats.overflow + stats.no_subscriber, 20005);
}

//  Start-up errors: one line on stderr and exit status 1.
static void
test_broker_refuses_a_bad_rule_file (void **state)
{
    fixture_t *self = *state;
    char path [512];
    snprintf (path, sizeof (path), "%s/bad.json", self->dir);
    tk_write (path, "{\"bus\":\"b\",\"rules\":[{\"name\":\"r1\",\"event_pattern\":"
                    "{\"detail\":{\"total_cost\":[{\"numeric\":10}]}},\"targets\":[{\"name\":\"t\"}]}]}");
    tk_proc_t *broker = s_proc (self);
    const char *argv [] = { tk_bin ("mesh-broker"), "--config", path, NULL };
    tk_start (broker, self->dir, "broker", (char *const *) argv, NULL);
    assert_int_equal (tk_wait (broker, 10000), 1);
    char *text = tk_read (broker->err);
    assert_non_null (strstr (text, "bad.json: rule 'r1': pattern.detail.total_cost: "));
    free (text);
}

//  --cpus: every thread of the broker (main, engine, libzmq's) runs on the
//  CPUs given, and it serves as before; a bad list is a start-up error.
static void
test_broker_cpus_pins_every_thread (void **state)
{
    fixture_t *self = *state;
    tk_proc_t *refused = s_proc (self);
    const char *bad [] = { tk_bin ("mesh-broker"), "--cpus", "0-x", "--config", "config/eda_bus.json", NULL };
    tk_start (refused, self->dir, "refused", (char *const *) bad, NULL);
    assert_int_equal (tk_wait (refused, 10000), 1);
    assert_true (tk_wait_for (refused->err, "--cpus: expected CPU numbers and ranges", 100));

    const char *extra [] = { "--cpus", "0", NULL };
    tk_proc_t *broker = s_broker (self, "config/eda_bus.json", extra);
    tk_proc_t *rewards = s_service (self, "rewards", self->deliver, true);
    s_broker_ingest (self, broker);
    s_publish (self, "20");
    assert_true (tk_wait_count (rewards->out, "seq=", 1, 10000) >= 1);
    //  Each of its threads may run on CPU 0 only
    char path [128];
    snprintf (path, sizeof (path), "/proc/%d/task", (int) broker->pid);
    DIR *tasks = opendir (path);
    assert_non_null (tasks);
    int threads = 0;
    struct dirent *entry;
    while ((entry = readdir (tasks))) {
        if (entry->d_name [0] == '.')
            continue;
        char status [256];
        snprintf (status, sizeof (status), "%s/%s/status", path, entry->d_name);
        assert_true (s_contains (status, "Cpus_allowed_list:\t0\n"));
        threads++;
    }
    closedir (tasks);
    assert_true (threads >= 3);         //  main, the engine, libzmq's I/O thread
    assert_int_equal (tk_stop (rewards), 0);
    assert_int_equal (tk_stop (broker), 0);
}

//  --max-pattern-size reaches the rule files: refused at 4096, taken at 8192.
static void
test_broker_pattern_size_limit_is_a_flag (void **state)
{
    fixture_t *self = *state;
    char path [512];
    snprintf (path, sizeof (path), "%s/big.json", self->dir);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fprintf (file, "{\"bus\":\"b\",\"rules\":[{\"name\":\"big\",\"targets\":[{\"name\":\"t\"}],"
                   "\"event_pattern\":{\"source\":[");
    for (int i = 0; i < 400; i++)
        fprintf (file, "%s\"source-%05d\"", i? ",": "", i);
    fprintf (file, "]}}]}");
    fclose (file);
    tk_proc_t *refused = s_proc (self);
    const char *argv [] = { tk_bin ("mesh-broker"), "--check", "--config", path, NULL };
    tk_start (refused, self->dir, "refused", (char *const *) argv, NULL);
    assert_int_equal (tk_wait (refused, 10000), 1);
    assert_true (tk_wait_for (refused->err, "big.json: rule 'big': pattern", 100));
    tk_proc_t *taken = s_proc (self);
    const char *wider [] = { tk_bin ("mesh-broker"), "--check", "--config", path,
                             "--max-pattern-size", "8192", NULL };
    tk_start (taken, self->dir, "taken", (char *const *) wider, NULL);
    assert_int_equal (tk_wait (taken, 10000), 0);
    assert_true (tk_wait_for (taken->out, "bus 'b'", 100));
}

static void
test_broker_refuses_a_busy_endpoint (void **state)
{
    fixture_t *self = *state;
    tk_proc_t *first = s_broker (self, "config/eda_bus.json", NULL);
    (void) first;
    tk_proc_t *second = s_proc (self);
    const char *argv [] = { tk_bin ("mesh-broker"), "--config", "config/eda_bus.json",
                            "--deliver", self->deliver, NULL };
    tk_start (second, self->dir, "second", (char *const *) argv, NULL);
    assert_int_equal (tk_wait (second, 10000), 1);
    assert_true (tk_wait_for (second->err, "cannot bind deliver endpoint", 100));
}

static void
test_binaries_explain_themselves (void **state)
{
    fixture_t *self = *state;
    const char *names [] = { "mesh-broker", "payment", "rewards", "warehouse", "shipping" };
    for (int i = 0; i < 5; i++) {
        tk_proc_t *proc = s_proc (self);
        const char *argv [] = { tk_bin (names [i]), "--help", NULL };
        tk_start (proc, self->dir, names [i], (char *const *) argv, NULL);
        assert_int_equal (tk_wait (proc, 5000), 0);
        assert_true (tk_wait_for (proc->out, "usage:", 100));
        //  and an unknown flag is an error, not ignored
        const char *bad [] = { tk_bin (names [i]), "--no-such-flag", NULL };
        tk_start (proc, self->dir, names [i], (char *const *) bad, NULL);
        assert_int_equal (tk_wait (proc, 5000), 1);
        assert_true (tk_wait_for (proc->err, "unknown", 100));
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_binaries_explain_themselves, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_broker_routes_the_example, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_broker_counts_garbage_and_keeps_delivering, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_publisher_started_before_the_broker_is_delivered, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_broker_refuses_a_bad_rule_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_broker_refuses_a_busy_endpoint, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_broker_cpus_pins_every_thread, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_broker_pattern_size_limit_is_a_flag, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_slow_target_does_not_stall_the_others, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_broker_delivers_a_burst_of_100k_complete_and_in_order,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_subscriber_that_keeps_up_loses_nothing_at_sndhwm_100,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_subscriber_to_everything_that_never_reads_stalls_nothing,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_broker_refuses_each_eventbridge_limit_and_keeps_delivering,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_oversized_subscription_and_ingest_frame_are_not_read_whole,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_subscription_churn_is_counted_bounded_and_expires,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_connection_flood_is_counted_and_survived, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_heartbeat_carries_the_last_seq_and_shows_a_lost_tail,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_running_out_of_file_descriptors_is_logged_and_survived,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name ("broker", tests, NULL, NULL);
}
