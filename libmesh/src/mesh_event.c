/*  mesh_event.c: the event envelope as an object

    An event is held as a jansson object (jansson keeps keys in insertion
    order); it is encoded with the EventBridge key order (version, id,
    detail-type, source, account, time, region, resources, detail, then any
    other key in its own order, mesh_envelope.h) by the codec (mesh_codec.c,
    through mesh_codec.h), as MessagePack and as JSON text. The broker's
    check of the bytes is mesh_event_check.c. UUIDs and time are here too:
    the event is what needs them.

    Usage:
        mesh_event_t *event = mesh_event_new ();
        mesh_event_set_source (event, "com.example.orders", &err);
        mesh_event_set_detail_type (event, "OrderPlaced", &err);
        mesh_event_set_detail_json (event, "{\"total\":42.5}", 14, NULL, &err);
        mesh_event_fill_defaults (event);
        mesh_event_encode (event, &data, &size, &err);   //  to the wire
        ...
        mesh_event_check (data, size, NULL, &view, &err); //  the broker's check
        mesh_event_t *copy = mesh_event_decode (data, size, NULL, &err);

    Fidelity, depth and size: see mesh_codec.c.
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <uuid/uuid.h>
#include "mesh_private.h"
#include "mesh_codec.h"

struct _mesh_event_t {
    json_t *root;               //  object; keys in insertion order
};

//  The envelope's known keys must have their types (fields need not be
//  present: the broker's mesh_event_check and fill_defaults see to that).
static int
s_envelope_check_json (const json_t *root, mesh_error_t *err)
{
    for (int index = 0; index < MESH__ENV_KEYS; index++) {
        const char *name = mesh__envelope [index].name;
        json_t *value = json_object_get (root, name);
        if (!value)
            continue;
        if (index == MESH__ENV_DETAIL) {
            if (!json_is_object (value))
                return mesh_error_set (err, MESH_EINVAL,
                    "event: '%s' must be an object, got %s", name, mesh__json_type_name (value));
        }
        else
        if (index == MESH__ENV_RESOURCES) {
            if (!json_is_array (value))
                return mesh_error_set (err, MESH_EINVAL,
                    "event: '%s' must be an array of strings, got %s",
                    name, mesh__json_type_name (value));
            for (size_t item = 0; item < json_array_size (value); item++)
                if (!json_is_string (json_array_get (value, item)))
                    return mesh_error_set (err, MESH_EINVAL,
                        "event: '%s' must be an array of strings, got %s at index %zu",
                        name, mesh__json_type_name (json_array_get (value, item)), item);
        }
        else
        if (!json_is_string (value))
            return mesh_error_set (err, MESH_EINVAL,
                "event: '%s' must be a string, got %s", name, mesh__json_type_name (value));
    }
    return 0;
}


//  ---------------------------------------------------------------------
//  Events: create, decode, encode

static mesh_event_t *
s_event_wrap (json_t *root)
{
    mesh_event_t *self = (mesh_event_t *) malloc (sizeof (mesh_event_t));
    if (!self) {
        json_decref (root);
        return NULL;
    }
    self->root = root;
    return self;
}

mesh_event_t *
mesh_event_new (void)
{
    json_t *root = json_object ();
    return root? s_event_wrap (root): NULL;
}

void
mesh_event_destroy (mesh_event_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        json_decref ((*self_p)->root);
        free (*self_p);
        *self_p = NULL;
    }
}


//  Parse with jansson, then check in this order: an object
//  (MESH_EMALFORMED), the known keys' types (MESH_EINVAL), then depth and
//  encoded size by packing it once (MESH_EDEPTH, MESH_ETOOBIG). Duplicate
//  keys: the last one wins, as jansson reads them. Unknown keys are kept.

mesh_event_t *
mesh_event_from_json (const char *text, size_t size,
                      const mesh_limits_t *limits, mesh_error_t *err)
{
    mesh_limits_t checked = mesh__limits_clamp (limits);
    json_t *root = mesh__json_parse (text, size, err);
    if (!root)
        return NULL;
    if (!json_is_object (root)) {
        mesh_error_set (err, MESH_EMALFORMED,
            "json: event is not an object, got %s", mesh__json_type_name (root));
        json_decref (root);
        return NULL;
    }
    if (s_envelope_check_json (root, err)
    ||  mesh__json_pack (root, 1, true, &checked, NULL, NULL, err)) {
        json_decref (root);
        return NULL;
    }
    return s_event_wrap (root);
}


//  Decode with the same walk as mesh_event_check, into jansson values; then
//  the envelope's types. Duplicate keys: the last one wins.

mesh_event_t *
mesh_event_decode (const void *data, size_t size,
                   const mesh_limits_t *limits, mesh_error_t *err)
{
    mesh_limits_t checked = mesh__limits_clamp (limits);
    json_t *root = NULL;
    if (mesh__msgpack_to_jansson (data, size, &checked, true, &root, err))
        return NULL;
    if (s_envelope_check_json (root, err)) {
        json_decref (root);
        return NULL;
    }
    return s_event_wrap (root);
}


//  Encode with the envelope's keys first. The limits are not applied here
//  (there are none to pass): the event's parts were checked when they were
//  set or decoded, and the receiver's mesh_event_check applies its own.

int
mesh_event_encode (const mesh_event_t *self, void **data_p, size_t *size_p,
                   mesh_error_t *err)
{
    assert (self);
    assert (data_p && size_p);
    mesh_limits_t unlimited = { .max_event_size = SIZE_MAX, .max_depth = MESH_MAX_DEPTH_LIMIT };
    int rc = mesh__json_pack (self->root, 1, true, &unlimited, data_p, size_p, err);
    return rc? -1: 0;
}

char *
mesh_event_to_json (const mesh_event_t *self)
{
    assert (self);
    return mesh__json_emit (self->root, true);
}


//  ---------------------------------------------------------------------
//  Setters

static int
s_set_value (mesh_event_t *self, const char *key, json_t *value, mesh_error_t *err)
{
    if (!value || json_object_set_new (self->root, key, value))
        return mesh_error_set (err, MESH_ENOMEM, "event: out of memory");
    return 0;
}

//  A copy of a C string as a jansson string, or NULL with err filled
static json_t *
s_string_arg (const char *name, const char *value, mesh_error_t *err)
{
    if (!value) {
        mesh_error_set (err, MESH_EINVAL, "event: '%s' is NULL", name);
        return NULL;
    }
    size_t size = strlen (value);
    if (!mesh__utf8_valid (value, size)) {
        mesh_error_set (err, MESH_EINVAL, "event: '%s' is not valid UTF-8: bad byte at offset %zu",
                        name, mesh__utf8_bad_offset (value, size));
        return NULL;
    }
    json_t *string = json_stringn_nocheck (value, size);
    if (!string)
        mesh_error_set (err, MESH_ENOMEM, "event: out of memory");
    return string;
}

static int
s_set_string (mesh_event_t *self, int index, const char *value, mesh_error_t *err)
{
    assert (self);
    json_t *string = s_string_arg (mesh__envelope [index].name, value, err);
    if (!string)
        return -1;
    return s_set_value (self, mesh__envelope [index].name, string, err)? -1: 0;
}

int
mesh_event_set_source (mesh_event_t *self, const char *source, mesh_error_t *err)
{
    return s_set_string (self, MESH__ENV_SOURCE, source, err);
}

int
mesh_event_set_detail_type (mesh_event_t *self, const char *detail_type, mesh_error_t *err)
{
    return s_set_string (self, MESH__ENV_DETAIL_TYPE, detail_type, err);
}

int
mesh_event_set_id (mesh_event_t *self, const char *id, mesh_error_t *err)
{
    return s_set_string (self, MESH__ENV_ID, id, err);
}

int
mesh_event_set_account (mesh_event_t *self, const char *account, mesh_error_t *err)
{
    return s_set_string (self, MESH__ENV_ACCOUNT, account, err);
}

int
mesh_event_set_region (mesh_event_t *self, const char *region, mesh_error_t *err)
{
    return s_set_string (self, MESH__ENV_REGION, region, err);
}

int
mesh_event_add_resource (mesh_event_t *self, const char *resource, mesh_error_t *err)
{
    assert (self);
    json_t *string = s_string_arg ("resources", resource, err);
    if (!string)
        return -1;
    json_t *resources = json_object_get (self->root, "resources");
    if (!resources) {
        if (s_set_value (self, "resources", json_array (), err)) {
            json_decref (string);
            return -1;
        }
        resources = json_object_get (self->root, "resources");
    }
    if (json_array_append_new (resources, string)) {
        mesh_error_set (err, MESH_ENOMEM, "event: out of memory");
        return -1;
    }
    return 0;
}

//  Parse n digits at text; -1 if any is not a digit
static int
s_digits (const char *text, int count)
{
    int value = 0;
    for (int index = 0; index < count; index++) {
        if (text [index] < '0' || text [index] > '9')
            return -1;
        value = value * 10 + (text [index] - '0');
    }
    return value;
}

//  EventBridge's time form, 2026-01-02T03:04:05Z (years 0000 to 9999)
static void
s_format_utc (const struct tm *utc, char buffer [32])
{
    snprintf (buffer, 32, "%04u-%02u-%02uT%02u:%02u:%02uZ",
              (unsigned) (utc->tm_year + 1900) % 10000,
              (unsigned) (utc->tm_mon + 1) % 100, (unsigned) utc->tm_mday % 100,
              (unsigned) utc->tm_hour % 100, (unsigned) utc->tm_min % 100,
              (unsigned) utc->tm_sec % 100);
}

static bool
s_leap_year (int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

//  Parse an RFC 3339 date-time, YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)
//  ('t' and 'z' too, as RFC 3339 allows), and write it as UTC to the second
//  into buffer. Fractions of a second are dropped (EventBridge's times have
//  none). A leap second (:60) is accepted and rolls over to the next minute.
static int
s_time_normalise (const char *time, char buffer [32], mesh_error_t *err)
{
    const char *t = time;
    size_t size = strlen (t);
    int year, month, day, hour, minute, second;
    if (size < 20
    ||  (year = s_digits (t, 4)) < 0 || t [4] != '-'
    ||  (month = s_digits (t + 5, 2)) < 0 || t [7] != '-'
    ||  (day = s_digits (t + 8, 2)) < 0 || (t [10] != 'T' && t [10] != 't')
    ||  (hour = s_digits (t + 11, 2)) < 0 || t [13] != ':'
    ||  (minute = s_digits (t + 14, 2)) < 0 || t [16] != ':'
    ||  (second = s_digits (t + 17, 2)) < 0)
        goto format;
    const char *rest = t + 19;
    if (*rest == '.') {
        rest++;
        if (*rest < '0' || *rest > '9')
            goto format;
        while (*rest >= '0' && *rest <= '9')
            rest++;
    }
    int offset = 0;                     //  seconds east of UTC
    if ((*rest == 'Z' || *rest == 'z') && rest [1] == '\0')
        ;
    else
    if ((*rest == '+' || *rest == '-') && strlen (rest) == 6 && rest [3] == ':') {
        int offset_hour = s_digits (rest + 1, 2);
        int offset_minute = s_digits (rest + 4, 2);
        if (offset_hour < 0 || offset_minute < 0)
            goto format;
        if (offset_hour > 23 || offset_minute > 59)
            return mesh_error_set (err, MESH_EINVAL,
                "event: time has an offset out of range: '%.64s'", time);
        offset = (offset_hour * 3600 + offset_minute * 60) * (*rest == '-'? -1: 1);
    }
    else
        goto format;

    static const int days_in [12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const char *bad = NULL;
    if (month < 1 || month > 12)
        bad = "month";
    else
    if (day < 1 || day > days_in [month - 1] + (month == 2 && s_leap_year (year)))
        bad = "day";
    else
    if (hour > 23)
        bad = "hour";
    else
    if (minute > 59)
        bad = "minute";
    else
    if (second > 60)
        bad = "second";
    if (bad)
        return mesh_error_set (err, MESH_EINVAL,
            "event: time has a %s out of range: '%.64s'", bad, time);

    struct tm fields = {
        .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
        .tm_hour = hour, .tm_min = minute, .tm_sec = second
    };
    time_t seconds = timegm (&fields) - offset;
    struct tm utc;
    if (!gmtime_r (&seconds, &utc) || utc.tm_year + 1900 < 0 || utc.tm_year + 1900 > 9999)
        return mesh_error_set (err, MESH_EINVAL,
            "event: time is out of range in UTC: '%.64s'", time);
    s_format_utc (&utc, buffer);
    return 0;
format:
    return mesh_error_set (err, MESH_EINVAL,
        "event: time is not RFC 3339 (e.g. 2026-01-02T03:04:05Z): '%.64s'", time);
}

int
mesh_event_set_time (mesh_event_t *self, const char *time, mesh_error_t *err)
{
    assert (self);
    if (!time) {
        mesh_error_set (err, MESH_EINVAL, "event: 'time' is NULL");
        return -1;
    }
    char buffer [32];
    if (s_time_normalise (time, buffer, err))
        return -1;
    return s_set_string (self, MESH__ENV_TIME, buffer, err);
}


//  The detail must parse as a JSON object; anything else fails with
//  EventBridge's own words, "Detail is malformed". Depth counts from the
//  envelope: the detail object is level 2. Its size limit is checked on its
//  own encoding (the whole event is checked again where it is received).

int
mesh_event_set_detail_json (mesh_event_t *self, const char *json, size_t size,
                            const mesh_limits_t *limits, mesh_error_t *err)
{
    assert (self);
    mesh_limits_t checked = mesh__limits_clamp (limits);
    json_t *detail = mesh__json_parse (json, size, err);
    if (!detail) {
        if (err && err->code == MESH_EMALFORMED)
            mesh_error_set (err, MESH_EMALFORMED, "Detail is malformed");
        return -1;
    }
    if (!json_is_object (detail)) {
        json_decref (detail);
        mesh_error_set (err, MESH_EMALFORMED, "Detail is malformed");
        return -1;
    }
    if (mesh__json_pack (detail, 2, false, &checked, NULL, NULL, err)) {
        json_decref (detail);
        return -1;
    }
    return s_set_value (self, "detail", detail, err)? -1: 0;
}


//  Fill what EventBridge fills, then rebuild the object so its keys are in
//  EventBridge's order. On out of memory the event is left as it was.

void
mesh_event_fill_defaults (mesh_event_t *self)
{
    assert (self);
    json_t *root = json_object ();
    if (!root)
        return;
    for (int index = 0; index < MESH__ENV_KEYS; index++) {
        const char *name = mesh__envelope [index].name;
        json_t *value = json_incref (json_object_get (self->root, name));
        if (!value) {
            char buffer [40];
            switch (index) {
                case MESH__ENV_VERSION:   value = json_string ("0"); break;
                case MESH__ENV_ACCOUNT:   value = json_string (MESH_DEFAULT_ACCOUNT); break;
                case MESH__ENV_REGION:    value = json_string (MESH_DEFAULT_REGION); break;
                case MESH__ENV_RESOURCES: value = json_array (); break;
                case MESH__ENV_DETAIL:    value = json_object (); break;
                case MESH__ENV_ID:
                    mesh_uuid_v4 (buffer);
                    value = json_string (buffer);
                    break;
                case MESH__ENV_TIME:
                    mesh_time_now (buffer);
                    value = json_string (buffer);
                    break;
                default:          //  source and detail-type: the caller's
                    continue;
            }
            if (!value)
                goto fail;
        }
        if (json_object_set_new (root, name, value))
            goto fail;
    }
    for (void *it = json_object_iter (self->root); it;
         it = json_object_iter_next (self->root, it)) {
        const char *key = json_object_iter_key (it);
        size_t key_size = json_object_iter_key_len (it);
        if (mesh__envelope_index (key, key_size) < 0
        &&  json_object_setn_nocheck (root, key, key_size, json_object_iter_value (it)))
            goto fail;
    }
    json_decref (self->root);
    self->root = root;
    return;
fail:
    json_decref (root);
}


//  ---------------------------------------------------------------------
//  Getters

static const char *
s_get_envelope_string (const mesh_event_t *self, int index)
{
    assert (self);
    return json_string_value (json_object_get (self->root, mesh__envelope [index].name));
}

const char *
mesh_event_id (const mesh_event_t *self)
{
    return s_get_envelope_string (self, MESH__ENV_ID);
}

const char *
mesh_event_source (const mesh_event_t *self)
{
    return s_get_envelope_string (self, MESH__ENV_SOURCE);
}

const char *
mesh_event_detail_type (const mesh_event_t *self)
{
    return s_get_envelope_string (self, MESH__ENV_DETAIL_TYPE);
}

const char *
mesh_event_time (const mesh_event_t *self)
{
    return s_get_envelope_string (self, MESH__ENV_TIME);
}

const char *
mesh_event_account (const mesh_event_t *self)
{
    return s_get_envelope_string (self, MESH__ENV_ACCOUNT);
}

const char *
mesh_event_region (const mesh_event_t *self)
{
    return s_get_envelope_string (self, MESH__ENV_REGION);
}

size_t
mesh_event_resource_count (const mesh_event_t *self)
{
    assert (self);
    return json_array_size (json_object_get (self->root, "resources"));
}

const char *
mesh_event_resource (const mesh_event_t *self, size_t index)
{
    assert (self);
    return json_string_value (json_array_get (json_object_get (self->root, "resources"), index));
}

//  Find path[0..size) under object: an exact key first, then the longest
//  prefix up to a '.' that names an object, recursively, so a key that
//  itself contains dots ("a.b") is found as well as the nesting a -> b.
//  Backtracks when a longer prefix leads nowhere; paths are short.
static json_t *
s_lookup (json_t *object, const char *path, size_t size)
{
    if (!json_is_object (object))
        return NULL;
    json_t *value = json_object_getn (object, path, size);
    if (value)
        return value;
    for (size_t dot = size; dot-- > 0;) {
        if (path [dot] != '.')
            continue;
        json_t *child = json_object_getn (object, path, dot);
        if (json_is_object (child)
        && (value = s_lookup (child, path + dot + 1, size - dot - 1)))
            return value;
    }
    return NULL;
}

//  The value at path; a NULL path is the envelope itself
static json_t *
s_get (const mesh_event_t *self, const char *path)
{
    assert (self);
    return path? s_lookup (self->root, path, strlen (path)): self->root;
}

const char *
mesh_event_get_string (const mesh_event_t *self, const char *path)
{
    return json_string_value (s_get (self, path));
}

int
mesh_event_get_number (const mesh_event_t *self, const char *path, double *value)
{
    json_t *number = s_get (self, path);
    if (!json_is_number (number))
        return -1;
    if (value)
        *value = json_number_value (number);
    return 0;
}

long
mesh_event_get_size (const mesh_event_t *self, const char *path)
{
    json_t *value = s_get (self, path);
    if (json_is_array (value))
        return (long) json_array_size (value);
    if (json_is_object (value))
        return (long) json_object_size (value);
    return -1;
}

char *
mesh_event_get_json (const mesh_event_t *self, const char *path)
{
    json_t *value = s_get (self, path);
    if (!value)
        return NULL;
    return mesh__json_emit (value, value == self->root);
}


//  ---------------------------------------------------------------------
//  UUIDs and time

void
mesh_uuid_v4 (char buffer [37])
{
    uuid_t uuid;
    uuid_generate_random (uuid);
    uuid_unparse_lower (uuid, buffer);
}

void
mesh_time_now (char buffer [32])
{
    time_t now = time (NULL);
    struct tm utc;
    gmtime_r (&now, &utc);
    s_format_utc (&utc, buffer);
}

