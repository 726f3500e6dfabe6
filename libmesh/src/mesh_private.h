/*  mesh_private.h: the prelude of every libmesh source file

    Not installed, not part of the API. It includes the public headers and
    the internals that most modules use (mesh_mp.h, mesh_utf8.h), and
    declares the few shared helpers that have no module header of their
    own. Internals of one concept live in that concept's private header
    (mesh_pattern.h, mesh_interp.h, mesh_automaton.h, mesh_codec.h...).
*/
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

//  The JSON type of a jansson value as users read it: "object", "array",
//  "string", "number", "boolean" or "null" (mesh_codec.c).
const char *
    mesh__json_type_name (const json_t *value);

#endif
