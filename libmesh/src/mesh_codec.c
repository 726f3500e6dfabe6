/*  mesh_codec.c: JSON <-> MessagePack, with jansson, msgpack-c and mesh_mp

    The codec under the event object and the broker's check: JSON text is
    parsed by jansson and packed by msgpack-c's packer; MessagePack is read
    with the in-place reader of mesh_mp.h, never with msgpack-c's unpacker,
    which caps nesting at 32 levels and builds a tree per message, by one
    walk that checks every value (mesh__walk_next) and builds jansson
    values or writes JSON text; JSON text is written by the small emitter
    below. The pieces are shared through mesh_codec.h.

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

    Usage: mesh_json_to_msgpack and mesh_msgpack_to_json (mesh_json.h) for
    any JSON value; the event object (mesh_event.c) for envelopes.
*/
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <msgpack.h>
#include "mesh_private.h"
#include "mesh_codec.h"
#include "mesh_number.h"

//  ---------------------------------------------------------------------
//  JSON text emitter
//
//  A serializer only: parsing is jansson's. It is hand-written because
//  jansson's json_dumps prints doubles with %.17g, so 0.1 becomes
//  0.10000000000000001 and 242.58 becomes 242.58000000000001 in every log
//  line and every JSON a user sees. Here a float is printed in its shortest
//  decimal (mesh_number.c's, the one the pattern compiler holds a pattern's
//  numbers to), laid out as %.15g would (or %.16g, %.17g when it needs more
//  digits), and always with a '.' or an exponent so that it stays a float
//  when read back.

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
    size_t length = mesh__number_format (value, buffer, sizeof (buffer));
    s_text_put (self, buffer, length);
    if (!memchr (buffer, '.', length) && !memchr (buffer, 'e', length))
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
                for (int index = 0; index < MESH__ENV_KEYS; index++) {
                    json_t *member = json_object_get (object, mesh__envelope [index].name);
                    if (!member)
                        continue;
                    if (!first)
                        s_text_putc (text, ',');
                    first = false;
                    s_text_string (text, mesh__envelope [index].name, mesh__envelope [index].size);
                    s_text_putc (text, ':');
                    s_emit_json (text, member, false);
                }
            for (void *it = json_object_iter (object); it;
                 it = json_object_iter_next (object, it)) {
                const char *key = json_object_iter_key (it);
                size_t key_size = json_object_iter_key_len (it);
                if (envelope && mesh__envelope_index (key, key_size) >= 0)
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

char *
mesh__json_emit (const json_t *value, bool envelope)
{
    s_text_t text = { 0 };
    s_emit_json (&text, value, envelope);
    return s_text_finish (&text);
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
json_t *
mesh__json_parse (const char *text, size_t size, mesh_error_t *err)
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
                for (int index = 0; index < MESH__ENV_KEYS; index++) {
                    json_t *member = json_object_get (object, mesh__envelope [index].name);
                    if (member
                    && (rc = s_pack_member (self, mesh__envelope [index].name,
                                            mesh__envelope [index].size, member, level + 1)))
                        return rc;
                }
            for (void *it = json_object_iter (object); it;
                 it = json_object_iter_next (object, it)) {
                const char *key = json_object_iter_key (it);
                size_t key_size = json_object_iter_key_len (it);
                if (envelope && mesh__envelope_index (key, key_size) >= 0)
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
int
mesh__json_pack (const json_t *value, int level, bool envelope, const mesh_limits_t *limits,
                 void **data_p, size_t *size_p, mesh_error_t *err)
{
    s_pack_t pack;
    s_pack_init (&pack, limits, err);
    int rc = s_pack_json (&pack, value, level, envelope);
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


//  ---------------------------------------------------------------------
//  MessagePack in: one recursive walk over the bytes with the mesh__mp
//  reader, shared by mesh_event_check (no output), mesh_event_decode (builds
//  jansson values) and mesh_msgpack_to_json (writes JSON text), so all three
//  apply exactly the same checks. mesh__walk_next is in mesh_codec.h.

void
mesh__walk_init (mesh__walk_t *self, const void *data, size_t size, int max_depth,
             mesh_error_t *err)
{
    mesh__mp_reader_init (&self->reader, data, size);
    self->start = self->reader.pos;
    self->max_depth = max_depth;
    self->err = err;
}

const char *
mesh__mp_type_name (mesh__mp_type_t type)
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

//  Say why the walk (mesh__walk_next) or the strict skip refused the value
//  at `at`: kept out of line (cold) so the checks themselves stay small
//  enough to inline into the walks.
int __attribute__ ((cold, noinline))
mesh__walk_refuse (mesh__walk_t *self, mesh__mp_why_t why, const mesh__mp_value_t *value,
                   const uint8_t *at)
{
    size_t offset = (size_t) (at - self->start);
    switch (why) {
        case MESH__MP_BAD_BYTES:
            if (at < self->reader.end && *at == 0xc1)
                return mesh_error_set (self->err, MESH_EMALFORMED,
                    "msgpack: invalid byte 0xc1 at offset %zu", offset);
            return mesh_error_set (self->err, MESH_EMALFORMED,
                "msgpack: truncated value at offset %zu", offset);
        case MESH__MP_TOO_DEEP:
            return mesh_error_set (self->err, MESH_EDEPTH,
                "msgpack: nested deeper than the limit of %d levels at offset %zu",
                self->max_depth, offset);
        case MESH__MP_TOO_MANY:
            return mesh_error_set (self->err, MESH_EMALFORMED,
                "msgpack: truncated %s of %" PRIu32 " elements at offset %zu",
                mesh__mp_type_name (value->type), value->v.count, offset);
        case MESH__MP_BAD_KEY:
            return mesh__walk_bad_key (self, value, at);
        default:
            break;
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
        default:                    //  MESH_MP_UINT
            return mesh_error_set (self->err, MESH_EINVAL,
                "msgpack: integer out of range: %" PRIu64, value->v.u);
    }
}

int __attribute__ ((cold, noinline))
mesh__walk_bad_key (mesh__walk_t *self, const mesh__mp_value_t *key, const uint8_t *at)
{
    return mesh_error_set (self->err, MESH_EMALFORMED,
        "msgpack: map key is not a string: %s at offset %zu",
        mesh__mp_type_name (key->type), (size_t) (at - self->start));
}

//  Check everything inside the container whose header mesh__walk_next just
//  read, producing nothing: the broker's hot path, so it is the strict
//  skip, iterative, and the words come only when it refuses.
int
mesh__walk_check (mesh__walk_t *self, const mesh__mp_value_t *value, int level)
{
    bool map = value->type == MESH_MP_MAP;
    uint64_t items = map? 2 * (uint64_t) value->v.count: value->v.count;
    mesh__mp_fail_t fail;
    const uint8_t *after = mesh__mp_skip_values (self->reader.pos, self->reader.end, items, level,
                                                 self->max_depth,
                                                 MESH__MP_STRICT | (map? MESH__MP_IN_MAP: 0), &fail);
    if (!after)
        return mesh__walk_refuse (self, fail.why, &fail.value, fail.at);
    self->reader.pos = after;
    return 0;
}

static int
s_walk_oom (mesh__walk_t *self)
{
    return mesh_error_set (self->err, MESH_ENOMEM, "msgpack: out of memory");
}

//  Walk the value whose header mesh__walk_next just read: step over it, checking
//  every value inside, and build it as a jansson value into *json (if json is
//  not NULL) or write it as JSON text into text (if not NULL).
static int
s_walk_value (mesh__walk_t *self, const mesh__mp_value_t *value, int level,
              json_t **json, s_text_t *text)
{
    if (!json && !text)
        return value->type == MESH_MP_ARRAY || value->type == MESH_MP_MAP?
               mesh__walk_check (self, value, level): 0;
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
                if ((rc = mesh__walk_next (self, &item, level + 1))
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
                if ((rc = mesh__walk_next (self, &key, level + 1)))
                    goto fail;
                if (key.type != MESH_MP_STR) {
                    rc = mesh__walk_bad_key (self, &key, at);
                    goto fail;
                }
                if (text) {
                    s_text_string (text, key.v.s.ptr, key.v.s.size);
                    s_text_putc (text, ':');
                }
                if ((rc = mesh__walk_next (self, &item, level + 1))
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
            //  mesh__walk_next refused a uint above INT64_MAX
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
        default:                //  bin and ext: mesh__walk_next refused them
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
    mesh__walk_t walk;
    mesh__walk_init (&walk, data, size, limits->max_depth, err);
    mesh__mp_value_t value;
    int rc = mesh__walk_next (&walk, &value, 1);
    if (rc)
        return rc;
    if (must_be_map && value.type != MESH_MP_MAP)
        return mesh_error_set (err, MESH_EMALFORMED,
            "msgpack: event is not a map, got %s", mesh__mp_type_name (value.type));
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

int
mesh__msgpack_to_jansson (const void *data, size_t size, const mesh_limits_t *limits,
                          bool must_be_map, json_t **json, mesh_error_t *err)
{
    return s_walk_all (data, size, limits, must_be_map, json, NULL, err);
}


//  ---------------------------------------------------------------------
//  Any JSON value to MessagePack and back (mesh_json.h)

int
mesh_json_to_msgpack (const char *text, size_t size, const mesh_limits_t *limits,
                      void **data_p, size_t *size_p, mesh_error_t *err)
{
    assert (data_p && size_p);
    mesh_limits_t checked = mesh__limits_clamp (limits);
    json_t *value = mesh__json_parse (text, size, err);
    if (!value)
        return -1;
    int rc = mesh__json_pack (value, 1, false, &checked, data_p, size_p, err);
    json_decref (value);
    return rc? -1: 0;
}

char *
mesh_msgpack_to_json (const void *data, size_t size, const mesh_limits_t *limits,
                      mesh_error_t *err)
{
    mesh_limits_t checked = mesh__limits_clamp (limits);
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
