/*  mesh_event.c: the event envelope and its two encodings, JSON and MessagePack

    An event is held as a jansson object (jansson keeps keys in insertion
    order); it is encoded with the EventBridge key order (version, id,
    detail-type, source, account, time, region, resources, detail, then any
    other key in its own order), as MessagePack with msgpack-c's packer and as
    JSON text with the small emitter below. MessagePack is read with the
    in-place reader of mesh_mp.c, never with msgpack-c's unpacker, which caps
    nesting at 32 levels and builds a tree per message.

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

    Fidelity: integers stay integers and floats stay floats both ways (a JSON
    `300.0` is packed as float64 and printed back as `300.0`). An integer must
    fit int64, as EventBridge requires: a MessagePack uint64 above INT64_MAX is
    refused with MESH_EINVAL ("integer out of range"), by the decoders and by
    mesh_event_check alike, so that whatever the broker accepts every client
    can decode. MessagePack bin and ext values have no JSON form and are
    refused. NaN and infinities cannot come from JSON; from MessagePack they
    become JSON null.

    Depth: the top-level value is level 1 and the children of a container at
    level n are at level n + 1; a container (array or map) deeper than
    limits->max_depth is refused with MESH_EDEPTH. Scalars do not add a level.
    Size: the limit applies to the MessagePack encoding (the wire size), so an
    event that decodes from JSON within the limits also passes the broker.
*/
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <msgpack.h>
#include <uuid/uuid.h>
#include "mesh_private.h"

struct _mesh_event_t {
    json_t *root;               //  object; keys in insertion order
};

//  ---------------------------------------------------------------------
//  The envelope's keys, in EventBridge's order

enum {
    S_VERSION, S_ID, S_DETAIL_TYPE, S_SOURCE, S_ACCOUNT, S_TIME, S_REGION,
    S_RESOURCES, S_DETAIL, S_ENVELOPE_KEYS
};

static const struct {
    const char *name;
    size_t size;
} s_envelope [S_ENVELOPE_KEYS] = {
    { "version", 7 }, { "id", 2 }, { "detail-type", 11 }, { "source", 6 },
    { "account", 7 }, { "time", 4 }, { "region", 6 }, { "resources", 9 },
    { "detail", 6 }
};

//  Index of an envelope key, or -1 for any other key
static int
s_envelope_index (const char *key, size_t size)
{
    for (int index = 0; index < S_ENVELOPE_KEYS; index++)
        if (s_envelope [index].size == size && s_envelope [index].name [0] == key [0]
        &&  memcmp (s_envelope [index].name, key, size) == 0)
            return index;
    return -1;
}

//  The limits to apply: defaults for NULL, and a depth clamped to
//  [1, MESH_MAX_DEPTH_LIMIT] because the walkers recurse once per level.
static mesh_limits_t
s_limits (const mesh_limits_t *limits)
{
    mesh_limits_t result;
    if (limits)
        result = *limits;
    else
        mesh_limits_init (&result);
    if (result.max_depth > MESH_MAX_DEPTH_LIMIT)
        result.max_depth = MESH_MAX_DEPTH_LIMIT;
    if (result.max_depth < 1)
        result.max_depth = 1;
    return result;
}

//  ---------------------------------------------------------------------
//  JSON text emitter
//
//  A serializer only: parsing is jansson's. It is hand-written because
//  jansson's json_dumps prints doubles with %.17g, so 0.1 becomes
//  0.10000000000000001 and 242.58 becomes 242.58000000000001 in every log
//  line and every JSON a user sees. Here a float is printed in the shortest
//  of %.15g, %.16g and %.17g that reads back to the same double, and always
//  with a '.' or an exponent so that it stays a float when read back.

typedef struct {
    char *data;
    size_t size;
    size_t capacity;
    bool failed;                //  an allocation failed; data is unusable
} s_text_t;

static bool
s_text_reserve (s_text_t *self, size_t more)
{
    if (self->failed)
        return false;
    if (more <= self->capacity - self->size)
        return true;
    size_t capacity = self->capacity? self->capacity: 256;
    while (capacity - self->size < more) {
        if (capacity > SIZE_MAX / 2) {
            self->failed = true;
            return false;
        }
        capacity *= 2;
    }
    char *data = realloc (self->data, capacity);
    if (!data) {
        self->failed = true;
        return false;
    }
    self->data = data;
    self->capacity = capacity;
    return true;
}

static void
s_text_put (s_text_t *self, const char *bytes, size_t size)
{
    if (size && s_text_reserve (self, size)) {
        memcpy (self->data + self->size, bytes, size);
        self->size += size;
    }
}

static void
s_text_putc (s_text_t *self, char c)
{
    if (s_text_reserve (self, 1))
        self->data [self->size++] = c;
}

