/*  test_event.c: the event envelope, its JSON and MessagePack encodings,
    the broker's in-place check, and the in-place MessagePack reader.

    Test data is inline: each case is small, and the MessagePack cases are
    built byte by byte (or with msgpack-c's packer) so that each says exactly
    which bytes it feeds in.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>
#include "mesh.h"
#include "../libmesh/src/mesh_private.h"

//  Both the code and a piece of the message, as every bad-input test checks
#define assert_error(err, expected_code, substring) do {                     \
    assert_int_equal ((err).code, (expected_code));                          \
    if (!strstr ((err).text, (substring)))                                   \
        fail_msg ("error text '%s' does not contain '%s'", (err).text, (substring)); \
} while (0)

static const char *s_canonical =
    "{\"version\":\"0\",\"id\":\"6a7e8feb-b491-4cf7-a9f1-bf3703467718\","
    "\"detail-type\":\"OrderPlaced\",\"source\":\"com.example.orders\","
    "\"account\":\"123456789012\",\"time\":\"2026-01-02T03:04:05Z\","
    "\"region\":\"eu-west-1\",\"resources\":[\"arn:aws:x:1\",\"arn:aws:x:2\"],"
    "\"detail\":{\"order_id\":\"A-17\",\"total_cost\":242.58,\"count\":3,"
    "\"paid\":true,\"coupon\":null,\"items\":[{\"sku\":\"x\",\"price\":0.1},"
    "{\"sku\":\"y\",\"price\":300.0}],\"note\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\","
    "\"nested\":{\"a\":{\"b\":[1,-2,1e+300]}}}}";

//  A small growable MessagePack buffer built with msgpack-c's packer
typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer pk;
} packer_t;

static void
s_packer_init (packer_t *self)
{
    msgpack_sbuffer_init (&self->buffer);
    msgpack_packer_init (&self->pk, &self->buffer, msgpack_sbuffer_write);
}

static void
s_pack_string (packer_t *self, const char *string)
{
    msgpack_pack_str (&self->pk, strlen (string));
    msgpack_pack_str_body (&self->pk, string, strlen (string));
}

//  An envelope with every field; `skip` (a key) is left out and `mistype`
//  (a key) gets the integer 42, or for detail an array, instead of its value.
static void
s_pack_envelope (packer_t *self, const char *skip, const char *mistype)
{
    static const char *keys [] = {
        "version", "id", "detail-type", "source", "account", "time", "region",
        "resources", "detail"
    };
    static const char *values [] = {
        "0", "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "OrderPlaced",
        "com.example.orders", "123456789012", "2026-01-02T03:04:05Z", "local"
    };
    size_t count = 9 - (skip? 1: 0);
    msgpack_pack_map (&self->pk, count);
    for (size_t index = 0; index < 9; index++) {
        if (skip && strcmp (skip, keys [index]) == 0)
            continue;
        s_pack_string (self, keys [index]);
        bool wrong = mistype && strcmp (mistype, keys [index]) == 0;
        if (index < 7) {
            if (wrong)
                msgpack_pack_int (&self->pk, 42);
            else
                s_pack_string (self, values [index]);
        }
        else
        if (index == 7) {               //  resources
            if (wrong)
                msgpack_pack_int (&self->pk, 42);
            else {
                msgpack_pack_array (&self->pk, 1);
                s_pack_string (self, "arn:aws:x:1");
            }
        }
        else {                          //  detail
            if (wrong) {
                msgpack_pack_array (&self->pk, 1);
                msgpack_pack_int (&self->pk, 1);
            }
            else {
                msgpack_pack_map (&self->pk, 2);
                s_pack_string (self, "total_cost");
                msgpack_pack_double (&self->pk, 242.58);
                s_pack_string (self, "items");
                msgpack_pack_array (&self->pk, 2);
                msgpack_pack_int (&self->pk, 1);
                s_pack_string (self, "two");
            }
        }
    }
}

//  JSON text -> MessagePack -> JSON text
static char *
s_json_roundtrip (const char *json, const mesh_limits_t *limits)
{
    mesh_error_t err = { 0 };
    void *data;
    size_t size;
    if (mesh_json_to_msgpack (json, strlen (json), limits, &data, &size, &err))
        fail_msg ("json_to_msgpack '%s': %s", json, err.text);
    char *text = mesh_msgpack_to_json (data, size, limits, &err);
    if (!text)
        fail_msg ("msgpack_to_json '%s': %s", json, err.text);
    free (data);
    return text;
}

static void
s_assert_roundtrip (const char *json, const char *expected)
{
    char *text = s_json_roundtrip (json, NULL);
    assert_string_equal (text, expected);
    free (text);
}

//  n nested arrays around a 1, as JSON: [[[1]]]
static char *
s_nested_json (int levels)
{
    char *json = malloc ((size_t) levels * 2 + 2);
    assert_non_null (json);
    memset (json, '[', (size_t) levels);
    json [levels] = '1';
    memset (json + levels + 1, ']', (size_t) levels);
    json [levels * 2 + 1] = '\0';
    return json;
}

//  The same as MessagePack: n fixarrays of one element around a 1
static uint8_t *
s_nested_msgpack (int levels, size_t *size)
{
    uint8_t *data = malloc ((size_t) levels + 1);
    assert_non_null (data);
    memset (data, 0x91, (size_t) levels);
    data [levels] = 0x01;
    *size = (size_t) levels + 1;
    return data;
}

//  An envelope whose detail holds `arrays` nested arrays, so its depth is
//  2 + arrays (envelope map 1, detail map 2)
static void
s_pack_deep_event (packer_t *self, int arrays)
{
    s_pack_envelope (self, "detail", NULL);
    //  the map header said 8 pairs: rewrite it to 9 and add the detail
    assert_int_equal ((uint8_t) self->buffer.data [0], 0x88);
    self->buffer.data [0] = (char) 0x89;
    s_pack_string (self, "detail");
    msgpack_pack_map (&self->pk, 1);
    s_pack_string (self, "a");
    for (int level = 0; level < arrays; level++)
        msgpack_pack_array (&self->pk, 1);
    msgpack_pack_nil (&self->pk);
}


//  ---------------------------------------------------------------------
//  The in-place reader

static void
test_mp_reads_every_integer_encoding_by_sign (void **state)
{
    (void) state;
    //  5 as positive fixint, uint8, uint64, int8, int64; -5 as fixint, int8, int64
    static const uint8_t positive [] = {
        0x05, 0xcc, 0x05, 0xcf, 0, 0, 0, 0, 0, 0, 0, 5, 0xd0, 0x05,
        0xd3, 0, 0, 0, 0, 0, 0, 0, 5
    };
    static const uint8_t negative [] = {
        0xfb, 0xd0, 0xfb, 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb
    };
    mesh__mp_reader_t r;
    mesh__mp_value_t v;
    mesh__mp_reader_init (&r, positive, sizeof (positive));
    for (int index = 0; index < 5; index++) {
        assert_int_equal (mesh__mp_read (&r, &v), 0);
        assert_int_equal (v.type, MESH_MP_UINT);
        assert_true (v.v.u == 5);
    }
    assert_ptr_equal (r.pos, r.end);
    mesh__mp_reader_init (&r, negative, sizeof (negative));
    for (int index = 0; index < 3; index++) {
        assert_int_equal (mesh__mp_read (&r, &v), 0);
        assert_int_equal (v.type, MESH_MP_INT);
        assert_true (v.v.i == -5);
    }
    assert_ptr_equal (r.pos, r.end);
}

static void
test_mp_reads_strings_bin_and_ext_in_place (void **state)
{
    (void) state;
    static const uint8_t data [] = {
        0xa3, 'a', 'b', 'c',                    //  fixstr
        0xd9, 0x02, 'h', 'i',                   //  str8
        0xc4, 0x01, 0xff,                       //  bin8
        0xd4, 0x07, 0x2a,                       //  fixext1, type 7
        0xc7, 0x02, 0xfe, 0x01, 0x02,           //  ext8, 2 bytes, type -2
        0xca, 0x3f, 0xc0, 0x00, 0x00,           //  float32 1.5
    };
    mesh__mp_reader_t r;
    mesh__mp_value_t v;
    mesh__mp_reader_init (&r, data, sizeof (data));
    assert_int_equal (mesh__mp_read (&r, &v), 0);
    assert_int_equal (v.type, MESH_MP_STR);
    assert_int_equal (v.v.s.size, 3);
    assert_memory_equal (v.v.s.ptr, "abc", 3);
    assert_int_equal (mesh__mp_read (&r, &v), 0);
    assert_int_equal (v.type, MESH_MP_STR);
    assert_memory_equal (v.v.s.ptr, "hi", 2);
    assert_int_equal (mesh__mp_read (&r, &v), 0);
    assert_int_equal (v.type, MESH_MP_BIN);
    assert_int_equal (v.v.s.size, 1);
    assert_int_equal (mesh__mp_read (&r, &v), 0);
    assert_int_equal (v.type, MESH_MP_EXT);
    assert_int_equal (v.v.s.ext_type, 7);
    assert_int_equal (v.v.s.size, 1);
    assert_int_equal (mesh__mp_read (&r, &v), 0);
    assert_int_equal (v.type, MESH_MP_EXT);
    assert_int_equal (v.v.s.ext_type, -2);
    assert_int_equal (v.v.s.size, 2);
    assert_int_equal (mesh__mp_read (&r, &v), 0);
    assert_int_equal (v.type, MESH_MP_FLOAT);
    assert_true (v.v.f == 1.5);
    assert_ptr_equal (r.pos, r.end);
    //  Nothing left: -1, position unchanged
    assert_int_equal (mesh__mp_read (&r, &v), -1);
    assert_ptr_equal (r.pos, r.end);
}

static void
test_mp_refuses_lengths_past_the_end (void **state)
{
    (void) state;
    static const uint8_t str32 [] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' };
    static const uint8_t ext32 [] = { 0xc9, 0xff, 0xff, 0xff, 0xf0, 0x01 };
    static const uint8_t never [] = { 0xc1 };
    mesh__mp_reader_t r;
    mesh__mp_value_t v;
    mesh__mp_reader_init (&r, str32, sizeof (str32));
    assert_int_equal (mesh__mp_read (&r, &v), -1);
    assert_ptr_equal (r.pos, str32);
    mesh__mp_reader_init (&r, ext32, sizeof (ext32));
    assert_int_equal (mesh__mp_read (&r, &v), -1);
    mesh__mp_reader_init (&r, never, sizeof (never));
    assert_int_equal (mesh__mp_read (&r, &v), -1);
}

static void
test_mp_skip_steps_over_nested_containers (void **state)
{
    (void) state;
    //  {"a":[1,{"b":nil}],"c":"d"} then 0x07
    static const uint8_t data [] = {
        0x82, 0xa1, 'a', 0x92, 0x01, 0x81, 0xa1, 'b', 0xc0, 0xa1, 'c', 0xa1, 'd', 0x07
    };
    mesh__mp_reader_t r;
    mesh__mp_reader_init (&r, data, sizeof (data));
    assert_int_equal (mesh__mp_skip (&r), 0);
    assert_ptr_equal (r.pos, data + sizeof (data) - 1);
    //  Every truncation fails and leaves the position alone
    for (size_t size = 0; size < sizeof (data) - 1; size++) {
        mesh__mp_reader_init (&r, data, size);
        assert_int_equal (mesh__mp_skip (&r), -1);
        assert_ptr_equal (r.pos, data);
    }
}

static void
test_mp_skip_fails_fast_on_huge_claimed_counts (void **state)
{
    (void) state;
    //  Arrays and maps that claim 4 billion elements and have three bytes
    static const uint8_t array [] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3 };
    static const uint8_t maps [] = {
        0xdf, 0xff, 0xff, 0xff, 0xff, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0
    };
    mesh__mp_reader_t r;
    mesh__mp_reader_init (&r, array, sizeof (array));
    assert_int_equal (mesh__mp_skip (&r), -1);
    mesh__mp_reader_init (&r, maps, sizeof (maps));
    assert_int_equal (mesh__mp_skip (&r), -1);
}

static void
test_utf8_validation_is_strict (void **state)
{
    (void) state;
    static const struct {
        const char *text;
        bool valid;
    } cases [] = {
        { "plain ascii, long enough for the fast path", true },
        { "caf\xc3\xa9", true },
        { "\xe2\x82\xac", true },                   //  U+20AC
        { "\xf0\x9f\x98\x80", true },               //  U+1F600
        { "\xf4\x8f\xbf\xbf", true },               //  U+10FFFF
        { "\xed\x9f\xbf", true },                   //  U+D7FF
        { "\xc0\x80", false },                      //  overlong NUL
        { "\xe0\x80\xaf", false },                  //  overlong '/'
        { "\xf0\x8f\xbf\xbf", false },              //  overlong U+FFFF
        { "\xed\xa0\x80", false },                  //  surrogate U+D800
        { "\xf4\x90\x80\x80", false },              //  U+110000
        { "\xf5\x80\x80\x80", false },
        { "\x80", false },                          //  stray continuation
        { "abcdefgh\xc3", false },                  //  truncated after a fast run
        { "\xe2\x82", false },
        { "\xff", false },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++)
        if (mesh__utf8_valid (cases [index].text, strlen (cases [index].text))
            != cases [index].valid)
            fail_msg ("case %zu: expected %s", index, cases [index].valid? "valid": "invalid");
    //  NUL is a valid character when the size says so
    assert_true (mesh__utf8_valid ("a\0b", 3));
}


//  ---------------------------------------------------------------------
//  JSON <-> MessagePack fidelity

static void
test_event_json_roundtrip_is_byte_identical (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    mesh_event_t *event = mesh_event_from_json (s_canonical, strlen (s_canonical), NULL, &err);
    assert_non_null (event);
    void *data;
    size_t size;
    assert_int_equal (mesh_event_encode (event, &data, &size, &err), 0);
    mesh_event_destroy (&event);
    assert_null (event);

    mesh_event_t *decoded = mesh_event_decode (data, size, NULL, &err);
    assert_non_null (decoded);
    char *json = mesh_event_to_json (decoded);
    assert_string_equal (json, s_canonical);
    free (json);
    mesh_event_destroy (&decoded);

    json = mesh_msgpack_to_json (data, size, NULL, &err);
    assert_string_equal (json, s_canonical);
    free (json);

    mesh_envelope_view_t view;
    assert_int_equal (mesh_event_check (data, size, NULL, &view, &err), 0);
    assert_int_equal (view.source_size, strlen ("com.example.orders"));
    assert_memory_equal (view.source, "com.example.orders", view.source_size);
    assert_int_equal (view.detail_type_size, strlen ("OrderPlaced"));
    assert_memory_equal (view.detail_type, "OrderPlaced", view.detail_type_size);
    assert_int_equal (view.id_size, 36);
    assert_memory_equal (view.id, "6a7e8feb-b491-4cf7-a9f1-bf3703467718", 36);
    free (data);
}

static void
test_event_encode_puts_envelope_keys_in_eventbridge_order (void **state)
{
    (void) state;
    const char *shuffled =
        "{\"zeta\":1,\"detail\":{\"b\":1,\"a\":2},\"source\":\"s\",\"alpha\":[],"
        "\"version\":\"0\",\"detail-type\":\"t\"}";
    mesh_error_t err = { 0 };
    mesh_event_t *event = mesh_event_from_json (shuffled, strlen (shuffled), NULL, &err);
    assert_non_null (event);
    const char *expected =
        "{\"version\":\"0\",\"detail-type\":\"t\",\"source\":\"s\","
        "\"detail\":{\"b\":1,\"a\":2},\"zeta\":1,\"alpha\":[]}";
    char *json = mesh_event_to_json (event);
    assert_string_equal (json, expected);
    free (json);
    void *data;
    size_t size;
    assert_int_equal (mesh_event_encode (event, &data, &size, &err), 0);
    json = mesh_msgpack_to_json (data, size, NULL, &err);
    assert_string_equal (json, expected);
    free (json);
    free (data);
    mesh_event_destroy (&event);
}

static void
test_json_numbers_keep_integer_or_float (void **state)
{
    (void) state;
    static const struct {
        const char *in;
        const char *out;
    } cases [] = {
        { "1", "1" },
        { "1.0", "1.0" },
        { "300.0", "300.0" },
        { "3.0e2", "300.0" },
        { "-0.0", "-0.0" },
        { "-0", "0" },
        { "1e300", "1e+300" },
        { "242.58", "242.58" },
        { "0.1", "0.1" },
        { "1.5e-7", "1.5e-07" },
        { "0.30000000000000004", "0.30000000000000004" },
        { "9223372036854775807", "9223372036854775807" },
        { "-9223372036854775808", "-9223372036854775808" },
        { "[1,1.0,-1,-1.5]", "[1,1.0,-1,-1.5]" },
        //  The shortest decimal, laid out as %.15g would: fixed up to 15 digits
        { "1e15", "1e+15" },
        { "123456789012345.0", "123456789012345.0" },
        { "1e-5", "1e-05" },
        { "0.0001", "0.0001" },
        { "9007199254740993.0", "9007199254740992.0" },
        { "1.7976931348623157e308", "1.7976931348623157e+308" },
        //  2^976: the nearest 16 digits (...103e293) read as another double,
        //  the next 16 up do, so 17 digits are not needed
        { "6.386688990511104e293", "6.386688990511104e+293" },
        //  A subnormal has fewer digits than %.15g would print
        { "5e-324", "5e-324" },
        { "4.9406564584124654e-324", "5e-324" },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++)
        s_assert_roundtrip (cases [index].in, cases [index].out);

    //  And on the wire: an integer packs as an integer, a real as float64
    mesh_error_t err = { 0 };
    void *data;
    size_t size;
    assert_int_equal (mesh_json_to_msgpack ("1", 1, NULL, &data, &size, &err), 0);
    assert_int_equal (size, 1);
    assert_int_equal (((uint8_t *) data) [0], 0x01);
    free (data);
    assert_int_equal (mesh_json_to_msgpack ("1.0", 3, NULL, &data, &size, &err), 0);
    assert_int_equal (size, 9);
    assert_int_equal (((uint8_t *) data) [0], 0xcb);
    free (data);
}

static void
test_json_integer_beyond_int64_is_malformed (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    void *data = NULL;
    size_t size;
    const char *json = "{\"n\":9223372036854775808}";
    assert_int_equal (mesh_json_to_msgpack (json, strlen (json), NULL, &data, &size, &err), -1);
    assert_null (data);
    assert_error (err, MESH_EMALFORMED, "too big integer");
    assert_error (err, MESH_EMALFORMED, "line 1 column");
}

static void
test_msgpack_uint64_above_int64_is_out_of_range (void **state)
{
    (void) state;
    static const uint8_t max [] = { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t int64_max [] = { 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    mesh_error_t err = { 0 };
    assert_null (mesh_msgpack_to_json (max, sizeof (max), NULL, &err));
    assert_error (err, MESH_EINVAL, "integer out of range: 18446744073709551615");
    char *json = mesh_msgpack_to_json (int64_max, sizeof (int64_max), NULL, &err);
    assert_string_equal (json, "9223372036854775807");
    free (json);

    //  In an event: the decoder and the broker's check both refuse it
    packer_t p;
    s_packer_init (&p);
    s_pack_envelope (&p, "detail", NULL);
    p.buffer.data [0] = (char) 0x89;
    s_pack_string (&p, "detail");
    msgpack_pack_map (&p.pk, 1);
    s_pack_string (&p, "n");
    msgpack_pack_uint64 (&p.pk, UINT64_MAX);
    mesh_error_clear (&err);
    assert_null (mesh_event_decode (p.buffer.data, p.buffer.size, NULL, &err));
    assert_error (err, MESH_EINVAL, "integer out of range: 18446744073709551615");
    mesh_error_clear (&err);
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), -1);
    assert_error (err, MESH_EINVAL, "integer out of range");
    msgpack_sbuffer_destroy (&p.buffer);
}

static void
test_msgpack_floats_print_shortest_and_nonfinite_as_null (void **state)
{
    (void) state;
    packer_t p;
    s_packer_init (&p);
    msgpack_pack_array (&p.pk, 6);
    msgpack_pack_float (&p.pk, 1.5f);
    msgpack_pack_double (&p.pk, 242.58);
    msgpack_pack_double (&p.pk, 300.0);
    msgpack_pack_double (&p.pk, NAN);
    msgpack_pack_double (&p.pk, INFINITY);
    msgpack_pack_double (&p.pk, -INFINITY);
    mesh_error_t err = { 0 };
    char *json = mesh_msgpack_to_json (p.buffer.data, p.buffer.size, NULL, &err);
    assert_string_equal (json, "[1.5,242.58,300.0,null,null,null]");
    free (json);
    msgpack_sbuffer_destroy (&p.buffer);
}

static void
test_json_strings_keep_unicode_and_escape_controls (void **state)
{
    (void) state;
    //  BMP, astral, escaped surrogate pair, controls, quote and backslash, NUL
    s_assert_roundtrip ("\"caf\xc3\xa9 \xe2\x82\xac\"", "\"caf\xc3\xa9 \xe2\x82\xac\"");
    s_assert_roundtrip ("\"\xf0\x9f\x98\x80\"", "\"\xf0\x9f\x98\x80\"");
    s_assert_roundtrip ("\"\\ud83d\\ude00 \\u00e9\"", "\"\xf0\x9f\x98\x80 \xc3\xa9\"");
    s_assert_roundtrip ("\"a\\nb\\tc\\u0001\\u001f\\\"\\\\/\"",
                        "\"a\\nb\\tc\\u0001\\u001f\\\"\\\\/\"");
    s_assert_roundtrip ("\"a\\u0000b\"", "\"a\\u0000b\"");
    s_assert_roundtrip ("{\"k\\u00e9y\":\"\\u2028\"}", "{\"k\xc3\xa9y\":\"\xe2\x80\xa8\"}");

    //  A lone surrogate is not Unicode: jansson refuses it
    mesh_error_t err = { 0 };
    void *data;
    size_t size;
    assert_int_equal (mesh_json_to_msgpack ("\"\\ud83d\"", 8, NULL, &data, &size, &err), -1);
    assert_int_equal (err.code, MESH_EMALFORMED);
    //  Invalid UTF-8 in JSON text too
    assert_int_equal (mesh_json_to_msgpack ("\"\xff\"", 3, NULL, &data, &size, &err), -1);
    assert_error (err, MESH_EMALFORMED, "unable to decode byte 0xff");
}

static void
test_msgpack_invalid_utf8_is_malformed (void **state)
{
    (void) state;
    static const char *bad [] = {
        "\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ok\xe2\x82"
    };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        packer_t p;
        s_packer_init (&p);
        msgpack_pack_map (&p.pk, 1);
        s_pack_string (&p, "k");
        s_pack_string (&p, bad [index]);
        mesh_error_t err = { 0 };
        assert_null (mesh_msgpack_to_json (p.buffer.data, p.buffer.size, NULL, &err));
        assert_error (err, MESH_EMALFORMED, "invalid UTF-8 in string at offset 3");
        msgpack_sbuffer_destroy (&p.buffer);
    }
    //  In a key, and in the broker's check
    packer_t p;
    s_packer_init (&p);
    s_pack_envelope (&p, "detail", NULL);
    p.buffer.data [0] = (char) 0x89;
    s_pack_string (&p, "detail");
    msgpack_pack_map (&p.pk, 1);
    s_pack_string (&p, "\xc3(");
    msgpack_pack_nil (&p.pk);
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), -1);
    assert_error (err, MESH_EMALFORMED, "invalid UTF-8");
    assert_null (mesh_event_decode (p.buffer.data, p.buffer.size, NULL, &err));
    assert_error (err, MESH_EMALFORMED, "invalid UTF-8");
    msgpack_sbuffer_destroy (&p.buffer);
}

static void
test_json_and_msgpack_convert_values_that_are_not_objects (void **state)
{
    (void) state;
    static const struct {
        const char *json;
        const uint8_t bytes [8];
        size_t size;
    } cases [] = {
        { "42", { 0x2a }, 1 },
        { "-1", { 0xff }, 1 },
        { "\"x\"", { 0xa1, 'x' }, 2 },
        { "null", { 0xc0 }, 1 },
        { "true", { 0xc3 }, 1 },
        { "[1,\"a\",false]", { 0x93, 0x01, 0xa1, 'a', 0xc2 }, 5 },
        { "{}", { 0x80 }, 1 },
        { "[]", { 0x90 }, 1 },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        mesh_error_t err = { 0 };
        void *data;
        size_t size;
        const char *json = cases [index].json;
        assert_int_equal (mesh_json_to_msgpack (json, strlen (json), NULL, &data, &size, &err), 0);
        assert_int_equal (size, cases [index].size);
        assert_memory_equal (data, cases [index].bytes, size);
        free (data);
        char *text = mesh_msgpack_to_json (cases [index].bytes, cases [index].size, NULL, &err);
        assert_string_equal (text, json);
        free (text);
    }
}

static void
test_json_syntax_error_reports_line_and_column (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    const char *json = "{\"a\":\n  x}";
    assert_null (mesh_event_from_json (json, strlen (json), NULL, &err));
    assert_error (err, MESH_EMALFORMED, "json: line 2 column 3: invalid token near 'x'");
    assert_null (mesh_event_from_json ("", 0, NULL, &err));
    assert_int_equal (err.code, MESH_EMALFORMED);
    assert_null (mesh_event_from_json ("{} {}", 5, NULL, &err));
    assert_error (err, MESH_EMALFORMED, "end of file expected");
}


//  ---------------------------------------------------------------------
//  Limits

static void
test_depth_at_limit_passes_and_one_over_fails (void **state)
{
    (void) state;
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    limits.max_depth = 5;
    mesh_error_t err = { 0 };

    //  JSON: five nested arrays pass, six fail; a scalar adds no level
    char *json = s_nested_json (5);
    char *text = s_json_roundtrip (json, &limits);
    assert_string_equal (text, json);
    free (text);
    free (json);
    json = s_nested_json (6);
    void *data;
    size_t size;
    assert_int_equal (mesh_json_to_msgpack (json, strlen (json), &limits, &data, &size, &err), -1);
    assert_error (err, MESH_EDEPTH, "nested deeper than the limit of 5 levels");
    free (json);

    //  Objects count as arrays do
    const char *objects = "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}";
    text = s_json_roundtrip (objects, &limits);
    assert_string_equal (text, objects);
    free (text);
    objects = "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{}}}}}}";
    assert_int_equal (mesh_json_to_msgpack (objects, strlen (objects), &limits, &data, &size, &err), -1);
    assert_error (err, MESH_EDEPTH, "nested deeper than the limit of 5 levels");

    //  MessagePack, the same
    uint8_t *bytes = s_nested_msgpack (5, &size);
    text = mesh_msgpack_to_json (bytes, size, &limits, &err);
    assert_string_equal (text, "[[[[[1]]]]]");
    free (text);
    free (bytes);
    bytes = s_nested_msgpack (6, &size);
    assert_null (mesh_msgpack_to_json (bytes, size, &limits, &err));
    assert_error (err, MESH_EDEPTH, "nested deeper than the limit of 5 levels");
    free (bytes);

    //  Events: the envelope is level 1 and detail level 2
    const char *event = "{\"detail\":{\"a\":[[[1]]]}}";     //  depth 5
    mesh_event_t *ok = mesh_event_from_json (event, strlen (event), &limits, &err);
    assert_non_null (ok);
    mesh_event_destroy (&ok);
    event = "{\"detail\":{\"a\":[[[[1]]]]}}";                //  depth 6
    assert_null (mesh_event_from_json (event, strlen (event), &limits, &err));
    assert_error (err, MESH_EDEPTH, "limit of 5 levels");

    packer_t p;
    s_packer_init (&p);
    s_pack_deep_event (&p, 3);
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, &limits, NULL, &err), 0);
    mesh_event_t *decoded = mesh_event_decode (p.buffer.data, p.buffer.size, &limits, &err);
    assert_non_null (decoded);
    mesh_event_destroy (&decoded);
    msgpack_sbuffer_destroy (&p.buffer);
    s_packer_init (&p);
    s_pack_deep_event (&p, 4);
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, &limits, NULL, &err), -1);
    assert_error (err, MESH_EDEPTH, "limit of 5 levels");
    assert_null (mesh_event_decode (p.buffer.data, p.buffer.size, &limits, &err));
    assert_error (err, MESH_EDEPTH, "limit of 5 levels");
    msgpack_sbuffer_destroy (&p.buffer);

    //  The detail setter counts from the envelope too
    mesh_event_t *built = mesh_event_new ();
    assert_int_equal (mesh_event_set_detail_json (built, "{\"a\":[[[1]]]}", 13, &limits, &err), 0);
    assert_int_equal (mesh_event_set_detail_json (built, "{\"a\":[[[[1]]]]}", 15, &limits, &err), -1);
    assert_error (err, MESH_EDEPTH, "limit of 5 levels");
    mesh_event_destroy (&built);
}

static void
test_depth_default_limit_is_1000 (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    void *data;
    size_t size;
    char *json = s_nested_json (1000);
    assert_int_equal (mesh_json_to_msgpack (json, strlen (json), NULL, &data, &size, &err), 0);
    char *text = mesh_msgpack_to_json (data, size, NULL, &err);
    assert_string_equal (text, json);
    free (text);
    free (data);
    free (json);

    json = s_nested_json (1001);
    assert_int_equal (mesh_json_to_msgpack (json, strlen (json), NULL, &data, &size, &err), -1);
    assert_error (err, MESH_EDEPTH, "limit of 1000 levels");
    free (json);
    //  Past jansson's own parser limit (2048) it is still a depth error
    json = s_nested_json (3000);
    assert_int_equal (mesh_json_to_msgpack (json, strlen (json), NULL, &data, &size, &err), -1);
    assert_error (err, MESH_EDEPTH, "maximum parsing depth");
    free (json);

    uint8_t *bytes = s_nested_msgpack (1001, &size);
    assert_null (mesh_msgpack_to_json (bytes, size, NULL, &err));
    assert_error (err, MESH_EDEPTH, "limit of 1000 levels");
    free (bytes);
    //  A hostile depth far past any limit fails without deep recursion
    bytes = s_nested_msgpack (200000, &size);
    assert_null (mesh_msgpack_to_json (bytes, size, NULL, &err));
    assert_int_equal (err.code, MESH_EDEPTH);
    free (bytes);

    packer_t p;
    s_packer_init (&p);
    s_pack_deep_event (&p, 998);            //  depth 1000
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), 0);
    msgpack_sbuffer_destroy (&p.buffer);
    s_packer_init (&p);
    s_pack_deep_event (&p, 999);            //  depth 1001
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), -1);
    assert_error (err, MESH_EDEPTH, "limit of 1000 levels");
    msgpack_sbuffer_destroy (&p.buffer);
}

static void
test_size_limit_applies_to_the_encoded_event (void **state)
{
    (void) state;
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    limits.max_event_size = 100;
    mesh_error_t err = { 0 };
    void *data;
    size_t size;

    //  "x" * 97 packs as str8: 2 + 97 = 99 bytes; 98 chars make 100; 99 make 101
    char json [128];
    for (int length = 97; length <= 99; length++) {
        json [0] = '"';
        memset (json + 1, 'x', (size_t) length);
        json [length + 1] = '"';
        json [length + 2] = '\0';
        int rc = mesh_json_to_msgpack (json, strlen (json), &limits, &data, &size, &err);
        if (length <= 98) {
            assert_int_equal (rc, 0);
            assert_int_equal (size, (size_t) length + 2);
            free (data);
        }
        else {
            assert_int_equal (rc, -1);
            assert_error (err, MESH_ETOOBIG, "over the limit of 100 bytes");
        }
    }
    uint8_t bytes [101] = { 0xd9, 99 };
    memset (bytes + 2, 'x', 99);
    assert_null (mesh_msgpack_to_json (bytes, sizeof (bytes), &limits, &err));
    assert_error (err, MESH_ETOOBIG, "over the limit of 100 bytes: 101 bytes");

    //  The broker's check says both numbers; the default limit is 256 KiB
    packer_t p;
    s_packer_init (&p);
    s_pack_envelope (&p, NULL, NULL);
    assert_true (p.buffer.size > 100);
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, &limits, NULL, &err), -1);
    char expected [64];
    snprintf (expected, sizeof (expected), "over the limit of 100 bytes: %zu bytes", p.buffer.size);
    assert_error (err, MESH_ETOOBIG, expected);
    limits.max_event_size = p.buffer.size;
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, &limits, NULL, &err), 0);
    msgpack_sbuffer_destroy (&p.buffer);

    size_t big = MESH_MAX_EVENT_SIZE_DEFAULT + 16;
    char *huge = malloc (big + 3);
    huge [0] = '"';
    memset (huge + 1, 'y', big);
    huge [big + 1] = '"';
    assert_int_equal (mesh_json_to_msgpack (huge, big + 2, NULL, &data, &size, &err), -1);
    assert_error (err, MESH_ETOOBIG, "limit of 262144 bytes");
    free (huge);
}


//  ---------------------------------------------------------------------
//  Malformed MessagePack

static void
test_msgpack_truncated_at_every_length_is_malformed (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    mesh_event_t *event = mesh_event_from_json (s_canonical, strlen (s_canonical), NULL, &err);
    assert_non_null (event);
    void *data;
    size_t size;
    assert_int_equal (mesh_event_encode (event, &data, &size, &err), 0);
    mesh_event_destroy (&event);
    for (size_t length = 0; length < size; length++) {
        //  A copy of exactly `length` bytes, so valgrind sees any overread
        uint8_t *prefix = malloc (length? length: 1);
        memcpy (prefix, data, length);
        mesh_error_clear (&err);
        assert_int_equal (mesh_event_check (prefix, length, NULL, NULL, &err), -1);
        assert_error (err, MESH_EMALFORMED, "truncated");
        mesh_error_clear (&err);
        assert_null (mesh_event_decode (prefix, length, NULL, &err));
        assert_error (err, MESH_EMALFORMED, "truncated");
        mesh_error_clear (&err);
        assert_null (mesh_msgpack_to_json (prefix, length, NULL, &err));
        assert_error (err, MESH_EMALFORMED, "truncated");
        free (prefix);
    }
    assert_int_equal (mesh_event_check (data, size, NULL, NULL, &err), 0);
    free (data);
}

static void
test_msgpack_bad_bytes_are_refused_with_reason (void **state)
{
    (void) state;
    static const struct {
        const char *name;
        uint8_t bytes [16];
        size_t size;
        int code;
        const char *text;
    } cases [] = {
        { "never-used byte", { 0x81, 0xa1, 'a', 0xc1 }, 4, MESH_EMALFORMED,
          "invalid byte 0xc1 at offset 3" },
        { "trailing bytes", { 0x80, 0x00 }, 2, MESH_EMALFORMED,
          "trailing bytes after the value: 1 bytes at offset 1" },
        { "integer key", { 0x81, 0x01, 0x02 }, 3, MESH_EMALFORMED,
          "map key is not a string: integer at offset 1" },
        { "nil key", { 0x81, 0xc0, 0x02 }, 3, MESH_EMALFORMED,
          "map key is not a string: nil" },
        { "bin", { 0x81, 0xa1, 'a', 0xc4, 0x01, 0x00 }, 6, MESH_EMALFORMED,
          "bin values have no JSON form" },
        { "ext", { 0x81, 0xa1, 'a', 0xd4, 0x01, 0x00 }, 6, MESH_EMALFORMED,
          "ext values have no JSON form" },
        { "timestamp ext", { 0x91, 0xd6, 0xff, 0, 0, 0, 0 }, 7, MESH_EMALFORMED,
          "ext values have no JSON form: ext type -1" },
        { "huge array", { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 }, 6, MESH_EMALFORMED,
          "truncated array of 4294967295 elements at offset 0" },
        { "huge map inside", { 0x91, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a' }, 8,
          MESH_EMALFORMED, "truncated map of 4294967295 elements at offset 1" },
        { "huge string", { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' }, 6, MESH_EMALFORMED,
          "truncated value at offset 0" },
        { "empty", { 0 }, 0, MESH_EMALFORMED, "truncated value at offset 0" },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        mesh_error_t err = { 0 };
        char *json = mesh_msgpack_to_json (cases [index].bytes, cases [index].size, NULL, &err);
        if (json)
            fail_msg ("%s: accepted as %s", cases [index].name, json);
        if (err.code != cases [index].code || !strstr (err.text, cases [index].text))
            fail_msg ("%s: got %s '%s'", cases [index].name, mesh_error_name (err.code), err.text);
    }
}

static void
test_event_decode_refuses_what_is_not_an_envelope (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    static const uint8_t array [] = { 0x91, 0x01 };
    assert_null (mesh_event_decode (array, sizeof (array), NULL, &err));
    assert_error (err, MESH_EMALFORMED, "event is not a map, got array");
    assert_int_equal (mesh_event_check (array, sizeof (array), NULL, NULL, &err), -1);
    assert_error (err, MESH_EMALFORMED, "not a map, got array");

    //  {"detail":"x"}: decodes as bytes, refused as an envelope
    static const uint8_t detail [] = { 0x81, 0xa6, 'd', 'e', 't', 'a', 'i', 'l', 0xa1, 'x' };
    assert_null (mesh_event_decode (detail, sizeof (detail), NULL, &err));
    assert_error (err, MESH_EINVAL, "event: 'detail' must be an object, got string");

    //  An empty map decodes: presence is the broker's check's business
    static const uint8_t empty [] = { 0x80 };
    mesh_event_t *event = mesh_event_decode (empty, 1, NULL, &err);
    assert_non_null (event);
    assert_null (mesh_event_source (event));
    mesh_event_destroy (&event);
}

//  The broker's check and the decoder walk the same way: whatever the check
//  accepts, the decoder accepts. Mutate a valid event at random and see.
static void
test_check_and_decode_agree_on_mutated_events (void **state)
{
    (void) state;
    packer_t p;
    s_packer_init (&p);
    s_pack_envelope (&p, NULL, NULL);
    uint8_t *copy = malloc (p.buffer.size);
    uint32_t seed = 12345;
    int accepted = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy (copy, p.buffer.data, p.buffer.size);
        int flips = 1 + round % 3;
        for (int flip = 0; flip < flips; flip++) {
            seed = seed * 1103515245 + 12345;
            size_t at = (seed >> 8) % p.buffer.size;
            seed = seed * 1103515245 + 12345;
            copy [at] = (uint8_t) (seed >> 16);
        }
        seed = seed * 1103515245 + 12345;
        size_t size = round % 5 == 0? (seed >> 8) % p.buffer.size: p.buffer.size;
        mesh_error_t err = { 0 };
        mesh_envelope_view_t view;
        int checked = mesh_event_check (copy, size, NULL, &view, &err);
        if (checked == 0) {
            assert_int_equal (err.code, MESH_OK);
            mesh_event_t *event = mesh_event_decode (copy, size, NULL, &err);
            if (!event)
                fail_msg ("round %d: check accepted, decode said %s", round, err.text);
            const char *source = mesh_event_source (event);
            assert_non_null (source);
            assert_int_equal (strncmp (source, view.source, view.source_size), 0);
            mesh_event_destroy (&event);
            accepted++;
        }
        else
            assert_true (err.code < 0 && err.text [0]);
        char *json = mesh_msgpack_to_json (copy, size, NULL, &err);
        free (json);
    }
    assert_true (accepted > 0);
    free (copy);
    msgpack_sbuffer_destroy (&p.buffer);
}


//  ---------------------------------------------------------------------
//  The broker's check

static void
test_check_accepts_a_full_envelope (void **state)
{
    (void) state;
    packer_t p;
    s_packer_init (&p);
    s_pack_envelope (&p, NULL, NULL);
    mesh_error_t err = { 0 };
    mesh_envelope_view_t view;
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, &view, &err), 0);
    assert_int_equal (view.id_size, 36);
    assert_memory_equal (view.source, "com.example.orders", view.source_size);
    assert_memory_equal (view.detail_type, "OrderPlaced", view.detail_type_size);
    //  A NULL view is fine too
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), 0);
    msgpack_sbuffer_destroy (&p.buffer);

    //  account, region and resources are optional
    s_packer_init (&p);
    msgpack_pack_map (&p.pk, 6);
    const char *pairs [] = { "version", "0", "id", "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type", "t",
                             "source", "s", "time", "2026-01-02T03:04:05Z" };
    for (int index = 0; index < 10; index++)
        s_pack_string (&p, pairs [index]);
    s_pack_string (&p, "detail");
    msgpack_pack_map (&p.pk, 0);
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, &view, &err), 0);
    msgpack_sbuffer_destroy (&p.buffer);
}

//  An envelope with source, detail-type, id and time as given (NULL: the
//  usual value), and a detail of one string of detail_bytes 'x's.
static void
s_pack_limited (packer_t *p, const char *source, const char *detail_type, const char *id,
                const char *time, size_t detail_bytes)
{
    s_packer_init (p);
    msgpack_pack_map (&p->pk, 6);
    s_pack_string (p, "version");
    s_pack_string (p, "0");
    s_pack_string (p, "id");
    s_pack_string (p, id? id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718");
    s_pack_string (p, "detail-type");
    s_pack_string (p, detail_type? detail_type: "OrderPlaced");
    s_pack_string (p, "source");
    s_pack_string (p, source? source: "com.example.orders");
    s_pack_string (p, "time");
    s_pack_string (p, time? time: "2026-01-02T03:04:05Z");
    s_pack_string (p, "detail");
    msgpack_pack_map (&p->pk, detail_bytes? 1: 0);
    if (detail_bytes) {
        s_pack_string (p, "blob");
        char *blob = malloc (detail_bytes);
        assert_non_null (blob);
        memset (blob, 'x', detail_bytes);
        msgpack_pack_str (&p->pk, detail_bytes);
        msgpack_pack_str_body (&p->pk, blob, detail_bytes);
        free (blob);
    }
}

static int
s_check_limited (const char *source, const char *detail_type, const char *id, const char *time,
                 size_t detail_bytes, const mesh_limits_t *limits, mesh_error_t *err)
{
    packer_t p;
    s_pack_limited (&p, source, detail_type, id, time, detail_bytes);
    int rc = mesh_event_check (p.buffer.data, p.buffer.size, limits, NULL, err);
    msgpack_sbuffer_destroy (&p.buffer);
    return rc;
}

static void
test_check_refuses_an_entry_over_256_kb (void **state)
{
    (void) state;
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    limits.max_event_size = 1024 * 1024;        //  the broker's frame limit
    mesh_error_t err = { 0 };
    //  18 + 11 bytes of source and detail-type, the detail's braces, then its
    //  contents: the key "blob" (5 bytes) and the string's str32 header (5)
    size_t fixed = 18 + 11 + 2 + 5 + 5;
    assert_int_equal (s_check_limited (NULL, NULL, NULL, NULL, 256 * 1024 - fixed, &limits, &err), 0);
    assert_int_equal (s_check_limited (NULL, NULL, NULL, NULL, 256 * 1024 - fixed + 1, &limits, &err),
                      MESH_EVENT_OVERSIZED_ENTRY);
    assert_error (err, MESH_ETOOBIG, "event: entry of 262145 bytes is over the limit of 262144");
    //  Configurable
    limits.max_entry_size = 300 * 1024;
    assert_int_equal (s_check_limited (NULL, NULL, NULL, NULL, 256 * 1024, &limits, &err), 0);
}

static void
test_check_refuses_a_reserved_source (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    assert_int_equal (s_check_limited ("aws.ec2", NULL, NULL, NULL, 0, NULL, &err),
                      MESH_EVENT_RESERVED_SOURCE);
    assert_error (err, MESH_EINVAL, "event: source 'aws.ec2' is reserved");
    //  Only the prefix 'aws.' is reserved
    assert_int_equal (s_check_limited ("aws", NULL, NULL, NULL, 0, NULL, &err), 0);
    assert_int_equal (s_check_limited ("awsx.y", NULL, NULL, NULL, 0, NULL, &err), 0);
    assert_int_equal (s_check_limited ("AWS.ec2", NULL, NULL, NULL, 0, NULL, &err), 0);
    //  The broker's own events may carry it
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    limits.allow_reserved_source = 1;
    assert_int_equal (s_check_limited ("aws.events", NULL, NULL, NULL, 0, &limits, &err), 0);
}

static void
test_check_refuses_bad_source_and_detail_type_lengths (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    char text [512];
    assert_int_equal (s_check_limited ("", NULL, NULL, NULL, 0, NULL, &err), MESH_EVENT_BAD_SOURCE);
    assert_error (err, MESH_EINVAL, "event: 'source' must be 1 to 256 characters, got 0");
    memset (text, 's', 256);
    text [256] = '\0';
    assert_int_equal (s_check_limited (text, NULL, NULL, NULL, 0, NULL, &err), 0);
    text [256] = 's';
    text [257] = '\0';
    assert_int_equal (s_check_limited (text, NULL, NULL, NULL, 0, NULL, &err), MESH_EVENT_BAD_SOURCE);
    assert_error (err, MESH_EINVAL, "got 257");
    //  Characters, not bytes: 200 two-byte characters are 200
    for (int i = 0; i < 200; i++)
        memcpy (text + 2 * i, "\xc3\xa9", 2);
    text [400] = '\0';
    assert_int_equal (s_check_limited (text, NULL, NULL, NULL, 0, NULL, &err), 0);

    assert_int_equal (s_check_limited (NULL, "", NULL, NULL, 0, NULL, &err), MESH_EVENT_BAD_DETAIL_TYPE);
    assert_error (err, MESH_EINVAL, "event: 'detail-type' must be 1 to 128 characters, got 0");
    memset (text, 'd', 128);
    text [128] = '\0';
    assert_int_equal (s_check_limited (NULL, text, NULL, NULL, 0, NULL, &err), 0);
    text [128] = 'd';
    text [129] = '\0';
    assert_int_equal (s_check_limited (NULL, text, NULL, NULL, 0, NULL, &err), MESH_EVENT_BAD_DETAIL_TYPE);
    assert_error (err, MESH_EINVAL, "got 129");
}

static void
test_check_refuses_ids_not_a_lowercase_uuid_v4 (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    char id [37];
    mesh_uuid_v4 (id);
    assert_int_equal (s_check_limited (NULL, NULL, id, NULL, 0, NULL, &err), 0);
    static const char *bad [] = {
        "", "1", "6A7E8FEB-B491-4CF7-A9F1-BF3703467718",      //  uppercase
        "6a7e8feb-b491-1cf7-a9f1-bf3703467718",                //  version 1
        "6a7e8feb-b491-4cf7-c9f1-bf3703467718",                //  variant
        "6a7e8feb0b491-4cf7-a9f1-bf3703467718",                //  a dash missing
        "6a7e8feb-b491-4cf7-a9f1-bf370346771g",                //  not hex
        "6a7e8feb-b491-4cf7-a9f1-bf37034677180",               //  37 characters
        "\x01" "bad\n",
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        assert_int_equal (s_check_limited (NULL, NULL, bad [i], NULL, 0, NULL, &err), MESH_EVENT_BAD_ID);
        assert_error (err, MESH_EINVAL, "event: 'id' is not a lowercase UUID v4: '");
    }
    //  Control bytes are not written to the log as they came
    assert_non_null (strstr (err.text, "'?bad?'"));
}

static void
test_check_refuses_times_not_of_the_envelope_form (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    char now [32];
    mesh_time_now (now);
    assert_int_equal (s_check_limited (NULL, NULL, NULL, now, 0, NULL, &err), 0);
    assert_int_equal (s_check_limited (NULL, NULL, NULL, "2024-02-29T23:59:59Z", 0, NULL, &err), 0);
    static const char *bad [] = {
        "", "now", "2026-01-02T03:04:05", "2026-01-02T03:04:05.123Z",
        "2026-01-02T03:04:05+00:00", "2026-01-02t03:04:05z", "2026-01-02 03:04:05Z",
        "2026-13-02T03:04:05Z", "2026-00-02T03:04:05Z", "2026-02-29T03:04:05Z",
        "2026-04-31T03:04:05Z", "2026-01-02T24:00:00Z", "2026-01-02T03:60:05Z",
        "2026-01-02T03:04:60Z", "2O26-01-02T03:04:05Z",
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        assert_int_equal (s_check_limited (NULL, NULL, NULL, bad [i], 0, NULL, &err), MESH_EVENT_BAD_TIME);
        assert_error (err, MESH_EINVAL, "event: 'time' is not RFC 3339 UTC to the second");
    }
}

static void
test_check_refuses_non_finite_floats_anywhere (void **state)
{
    (void) state;
    const double specials [] = { NAN, INFINITY, -INFINITY };
    for (size_t i = 0; i < 3; i++)
        for (int where = 0; where < 3; where++) {
            packer_t p;
            s_packer_init (&p);
            msgpack_pack_map (&p.pk, 7);
            const char *pairs [] = { "version", "0", "id", "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
                                     "detail-type", "t", "source", "s", "time", "2026-01-02T03:04:05Z" };
            for (int k = 0; k < 10; k++)
                s_pack_string (&p, pairs [k]);
            s_pack_string (&p, "extra");            //  a key of its own, outside detail
            if (where == 0)
                msgpack_pack_double (&p.pk, specials [i]);
            else
                msgpack_pack_double (&p.pk, 1.5);
            s_pack_string (&p, "detail");
            msgpack_pack_map (&p.pk, 1);
            s_pack_string (&p, "n");
            if (where == 1)
                msgpack_pack_double (&p.pk, specials [i]);
            else {                                  //  deep in an array, as a float32
                msgpack_pack_array (&p.pk, 2);
                msgpack_pack_int (&p.pk, 1);
                if (where == 2)
                    msgpack_pack_float (&p.pk, (float) specials [i]);
                else
                    msgpack_pack_float (&p.pk, 2.5f);
            }
            mesh_error_t err = { 0 };
            assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err),
                              MESH_EVENT_NON_FINITE);
            assert_error (err, MESH_EINVAL, "event: a float that is not finite (NaN or infinity");
            msgpack_sbuffer_destroy (&p.buffer);
        }
    //  Malformed bytes after it still decide: the first failure in the table
    packer_t p;
    s_packer_init (&p);
    s_pack_envelope (&p, NULL, NULL);
    msgpack_pack_nil (&p.pk);
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), MESH_EVENT_MALFORMED);
    msgpack_sbuffer_destroy (&p.buffer);
}

static void
test_check_names_each_missing_required_field (void **state)
{
    (void) state;
    static const char *required [] = {
        "version", "id", "detail-type", "source", "time", "detail"
    };
    for (size_t index = 0; index < 6; index++) {
        packer_t p;
        s_packer_init (&p);
        s_pack_envelope (&p, required [index], NULL);
        mesh_error_t err = { 0 };
        assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), -1);
        char expected [64];
        snprintf (expected, sizeof (expected), "event: missing '%s'", required [index]);
        assert_error (err, MESH_EINVAL, expected);
        msgpack_sbuffer_destroy (&p.buffer);
    }
}

static void
test_check_names_each_mistyped_field (void **state)
{
    (void) state;
    static const struct {
        const char *key;
        const char *text;
    } cases [] = {
        { "version", "event: 'version' must be a string, got integer" },
        { "id", "event: 'id' must be a string, got integer" },
        { "detail-type", "event: 'detail-type' must be a string, got integer" },
        { "source", "event: 'source' must be a string, got integer" },
        { "account", "event: 'account' must be a string, got integer" },
        { "time", "event: 'time' must be a string, got integer" },
        { "region", "event: 'region' must be a string, got integer" },
        { "resources", "event: 'resources' must be an array of strings, got integer" },
        { "detail", "event: 'detail' must be a map, got array" },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        packer_t p;
        s_packer_init (&p);
        s_pack_envelope (&p, NULL, cases [index].key);
        mesh_error_t err = { 0 };
        assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), -1);
        assert_error (err, MESH_EINVAL, cases [index].text);
        msgpack_sbuffer_destroy (&p.buffer);
    }
    //  A resource that is not a string
    packer_t p;
    s_packer_init (&p);
    s_pack_envelope (&p, "resources", NULL);
    p.buffer.data [0] = (char) 0x89;
    s_pack_string (&p, "resources");
    msgpack_pack_array (&p.pk, 2);
    s_pack_string (&p, "arn:1");
    msgpack_pack_true (&p.pk);
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), -1);
    assert_error (err, MESH_EINVAL, "'resources' must be an array of strings, got boolean at index 1");
    msgpack_sbuffer_destroy (&p.buffer);
}

static void
test_check_refuses_a_duplicate_envelope_key (void **state)
{
    (void) state;
    packer_t p;
    s_packer_init (&p);
    s_pack_envelope (&p, NULL, NULL);
    p.buffer.data [0] = (char) 0x8a;
    s_pack_string (&p, "source");
    s_pack_string (&p, "evil.source");
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), -1);
    assert_error (err, MESH_EINVAL, "event: duplicate key 'source'");
    msgpack_sbuffer_destroy (&p.buffer);
}

static void
test_check_walks_unknown_keys_and_trailing_bytes (void **state)
{
    (void) state;
    packer_t p;
    s_packer_init (&p);
    s_pack_envelope (&p, NULL, NULL);
    p.buffer.data [0] = (char) 0x8a;
    s_pack_string (&p, "replay-name");
    msgpack_pack_array (&p.pk, 1);
    msgpack_pack_bin (&p.pk, 1);
    msgpack_pack_bin_body (&p.pk, "x", 1);
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), -1);
    assert_error (err, MESH_EMALFORMED, "bin values have no JSON form");
    msgpack_sbuffer_destroy (&p.buffer);

    s_packer_init (&p);
    s_pack_envelope (&p, NULL, NULL);
    msgpack_pack_nil (&p.pk);
    assert_int_equal (mesh_event_check (p.buffer.data, p.buffer.size, NULL, NULL, &err), -1);
    assert_error (err, MESH_EMALFORMED, "trailing bytes after the event: 1 bytes");
    assert_null (mesh_event_decode (p.buffer.data, p.buffer.size, NULL, &err));
    assert_error (err, MESH_EMALFORMED, "trailing bytes");
    msgpack_sbuffer_destroy (&p.buffer);
}


//  ---------------------------------------------------------------------
//  Building events

static bool
s_is_hex (const char *text, size_t size)
{
    for (size_t index = 0; index < size; index++)
        if (!((text [index] >= '0' && text [index] <= '9')
           || (text [index] >= 'a' && text [index] <= 'f')))
            return false;
    return true;
}

static void
s_assert_uuid_v4 (const char *id)
{
    assert_non_null (id);
    assert_int_equal (strlen (id), 36);
    assert_true (s_is_hex (id, 8) && id [8] == '-');
    assert_true (s_is_hex (id + 9, 4) && id [13] == '-');
    assert_true (s_is_hex (id + 14, 4) && id [18] == '-');
    assert_true (s_is_hex (id + 19, 4) && id [23] == '-');
    assert_true (s_is_hex (id + 24, 12));
    assert_int_equal (id [14], '4');
    assert_non_null (strchr ("89ab", id [19]));
}

static void
s_assert_time_shape (const char *time)
{
    assert_non_null (time);
    assert_int_equal (strlen (time), 20);
    for (int index = 0; index < 20; index++) {
        char c = time [index];
        switch (index) {
            case 4: case 7:   assert_int_equal (c, '-'); break;
            case 10:          assert_int_equal (c, 'T'); break;
            case 13: case 16: assert_int_equal (c, ':'); break;
            case 19:          assert_int_equal (c, 'Z'); break;
            default:          assert_true (c >= '0' && c <= '9');
        }
    }
}

static void
test_uuid_and_time_now_have_their_shapes (void **state)
{
    (void) state;
    char first [37], second [37], now [32];
    mesh_uuid_v4 (first);
    mesh_uuid_v4 (second);
    s_assert_uuid_v4 (first);
    s_assert_uuid_v4 (second);
    assert_string_not_equal (first, second);
    mesh_time_now (now);
    s_assert_time_shape (now);
    assert_true (strncmp (now, "2025", 4) >= 0);
}

static void
test_fill_defaults_fills_only_what_is_missing_in_order (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    const char *json = "{\"custom\":1,\"detail-type\":\"t\",\"source\":\"s\",\"region\":\"r\"}";
    mesh_event_t *event = mesh_event_from_json (json, strlen (json), NULL, &err);
    assert_non_null (event);
    mesh_event_fill_defaults (event);
    s_assert_uuid_v4 (mesh_event_id (event));
    s_assert_time_shape (mesh_event_time (event));
    assert_string_equal (mesh_event_region (event), "r");
    assert_string_equal (mesh_event_account (event), MESH_DEFAULT_ACCOUNT);
    assert_string_equal (mesh_event_get_string (event, "version"), "0");
    assert_int_equal (mesh_event_resource_count (event), 0);
    assert_int_equal (mesh_event_get_size (event, "detail"), 0);

    //  The keys are in EventBridge's order, the custom key last
    char *text = mesh_event_to_json (event);
    char expected [512];
    snprintf (expected, sizeof (expected),
        "{\"version\":\"0\",\"id\":\"%s\",\"detail-type\":\"t\",\"source\":\"s\","
        "\"account\":\"000000000000\",\"time\":\"%s\",\"region\":\"r\","
        "\"resources\":[],\"detail\":{},\"custom\":1}",
        mesh_event_id (event), mesh_event_time (event));
    assert_string_equal (text, expected);
    free (text);

    //  A second fill changes nothing; the result passes the broker's check
    char id [37];
    strcpy (id, mesh_event_id (event));
    mesh_event_fill_defaults (event);
    assert_string_equal (mesh_event_id (event), id);
    void *data;
    size_t size;
    assert_int_equal (mesh_event_encode (event, &data, &size, &err), 0);
    assert_int_equal (mesh_event_check (data, size, NULL, NULL, &err), 0);
    free (data);
    mesh_event_destroy (&event);

    //  Without source and detail-type the check still says what is missing
    event = mesh_event_new ();
    mesh_event_fill_defaults (event);
    assert_null (mesh_event_source (event));
    assert_int_equal (mesh_event_encode (event, &data, &size, &err), 0);
    assert_int_equal (mesh_event_check (data, size, NULL, NULL, &err), -1);
    assert_error (err, MESH_EINVAL, "event: missing 'detail-type'");
    free (data);
    mesh_event_destroy (&event);
}

static void
test_setters_copy_and_encode_in_envelope_order (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    mesh_event_t *event = mesh_event_new ();
    assert_non_null (event);
    char source [] = "com.example.orders";
    assert_int_equal (mesh_event_set_detail_json (event, "{\"n\":1}", 7, NULL, &err), 0);
    assert_int_equal (mesh_event_add_resource (event, "arn:1", &err), 0);
    assert_int_equal (mesh_event_add_resource (event, "arn:2", &err), 0);
    assert_int_equal (mesh_event_set_region (event, "eu", &err), 0);
    assert_int_equal (mesh_event_set_time (event, "2026-01-02T03:04:05Z", &err), 0);
    assert_int_equal (mesh_event_set_account (event, "123456789012", &err), 0);
    assert_int_equal (mesh_event_set_source (event, source, &err), 0);
    assert_int_equal (mesh_event_set_detail_type (event, "Placed", &err), 0);
    assert_int_equal (mesh_event_set_id (event, "id-1", &err), 0);
    source [0] = 'X';                           //  the event kept its own copy
    assert_string_equal (mesh_event_source (event), "com.example.orders");
    assert_int_equal (mesh_event_set_source (event, "second", &err), 0);
    assert_string_equal (mesh_event_source (event), "second");
    mesh_event_fill_defaults (event);
    char *json = mesh_event_to_json (event);
    assert_string_equal (json,
        "{\"version\":\"0\",\"id\":\"id-1\",\"detail-type\":\"Placed\",\"source\":\"second\","
        "\"account\":\"123456789012\",\"time\":\"2026-01-02T03:04:05Z\",\"region\":\"eu\","
        "\"resources\":[\"arn:1\",\"arn:2\"],\"detail\":{\"n\":1}}");
    free (json);
    mesh_event_destroy (&event);
    mesh_event_destroy (&event);                //  NULL is fine
}

static void
test_setters_refuse_invalid_utf8_and_null (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    mesh_event_t *event = mesh_event_new ();
    assert_int_equal (mesh_event_set_source (event, "ok\xc3(", &err), -1);
    assert_error (err, MESH_EINVAL, "event: 'source' is not valid UTF-8: bad byte at offset 2");
    assert_int_equal (mesh_event_add_resource (event, "\xed\xa0\x80", &err), -1);
    assert_error (err, MESH_EINVAL, "'resources' is not valid UTF-8");
    assert_int_equal (mesh_event_set_id (event, NULL, &err), -1);
    assert_error (err, MESH_EINVAL, "event: 'id' is NULL");
    assert_null (mesh_event_source (event));
    assert_int_equal (mesh_event_resource_count (event), 0);
    //  err may be NULL
    assert_int_equal (mesh_event_set_region (event, "\xff", NULL), -1);
    mesh_event_destroy (&event);
}

static void
test_set_time_normalises_to_utc (void **state)
{
    (void) state;
    static const struct {
        const char *in;
        const char *out;
    } cases [] = {
        { "2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z" },
        { "2026-01-02T05:04:05+02:00", "2026-01-02T03:04:05Z" },
        { "2026-01-01T22:34:05-05:30", "2026-01-02T04:04:05Z" },
        { "2026-01-02t03:04:05.123456z", "2026-01-02T03:04:05Z" },
        { "2024-02-29T00:30:00+01:00", "2024-02-28T23:30:00Z" },
        { "2025-12-31T23:59:60Z", "2026-01-01T00:00:00Z" },
        { "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z" },
    };
    mesh_event_t *event = mesh_event_new ();
    mesh_error_t err = { 0 };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        if (mesh_event_set_time (event, cases [index].in, &err))
            fail_msg ("%s: %s", cases [index].in, err.text);
        assert_string_equal (mesh_event_time (event), cases [index].out);
    }
    mesh_event_destroy (&event);
}

static void
test_set_time_refuses_nonsense (void **state)
{
    (void) state;
    static const struct {
        const char *in;
        const char *text;
    } cases [] = {
        { "2026-13-01T00:00:00Z", "event: time has a month out of range: '2026-13-01T00:00:00Z'" },
        { "2026-00-01T00:00:00Z", "month out of range" },
        { "2023-02-29T00:00:00Z", "day out of range" },
        { "2026-04-31T00:00:00Z", "day out of range" },
        { "2026-01-02T25:00:00Z", "hour out of range" },
        { "2026-01-02T03:60:00Z", "minute out of range" },
        { "2026-01-02T03:04:61Z", "second out of range" },
        { "2026-01-02T03:04:05+24:00", "offset out of range" },
        { "2026-01-02T03:04:05", "not RFC 3339" },
        { "2026-01-02 03:04:05Z", "not RFC 3339" },
        { "2026-01-02T03:04:05.Z", "not RFC 3339" },
        { "2026-01-02T03:04:05+0200", "not RFC 3339" },
        { "2026-1-2T03:04:05Z", "not RFC 3339" },
        { "yesterday", "event: time is not RFC 3339 (e.g. 2026-01-02T03:04:05Z): 'yesterday'" },
        { "9999-12-31T23:00:00-05:00", "out of range in UTC" },
    };
    mesh_event_t *event = mesh_event_new ();
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        mesh_error_t err = { 0 };
        if (mesh_event_set_time (event, cases [index].in, &err) != -1)
            fail_msg ("%s: accepted as %s", cases [index].in, mesh_event_time (event));
        assert_error (err, MESH_EINVAL, cases [index].text);
    }
    assert_null (mesh_event_time (event));
    mesh_event_destroy (&event);
}

static void
test_set_detail_json_requires_an_object (void **state)
{
    (void) state;
    static const char *bad [] = { "[1]", "\"x\"", "42", "null", "{", "", "{\"a\":}" };
    mesh_event_t *event = mesh_event_new ();
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        mesh_error_t err = { 0 };
        assert_int_equal (mesh_event_set_detail_json (event, bad [index], strlen (bad [index]),
                                                      NULL, &err), -1);
        assert_int_equal (err.code, MESH_EMALFORMED);
        assert_string_equal (err.text, "Detail is malformed");
    }
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_event_set_detail_json (event, "{}", 2, NULL, &err), 0);
    assert_int_equal (mesh_event_get_size (event, "detail"), 0);
    mesh_event_destroy (&event);
}

static void
test_from_json_checks_the_types_of_known_keys (void **state)
{
    (void) state;
    static const struct {
        const char *json;
        int code;
        const char *text;
    } cases [] = {
        { "{\"detail\":\"{}\"}", MESH_EINVAL, "event: 'detail' must be an object, got string" },
        { "{\"source\":1}", MESH_EINVAL, "event: 'source' must be a string, got number" },
        { "{\"time\":null}", MESH_EINVAL, "event: 'time' must be a string, got null" },
        { "{\"version\":0}", MESH_EINVAL, "event: 'version' must be a string, got number" },
        { "{\"resources\":\"arn\"}", MESH_EINVAL,
          "event: 'resources' must be an array of strings, got string" },
        { "{\"resources\":[\"a\",{}]}", MESH_EINVAL,
          "'resources' must be an array of strings, got object at index 1" },
        { "[]", MESH_EMALFORMED, "json: event is not an object, got array" },
        { "\"x\"", MESH_EMALFORMED, "json: event is not an object, got string" },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        mesh_error_t err = { 0 };
        const char *json = cases [index].json;
        mesh_event_t *event = mesh_event_from_json (json, strlen (json), NULL, &err);
        if (event)
            fail_msg ("%s: accepted", json);
        assert_error (err, cases [index].code, cases [index].text);
    }
    //  Presence is not required here, and unknown keys are kept
    mesh_error_t err = { 0 };
    mesh_event_t *event = mesh_event_from_json ("{\"x-custom\":[1]}", 16, NULL, &err);
    assert_non_null (event);
    assert_int_equal (mesh_event_get_size (event, "x-custom"), 1);
    mesh_event_destroy (&event);
}


//  ---------------------------------------------------------------------
//  Getters

static void
test_getters_follow_dotted_paths (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    mesh_event_t *event = mesh_event_from_json (s_canonical, strlen (s_canonical), NULL, &err);
    assert_non_null (event);
    assert_string_equal (mesh_event_id (event), "6a7e8feb-b491-4cf7-a9f1-bf3703467718");
    assert_string_equal (mesh_event_source (event), "com.example.orders");
    assert_string_equal (mesh_event_detail_type (event), "OrderPlaced");
    assert_string_equal (mesh_event_time (event), "2026-01-02T03:04:05Z");
    assert_string_equal (mesh_event_account (event), "123456789012");
    assert_string_equal (mesh_event_region (event), "eu-west-1");
    assert_int_equal (mesh_event_resource_count (event), 2);
    assert_string_equal (mesh_event_resource (event, 1), "arn:aws:x:2");
    assert_null (mesh_event_resource (event, 2));

    double number = 0;
    assert_int_equal (mesh_event_get_number (event, "detail.total_cost", &number), 0);
    assert_true (number == 242.58);
    assert_int_equal (mesh_event_get_number (event, "detail.count", &number), 0);
    assert_true (number == 3);
    assert_int_equal (mesh_event_get_number (event, "detail.order_id", &number), -1);
    assert_int_equal (mesh_event_get_number (event, "detail.nope", &number), -1);
    assert_string_equal (mesh_event_get_string (event, "detail.order_id"), "A-17");
    assert_null (mesh_event_get_string (event, "detail.count"));
    assert_null (mesh_event_get_string (event, "detail.items.sku"));   //  no array indexing
    assert_int_equal (mesh_event_get_size (event, "detail.items"), 2);
    assert_int_equal (mesh_event_get_size (event, "detail.nested.a"), 1);
    assert_int_equal (mesh_event_get_size (event, "detail.count"), -1);
    assert_int_equal (mesh_event_get_size (event, "detail.absent"), -1);

    char *json = mesh_event_get_json (event, "detail.items");
    assert_string_equal (json, "[{\"sku\":\"x\",\"price\":0.1},{\"sku\":\"y\",\"price\":300.0}]");
    free (json);
    json = mesh_event_get_json (event, "detail.nested.a.b");
    assert_string_equal (json, "[1,-2,1e+300]");
    free (json);
    json = mesh_event_get_json (event, "detail.coupon");
    assert_string_equal (json, "null");
    free (json);
    assert_null (mesh_event_get_json (event, "detail.nested.z"));
    mesh_event_destroy (&event);
}

static void
test_getters_prefer_keys_that_contain_dots (void **state)
{
    (void) state;
    const char *json =
        "{\"detail\":{\"a.b\":1,\"a\":{\"b\":2,\"c\":3},\"x\":{\"y.z\":{\"w\":4}}}}";
    mesh_error_t err = { 0 };
    mesh_event_t *event = mesh_event_from_json (json, strlen (json), NULL, &err);
    assert_non_null (event);
    double number = 0;
    assert_int_equal (mesh_event_get_number (event, "detail.a.b", &number), 0);
    assert_true (number == 1);
    assert_int_equal (mesh_event_get_number (event, "detail.a.c", &number), 0);
    assert_true (number == 3);
    assert_int_equal (mesh_event_get_number (event, "detail.x.y.z.w", &number), 0);
    assert_true (number == 4);
    mesh_event_destroy (&event);
}


//  TestEventPattern's check of its Event parameter: an object with id,
//  account, source, time, region and detail-type, present whatever their
//  type; resources and detail are not required.
static void
test_event_check_test_pattern_wants_six_fields (void **state)
{
    (void) state;
    mesh_error_t err = { 0 };
    const char *whole = "{\"id\":\"1\",\"account\":\"1\",\"source\":\"s\",\"time\":\"t\","
                        "\"region\":\"r\",\"detail-type\":\"d\"}";
    assert_int_equal (mesh_event_check_test_pattern (whole, strlen (whole), &err), 0);
    //  AWS accepted an array as detail-type
    const char *array_type = "{\"id\":\"1\",\"account\":\"1\",\"source\":\"s\",\"time\":\"t\","
                             "\"region\":\"r\",\"detail-type\":[\"d\"]}";
    assert_int_equal (mesh_event_check_test_pattern (array_type, strlen (array_type), &err), 0);

    const char *no_region = "{\"id\":\"1\",\"account\":\"1\",\"source\":\"s\",\"time\":\"t\","
                            "\"detail-type\":\"d\",\"resources\":[]}";
    assert_int_equal (mesh_event_check_test_pattern (no_region, strlen (no_region), &err), -1);
    assert_int_equal (err.code, MESH_EINVAL);
    assert_string_equal (err.text, "Parameter Event is not valid. (no 'region' field)");

    const char *bad [] = { "plain string", "[\"plain string\"]", "{\"testEvent\":\"value\"}", "\"x\"", "" };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        mesh_error_clear (&err);
        assert_int_equal (mesh_event_check_test_pattern (bad [i], strlen (bad [i]), &err), -1);
        assert_int_equal (strncmp (err.text, MESH_TEST_PATTERN_EVENT_INVALID,
                                   strlen (MESH_TEST_PATTERN_EVENT_INVALID)), 0);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_mp_reads_every_integer_encoding_by_sign),
        cmocka_unit_test (test_mp_reads_strings_bin_and_ext_in_place),
        cmocka_unit_test (test_mp_refuses_lengths_past_the_end),
        cmocka_unit_test (test_mp_skip_steps_over_nested_containers),
        cmocka_unit_test (test_mp_skip_fails_fast_on_huge_claimed_counts),
        cmocka_unit_test (test_utf8_validation_is_strict),
        cmocka_unit_test (test_event_json_roundtrip_is_byte_identical),
        cmocka_unit_test (test_event_encode_puts_envelope_keys_in_eventbridge_order),
        cmocka_unit_test (test_json_numbers_keep_integer_or_float),
        cmocka_unit_test (test_json_integer_beyond_int64_is_malformed),
        cmocka_unit_test (test_msgpack_uint64_above_int64_is_out_of_range),
        cmocka_unit_test (test_msgpack_floats_print_shortest_and_nonfinite_as_null),
        cmocka_unit_test (test_json_strings_keep_unicode_and_escape_controls),
        cmocka_unit_test (test_msgpack_invalid_utf8_is_malformed),
        cmocka_unit_test (test_json_and_msgpack_convert_values_that_are_not_objects),
        cmocka_unit_test (test_json_syntax_error_reports_line_and_column),
        cmocka_unit_test (test_depth_at_limit_passes_and_one_over_fails),
        cmocka_unit_test (test_depth_default_limit_is_1000),
        cmocka_unit_test (test_size_limit_applies_to_the_encoded_event),
        cmocka_unit_test (test_msgpack_truncated_at_every_length_is_malformed),
        cmocka_unit_test (test_msgpack_bad_bytes_are_refused_with_reason),
        cmocka_unit_test (test_event_decode_refuses_what_is_not_an_envelope),
        cmocka_unit_test (test_check_and_decode_agree_on_mutated_events),
        cmocka_unit_test (test_check_accepts_a_full_envelope),
        cmocka_unit_test (test_check_refuses_an_entry_over_256_kb),
        cmocka_unit_test (test_check_refuses_a_reserved_source),
        cmocka_unit_test (test_check_refuses_bad_source_and_detail_type_lengths),
        cmocka_unit_test (test_check_refuses_ids_not_a_lowercase_uuid_v4),
        cmocka_unit_test (test_check_refuses_times_not_of_the_envelope_form),
        cmocka_unit_test (test_check_refuses_non_finite_floats_anywhere),
        cmocka_unit_test (test_check_names_each_missing_required_field),
        cmocka_unit_test (test_check_names_each_mistyped_field),
        cmocka_unit_test (test_check_refuses_a_duplicate_envelope_key),
        cmocka_unit_test (test_check_walks_unknown_keys_and_trailing_bytes),
        cmocka_unit_test (test_uuid_and_time_now_have_their_shapes),
        cmocka_unit_test (test_fill_defaults_fills_only_what_is_missing_in_order),
        cmocka_unit_test (test_setters_copy_and_encode_in_envelope_order),
        cmocka_unit_test (test_setters_refuse_invalid_utf8_and_null),
        cmocka_unit_test (test_set_time_normalises_to_utc),
        cmocka_unit_test (test_set_time_refuses_nonsense),
        cmocka_unit_test (test_set_detail_json_requires_an_object),
        cmocka_unit_test (test_from_json_checks_the_types_of_known_keys),
        cmocka_unit_test (test_getters_follow_dotted_paths),
        cmocka_unit_test (test_getters_prefer_keys_that_contain_dots),
        cmocka_unit_test (test_event_check_test_pattern_wants_six_fields),
    };
    return cmocka_run_group_tests_name ("event", tests, NULL, NULL);
}
