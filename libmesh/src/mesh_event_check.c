/*  mesh_event_check.c: is this an event? The broker's check and AWS's

    mesh_event_check is the broker's: one pass over MessagePack bytes in
    place, allocating nothing, with the codec's checking walk
    (mesh_codec.h) for every value, so that what the broker accepts every
    client decodes. mesh_event_check_test_pattern is TestEventPattern's
    check of JSON text, with AWS's message.

    Usage: see mesh_event.h.
*/
#include <inttypes.h>
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
    unsigned seen = 0;
    for (uint32_t pair = 0; pair < map.v.count; pair++) {
        mesh__mp_value_t key, value;
        const uint8_t *at = walk.reader.pos;
        if (mesh__walk_next (&walk, &key, 2))
            return -1;
        if (key.type != MESH_MP_STR)
            return mesh__walk_bad_key (&walk, &key, at);
        if (mesh__walk_next (&walk, &value, 2))
            return -1;
        int index = mesh__envelope_index (key.v.s.ptr, key.v.s.size);
        if (index < 0) {
            if ((value.type == MESH_MP_ARRAY || value.type == MESH_MP_MAP)
            &&  mesh__walk_check (&walk, &value, 2))
                return -1;
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
            if (mesh__walk_check (&walk, &value, 2))
                return -1;
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
        }
    }
    if (walk.reader.pos != walk.reader.end)
        return mesh_error_set (err, MESH_EMALFORMED,
            "msgpack: trailing bytes after the event: %zu bytes at offset %zu",
            (size_t) (walk.reader.end - walk.reader.pos),
            (size_t) (walk.reader.pos - walk.start));

    static const int required [] = {
        MESH__ENV_VERSION, MESH__ENV_ID, MESH__ENV_DETAIL_TYPE, MESH__ENV_SOURCE, MESH__ENV_TIME, MESH__ENV_DETAIL
    };
    for (size_t index = 0; index < sizeof (required) / sizeof (required [0]); index++)
        if (!(seen & (1u << required [index])))
            return mesh_error_set (err, MESH_EINVAL, "event: missing '%s'",
                                   mesh__envelope [required [index]].name);
    if (view)
        *view = found;
    return 0;
}

int
mesh_event_check (const void *data, size_t size, const mesh_limits_t *limits,
                  mesh_envelope_view_t *view, mesh_error_t *err)
{
    return s_event_check (data, size, limits, view, err)? -1: 0;
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