//  NUL-terminate and hand the text over, or NULL if an allocation failed
static char *
s_text_finish (s_text_t *self)
{
    s_text_putc (self, '\0');
    if (self->failed) {
        free (self->data);
        return NULL;
    }
    return self->data;
}

//  A JSON string: '"' and '\' escaped, control characters as \n-style
//  escapes where JSON has one and \u00XX otherwise (as jansson, Python and
//  JavaScript print them), every other byte (UTF-8 included) as is.
static void
s_text_string (s_text_t *self, const char *str, size_t size)
{
    s_text_putc (self, '"');
    size_t run = 0;                     //  start of the bytes not yet copied
    for (size_t index = 0; index < size; index++) {
        unsigned char c = (unsigned char) str [index];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        s_text_put (self, str + run, index - run);
        run = index + 1;
        char escape [8];
        switch (c) {
            case '"':  s_text_put (self, "\\\"", 2); break;
            case '\\': s_text_put (self, "\\\\", 2); break;
            case '\b': s_text_put (self, "\\b", 2); break;
            case '\f': s_text_put (self, "\\f", 2); break;
            case '\n': s_text_put (self, "\\n", 2); break;
            case '\r': s_text_put (self, "\\r", 2); break;
            case '\t': s_text_put (self, "\\t", 2); break;
            default:
                snprintf (escape, sizeof (escape), "\\u%04x", c);
                s_text_put (self, escape, 6);
        }
    }
    s_text_put (self, str + run, size - run);
    s_text_putc (self, '"');
}

static void
s_text_int (s_text_t *self, int64_t value)
{
    char buffer [24];
    int size = snprintf (buffer, sizeof (buffer), "%" PRId64, value);
    s_text_put (self, buffer, (size_t) size);
}

static void
s_text_double (s_text_t *self, double value)
{
    if (!isfinite (value)) {            //  only from MessagePack
        s_text_put (self, "null", 4);
        return;
    }
    char buffer [40];
    for (int precision = 15; precision <= 17; precision++) {
        snprintf (buffer, sizeof (buffer), "%.*g", precision, value);
        if (precision == 17 || strtod (buffer, NULL) == value)
            break;
    }
    //  A locale may print the decimal point as ','; JSON wants '.'
    bool is_float = false;
    for (char *c = buffer; *c; c++) {
        if (*c != '-' && *c != '+' && (*c < '0' || *c > '9') && *c != 'e')
            *c = '.';
        if (*c == '.' || *c == 'e')
            is_float = true;
    }
    s_text_put (self, buffer, strlen (buffer));
    if (!is_float)
        s_text_put (self, ".0", 2);     //  300.0 stays a float: "300.0"
}

//  Emit any jansson value. Objects keep their key order, except the envelope
//  root (envelope true), whose known keys come first in EventBridge's order.
static void
s_emit_json (s_text_t *text, const json_t *value, bool envelope)
{
    switch (json_typeof (value)) {
        case JSON_OBJECT: {
            json_t *object = (json_t *) value;      //  iterators are not const
            bool first = true;
            s_text_putc (text, '{');
            if (envelope)
                for (int index = 0; index < S_ENVELOPE_KEYS; index++) {
                    json_t *member = json_object_get (object, s_envelope [index].name);
                    if (!member)
                        continue;
                    if (!first)
                        s_text_putc (text, ',');
                    first = false;
                    s_text_string (text, s_envelope [index].name, s_envelope [index].size);
                    s_text_putc (text, ':');
                    s_emit_json (text, member, false);
                }
            for (void *it = json_object_iter (object); it;
                 it = json_object_iter_next (object, it)) {
                const char *key = json_object_iter_key (it);
                size_t key_size = json_object_iter_key_len (it);
                if (envelope && s_envelope_index (key, key_size) >= 0)
                    continue;
                if (!first)
                    s_text_putc (text, ',');
                first = false;
                s_text_string (text, key, key_size);
                s_text_putc (text, ':');
                s_emit_json (text, json_object_iter_value (it), false);
            }
            s_text_putc (text, '}');
            break;
        }
        case JSON_ARRAY:
            s_text_putc (text, '[');
            for (size_t index = 0; index < json_array_size (value); index++) {
                if (index)
                    s_text_putc (text, ',');
                s_emit_json (text, json_array_get (value, index), false);
            }
            s_text_putc (text, ']');
            break;
        case JSON_STRING:
            s_text_string (text, json_string_value (value), json_string_length (value));
            break;
        case JSON_INTEGER:
            s_text_int (text, json_integer_value (value));
            break;
        case JSON_REAL:
            s_text_double (text, json_real_value (value));
            break;
        case JSON_TRUE:
            s_text_put (text, "true", 4);
            break;
        case JSON_FALSE:
            s_text_put (text, "false", 5);
            break;
        case JSON_NULL:
            s_text_put (text, "null", 4);
            break;
    }
}


