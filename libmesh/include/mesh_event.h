/*  mesh_event.h: the event envelope and its two encodings

    An event is EventBridge's envelope: version, id, detail-type, source,
    account, time, region, resources, detail. On the wire it is a MessagePack
    map with exactly those keys (docs/protocol.md); people read and write it
    as JSON. The conversions are lossless: integers stay integers (they must
    fit int64, as in EventBridge; a MessagePack uint64 above INT64_MAX is
    refused), floats stay floats (a JSON `300.0` is a float),
    strings are valid UTF-8, and nesting and size are bounded by mesh_limits_t.

    Build one with mesh_event_new and the setters, or decode one from JSON or
    MessagePack; mesh_event_fill_defaults gives it an id (UUID v4), a time
    (RFC 3339, UTC), version "0" and empty resources where they are missing.
*/
#ifndef MESH_EVENT_H_INCLUDED
#define MESH_EVENT_H_INCLUDED

#include <stdbool.h>
#include "mesh_error.h"
#include "mesh_limits.h"
#include "mesh_json.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _mesh_event_t mesh_event_t;

#define MESH_DEFAULT_ACCOUNT "000000000000"
#define MESH_DEFAULT_REGION  "local"

//  Create an empty event (no field set). Never returns NULL except on ENOMEM.
mesh_event_t *
    mesh_event_new (void);

//  Destroy the event; accepts NULL and nullifies the caller's reference.
void
    mesh_event_destroy (mesh_event_t **self_p);

//  Decode an envelope from JSON text. Returns NULL and fills err on bad input:
//  MESH_EMALFORMED (not JSON, with line and column; not an object; invalid
//  UTF-8), MESH_ETOOBIG, MESH_EDEPTH, or MESH_EINVAL (a known key of the wrong
//  type, e.g. `detail` that is not an object). Unknown top-level keys are kept.
mesh_event_t *
    mesh_event_from_json (const char *text, size_t size,
                          const mesh_limits_t *limits, mesh_error_t *err);

//  Decode an envelope from MessagePack bytes, with the same checks.
mesh_event_t *
    mesh_event_decode (const void *data, size_t size,
                       const mesh_limits_t *limits, mesh_error_t *err);

//  Encode as MessagePack, keys in EventBridge's order. On success *data_p is a
//  malloc'd buffer the caller frees, and *size_p its size. Returns 0 or -1.
int
    mesh_event_encode (const mesh_event_t *self, void **data_p, size_t *size_p,
                       mesh_error_t *err);

//  Render as JSON text (compact, keys in envelope order, floats in their
//  shortest form that reads back to the same double). Caller frees.
char *
    mesh_event_to_json (const mesh_event_t *self);

//  Setters copy their argument. Strings must be valid UTF-8; each returns 0,
//  or -1 with err filled.
int
    mesh_event_set_source (mesh_event_t *self, const char *source, mesh_error_t *err);
int
    mesh_event_set_detail_type (mesh_event_t *self, const char *detail_type, mesh_error_t *err);
int
    mesh_event_set_id (mesh_event_t *self, const char *id, mesh_error_t *err);
//  time: RFC 3339 with any offset; stored normalised to UTC, e.g. 2026-01-02T03:04:05Z
int
    mesh_event_set_time (mesh_event_t *self, const char *time, mesh_error_t *err);
int
    mesh_event_set_account (mesh_event_t *self, const char *account, mesh_error_t *err);
int
    mesh_event_set_region (mesh_event_t *self, const char *region, mesh_error_t *err);
int
    mesh_event_add_resource (mesh_event_t *self, const char *resource, mesh_error_t *err);
//  detail: JSON text that must be an object (MESH_EMALFORMED otherwise, with
//  the message "Detail is malformed"), within the limits.
int
    mesh_event_set_detail_json (mesh_event_t *self, const char *json, size_t size,
                                const mesh_limits_t *limits, mesh_error_t *err);

//  Give the event what EventBridge fills in: version "0", a new UUID v4 id,
//  the current time, MESH_DEFAULT_ACCOUNT, MESH_DEFAULT_REGION, resources []
//  and detail {}: each only where it is missing.
void
    mesh_event_fill_defaults (mesh_event_t *self);

//  Getters return borrowed strings valid until the field is next set, or NULL
//  when the field is absent.
const char *
    mesh_event_id (const mesh_event_t *self);
const char *
    mesh_event_source (const mesh_event_t *self);
const char *
    mesh_event_detail_type (const mesh_event_t *self);
const char *
    mesh_event_time (const mesh_event_t *self);
const char *
    mesh_event_account (const mesh_event_t *self);
const char *
    mesh_event_region (const mesh_event_t *self);
