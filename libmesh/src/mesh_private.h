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
#endif

#include "mesh_mp.h"
#include "mesh_utf8.h"

//  The limits to apply (mesh_limits.c): defaults for NULL, and a depth
//  clamped to [1, MESH_MAX_DEPTH_LIMIT] because the walkers recurse once
//  per level.
mesh_limits_t
    mesh__limits_clamp (const mesh_limits_t *limits);

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
//  "string", "number", "boolean" or "null" (mesh_codec.c).
const char *
    mesh__json_type_name (const json_t *value);

#endif