//  ---------------------------------------------------------------------
//  JSON in (jansson) and MessagePack out (msgpack-c's packer)

const char *
mesh__json_type_name (const json_t *value)
{
    switch (json_typeof (value)) {
        case JSON_OBJECT:  return "object";
        case JSON_ARRAY:   return "array";
        case JSON_STRING:  return "string";
        case JSON_INTEGER:
        case JSON_REAL:    return "number";
        case JSON_TRUE:
        case JSON_FALSE:   return "boolean";
        default:           return "null";
    }
}

//  Parse any JSON value with jansson; NULL with err filled on failure:
//  MESH_EDEPTH past jansson's own nesting limit (2048), MESH_ENOMEM, and
//  MESH_EMALFORMED with jansson's line, column and reason otherwise
//  (bad syntax, invalid UTF-8, integers that do not fit int64).
static json_t *
s_json_parse (const char *text, size_t size, mesh_error_t *err)
{
    if (!text) {
        mesh_error_set (err, MESH_EINVAL, "json: text is NULL");
        return NULL;
    }
    json_error_t error;
    json_t *value = json_loadb (text, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    if (!value) {
        enum json_error_code code = json_error_code (&error);
        mesh_error_set (err,
            code == json_error_stack_overflow? MESH_EDEPTH:
            code == json_error_out_of_memory? MESH_ENOMEM: MESH_EMALFORMED,
            "json: line %d column %d: %s", error.line, error.column, error.text);
    }
    return value;
}

typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer packer;
    int max_depth;
    size_t max_size;
    mesh_error_t *err;
} s_pack_t;

static void
s_pack_init (s_pack_t *self, const mesh_limits_t *limits, mesh_error_t *err)
{
    msgpack_sbuffer_init (&self->buffer);
    msgpack_packer_init (&self->packer, &self->buffer, msgpack_sbuffer_write);
    self->max_depth = limits->max_depth;
    self->max_size = limits->max_event_size;
    self->err = err;
}

static int
s_pack_oom (s_pack_t *self)
{
    return mesh_error_set (self->err, MESH_ENOMEM, "json: out of memory");
}

//  Checked as the buffer grows, so a huge input stops early
static int
s_pack_check_size (s_pack_t *self)
{
    if (self->buffer.size > self->max_size)
        return mesh_error_set (self->err, MESH_ETOOBIG,
            "json: encoded size over the limit of %zu bytes: at least %zu bytes",
            self->max_size, self->buffer.size);
    return 0;
}

static int
s_pack_json (s_pack_t *self, const json_t *value, int level, bool envelope);

static int
s_pack_member (s_pack_t *self, const char *key, size_t key_size,
               const json_t *value, int level)
{
    if (msgpack_pack_str (&self->packer, key_size)
    ||  msgpack_pack_str_body (&self->packer, key, key_size))
        return s_pack_oom (self);
    return s_pack_json (self, value, level, false);
}

//  Pack one jansson value at nesting level `level`. Integers keep msgpack-c's
//  smallest integer form; reals are always float64, so 300.0 stays a float.
static int
s_pack_json (s_pack_t *self, const json_t *value, int level, bool envelope)
{
    msgpack_packer *pk = &self->packer;
    int rc = 0;
    switch (json_typeof (value)) {
        case JSON_OBJECT: {
            if (level > self->max_depth)
                return mesh_error_set (self->err, MESH_EDEPTH,
                    "json: nested deeper than the limit of %d levels", self->max_depth);
            json_t *object = (json_t *) value;
            if (msgpack_pack_map (pk, json_object_size (object)))
                return s_pack_oom (self);
            if (envelope)
                for (int index = 0; index < S_ENVELOPE_KEYS; index++) {
                    json_t *member = json_object_get (object, s_envelope [index].name);
                    if (member
                    && (rc = s_pack_member (self, s_envelope [index].name,
                                            s_envelope [index].size, member, level + 1)))
                        return rc;
                }
            for (void *it = json_object_iter (object); it;
                 it = json_object_iter_next (object, it)) {
                const char *key = json_object_iter_key (it);
                size_t key_size = json_object_iter_key_len (it);
                if (envelope && s_envelope_index (key, key_size) >= 0)
                    continue;
                if ((rc = s_pack_member (self, key, key_size,
                                         json_object_iter_value (it), level + 1)))
                    return rc;
            }
            return s_pack_check_size (self);
        }
        case JSON_ARRAY:
            if (level > self->max_depth)
                return mesh_error_set (self->err, MESH_EDEPTH,
                    "json: nested deeper than the limit of %d levels", self->max_depth);
            if (msgpack_pack_array (pk, json_array_size (value)))
                return s_pack_oom (self);
            for (size_t index = 0; index < json_array_size (value); index++)
                if ((rc = s_pack_json (self, json_array_get (value, index), level + 1, false)))
                    return rc;
            return s_pack_check_size (self);
        case JSON_STRING:
            rc = msgpack_pack_str (pk, json_string_length (value))
              || msgpack_pack_str_body (pk, json_string_value (value),
                                        json_string_length (value));
            if (rc)
                return s_pack_oom (self);
            return s_pack_check_size (self);
        case JSON_INTEGER:
            rc = msgpack_pack_int64 (pk, json_integer_value (value));
            break;
        case JSON_REAL:
            rc = msgpack_pack_double (pk, json_real_value (value));
            break;
        case JSON_TRUE:
            rc = msgpack_pack_true (pk);
            break;
        case JSON_FALSE:
            rc = msgpack_pack_false (pk);
            break;
        case JSON_NULL:
            rc = msgpack_pack_nil (pk);
            break;
    }
    return rc? s_pack_oom (self): 0;
}

