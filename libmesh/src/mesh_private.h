/*  mesh_private.h: internals shared by libmesh's modules (mesh__ names).
    Not installed, not part of the API.  */
#ifndef MESH_PRIVATE_H_INCLUDED
#define MESH_PRIVATE_H_INCLUDED

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <jansson.h>
#include "mesh.h"
#include "mesh_config.h"

#ifndef streq                   //  czmq's prelude has the same macro
#define streq(a, b) (strcmp ((a), (b)) == 0)
//  The JSON type of a jansson value as users read it: "object", "array",
//  "string", "number", "boolean" or "null" (mesh_event.c).
const char *
    mesh__json_type_name (const json_t *value);

#endif

//  ---------------------------------------------------------------------
//  MessagePack in place (mesh_mp.c)
//
//  A pull reader over a byte buffer that decodes one value header at a time
//  and allocates nothing. It exists because msgpack-c's unpacker builds a
//  whole object tree in a zone for every message (an allocation per event)
//  and cannot skip a value without decoding it; the matcher and the broker
//  need both. Encoding uses msgpack-c's packer.

typedef enum {
    MESH_MP_NIL, MESH_MP_BOOL, MESH_MP_INT, MESH_MP_UINT, MESH_MP_FLOAT,
    MESH_MP_STR, MESH_MP_BIN, MESH_MP_EXT, MESH_MP_ARRAY, MESH_MP_MAP
} mesh__mp_type_t;

typedef struct {
    mesh__mp_type_t type;
    union {
        bool b;                 //  BOOL
        int64_t i;              //  INT: negative integers only (and any int8..int64 < 0)
        uint64_t u;             //  UINT: every integer >= 0, whatever its encoding
        double f;               //  FLOAT: float32 widened, or float64
        struct {                //  STR, BIN, EXT: payload in place
            const char *ptr;
            uint32_t size;
            int8_t ext_type;
        } s;
        uint32_t count;         //  ARRAY: elements; MAP: key/value pairs
    } v;
} mesh__mp_value_t;

typedef struct {
    const uint8_t *pos;
    const uint8_t *end;
} mesh__mp_reader_t;

//  Start reading size bytes at data.
void
    mesh__mp_reader_init (mesh__mp_reader_t *r, const void *data, size_t size);

//  Decode the value at r->pos into v and advance past its header; for STR,
//  BIN and EXT also past the payload. For ARRAY and MAP only the header is
//  consumed: the elements (or key, value, key, value...) follow. Returns 0,
//  or -1 if the bytes are truncated or hold the never-used byte 0xc1.
int
    mesh__mp_read (mesh__mp_reader_t *r, mesh__mp_value_t *v);

//  Skip one whole value, containers included, without recursion. Returns 0,
//  or -1 on truncated or invalid bytes.
int
    mesh__mp_skip (mesh__mp_reader_t *r);

//  True if the size bytes at s are valid UTF-8 (no overlongs, no surrogates,
//  nothing above U+10FFFF).
bool
    mesh__utf8_valid (const char *s, size_t size);

//  ---------------------------------------------------------------------
//  Event patterns: pieces the compiler and the matchers share

//  Fold one code point for equals-ignore-case: its simple lowercase of its
//  simple uppercase, from a Unicode table (mesh_fold.c), the same whatever
//  the locale. Values above U+10FFFF come back unchanged.
uint32_t
    mesh__fold (uint32_t c);

//  Event-ruler's complexity score of the wildcard patterns of one field
//  (mesh_wildcard.c): the most pattern prefixes one input matches at once.
//  Patterns as written (`\*`, `\\`), already valid; equal ones count once.
//  Returns the score if at most limit, a number above limit as soon as it
//  passes it, or -1 when out of memory.
int
    mesh__wildcard_complexity (const char *const *patterns, const size_t *sizes,
                               size_t count, int limit);

//  Reword jansson's JSON syntax error for a pattern (its message and byte
//  position) as Jackson, EventBridge's parser, words it (mesh_jackson.c).
//  Writes the reason and, if line and column are not NULL, where it points
//  (both from 1).
void
    mesh__jackson_reason (const char *text, size_t size, const char *message, size_t position,
                          char *reason, size_t reason_size, int *line, int *column);

//  The JSON type of a jansson value as users read it: "object", "array",
//  "string", "number", "boolean" or "null" (mesh_event.c).
const char *
    mesh__json_type_name (const json_t *value);

#endif
