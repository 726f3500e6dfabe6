/*  mesh_codec.h: the codec's pieces, for the event object and the check

    Private to libmesh. mesh_codec.c parses, packs, walks and emits; the
    event object (mesh_event.c) and the broker's check (mesh_event_check.c)
    use these pieces, so every path applies the same checks and writes the
    same bytes. mesh__walk_next is static inline: the broker's check calls
    it for every value of every event.
*/
#ifndef MESH_CODEC_H_INCLUDED
#define MESH_CODEC_H_INCLUDED

#include <jansson.h>
#include "mesh_private.h"
#include "mesh_envelope.h"

//  Parse any JSON value with jansson; NULL with err filled on failure:
//  MESH_EDEPTH past jansson's own nesting limit (2048), MESH_ENOMEM, and
//  MESH_EMALFORMED with jansson's line, column and reason otherwise.
json_t *
    mesh__json_parse (const char *text, size_t size, mesh_error_t *err);

//  Pack value, whose nesting level is level (1 for a whole event), within
//  limits (the envelope's keys first if envelope). Hands the buffer to the
//  caller (data_p, size_p) or, if data_p is NULL, only checks. 0, or -1
//  with err (MESH_EDEPTH, MESH_ETOOBIG, MESH_ENOMEM).
int
    mesh__json_pack (const json_t *value, int level, bool envelope, const mesh_limits_t *limits,
                     void **data_p, size_t *size_p, mesh_error_t *err);

//  Value as compact JSON text (the envelope's keys first if envelope);
//  caller frees; NULL when out of memory.
char *
    mesh__json_emit (const json_t *value, bool envelope);

//  Decode MessagePack bytes (one value, a map if must_be_map, nothing
//  after it) into a jansson value, with every check of mesh__walk_next.
int
    mesh__msgpack_to_jansson (const void *data, size_t size, const mesh_limits_t *limits,
                              bool must_be_map, json_t **json, mesh_error_t *err);


//  ---------------------------------------------------------------------
//  The checking walk over MessagePack

typedef struct {
    mesh__mp_reader_t reader;
    const uint8_t *start;
    int max_depth;
    mesh_error_t *err;
} mesh__walk_t;

void
    mesh__walk_init (mesh__walk_t *self, const void *data, size_t size, int max_depth,
                     mesh_error_t *err);

//  A MessagePack type as users read it: "nil", "integer", "map"...
const char *
    mesh__mp_type_name (mesh__mp_type_t type);

//  Say why the walk or its skip refused value, at `at` (cold: kept out of
//  line so the checks stay small enough to inline). Returns -1.
int
    mesh__walk_refuse (mesh__walk_t *self, mesh__mp_why_t why, const mesh__mp_value_t *value,
                       const uint8_t *at)
    __attribute__ ((cold, noinline));

//  A map key that is not a string, at `at`. Returns -1.
int
    mesh__walk_bad_key (mesh__walk_t *self, const mesh__mp_value_t *key, const uint8_t *at)
    __attribute__ ((cold, noinline));

//  Check everything inside the container whose header mesh__walk_next
//  just read, producing nothing, with the strict skip (mesh_mp.h). 0, or
//  -1 with the walk's err.
int
    mesh__walk_check (mesh__walk_t *self, const mesh__mp_value_t *value, int level);

//  Read the next value header (at nesting level `level`) and apply the
//  checks every value gets, the strict skip's own (mesh__mp_check_value):
//  well-formed and not truncated, strings valid UTF-8, no bin or ext,
//  integers within int64, containers within the depth limit and not
//  claiming more elements than there are bytes left (each element takes at
//  least one), so hostile counts fail at once.
static inline int
mesh__walk_next (mesh__walk_t *self, mesh__mp_value_t *value, int level)
{
    const uint8_t *at = self->reader.pos;
    if (mesh__mp_read (&self->reader, value))
        return mesh__walk_refuse (self, MESH__MP_BAD_BYTES, value, at);
    int why = mesh__mp_check_value (value, self->reader.pos, self->reader.end, level,
                                    self->max_depth);
    return why? mesh__walk_refuse (self, (mesh__mp_why_t) why, value, at): 0;
}

#endif