//  Pack value and hand the buffer to the caller (data_p, size_p), or free it
//  and return the error.
static int
s_pack_to (const json_t *value, bool envelope, const mesh_limits_t *limits,
           void **data_p, size_t *size_p, mesh_error_t *err)
{
    s_pack_t pack;
    s_pack_init (&pack, limits, err);
    int rc = s_pack_json (&pack, value, 1, envelope);
    if (rc == 0)
        rc = s_pack_check_size (&pack);
    if (rc) {
        msgpack_sbuffer_destroy (&pack.buffer);
        return rc;
    }
    if (data_p) {
        *size_p = pack.buffer.size;
        *data_p = msgpack_sbuffer_release (&pack.buffer);
    }
    else
        msgpack_sbuffer_destroy (&pack.buffer);
    return 0;
}

//  The envelope's known keys must have their types (fields need not be
//  present: the broker's mesh_event_check and fill_defaults see to that).
static int
s_envelope_check_json (const json_t *root, mesh_error_t *err)
{
    for (int index = 0; index < S_ENVELOPE_KEYS; index++) {
        const char *name = s_envelope [index].name;
        json_t *value = json_object_get (root, name);
        if (!value)
            continue;
        if (index == S_DETAIL) {
            if (!json_is_object (value))
                return mesh_error_set (err, MESH_EINVAL,
                    "event: '%s' must be an object, got %s", name, mesh__json_type_name (value));
        }
        else
        if (index == S_RESOURCES) {
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
//  MessagePack in: one recursive walk over the bytes with the mesh__mp
//  reader, shared by mesh_event_check (no output), mesh_event_decode (builds
//  jansson values) and mesh_msgpack_to_json (writes JSON text), so all three
//  apply exactly the same checks.

typedef struct {
    mesh__mp_reader_t reader;
    const uint8_t *start;
    int max_depth;
    mesh_error_t *err;
} s_walk_t;

static void
s_walk_init (s_walk_t *self, const void *data, size_t size, int max_depth,
             mesh_error_t *err)
{
    mesh__mp_reader_init (&self->reader, data, size);
    self->start = self->reader.pos;
    self->max_depth = max_depth;
    self->err = err;
}

static const char *
s_mp_type_name (mesh__mp_type_t type)
{
    switch (type) {
        case MESH_MP_NIL:   return "nil";
        case MESH_MP_BOOL:  return "boolean";
        case MESH_MP_INT:
        case MESH_MP_UINT:  return "integer";
        case MESH_MP_FLOAT: return "float";
        case MESH_MP_STR:   return "string";
        case MESH_MP_BIN:   return "bin";
        case MESH_MP_EXT:   return "ext";
        case MESH_MP_ARRAY: return "array";
        default:            return "map";
    }
}

//  Say why s_walk_next refused the value at `at`: kept out of line (cold) so
//  the checks themselves stay small enough to inline into the walks.
static int __attribute__ ((cold, noinline))
s_walk_refuse (s_walk_t *self, const mesh__mp_value_t *value, const uint8_t *at,
               bool unreadable, int level)
{
    size_t offset = (size_t) (at - self->start);
    if (unreadable) {
        if (at < self->reader.end && *at == 0xc1)
            return mesh_error_set (self->err, MESH_EMALFORMED,
                "msgpack: invalid byte 0xc1 at offset %zu", offset);
        return mesh_error_set (self->err, MESH_EMALFORMED,
            "msgpack: truncated value at offset %zu", offset);
    }
    switch (value->type) {
        case MESH_MP_STR:
            return mesh_error_set (self->err, MESH_EMALFORMED,
                "msgpack: invalid UTF-8 in string at offset %zu", offset);
        case MESH_MP_BIN:
            return mesh_error_set (self->err, MESH_EMALFORMED,
                "msgpack: bin values have no JSON form: bin of %" PRIu32
                " bytes at offset %zu", value->v.s.size, offset);
        case MESH_MP_EXT:
            return mesh_error_set (self->err, MESH_EMALFORMED,
                "msgpack: ext values have no JSON form: ext type %d at offset %zu",
                value->v.s.ext_type, offset);
        case MESH_MP_UINT:
            return mesh_error_set (self->err, MESH_EINVAL,
                "msgpack: integer out of range: %" PRIu64, value->v.u);
        default:
            if (level > self->max_depth)
                return mesh_error_set (self->err, MESH_EDEPTH,
                    "msgpack: nested deeper than the limit of %d levels at offset %zu",
                    self->max_depth, offset);
            return mesh_error_set (self->err, MESH_EMALFORMED,
                "msgpack: truncated %s of %" PRIu32 " elements at offset %zu",
                s_mp_type_name (value->type), value->v.count, offset);
    }
}

//  Read the next value header (at nesting level `level`) and apply the
//  checks every value gets: well-formed and not truncated, strings valid
//  UTF-8, no bin or ext, integers within int64, containers within the depth
//  limit and not claiming more elements than there are bytes left (each
//  element takes at least one), so hostile counts fail at once.
static inline int
s_walk_next (s_walk_t *self, mesh__mp_value_t *value, int level)
{
    const uint8_t *at = self->reader.pos;
    if (mesh__mp_read (&self->reader, value))
        return s_walk_refuse (self, value, at, true, level);
    switch (value->type) {
        case MESH_MP_STR:
            if (!mesh__utf8_valid (value->v.s.ptr, value->v.s.size))
                return s_walk_refuse (self, value, at, false, level);
            break;
        case MESH_MP_BIN:
        case MESH_MP_EXT:
            return s_walk_refuse (self, value, at, false, level);
        case MESH_MP_UINT:
            if (value->v.u > INT64_MAX)
                return s_walk_refuse (self, value, at, false, level);
            break;
        case MESH_MP_ARRAY:
        case MESH_MP_MAP: {
            uint64_t items = value->v.count;
            if (value->type == MESH_MP_MAP)
                items *= 2;
            if (level > self->max_depth
            ||  items > (uint64_t) (self->reader.end - self->reader.pos))
                return s_walk_refuse (self, value, at, false, level);
            break;
        }
        default:
            break;
    }
    return 0;
}

static int __attribute__ ((cold, noinline))
s_walk_bad_key (s_walk_t *self, const mesh__mp_value_t *key, const uint8_t *at)
{
    return mesh_error_set (self->err, MESH_EMALFORMED,
        "msgpack: map key is not a string: %s at offset %zu",
        s_mp_type_name (key->type), (size_t) (at - self->start));
}

//  Check everything inside the container whose header s_walk_next just
//  read, producing nothing: the broker's hot path, so it only loops and
//  recurses into containers.
static int
s_walk_check (s_walk_t *self, const mesh__mp_value_t *value, int level)
{
    bool map = value->type == MESH_MP_MAP;
    uint64_t items = map? 2 * (uint64_t) value->v.count: value->v.count;
    for (uint64_t index = 0; index < items; index++) {
        mesh__mp_value_t item;
        const uint8_t *at = self->reader.pos;
        int rc = s_walk_next (self, &item, level + 1);
        if (rc)
            return rc;
        if (map && (index & 1) == 0 && item.type != MESH_MP_STR)
            return s_walk_bad_key (self, &item, at);
        if ((item.type == MESH_MP_ARRAY || item.type == MESH_MP_MAP)
        &&  (rc = s_walk_check (self, &item, level + 1)))
            return rc;
    }
    return 0;
}

static int
s_walk_oom (s_walk_t *self)
{
    return mesh_error_set (self->err, MESH_ENOMEM, "msgpack: out of memory");
}

//  Walk the value whose header s_walk_next just read: step over it, checking
//  every value inside, and build it as a jansson value into *json (if json is
//  not NULL) or write it as JSON text into text (if not NULL).
static int
s_walk_value (s_walk_t *self, const mesh__mp_value_t *value, int level,
              json_t **json, s_text_t *text)
{
    if (!json && !text)
        return value->type == MESH_MP_ARRAY || value->type == MESH_MP_MAP?
               s_walk_check (self, value, level): 0;
    json_t *built = NULL;
    int rc = 0;
    switch (value->type) {
        case MESH_MP_ARRAY: {
            if (json && !(built = json_array ()))
                return s_walk_oom (self);
            if (text)
                s_text_putc (text, '[');
            for (uint32_t index = 0; index < value->v.count; index++) {
                mesh__mp_value_t item;
                json_t *child = NULL;
                if ((rc = s_walk_next (self, &item, level + 1))
                ||  (rc = s_walk_value (self, &item, level + 1, json? &child: NULL, text)))
                    goto fail;
                if (text && index + 1 < value->v.count)
                    s_text_putc (text, ',');
                if (built && json_array_append_new (built, child)) {
                    rc = s_walk_oom (self);
                    goto fail;
                }
            }
            if (text)
                s_text_putc (text, ']');
            break;
        }
        case MESH_MP_MAP: {
            if (json && !(built = json_object ()))
                return s_walk_oom (self);
            if (text)
                s_text_putc (text, '{');
            for (uint32_t index = 0; index < value->v.count; index++) {
                mesh__mp_value_t key, item;
                json_t *child = NULL;
                const uint8_t *at = self->reader.pos;
                if ((rc = s_walk_next (self, &key, level + 1)))
                    goto fail;
                if (key.type != MESH_MP_STR) {
                    rc = s_walk_bad_key (self, &key, at);
                    goto fail;
                }
                if (text) {
                    s_text_string (text, key.v.s.ptr, key.v.s.size);
                    s_text_putc (text, ':');
                }
                if ((rc = s_walk_next (self, &item, level + 1))
                ||  (rc = s_walk_value (self, &item, level + 1, json? &child: NULL, text)))
                    goto fail;
                if (text && index + 1 < value->v.count)
                    s_text_putc (text, ',');
                if (built && json_object_setn_new_nocheck (built, key.v.s.ptr,
                                                           key.v.s.size, child)) {
                    rc = s_walk_oom (self);
                    goto fail;
                }
            }
            if (text)
                s_text_putc (text, '}');
            break;
        }
        case MESH_MP_NIL:
            if (json)
                built = json_null ();
            if (text)
                s_text_put (text, "null", 4);
            break;
        case MESH_MP_BOOL:
            if (json)
                built = json_boolean (value->v.b);
            if (text)
                s_text_put (text, value->v.b? "true": "false", value->v.b? 4: 5);
            break;
        case MESH_MP_INT:
        case MESH_MP_UINT: {
            //  s_walk_next refused a uint above INT64_MAX
            int64_t number = value->type == MESH_MP_INT? value->v.i: (int64_t) value->v.u;
            if (json && !(built = json_integer (number)))
                return s_walk_oom (self);
            if (text)
                s_text_int (text, number);
            break;
        }
        case MESH_MP_FLOAT:
            //  jansson holds no NaN or infinity: they become null, as in text
            if (json && !(built = isfinite (value->v.f)? json_real (value->v.f): json_null ()))
                return s_walk_oom (self);
            if (text)
                s_text_double (text, value->v.f);
            break;
        case MESH_MP_STR:
            if (json && !(built = json_stringn_nocheck (value->v.s.ptr, value->v.s.size)))
                return s_walk_oom (self);
            if (text)
                s_text_string (text, value->v.s.ptr, value->v.s.size);
            break;
        default:                //  bin and ext: s_walk_next refused them
            assert (false);
            break;
    }
    if (json)
        *json = built;
    return 0;
fail:
    json_decref (built);
    return rc;
}

//  Walk a whole buffer: exactly one value (a map if must_be_map), then
//  nothing. Output as for s_walk_value.
static int
s_walk_all (const void *data, size_t size, const mesh_limits_t *limits,
            bool must_be_map, json_t **json, s_text_t *text, mesh_error_t *err)
{
    if (!data && size)
        return mesh_error_set (err, MESH_EINVAL, "msgpack: data is NULL");
    if (size > limits->max_event_size)
        return mesh_error_set (err, MESH_ETOOBIG,
            "msgpack: size over the limit of %zu bytes: %zu bytes",
            limits->max_event_size, size);
    s_walk_t walk;
    s_walk_init (&walk, data, size, limits->max_depth, err);
    mesh__mp_value_t value;
    int rc = s_walk_next (&walk, &value, 1);
    if (rc)
        return rc;
    if (must_be_map && value.type != MESH_MP_MAP)
        return mesh_error_set (err, MESH_EMALFORMED,
            "msgpack: event is not a map, got %s", s_mp_type_name (value.type));
    if ((rc = s_walk_value (&walk, &value, 1, json, text)))
        return rc;
    if (walk.reader.pos != walk.reader.end) {
        if (json) {
            json_decref (*json);
            *json = NULL;
        }
        return mesh_error_set (err, MESH_EMALFORMED,
            "msgpack: trailing bytes after the value: %zu bytes at offset %zu",
            (size_t) (walk.reader.end - walk.reader.pos),
            (size_t) (walk.reader.pos - walk.start));
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
    mesh_limits_t checked = s_limits (limits);
    json_t *root = s_json_parse (text, size, err);
    if (!root)
        return NULL;
    if (!json_is_object (root)) {
        mesh_error_set (err, MESH_EMALFORMED,
            "json: event is not an object, got %s", mesh__json_type_name (root));
        json_decref (root);
        return NULL;
    }
    if (s_envelope_check_json (root, err)
    ||  s_pack_to (root, true, &checked, NULL, NULL, err)) {
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
    mesh_limits_t checked = s_limits (limits);
    json_t *root = NULL;
    if (s_walk_all (data, size, &checked, true, &root, NULL, err))
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
    mesh_limits_t unlimited = { SIZE_MAX, MESH_MAX_DEPTH_LIMIT };
    int rc = s_pack_to (self->root, true, &unlimited, data_p, size_p, err);
    return rc? -1: 0;
}

char *
mesh_event_to_json (const mesh_event_t *self)
{
    assert (self);
    s_text_t text = { 0 };
    s_emit_json (&text, self->root, true);
    return s_text_finish (&text);
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
    json_t *string = s_string_arg (s_envelope [index].name, value, err);
    if (!string)
        return -1;
    return s_set_value (self, s_envelope [index].name, string, err)? -1: 0;
}

int
mesh_event_set_source (mesh_event_t *self, const char *source, mesh_error_t *err)
{
    return s_set_string (self, S_SOURCE, source, err);
}

int
mesh_event_set_detail_type (mesh_event_t *self, const char *detail_type, mesh_error_t *err)
{
    return s_set_string (self, S_DETAIL_TYPE, detail_type, err);
}

int
mesh_event_set_id (mesh_event_t *self, const char *id, mesh_error_t *err)
{
    return s_set_string (self, S_ID, id, err);
}

int
mesh_event_set_account (mesh_event_t *self, const char *account, mesh_error_t *err)
{
    return s_set_string (self, S_ACCOUNT, account, err);
}

int
mesh_event_set_region (mesh_event_t *self, const char *region, mesh_error_t *err)
{
    return s_set_string (self, S_REGION, region, err);
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
    return s_set_string (self, S_TIME, buffer, err);
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
    mesh_limits_t checked = s_limits (limits);
    json_t *detail = s_json_parse (json, size, err);
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
    s_pack_t pack;
    s_pack_init (&pack, &checked, err);
    int rc = s_pack_json (&pack, detail, 2, false);
    msgpack_sbuffer_destroy (&pack.buffer);
    if (rc) {
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
    for (int index = 0; index < S_ENVELOPE_KEYS; index++) {
        const char *name = s_envelope [index].name;
        json_t *value = json_incref (json_object_get (self->root, name));
        if (!value) {
            char buffer [40];
            switch (index) {
                case S_VERSION:   value = json_string ("0"); break;
                case S_ACCOUNT:   value = json_string (MESH_DEFAULT_ACCOUNT); break;
                case S_REGION:    value = json_string (MESH_DEFAULT_REGION); break;
                case S_RESOURCES: value = json_array (); break;
                case S_DETAIL:    value = json_object (); break;
                case S_ID:
                    mesh_uuid_v4 (buffer);
                    value = json_string (buffer);
                    break;
                case S_TIME:
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
        if (s_envelope_index (key, key_size) < 0
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
    return json_string_value (json_object_get (self->root, s_envelope [index].name));
}

const char *
mesh_event_id (const mesh_event_t *self)
{
    return s_get_envelope_string (self, S_ID);
}

const char *
mesh_event_source (const mesh_event_t *self)
{
    return s_get_envelope_string (self, S_SOURCE);
}

const char *
mesh_event_detail_type (const mesh_event_t *self)
{
    return s_get_envelope_string (self, S_DETAIL_TYPE);
}

const char *
mesh_event_time (const mesh_event_t *self)
{
    return s_get_envelope_string (self, S_TIME);
}

const char *
mesh_event_account (const mesh_event_t *self)
{
    return s_get_envelope_string (self, S_ACCOUNT);
}

const char *
mesh_event_region (const mesh_event_t *self)
{
    return s_get_envelope_string (self, S_REGION);
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
    s_text_t text = { 0 };
    s_emit_json (&text, value, value == self->root);
    return s_text_finish (&text);
}


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
    mesh_limits_t checked = s_limits (limits);
    if (!data && size)
        return mesh_error_set (err, MESH_EINVAL, "event: data is NULL");
    if (size > checked.max_event_size)
        return mesh_error_set (err, MESH_ETOOBIG,
            "event: size over the limit of %zu bytes: %zu bytes",
            checked.max_event_size, size);
    s_walk_t walk;
    s_walk_init (&walk, data, size, checked.max_depth, err);
    mesh__mp_value_t map;
    if (s_walk_next (&walk, &map, 1))
        return -1;
    if (map.type != MESH_MP_MAP)
        return mesh_error_set (err, MESH_EMALFORMED,
            "event: not a map, got %s", s_mp_type_name (map.type));

    mesh_envelope_view_t found = { 0 };
    unsigned seen = 0;
    for (uint32_t pair = 0; pair < map.v.count; pair++) {
        mesh__mp_value_t key, value;
        const uint8_t *at = walk.reader.pos;
        if (s_walk_next (&walk, &key, 2))
            return -1;
        if (key.type != MESH_MP_STR)
            return s_walk_bad_key (&walk, &key, at);
        if (s_walk_next (&walk, &value, 2))
            return -1;
        int index = s_envelope_index (key.v.s.ptr, key.v.s.size);
        if (index < 0) {
            if ((value.type == MESH_MP_ARRAY || value.type == MESH_MP_MAP)
            &&  s_walk_check (&walk, &value, 2))
                return -1;
            continue;
        }
        const char *name = s_envelope [index].name;
        if (seen & (1u << index))
            return mesh_error_set (err, MESH_EINVAL,
                "event: duplicate key '%s'", name);
        seen |= 1u << index;
        if (index == S_DETAIL) {
            if (value.type != MESH_MP_MAP)
                return mesh_error_set (err, MESH_EINVAL,
                    "event: '%s' must be a map, got %s",
                    name, s_mp_type_name (value.type));
            if (s_walk_check (&walk, &value, 2))
                return -1;
        }
        else
        if (index == S_RESOURCES) {
            if (value.type != MESH_MP_ARRAY)
                return mesh_error_set (err, MESH_EINVAL,
                    "event: '%s' must be an array of strings, got %s",
                    name, s_mp_type_name (value.type));
            for (uint32_t item = 0; item < value.v.count; item++) {
                mesh__mp_value_t resource;
                if (s_walk_next (&walk, &resource, 3))
                    return -1;
                if (resource.type != MESH_MP_STR)
                    return mesh_error_set (err, MESH_EINVAL,
                        "event: '%s' must be an array of strings, got %s at index %" PRIu32,
                        name, s_mp_type_name (resource.type), item);
            }
        }
        else {
            if (value.type != MESH_MP_STR)
                return mesh_error_set (err, MESH_EINVAL,
                    "event: '%s' must be a string, got %s",
                    name, s_mp_type_name (value.type));
            if (index == S_ID) {
                found.id = value.v.s.ptr;
                found.id_size = value.v.s.size;
            }
            else
            if (index == S_SOURCE) {
                found.source = value.v.s.ptr;
                found.source_size = value.v.s.size;
            }
            else
            if (index == S_DETAIL_TYPE) {
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
        S_VERSION, S_ID, S_DETAIL_TYPE, S_SOURCE, S_TIME, S_DETAIL
    };
    for (size_t index = 0; index < sizeof (required) / sizeof (required [0]); index++)
        if (!(seen & (1u << required [index])))
            return mesh_error_set (err, MESH_EINVAL, "event: missing '%s'",
                                   s_envelope [required [index]].name);
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
//  Any JSON value to MessagePack and back

int
mesh_json_to_msgpack (const char *text, size_t size, const mesh_limits_t *limits,
                      void **data_p, size_t *size_p, mesh_error_t *err)
{
    assert (data_p && size_p);
    mesh_limits_t checked = s_limits (limits);
    json_t *value = s_json_parse (text, size, err);
    if (!value)
        return -1;
    int rc = s_pack_to (value, false, &checked, data_p, size_p, err);
    json_decref (value);
    return rc? -1: 0;
}

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
    json_t *value = s_json_parse (text, size, &parse_err);
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

char *
mesh_msgpack_to_json (const void *data, size_t size, const mesh_limits_t *limits,
                      mesh_error_t *err)
{
    mesh_limits_t checked = s_limits (limits);
    s_text_t text = { 0 };
    if (s_walk_all (data, size, &checked, false, NULL, &text, err)) {
        free (text.data);
        return NULL;
    }
    char *result = s_text_finish (&text);
    if (!result)
        mesh_error_set (err, MESH_ENOMEM, "msgpack: out of memory");
    return result;
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
