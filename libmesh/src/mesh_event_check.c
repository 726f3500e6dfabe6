/*  mesh_event_check.c: is this an event? The broker's check and AWS's

    mesh_event_check is the broker's: one pass over MessagePack bytes in
    place, allocating nothing, with the codec's checking walk
    (mesh_codec.h) for every value, so that what the broker accepts every
    client decodes. mesh_event_check_test_pattern is TestEventPattern's
    check of JSON text, with AWS's message.

    Usage: see mesh_event.h.
*/
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <jansson.h>
#include "mesh_private.h"
#include "mesh_codec.h"

//  ---------------------------------------------------------------------
//  The broker's check
//
//  One pass over the bytes, allocating nothing: the envelope map's own keys
//  are looked at here, every other value (detail included) goes through the
//  same walk as the decoders, without output. An envelope key given twice is
//  refused: a matcher reading the first and a decoder keeping the last would
//  otherwise see two different events.

//  Untrusted text for a log line: at most 64 bytes, control bytes as '?'.
static const char *
s_shown (const char *text, size_t size, char shown [72])
{
    size_t n = size < 64? size: 64;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) text [i];
        shown [i] = c < 0x20 || c == 0x7f? '?': (char) c;
    }
    strcpy (shown + n, size > 64? "...": "");
    return shown;
}

//  Characters (code points) of valid UTF-8: the bytes that do not continue one
static size_t
s_chars (const char *text, size_t size)
{
    size_t chars = 0;
    for (size_t i = 0; i < size; i++)
        chars += ((unsigned char) text [i] & 0xc0) != 0x80;
    return chars;
}

//  The id the envelope promises: a UUID v4 as mesh_uuid_v4 writes it, 36
//  lowercase characters 8-4-4-4-12, version 4, variant 10xx. Checked with
//  a table (it runs for every event the broker takes).
static const uint8_t s_hex_digit [256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1
};

static bool
s_id_valid (const char *id, size_t size)
{
    if (size != 36 || id [8] != '-' || id [13] != '-' || id [18] != '-' || id [23] != '-'
    ||  id [14] != '4' || !(id [19] == '8' || id [19] == '9' || id [19] == 'a' || id [19] == 'b'))
        return false;
    const uint8_t *u = (const uint8_t *) id;
    unsigned digits = 0;
    for (size_t i = 0; i < 8; i++)
        digits += s_hex_digit [u [i]];
    for (size_t i = 9; i < 13; i++)
        digits += s_hex_digit [u [i]];
    for (size_t i = 14; i < 18; i++)
        digits += s_hex_digit [u [i]];
    for (size_t i = 19; i < 23; i++)
        digits += s_hex_digit [u [i]];
    for (size_t i = 24; i < 36; i++)
        digits += s_hex_digit [u [i]];
    return digits == 32;
}

static int
s_two (const char *text)
{
    if (text [0] < '0' || text [0] > '9' || text [1] < '0' || text [1] > '9')
        return -1;
    return (text [0] - '0') * 10 + text [1] - '0';
}

