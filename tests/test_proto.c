/*  test_proto.c: the wire protocol (mesh_proto), without sockets

    Round trips of every frame the broker and the clients exchange, the
    broker's prebuilt delivery prefixes against the general packer, and
    every way a header can be wrong: each refused with MESH_EMALFORMED and a
    message that says what was wrong. Headers are written here with
    msgpack-c's packer, as a client in another language would write them.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mesh.h"

#define COUNT(a) (sizeof (a) / sizeof ((a) [0]))

#define ASSERT_REFUSED(rc, err, needle)                                         \
    do {                                                                        \
        assert_int_equal ((rc), -1);                                            \
        assert_int_equal ((err).code, MESH_EMALFORMED);                         \
        if (!strstr ((err).text, (needle)))                                     \
            fail_msg ("expected '%s' in '%s'", (needle), (err).text);           \
    } while (0)

//  Values of a header written with msgpack-c: "s:" a string, "u:" an
//  unsigned, "i:" a negative integer, "b:t"/"b:f" a boolean, "n:" nil,
//  "a:" an empty array.
static void
s_pack_value (msgpack_packer *pk, const char *value)
{
    const char *text = value + 2;
    switch (value [0]) {
        case 's': msgpack_pack_str (pk, strlen (text)); msgpack_pack_str_body (pk, text, strlen (text)); break;
        case 'u': msgpack_pack_uint64 (pk, strtoull (text, NULL, 10)); break;
        case 'i': msgpack_pack_int64 (pk, strtoll (text, NULL, 10)); break;
        case 'b': if (text [0] == 't') msgpack_pack_true (pk); else msgpack_pack_false (pk); break;
        case 'n': msgpack_pack_nil (pk); break;
        case 'a': msgpack_pack_array (pk, 0); break;
        default: fail_msg ("bad value spec '%s'", value);
    }
}

//  The bytes of the last header s_parse wrote: the parsed header points
//  into them, so they live until the next call (or the group's end).
static msgpack_sbuffer s_last;

static int
s_free_last (void **state)
{
    (void) state;
    msgpack_sbuffer_destroy (&s_last);
    msgpack_sbuffer_init (&s_last);
    return 0;
}

//  Parse a header given as pairs; returns the rc, fills err.
static int
s_parse (mesh_proto_header_t *header, mesh_error_t *err, ...)
{
    const char *pairs [32];
    size_t count = 0;
    va_list args;
    va_start (args, err);
    const char *item;
    while ((item = va_arg (args, const char *)))
        pairs [count++] = item;
    va_end (args);
    s_free_last (NULL);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &s_last, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, count / 2);
    for (size_t i = 0; i < count; i += 2) {
        msgpack_pack_str (&pk, strlen (pairs [i]));
        msgpack_pack_str_body (&pk, pairs [i], strlen (pairs [i]));
        s_pack_value (&pk, pairs [i + 1]);
    }
    mesh_error_clear (err);
    return mesh_proto_header_parse (s_last.data, s_last.size, header, err);
}

static bool
s_equal (const char *text, size_t size, const char *expected)
{
    return text && size == strlen (expected) && memcmp (text, expected, size) == 0;
}

static mesh_proto_header_t
s_delivery (void)
{
    return (mesh_proto_header_t) {
        .kind = MESH_PROTO_DELIVERY, .route = 2, .target = "rewards", .target_size = 7, .seq = 17,
    };
}

static mesh_proto_header_t
s_route (void)
{
    return (mesh_proto_header_t) {
        .kind = MESH_PROTO_ROUTE, .route = 2, .target = "rewards", .target_size = 7,
        .bus = "eda_bus", .bus_size = 7, .rule = "payment-processed", .rule_size = 17,
    };
}


//  ---------------------------------------------------------------------
//  Round trips

static void
test_proto_delivery_round_trips (void **state)
{
    (void) state;
    mesh_proto_header_t sent = s_delivery ();
    uint8_t bytes [MESH_PROTO_HEADER_MAX];
    size_t size = 0;
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_proto_header_pack (&sent, bytes, sizeof (bytes), &size, &err), 0);
    mesh_proto_header_t got;
    assert_int_equal (mesh_proto_header_parse (bytes, size, &got, &err), 0);
    assert_int_equal (got.version, MESH_PROTO_VERSION);
    assert_int_equal (got.kind, MESH_PROTO_DELIVERY);
    assert_null (got.ctl);
    assert_int_equal (got.route, 2);
    assert_int_equal (got.seq, 17);
    //  A delivery says only v, route and seq: the topic names the target,
    //  a route message the bus and rule, the hello the epoch
    assert_null (got.bus);
    assert_null (got.rule);
    assert_null (got.target);
    assert_int_equal (got.epoch, 0);
    assert_int_equal (size, 1 + 3 + 6 + 1 + 4 + 9);
    //  Every sequence number up to 2^64-1 gives a header of the same size
    const uint64_t seqs [] = { 1, 127, 128, 65536, UINT32_MAX + 1ULL, UINT64_MAX };
    for (size_t i = 0; i < COUNT (seqs); i++) {
        sent.seq = seqs [i];
        size_t again;
        assert_int_equal (mesh_proto_header_pack (&sent, bytes, sizeof (bytes), &again, &err), 0);
        assert_int_equal (again, size);
        assert_int_equal (mesh_proto_header_parse (bytes, again, &got, &err), 0);
        assert_int_equal (got.seq, seqs [i]);
    }
    //  Route numbers up to the limit, in any integer encoding
    const uint32_t routes [] = { 0, 127, 128, 65535, 65536, MESH_PROTO_ROUTE_MAX - 1 };
    for (size_t i = 0; i < COUNT (routes); i++) {
        sent.route = routes [i];
        assert_int_equal (mesh_proto_header_pack (&sent, bytes, sizeof (bytes), &size, &err), 0);
        assert_int_equal (mesh_proto_header_parse (bytes, size, &got, &err), 0);
        assert_int_equal (got.route, routes [i]);
    }
    sent.route = MESH_PROTO_ROUTE_MAX;
    assert_int_equal (mesh_proto_header_pack (&sent, bytes, sizeof (bytes), &size, &err), -1);
    assert_int_equal (err.code, MESH_EINVAL);
    assert_non_null (strstr (err.text, "header: 'route': expected below 1048576, got 1048576"));
}

static void
test_proto_route_round_trips (void **state)
{
    (void) state;
    mesh_proto_header_t sent = s_route ();
    uint8_t bytes [MESH_PROTO_HEAD_MAX];
    size_t size;
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_proto_head_pack (&sent, bytes, sizeof (bytes), &size, &err), 0);
    assert_memory_equal (bytes, "rewards\0", 8);
    mesh_proto_frame_t frame = { bytes, size };
    mesh_proto_header_t got;
    assert_int_equal (mesh_proto_message_parse (&frame, 1, &got, &err), 0);
    assert_int_equal (got.kind, MESH_PROTO_ROUTE);
    assert_true (s_equal (got.ctl, got.ctl_size, "route"));
    assert_string_equal (mesh_proto_kind_name (got.kind), "route");
    assert_int_equal (got.route, 2);
    assert_true (s_equal (got.bus, got.bus_size, "eda_bus"));
    assert_true (s_equal (got.rule, got.rule_size, "payment-processed"));
    assert_true (s_equal (got.target, got.target_size, "rewards"));
    //  One frame, the topic's target, all four fields, valid names
    mesh_proto_frame_t two [2] = { { bytes, size }, { "x", 1 } };
    ASSERT_REFUSED (mesh_proto_message_parse (two, 2, &got, &err), err, "message: a route has 1 frame, got 2");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:route", "target", "s:t", "route", "u:1",
                             "bus", "s:b", NULL), err, "header: route without 'rule'");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:route", "target", "s:t", "bus", "s:b",
                             "rule", "s:r", NULL), err, "header: route without 'route'");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:route", "target", "s:t", "route", "u:1",
                             "bus", "s:eda bus", "rule", "s:r", NULL), err, "header: 'bus': not a valid bus name");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:route", "target", "s:t", "route", "u:1048576",
                             "bus", "s:b", "rule", "s:r", NULL), err,
                    "header: 'route': expected below 1048576, got 1048576");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:route", "target", "s:t", "route", "i:-1",
                             "bus", "s:b", "rule", "s:r", NULL), err,
                    "header: 'route': expected an unsigned integer, got negative integer");
    sent.target = "shipping";
    sent.target_size = 8;
    assert_int_equal (mesh_proto_header_pack (&sent, bytes + 8, sizeof (bytes) - 8, &size, &err), 0);
    frame.size = size + 8;
    ASSERT_REFUSED (mesh_proto_message_parse (&frame, 1, &got, &err), err,
                    "message: header's target 'shipping' is not the topic's 'rewards'");
    //  The longest names fit MESH_PROTO_HEADER_MAX
    char bus [MESH_BUS_NAME_MAX + 1], rule [MESH_NAME_MAX + 1];
    memset (bus, 'b', MESH_BUS_NAME_MAX);
    bus [MESH_BUS_NAME_MAX] = '\0';
    memset (rule, 'r', MESH_NAME_MAX);
    rule [MESH_NAME_MAX] = '\0';
    mesh_proto_header_t longest = {
        .kind = MESH_PROTO_ROUTE, .route = MESH_PROTO_ROUTE_MAX - 1, .target = rule,
        .target_size = MESH_NAME_MAX, .bus = bus, .bus_size = MESH_BUS_NAME_MAX,
        .rule = rule, .rule_size = MESH_NAME_MAX,
    };
    assert_int_equal (mesh_proto_header_pack (&longest, bytes, MESH_PROTO_HEADER_MAX, &size, &err), 0);
    assert_int_equal (mesh_proto_head_pack (&longest, bytes, sizeof (bytes), &size, &err), 0);
}

static void
test_proto_hello_round_trips (void **state)
{
    (void) state;
    for (int routed = 0; routed < 2; routed++) {
        mesh_proto_header_t sent = { .kind = MESH_PROTO_HELLO, .routed = routed, .target = "rewards",
                                     .target_size = 7, .seq = 0, .epoch = 42 };
        uint8_t bytes [MESH_PROTO_HEADER_MAX];
        size_t size;
        mesh_error_t err = { 0 };
        assert_int_equal (mesh_proto_header_pack (&sent, bytes, sizeof (bytes), &size, &err), 0);
        mesh_proto_header_t got;
        assert_int_equal (mesh_proto_header_parse (bytes, size, &got, &err), 0);
        assert_int_equal (got.kind, MESH_PROTO_HELLO);
        assert_true (s_equal (got.ctl, got.ctl_size, "hello"));
        assert_int_equal (got.routed, routed);
        assert_int_equal (got.seq, 0);              //  a hello may say "nothing given out yet"
        assert_int_equal (got.epoch, 42);
        assert_null (got.bus);
    }
}

//  The agreed heartbeat: [topic {"v":3, "ctl":"heartbeat", "target",
//  "epoch", "seq"}], seq the last one given out for the target.
static void
test_proto_heartbeat_round_trips_with_target_seq_and_epoch (void **state)
{
    (void) state;
    const uint64_t seqs [] = { 0, 1, 65536, UINT64_MAX };
    for (size_t i = 0; i < COUNT (seqs); i++) {
        mesh_proto_header_t sent = { .kind = MESH_PROTO_HEARTBEAT, .target = "rewards", .target_size = 7,
                                     .seq = seqs [i], .epoch = 1795771234567ULL };
        uint8_t bytes [MESH_PROTO_HEADER_MAX];
        size_t size;
        mesh_error_t err = { 0 };
        assert_int_equal (mesh_proto_header_pack (&sent, bytes, sizeof (bytes), &size, &err), 0);
        mesh_proto_header_t got;
        assert_int_equal (mesh_proto_header_parse (bytes, size, &got, &err), 0);
        assert_int_equal (got.kind, MESH_PROTO_HEARTBEAT);
        assert_true (s_equal (got.ctl, got.ctl_size, "heartbeat"));
        assert_true (s_equal (got.target, got.target_size, "rewards"));
        assert_int_equal (got.seq, seqs [i]);
        assert_int_equal (got.epoch, 1795771234567ULL);
        assert_null (got.bus);
        assert_null (got.rule);
        //  The same bytes a client in another language writes, keys in any order
        mesh_proto_header_t other;
        char seq [32];
        snprintf (seq, sizeof (seq), "u:%llu", (unsigned long long) seqs [i]);
        assert_int_equal (s_parse (&other, &err, "seq", seq, "target", "s:rewards", "ctl", "s:heartbeat",
                                   "epoch", "u:1795771234567", "v", "u:3", NULL), 0);
        assert_int_equal (other.kind, MESH_PROTO_HEARTBEAT);
        assert_int_equal (other.seq, seqs [i]);
        assert_int_equal (other.epoch, 1795771234567ULL);
    }
    //  A heartbeat without a target cannot be packed
    mesh_proto_header_t bad = { .kind = MESH_PROTO_HEARTBEAT, .seq = 1, .epoch = 1 };
    uint8_t bytes [MESH_PROTO_HEADER_MAX];
    size_t size;
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_proto_header_pack (&bad, bytes, sizeof (bytes), &size, &err), -1);
    assert_int_equal (err.code, MESH_EINVAL);
    assert_non_null (strstr (err.text, "header: 'target': not a valid target name"));
}

static void
test_proto_refuses_heartbeats_without_their_fields (void **state)
{
    (void) state;
    mesh_proto_header_t got;
    mesh_error_t err;
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:heartbeat", NULL), err,
                    "header: heartbeat without 'target'");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:heartbeat", "target", "s:t", "epoch", "u:1",
                             NULL), err, "header: heartbeat without 'seq'");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:heartbeat", "target", "s:t", "seq", "u:1",
                             NULL), err, "header: heartbeat without 'epoch'");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:heartbeat", "target", "s:t", "seq", "s:1",
                             "epoch", "u:1", NULL), err, "header: 'seq': expected an unsigned integer, got string");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:heartbeat", "target", "s:a b", "seq", "u:1",
                             "epoch", "u:1", NULL), err, "header: 'target': not a valid target name");
}

static void
test_proto_reserved_kinds_round_trip_and_unknown_ones_parse (void **state)
{
    (void) state;
    const mesh_proto_kind_t kinds [] = { MESH_PROTO_REQUEST, MESH_PROTO_REPLY };
    const char *names [] = { "request", "reply" };
    for (size_t i = 0; i < COUNT (kinds); i++) {
        mesh_proto_header_t sent = { .kind = kinds [i] };
        uint8_t bytes [MESH_PROTO_HEADER_MAX];
        size_t size;
        mesh_error_t err = { 0 };
        assert_int_equal (mesh_proto_header_pack (&sent, bytes, sizeof (bytes), &size, &err), 0);
        mesh_proto_header_t got;
        assert_int_equal (mesh_proto_header_parse (bytes, size, &got, &err), 0);
        assert_int_equal (got.kind, kinds [i]);
        assert_string_equal (mesh_proto_kind_name (got.kind), names [i]);
    }
    //  A ctl of a later minor version parses, as UNKNOWN, with only v
    mesh_proto_header_t got;
    mesh_error_t err;
    assert_int_equal (s_parse (&got, &err, "v", "u:3", "ctl", "s:goodbye", NULL), 0);
    assert_int_equal (got.kind, MESH_PROTO_UNKNOWN);
    assert_true (s_equal (got.ctl, got.ctl_size, "goodbye"));
    //  but cannot be packed
    uint8_t bytes [64];
    size_t size;
    assert_int_equal (mesh_proto_header_pack (&got, bytes, sizeof (bytes), &size, &err), -1);
    assert_int_equal (err.code, MESH_EINVAL);
}

static void
test_proto_unknown_keys_are_skipped_and_order_is_free (void **state)
{
    (void) state;
    mesh_proto_header_t got;
    mesh_error_t err;
    //  Keys in another order than ours, with keys of a later minor version
    //  between them, of every type (an array, nil, a negative number)
    assert_int_equal (s_parse (&got, &err, "seq", "u:3", "future", "a:", "trace", "n:",
                               "route", "u:9", "skew", "i:-4", "v", "u:3", NULL), 0);
    assert_int_equal (got.kind, MESH_PROTO_DELIVERY);
    assert_int_equal (got.seq, 3);
    assert_int_equal (got.route, 9);
    assert_int_equal (s_parse (&got, &err, "rule", "s:r1", "bus", "s:b", "trace", "n:", "route", "u:4",
                               "target", "s:shipping", "ctl", "s:route", "v", "u:3", NULL), 0);
    assert_int_equal (got.kind, MESH_PROTO_ROUTE);
    assert_true (s_equal (got.target, got.target_size, "shipping"));
    assert_true (s_equal (got.rule, got.rule_size, "r1"));
}

//  The broker's hot path: prefix + seq is what the general packer writes
//  for frame 1, the topic and then the header.
static void
test_proto_delivery_prefix_is_the_packed_header (void **state)
{
    (void) state;
    mesh_proto_header_t header = s_delivery ();
    uint8_t prefix [MESH_PROTO_HEAD_MAX], whole [MESH_PROTO_HEAD_MAX], packed [MESH_PROTO_HEAD_MAX];
    mesh_error_t err = { 0 };
    const uint32_t routes [] = { 2, 0, 200, 70000, MESH_PROTO_ROUTE_MAX - 1 };
    for (size_t r = 0; r < COUNT (routes); r++) {
        header.route = routes [r];
        size_t prefix_size = mesh_proto_delivery_prefix ("rewards", routes [r], prefix, sizeof (prefix), &err);
        assert_true (prefix_size > 8);
        assert_memory_equal (prefix, "rewards\0", 8);      //  the topic leads: ZeroMQ filters on it
        const uint64_t seqs [] = { 1, 2, 1000, UINT64_MAX };
        for (size_t i = 0; i < COUNT (seqs); i++) {
            header.seq = seqs [i];
            size_t size;
            assert_int_equal (mesh_proto_head_pack (&header, packed, sizeof (packed), &size, &err), 0);
            assert_int_equal (size, prefix_size + MESH_PROTO_SEQ_SIZE);
            mesh_proto_delivery_finish (prefix, prefix_size, seqs [i], whole);
            assert_memory_equal (whole, packed, size);
            //  and it is a delivery a subscriber reads, in two frames, its
            //  target the topic's name
            mesh_proto_frame_t frames [2] = { { whole, size }, { "\x80", 1 } };
            mesh_proto_header_t got;
            assert_int_equal (mesh_proto_message_parse (frames, 2, &got, &err), 0);
            assert_int_equal (got.kind, MESH_PROTO_DELIVERY);
            assert_int_equal (got.seq, seqs [i]);
            assert_int_equal (got.route, routes [r]);
            assert_true (s_equal (got.target, got.target_size, "rewards"));
            //  The header after the topic is mesh_proto_header_pack's
            uint8_t alone [MESH_PROTO_HEADER_MAX];
            size_t alone_size;
            assert_int_equal (mesh_proto_header_pack (&header, alone, sizeof (alone), &alone_size, &err), 0);
            assert_int_equal (alone_size + 8, size);
            assert_memory_equal (whole + 8, alone, alone_size);
        }
    }
    //  The example's targets' frame 1 is 33 bytes or less with a small
    //  route number: ZeroMQ then keeps it inside the message, no allocation
    assert_true (mesh_proto_delivery_prefix ("shipping", 100, prefix, sizeof (prefix), &err)
                 + MESH_PROTO_SEQ_SIZE <= 33);
    //  The longest name fits MESH_PROTO_HEAD_MAX
    char name [MESH_NAME_MAX + 1];
    memset (name, 't', MESH_NAME_MAX);
    name [MESH_NAME_MAX] = '\0';
    size_t prefix_size = mesh_proto_delivery_prefix (name, MESH_PROTO_ROUTE_MAX - 1, prefix, sizeof (prefix), &err);
    assert_true (prefix_size > 0);
    assert_true (prefix_size + MESH_PROTO_SEQ_SIZE <= MESH_PROTO_HEAD_MAX);
    //  The name and the number are checked; a short buffer is said so
    assert_int_equal (mesh_proto_delivery_prefix ("rewards-v2\n", 1, prefix, sizeof (prefix), &err), 0);
    assert_int_equal (err.code, MESH_EINVAL);
    assert_non_null (strstr (err.text, "not a valid target name"));
    assert_int_equal (mesh_proto_delivery_prefix ("t", MESH_PROTO_ROUTE_MAX, prefix, sizeof (prefix), &err), 0);
    assert_int_equal (err.code, MESH_EINVAL);
    assert_non_null (strstr (err.text, "header: 'route': expected below 1048576"));
    assert_int_equal (mesh_proto_delivery_prefix ("t", 1, prefix, 10, &err), 0);
    assert_int_equal (err.code, MESH_ETOOBIG);
}

static void
test_proto_pack_refuses_what_it_cannot_say (void **state)
{
    (void) state;
    uint8_t bytes [MESH_PROTO_HEADER_MAX];
    size_t size;
    mesh_error_t err = { 0 };
    mesh_proto_header_t header = s_route ();
    header.rule = NULL;
    header.rule_size = 0;
    assert_int_equal (mesh_proto_header_pack (&header, bytes, sizeof (bytes), &size, &err), -1);
    assert_int_equal (err.code, MESH_EINVAL);
    assert_non_null (strstr (err.text, "'rule': not a valid rule name"));
    header = s_delivery ();
    assert_int_equal (mesh_proto_header_pack (&header, bytes, 20, &size, &err), -1);
    assert_int_equal (err.code, MESH_ETOOBIG);
    header = s_delivery ();
    header.target = "a b";
    header.target_size = 3;
    assert_int_equal (mesh_proto_head_pack (&header, bytes, sizeof (bytes), &size, &err), -1);
    assert_non_null (strstr (err.text, "not a valid target name"));
    mesh_proto_header_t hello = { .kind = MESH_PROTO_HELLO };
    assert_int_equal (mesh_proto_header_pack (&hello, bytes, sizeof (bytes), &size, &err), -1);
    assert_non_null (strstr (err.text, "'target'"));
}


//  ---------------------------------------------------------------------
//  Malformed headers: each refused, and the message says why

static void
test_proto_refuses_bytes_that_are_not_one_map (void **state)
{
    (void) state;
    mesh_proto_header_t got;
    mesh_error_t err = { 0 };
    ASSERT_REFUSED (mesh_proto_header_parse ("", 0, &got, &err), err, "header: not MessagePack (0 bytes)");
    ASSERT_REFUSED (mesh_proto_header_parse ("\xc1", 1, &got, &err), err, "header: not MessagePack");
    ASSERT_REFUSED (mesh_proto_header_parse ("\x92\x01\x02", 3, &got, &err), err,
                    "header: expected a map, got array");
    ASSERT_REFUSED (mesh_proto_header_parse ("\xa1v", 2, &got, &err), err, "header: expected a map, got string");
    //  a key that is not a string
    ASSERT_REFUSED (mesh_proto_header_parse ("\x81\x01\x01", 3, &got, &err), err,
                    "header: key 1: expected a string, got unsigned integer");
    //  bytes after the map
    ASSERT_REFUSED (mesh_proto_header_parse ("\x81\xa1v\x01\x00", 5, &got, &err), err,
                    "header: 1 bytes after the map");
    //  more keys announced than present
    ASSERT_REFUSED (mesh_proto_header_parse ("\x82\xa1v\x01", 4, &got, &err), err,
                    "header: truncated after 1 of 2 keys");
    //  an unknown key whose value is cut short
    ASSERT_REFUSED (mesh_proto_header_parse ("\x82\xa1v\x01\xa1x\x92\x01", 8, &got, &err), err,
                    "header: 'x': truncated value");
}

static void
test_proto_refuses_every_truncation (void **state)
{
    (void) state;
    mesh_proto_header_t headers [3] = { s_delivery (), s_route (),
        { .kind = MESH_PROTO_HELLO, .routed = true, .target = "rewards", .target_size = 7, .seq = 5, .epoch = 1 } };
    for (size_t h = 0; h < COUNT (headers); h++) {
        uint8_t bytes [MESH_PROTO_HEADER_MAX];
        size_t size;
        mesh_error_t err = { 0 };
        assert_int_equal (mesh_proto_header_pack (&headers [h], bytes, sizeof (bytes), &size, &err), 0);
        for (size_t cut = 0; cut < size; cut++) {
            mesh_proto_header_t got;
            //  Cut at a key boundary, the map is short of keys and so
            //  either truncated or lacking a field: refused either way
            assert_int_equal (mesh_proto_header_parse (bytes, cut, &got, &err), -1);
            assert_int_equal (err.code, MESH_EMALFORMED);
            assert_int_equal (strncmp (err.text, "header: ", 8), 0);
        }
    }
}

static void
test_proto_refuses_known_keys_of_the_wrong_type (void **state)
{
    (void) state;
    const struct {
        const char *key;
        const char *value;
        const char *message;
    } cases [] = {
        { "v", "s:1", "header: 'v': expected an unsigned integer, got string" },
        { "v", "i:-1", "header: 'v': expected an unsigned integer, got negative integer" },
        { "ctl", "u:1", "header: 'ctl': expected a string, got unsigned integer" },
        { "bus", "b:t", "header: 'bus': expected a string, got boolean" },
        { "rule", "n:", "header: 'rule': expected a string, got nil" },
        { "target", "a:", "header: 'target': expected a string, got array" },
        { "seq", "s:17", "header: 'seq': expected an unsigned integer, got string" },
        { "seq", "i:-17", "header: 'seq': expected an unsigned integer, got negative integer" },
        { "epoch", "b:f", "header: 'epoch': expected an unsigned integer, got boolean" },
        { "routed", "u:1", "header: 'routed': expected a boolean, got unsigned integer" },
        { "route", "s:0", "header: 'route': expected an unsigned integer, got string" },
    };
    for (size_t i = 0; i < COUNT (cases); i++) {
        mesh_proto_header_t got;
        mesh_error_t err;
        int rc = s_parse (&got, &err, cases [i].key, cases [i].value, NULL);
        ASSERT_REFUSED (rc, err, cases [i].message);
    }
}

static void
test_proto_refuses_another_version_and_a_missing_one (void **state)
{
    (void) state;
    mesh_proto_header_t got;
    mesh_error_t err;
    //  Version 2's delivery header, complete and valid as version 2 wrote
    //  it, and version 1's: refused
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:2", "bus", "s:b", "rule", "s:r", "target", "s:t",
                             "seq", "u:1", "epoch", "u:1", NULL), err, "header: protocol version 2, this side speaks 3");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:1", "bus", "s:b", "rule", "s:r", "target", "s:t",
                             "seq", "u:1", "epoch", "u:1", NULL), err, "header: protocol version 1, this side speaks 3");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:4", "route", "u:0", "seq", "u:1", NULL), err,
                    "header: protocol version 4, this side speaks 3");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:0", NULL), err, "header: protocol version 0");
    ASSERT_REFUSED (s_parse (&got, &err, "bus", "s:b", "rule", "s:r", "target", "s:t", "seq", "u:1",
                             "epoch", "u:1", NULL), err, "header: 'v' is missing");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "seq", "u:1", "seq", "u:3", NULL), err,
                    "header: 'seq': repeated key");
}

static void
test_proto_refuses_deliveries_and_hellos_without_their_fields (void **state)
{
    (void) state;
    const char *delivery [] = { "route", "u:0", "seq", "u:1" };
    //  Leave out each field of a delivery in turn (a version 2 delivery's
    //  bus, rule, target and epoch do not make up for them)
    for (size_t skip = 0; skip < COUNT (delivery); skip += 2) {
        const char *pairs [12] = { "bus", "s:b", "rule", "s:r", "target", "s:t", "epoch", "u:1",
                                   "bus", "s:b", "rule", "s:r" };
        size_t n = 0;
        pairs [n++] = "v";
        pairs [n++] = "u:3";
        for (size_t i = 0; i < COUNT (delivery); i += 2)
            if (i != skip) {
                pairs [n++] = delivery [i];
                pairs [n++] = delivery [i + 1];
            }
        mesh_proto_header_t got;
        mesh_error_t err;
        pairs [n++] = "epoch";
        pairs [n++] = "u:1";
        int rc = s_parse (&got, &err, pairs [0], pairs [1], pairs [2], pairs [3], pairs [4], pairs [5],
                          NULL);
        char expected [64];
        snprintf (expected, sizeof (expected), "header: delivery without '%s'", delivery [skip]);
        ASSERT_REFUSED (rc, err, expected);
    }
    mesh_proto_header_t got;
    mesh_error_t err;
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:hello", "target", "s:t", "seq", "u:0",
                             "epoch", "u:1", NULL), err, "header: hello without 'routed'");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "route", "u:0", "seq", "u:0", NULL), err,
                    "header: 'seq': expected 1 or more, got 0");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "route", "u:1048576", "seq", "u:1", NULL), err,
                    "header: 'route': expected below 1048576, got 1048576");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "route", "u:18446744073709551615", "seq", "u:1", NULL), err,
                    "header: 'route': expected below 1048576, got 18446744073709551615");
    //  Names that are not names, in a delivery that names a target
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "route", "u:0", "target", "s:a b", "seq", "u:1", NULL),
                    err, "header: 'target': not a valid target name");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:route", "route", "u:0", "target", "s:t",
                             "bus", "s:b", "rule", "s:", NULL), err, "header: 'rule': not a valid rule name");
    ASSERT_REFUSED (s_parse (&got, &err, "v", "u:3", "ctl", "s:hello", "routed", "b:t", "target", "s:a/b",
                             "seq", "u:1", "epoch", "u:1", NULL), err, "header: 'target': not a valid target name");
}


//  ---------------------------------------------------------------------
//  Whole messages, topics and ingest frames

//  Frame 1 as a client in another language would build it: topic bytes,
//  then header bytes, then extra bytes. Returns its size.
static size_t
s_frame_one (uint8_t *out, const void *topic, size_t topic_size, const void *header, size_t header_size,
             const void *extra, size_t extra_size)
{
    memcpy (out, topic, topic_size);
    memcpy (out + topic_size, header, header_size);
    memcpy (out + topic_size + header_size, extra, extra_size);
    return topic_size + header_size + extra_size;
}

static void
test_proto_message_checks_frames_topic_and_target (void **state)
{
    (void) state;
    mesh_proto_header_t header = s_delivery ();
    uint8_t head [MESH_PROTO_HEAD_MAX];
    size_t size;
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_proto_head_pack (&header, head, sizeof (head), &size, &err), 0);
    assert_memory_equal (head, "rewards\0", 8);
    char topic [MESH_TOPIC_MAX];
    size_t topic_size = mesh_proto_topic ("rewards", topic);
    assert_int_equal (topic_size, 8);
    assert_memory_equal (topic, "rewards\0", 8);
    mesh_proto_frame_t frames [3] = { { head, size }, { "\x80", 1 }, { "", 0 } };
    mesh_proto_header_t got;
    assert_int_equal (mesh_proto_message_parse (frames, 2, &got, &err), 0);
    assert_int_equal (got.kind, MESH_PROTO_DELIVERY);
    assert_true (s_equal (got.target, got.target_size, "rewards"));
    //  A delivery is exactly two frames: v1's three (an empty third here) or one are refused
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 1, &got, &err), err, "message: a delivery has 2 frames, got 1");
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 3, &got, &err), err, "message: a delivery has 2 frames, got 3");
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 0, &got, &err), err, "message: expected [topic header]");
    //  A delivery's target is its topic's name, whatever the topic
    uint8_t bytes [MESH_PROTO_HEAD_MAX + 16];
    uint8_t alone [MESH_PROTO_HEADER_MAX];
    size_t alone_size;
    assert_int_equal (mesh_proto_header_pack (&header, alone, sizeof (alone), &alone_size, &err), 0);
    frames [0] = (mesh_proto_frame_t) { bytes, s_frame_one (bytes, "rewards-v2\0", 11, alone, alone_size, "", 0) };
    assert_int_equal (mesh_proto_message_parse (frames, 2, &got, &err), 0);
    assert_true (s_equal (got.target, got.target_size, "rewards-v2"));
    //  and one that names another target in its header is refused
    mesh_proto_header_t named;
    assert_int_equal (s_parse (&named, &err, "v", "u:3", "route", "u:0", "target", "s:rewards", "seq", "u:1",
                               NULL), 0);
    frames [0] = (mesh_proto_frame_t) { bytes, s_frame_one (bytes, "rewards-v2\0", 11, s_last.data, s_last.size,
                                                            "", 0) };
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 2, &got, &err), err,
                    "message: header's target 'rewards' is not the topic's 'rewards-v2'");
    //  Bytes after the header map, even one NUL: refused, and said of frame 1
    frames [0] = (mesh_proto_frame_t) { bytes, s_frame_one (bytes, "rewards\0", 8, alone, alone_size, "\0", 1) };
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 2, &got, &err), err, "frame 1: header: 1 bytes after the map");
    frames [0] = (mesh_proto_frame_t) { bytes, s_frame_one (bytes, "rewards\0", 8, alone, alone_size, "\x80", 1) };
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 2, &got, &err), err, "frame 1: header: 1 bytes after the map");
    //  A topic and no header, and v1's topic frame alone
    frames [0] = (mesh_proto_frame_t) { "rewards\0", 8 };
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 2, &got, &err), err, "frame 1: header: not MessagePack (0 bytes)");
    //  Frame 1 without a NUL: a name, a header alone, nothing, or more than a topic's room without one
    char long_name [200];
    memset (long_name, 'a', sizeof (long_name));
    const struct { const void *data; size_t size; } no_nul [] = {
        { "rewards", 7 }, { alone, alone_size > 64? 64: alone_size }, { "", 0 }, { long_name, sizeof (long_name) },
    };
    for (size_t i = 0; i < COUNT (no_nul); i++) {
        if (memchr (no_nul [i].data, '\0', no_nul [i].size))
            continue;           //  the header alone may hold a NUL (in a uint64): not this case
        frames [0] = (mesh_proto_frame_t) { no_nul [i].data, no_nul [i].size };
        ASSERT_REFUSED (mesh_proto_message_parse (frames, 2, &got, &err), err,
                        "frame 1: topic: expected a target name and one NUL byte, got no NUL");
    }
    //  A valid name whose NUL comes after the topic's room (65 bytes): refused
    memset (long_name, 'a', 65);
    long_name [65] = '\0';
    frames [0] = (mesh_proto_frame_t) { long_name, 66 };
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 2, &got, &err), err, "got no NUL in the first 65 of 66 bytes");
    //  Before the first NUL, not a name: empty, a space, an instance topic (reserved)
    const struct { const char *data; size_t size; } topics [] = {
        { "\0", 1 }, { "a b\0", 4 }, { "rewards\x01" "a\0", 10 },
    };
    for (size_t i = 0; i < COUNT (topics); i++) {
        frames [0] = (mesh_proto_frame_t) { bytes, s_frame_one (bytes, topics [i].data, topics [i].size,
                                                                alone, alone_size, "", 0) };
        ASSERT_REFUSED (mesh_proto_message_parse (frames, 2, &got, &err), err,
                        "frame 1: topic: expected a target name and one NUL byte");
    }
    //  Two NULs: the second starts the header, which is then not a map
    frames [0] = (mesh_proto_frame_t) { bytes, s_frame_one (bytes, "rewards\0\0", 9, alone, alone_size, "", 0) };
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 2, &got, &err), err,
                    "frame 1: header: expected a map, got unsigned integer");
    //  A header with NULs in it (seq 256: 0xcf 00 .. 01 00) is split at the first NUL, the topic's
    header.seq = 256;
    assert_int_equal (mesh_proto_head_pack (&header, head, sizeof (head), &size, &err), 0);
    assert_non_null (memchr (head + 8, '\0', size - 8));
    frames [0] = (mesh_proto_frame_t) { head, size };
    assert_int_equal (mesh_proto_message_parse (frames, 2, &got, &err), 0);
    assert_int_equal (got.seq, 256);
    assert_int_equal (mesh_proto_topic ("not a name", topic), 0);
    //  A version 1 header after a topic: refused, whatever the frames
    mesh_proto_header_t v1;
    assert_int_equal (s_parse (&v1, &err, "v", "u:1", "bus", "s:b", "rule", "s:r", "target", "s:rewards",
                               "seq", "u:1", "epoch", "u:1", NULL), -1);
    frames [0] = (mesh_proto_frame_t) { bytes, s_frame_one (bytes, "rewards\0", 8, s_last.data, s_last.size, "", 0) };
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 2, &got, &err), err,
                    "frame 1: header: protocol version 1, this side speaks 3");
    //  v1's layout exactly, [topic][header][event]: refused
    frames [0] = (mesh_proto_frame_t) { "rewards\0", 8 };
    frames [1] = (mesh_proto_frame_t) { s_last.data, s_last.size };
    frames [2] = (mesh_proto_frame_t) { "\x80", 1 };
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 3, &got, &err), err, "frame 1: header: not MessagePack");
    //  A hello is one frame
    mesh_proto_header_t hello = { .kind = MESH_PROTO_HELLO, .target = "rewards", .target_size = 7, .epoch = 1 };
    assert_int_equal (mesh_proto_head_pack (&hello, head, sizeof (head), &size, &err), 0);
    frames [0] = (mesh_proto_frame_t) { head, size };
    frames [1] = (mesh_proto_frame_t) { "", 0 };
    assert_int_equal (mesh_proto_message_parse (frames, 1, &got, &err), 0);
    assert_int_equal (got.kind, MESH_PROTO_HELLO);
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 2, &got, &err), err, "message: a hello has 1 frame, got 2");
    //  A heartbeat is one frame, with the topic's target
    mesh_proto_header_t beat = { .kind = MESH_PROTO_HEARTBEAT, .target = "rewards", .target_size = 7,
                                 .seq = 5, .epoch = 1 };
    assert_int_equal (mesh_proto_head_pack (&beat, head, sizeof (head), &size, &err), 0);
    frames [0] = (mesh_proto_frame_t) { head, size };
    assert_int_equal (mesh_proto_message_parse (frames, 1, &got, &err), 0);
    assert_int_equal (got.kind, MESH_PROTO_HEARTBEAT);
    assert_int_equal (got.seq, 5);
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 2, &got, &err), err, "message: a heartbeat has 1 frame, got 2");
    assert_int_equal (mesh_proto_header_pack (&beat, alone, sizeof (alone), &alone_size, &err), 0);
    frames [0] = (mesh_proto_frame_t) { bytes, s_frame_one (bytes, "rewards-v2\0", 11, alone, alone_size, "", 0) };
    ASSERT_REFUSED (mesh_proto_message_parse (frames, 1, &got, &err), err,
                    "message: header's target 'rewards' is not the topic's 'rewards-v2'");
    //  A reserved kind without fields: any number of frames from one
    mesh_proto_header_t request = { .kind = MESH_PROTO_REQUEST, .target = "rewards", .target_size = 7 };
    assert_int_equal (mesh_proto_head_pack (&request, head, sizeof (head), &size, &err), 0);
    frames [0] = (mesh_proto_frame_t) { head, size };
    assert_int_equal (mesh_proto_message_parse (frames, 1, &got, &err), 0);
    assert_int_equal (got.kind, MESH_PROTO_REQUEST);
    assert_int_equal (mesh_proto_message_parse (frames, 3, &got, &err), 0);
    //  An unknown ctl parses, in one frame or more, for the reader to ignore
    assert_int_equal (s_parse (&got, &err, "v", "u:3", "ctl", "s:goodbye", NULL), 0);
    frames [0] = (mesh_proto_frame_t) { bytes, s_frame_one (bytes, "rewards\0", 8, s_last.data, s_last.size, "", 0) };
    for (size_t count = 1; count <= 3; count++) {
        assert_int_equal (mesh_proto_message_parse (frames, count, &got, &err), 0);
        assert_int_equal (got.kind, MESH_PROTO_UNKNOWN);
    }
    //  A reserved kind needs a target to pack: it names the topic
    mesh_proto_header_t untargeted = { .kind = MESH_PROTO_REPLY };
    assert_int_equal (mesh_proto_head_pack (&untargeted, head, sizeof (head), &size, &err), -1);
    assert_int_equal (err.code, MESH_EINVAL);
    assert_non_null (strstr (err.text, "topic: not a valid target name"));
    //  A short buffer is said so
    assert_int_equal (mesh_proto_head_pack (&beat, head, 4, &size, &err), -1);
    assert_int_equal (err.code, MESH_ETOOBIG);
    assert_int_equal (mesh_proto_head_pack (&beat, head, 12, &size, &err), -1);
    assert_int_equal (err.code, MESH_ETOOBIG);
}

static void
test_proto_ingest_is_exactly_two_frames (void **state)
{
    (void) state;
    mesh_proto_frame_t frames [3] = { { "eda_bus", 7 }, { "\x80", 1 }, { "x", 1 } };
    mesh_proto_frame_t bus, event;
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_proto_ingest_parse (frames, 2, &bus, &event, &err), 0);
    assert_int_equal (bus.size, 7);
    assert_ptr_equal (event.data, frames [1].data);
    ASSERT_REFUSED (mesh_proto_ingest_parse (frames, 1, &bus, &event, &err), err,
                    "ingest: expected 2 frames [bus][event], got 1");
    ASSERT_REFUSED (mesh_proto_ingest_parse (frames, 3, &bus, &event, &err), err, "got 3");
}


int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_proto_delivery_round_trips),
        cmocka_unit_test (test_proto_hello_round_trips),
        cmocka_unit_test (test_proto_heartbeat_round_trips_with_target_seq_and_epoch),
        cmocka_unit_test (test_proto_refuses_heartbeats_without_their_fields),
        cmocka_unit_test (test_proto_reserved_kinds_round_trip_and_unknown_ones_parse),
        cmocka_unit_test (test_proto_unknown_keys_are_skipped_and_order_is_free),
        cmocka_unit_test (test_proto_delivery_prefix_is_the_packed_header),
        cmocka_unit_test (test_proto_route_round_trips),
        cmocka_unit_test (test_proto_pack_refuses_what_it_cannot_say),
        cmocka_unit_test (test_proto_refuses_bytes_that_are_not_one_map),
        cmocka_unit_test (test_proto_refuses_every_truncation),
        cmocka_unit_test (test_proto_refuses_known_keys_of_the_wrong_type),
        cmocka_unit_test (test_proto_refuses_another_version_and_a_missing_one),
        cmocka_unit_test (test_proto_refuses_deliveries_and_hellos_without_their_fields),
        cmocka_unit_test (test_proto_message_checks_frames_topic_and_target),
        cmocka_unit_test (test_proto_ingest_is_exactly_two_frames),
    };
    return cmocka_run_group_tests_name ("proto", tests, s_free_last, s_free_last);
}