size_t
    mesh_event_resource_count (const mesh_event_t *self);
const char *
    mesh_event_resource (const mesh_event_t *self, size_t index);

//  Look up a value by dotted path from the envelope root, e.g.
//  "detail.total_cost" or "detail.items" (no array indexing).
//  mesh_event_get_string: borrowed string, or NULL if absent or not a string.
//  mesh_event_get_number: 0 and *value set if the value is a number (int or
//  float), else -1. mesh_event_get_size: element count of an array or map at
//  path, or -1 if absent or a scalar. mesh_event_get_json: the value at path as
//  JSON text (caller frees), or NULL if absent.
const char *
    mesh_event_get_string (const mesh_event_t *self, const char *path);
int
    mesh_event_get_number (const mesh_event_t *self, const char *path, double *value);
long
    mesh_event_get_size (const mesh_event_t *self, const char *path);
char *
    mesh_event_get_json (const mesh_event_t *self, const char *path);

//  What mesh_event_check saw of an envelope: borrowed slices of the checked
//  buffer (not NUL-terminated), valid as long as the buffer is.
typedef struct {
    const char *id;             size_t id_size;
    const char *source;         size_t source_size;
    const char *detail_type;    size_t detail_type_size;
} mesh_envelope_view_t;

//  Check MessagePack bytes in place, allocating nothing: one well-formed map
//  and nothing after it; nesting within limits->max_depth; size within
//  limits->max_event_size; map keys are strings; every string is valid UTF-8;
//  no bin or ext values (they have no JSON form); and the envelope's
//  required fields present with their types: version, id, source,
//  detail-type, time (strings), detail (map); account, region (strings) and
//  resources (array of strings) when present. Then EventBridge's limits on
//  what a publisher sends, each refused with its own return value below:
//  the entry's size (the bytes of source, detail-type and each resource,
//  and the detail's encoded bytes standing for its JSON text, which the
//  broker does not have) within limits->max_entry_size; source and
//  detail-type 1 to MESH_SOURCE_MAX and MESH_DETAIL_TYPE_MAX characters;
//  no 'aws.' source unless limits->allow_reserved_source; the id a
//  lowercase UUID v4 and the time 2026-01-02T03:04:05Z's form, as libmesh
//  writes them; and no NaN or infinite float anywhere (JSON cannot write
//  one). Returns 0 and fills view (if not NULL), or with err
//  MESH_EVENT_MALFORMED (-1; err MESH_EMALFORMED, MESH_ETOOBIG, MESH_EDEPTH
//  or MESH_EINVAL for a missing or mistyped envelope field, named in the
//  text) or one of the other MESH_EVENT_* refusals.
#define MESH_EVENT_MALFORMED        -1  //  not an event: bytes, envelope, depth, frame size
#define MESH_EVENT_OVERSIZED_ENTRY  -2  //  over max_entry_size as EventBridge counts it
#define MESH_EVENT_RESERVED_SOURCE  -3  //  an 'aws.' source from a publisher
#define MESH_EVENT_BAD_SOURCE       -4  //  empty, or over MESH_SOURCE_MAX characters
#define MESH_EVENT_BAD_DETAIL_TYPE  -5  //  empty, or over MESH_DETAIL_TYPE_MAX characters
#define MESH_EVENT_BAD_ID           -6  //  not a lowercase UUID v4
#define MESH_EVENT_BAD_TIME         -7  //  not RFC 3339 UTC to the second
#define MESH_EVENT_NON_FINITE       -8  //  a float that is NaN or infinite, anywhere
int
    mesh_event_check (const void *data, size_t size, const mesh_limits_t *limits,
                      mesh_envelope_view_t *view, mesh_error_t *err);

//  Check JSON text the way EventBridge's TestEventPattern checks its Event
//  parameter: one JSON object with the fields id, account, source, time,
//  region and detail-type (of any type; resources is not required).
//  Returns 0, or -1 with err: MESH_EINVAL, the text AWS's message
//  MESH_TEST_PATTERN_EVENT_INVALID followed by what was wrong, e.g.
//  "Parameter Event is not valid. (no 'region' field)".
#define MESH_TEST_PATTERN_EVENT_INVALID "Parameter Event is not valid."
int
    mesh_event_check_test_pattern (const char *text, size_t size, mesh_error_t *err);

//  Generate a UUID v4 as 36 lowercase characters plus NUL into buffer.
void
    mesh_uuid_v4 (char buffer [37]);

//  Write the current time as RFC 3339 UTC in EventBridge's form, to the second
//  (2026-01-02T03:04:05Z), into buffer.
void
    mesh_time_now (char buffer [32]);

#ifdef __cplusplus
}
#endif

#endif