//  The time the envelope promises: RFC 3339 in UTC to the second, as
//  mesh_time_now and mesh_event_set_time write it, 2026-01-02T03:04:05Z
//  (uppercase T and Z, no fraction, no offset; seconds 00 to 59, since
//  the publisher rolls a leap second over), the date a real one.
static bool
s_time_valid (const char *t, size_t size)
{
    if (size != 20 || t [4] != '-' || t [7] != '-' || t [10] != 'T'
    ||  t [13] != ':' || t [16] != ':' || t [19] != 'Z')
        return false;
    int century = s_two (t), years = s_two (t + 2), month = s_two (t + 5), day = s_two (t + 8);
    int hour = s_two (t + 11), minute = s_two (t + 14), second = s_two (t + 17);
    if (century < 0 || years < 0 || month < 1 || month > 12 || day < 1
    ||  hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
        return false;
    static const int days_in [12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int year = century * 100 + years;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= days_in [month - 1] + (month == 2 && leap);
}

//  EventBridge's limits on what a publisher sends, once the envelope is
//  known to be well-formed: cheap tests on the few strings it names.
static int
s_envelope_limits (const mesh_envelope_view_t *found, const char *time, size_t time_size,
                   size_t entry_size, const mesh_limits_t *limits, mesh_error_t *err)
{
    char shown [72];
    if (entry_size > limits->max_entry_size) {
        mesh_error_set (err, MESH_ETOOBIG,
            "event: entry of %zu bytes is over the limit of %zu "
            "(source, detail-type, detail and resources, as EventBridge counts them)",
            entry_size, limits->max_entry_size);
        return MESH_EVENT_OVERSIZED_ENTRY;
    }
    size_t chars = found->source_size;
    if (chars > MESH_SOURCE_MAX)
        chars = s_chars (found->source, found->source_size);
    if (chars == 0 || chars > MESH_SOURCE_MAX) {
        mesh_error_set (err, MESH_EINVAL, "event: 'source' must be 1 to %d characters, got %zu",
                        MESH_SOURCE_MAX, chars);
        return MESH_EVENT_BAD_SOURCE;
    }
    if (!limits->allow_reserved_source
    &&  found->source_size >= 4 && memcmp (found->source, "aws.", 4) == 0) {
        mesh_error_set (err, MESH_EINVAL, "event: source '%s' is reserved: 'aws.' sources are AWS's, not a publisher's",
                        s_shown (found->source, found->source_size, shown));
        return MESH_EVENT_RESERVED_SOURCE;
    }
    chars = found->detail_type_size;
    if (chars > MESH_DETAIL_TYPE_MAX)
        chars = s_chars (found->detail_type, found->detail_type_size);
    if (chars == 0 || chars > MESH_DETAIL_TYPE_MAX) {
        mesh_error_set (err, MESH_EINVAL, "event: 'detail-type' must be 1 to %d characters, got %zu",
                        MESH_DETAIL_TYPE_MAX, chars);
        return MESH_EVENT_BAD_DETAIL_TYPE;
    }
    if (!s_id_valid (found->id, found->id_size)) {
        mesh_error_set (err, MESH_EINVAL, "event: 'id' is not a lowercase UUID v4: '%s'",
                        s_shown (found->id, found->id_size, shown));
        return MESH_EVENT_BAD_ID;
    }
    if (!s_time_valid (time, time_size)) {
        mesh_error_set (err, MESH_EINVAL,
                        "event: 'time' is not RFC 3339 UTC to the second (2026-01-02T03:04:05Z): '%s'",
                        s_shown (time, time_size, shown));
        return MESH_EVENT_BAD_TIME;
    }
    return 0;
}

int
mesh__envelope_passes (const mesh__envelope_scan_t *scan, const mesh_limits_t *limits)
{
    if ((scan->seen & MESH__ENV_REQUIRED) != MESH__ENV_REQUIRED)
        return -1;
    mesh_envelope_view_t found = {
        scan->id, scan->id_size, scan->source, scan->source_size, scan->detail_type, scan->detail_type_size
    };
    return s_envelope_limits (&found, scan->time, scan->time_size,
                              scan->entry_size + scan->source_size + scan->detail_type_size, limits, NULL);
}

//  Check the contents of the container whose header was just read (at
//  level - 1), value by value with the walk's own checks (the same as its
//  strict skip, and worded alike), noting the first float that is NaN or
//  infinite in *non_finite: JSON has no form for it, so no EventBridge
//  event holds one. Recursion is bounded by the depth limit, as the
//  interpreter's.
static int
s_check_contents (mesh__walk_t *walk, const mesh__mp_value_t *container, int level,
                  const uint8_t **non_finite)
{
    bool map = container->type == MESH_MP_MAP;
    uint64_t items = (uint64_t) container->v.count * (map? 2: 1);
    for (uint64_t item = 0; item < items; item++) {
        mesh__mp_value_t value;
        const uint8_t *at = walk->reader.pos;
        if (mesh__walk_next (walk, &value, level))
            return -1;
        if (map && item % 2 == 0) {
            if (value.type != MESH_MP_STR)
                return mesh__walk_bad_key (walk, &value, at);
            continue;
        }
        if (value.type == MESH_MP_FLOAT) {
            if (!isfinite (value.v.f) && !*non_finite)
                *non_finite = at;
        }
        else
        if ((value.type == MESH_MP_ARRAY || value.type == MESH_MP_MAP)
        &&  s_check_contents (walk, &value, level + 1, non_finite))
            return -1;
    }
    return 0;
}

static int
s_event_check (const void *data, size_t size, const mesh_limits_t *limits,
               mesh_envelope_view_t *view, mesh_error_t *err)
{
    mesh_limits_t checked = mesh__limits_clamp (limits);
    if (!data && size)
        return mesh_error_set (err, MESH_EINVAL, "event: data is NULL");
    if (size > checked.max_event_size)
        return mesh_error_set (err, MESH_ETOOBIG,
            "event: size over the limit of %zu bytes: %zu bytes",
            checked.max_event_size, size);
    mesh__walk_t walk;
    mesh__walk_init (&walk, data, size, checked.max_depth, err);
    mesh__mp_value_t map;
    if (mesh__walk_next (&walk, &map, 1))
        return -1;
    if (map.type != MESH_MP_MAP)
        return mesh_error_set (err, MESH_EMALFORMED,
            "event: not a map, got %s", mesh__mp_type_name (map.type));

    mesh_envelope_view_t found = { 0 };
    const char *time = NULL;
    size_t time_size = 0;
    size_t entry_size = 0;      //  EventBridge's count, less the detail's
    const uint8_t *non_finite = NULL;
    unsigned seen = 0;
    for (uint32_t pair = 0; pair < map.v.count; pair++) {
        mesh__mp_value_t key, value;
        const uint8_t *at = walk.reader.pos;
        if (mesh__walk_next (&walk, &key, 2))
            return -1;
        if (key.type != MESH_MP_STR)
            return mesh__walk_bad_key (&walk, &key, at);
        const uint8_t *value_at = walk.reader.pos;
        if (mesh__walk_next (&walk, &value, 2))
            return -1;
        int index = mesh__envelope_index (key.v.s.ptr, key.v.s.size);
        if (index < 0) {
            if ((value.type == MESH_MP_ARRAY || value.type == MESH_MP_MAP)
            &&  s_check_contents (&walk, &value, 3, &non_finite))
                return -1;
            if (value.type == MESH_MP_FLOAT && !isfinite (value.v.f) && !non_finite)
                non_finite = value_at;
            continue;
        }
        const char *name = mesh__envelope [index].name;
        if (seen & (1u << index))
            return mesh_error_set (err, MESH_EINVAL,
                "event: duplicate key '%s'", name);
        seen |= 1u << index;
        if (index == MESH__ENV_DETAIL) {
            if (value.type != MESH_MP_MAP)
                return mesh_error_set (err, MESH_EINVAL,
                    "event: '%s' must be a map, got %s",
                    name, mesh__mp_type_name (value.type));
            const uint8_t *contents = walk.reader.pos;
            if (s_check_contents (&walk, &value, 3, &non_finite))
                return -1;
            //  The detail's JSON text, counted as its encoded bytes: the
            //  broker has no text to count (see mesh_event.h)
            entry_size += (size_t) (walk.reader.pos - contents) + 2;
        }
        else
        if (index == MESH__ENV_RESOURCES) {
            if (value.type != MESH_MP_ARRAY)
                return mesh_error_set (err, MESH_EINVAL,
                    "event: '%s' must be an array of strings, got %s",
                    name, mesh__mp_type_name (value.type));
            for (uint32_t item = 0; item < value.v.count; item++) {
                mesh__mp_value_t resource;
                if (mesh__walk_next (&walk, &resource, 3))
                    return -1;
                if (resource.type != MESH_MP_STR)
                    return mesh_error_set (err, MESH_EINVAL,
                        "event: '%s' must be an array of strings, got %s at index %" PRIu32,
                        name, mesh__mp_type_name (resource.type), item);
                entry_size += resource.v.s.size;
            }
        }
        else {
            if (value.type != MESH_MP_STR)
                return mesh_error_set (err, MESH_EINVAL,
                    "event: '%s' must be a string, got %s",
                    name, mesh__mp_type_name (value.type));
            if (index == MESH__ENV_ID) {
                found.id = value.v.s.ptr;
                found.id_size = value.v.s.size;
            }
            else
            if (index == MESH__ENV_SOURCE) {
                found.source = value.v.s.ptr;
                found.source_size = value.v.s.size;
            }
            else
            if (index == MESH__ENV_DETAIL_TYPE) {
                found.detail_type = value.v.s.ptr;
                found.detail_type_size = value.v.s.size;
            }
            else
            if (index == MESH__ENV_TIME) {
                time = value.v.s.ptr;
                time_size = value.v.s.size;
            }
        }
    }
    if (walk.reader.pos != walk.reader.end)
        return mesh_error_set (err, MESH_EMALFORMED,
            "msgpack: trailing bytes after the event: %zu bytes at offset %zu",
            (size_t) (walk.reader.end - walk.reader.pos),
            (size_t) (walk.reader.pos - walk.start));

    for (int index = 0; index < MESH__ENV_KEYS; index++)
        if ((MESH__ENV_REQUIRED & (1u << index)) && !(seen & (1u << index)))
            return mesh_error_set (err, MESH_EINVAL, "event: missing '%s'", mesh__envelope [index].name);
    entry_size += found.source_size + found.detail_type_size;
    int refused = s_envelope_limits (&found, time, time_size, entry_size, &checked, err);
    if (refused)
        return refused;
    if (non_finite) {
        mesh_error_set (err, MESH_EINVAL,
            "event: a float that is not finite (NaN or infinity, which JSON cannot write) at offset %zu",
            (size_t) (non_finite - walk.start));
        return MESH_EVENT_NON_FINITE;
    }
    if (view)
        *view = found;
    return 0;
}

int
mesh_event_check (const void *data, size_t size, const mesh_limits_t *limits,
                  mesh_envelope_view_t *view, mesh_error_t *err)
{
    int rc = s_event_check (data, size, limits, view, err);
    return rc < 0? rc: 0;
}


//  ---------------------------------------------------------------------
//  TestEventPattern's check

//  TestEventPattern's check of its Event parameter. Only presence is
//  checked, not types: AWS's validated cases include a detail-type that is
//  an array, and resources, though the API lists it, is not required.

int
mesh_event_check_test_pattern (const char *text, size_t size, mesh_error_t *err)
{
    static const char *required [] = {
        "id", "account", "source", "time", "region", "detail-type", NULL
    };
    mesh_error_t parse_err = { 0 };
    json_t *value = mesh__json_parse (text, size, &parse_err);
    int rc = 0;
    if (!value)
        rc = mesh_error_set (err, MESH_EINVAL, MESH_TEST_PATTERN_EVENT_INVALID " (%s)", parse_err.text);
    else
    if (!json_is_object (value))
        rc = mesh_error_set (err, MESH_EINVAL, MESH_TEST_PATTERN_EVENT_INVALID " (the event is %s %s, not an object)",
                             json_is_array (value)? "an": "a", mesh__json_type_name (value));
    else
    for (const char **key = required; *key; key++)
        if (!json_object_get (value, *key)) {
            rc = mesh_error_set (err, MESH_EINVAL, MESH_TEST_PATTERN_EVENT_INVALID " (no '%s' field)", *key);
            break;
        }
    json_decref (value);
    return rc;
}
