/*  mesh_limits.c: the limits of an event, filled with EventBridge's defaults

    Callers keep a mesh_limits_t in their own storage and fill it here, then
    change what they need (mesh_limits.h).
*/
#include "mesh_limits.h"

void
mesh_limits_init (mesh_limits_t *self)
{
    self->max_event_size = MESH_MAX_EVENT_SIZE_DEFAULT;
    self->max_depth = MESH_MAX_DEPTH_DEFAULT;
    self->max_entry_size = MESH_MAX_ENTRY_SIZE_DEFAULT;
    self->allow_reserved_source = 0;
}

//  The limits to apply: defaults for NULL, and a depth clamped to
//  [1, MESH_MAX_DEPTH_LIMIT] because the walkers recurse once per level.
mesh_limits_t
mesh__limits_clamp (const mesh_limits_t *limits)
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
    if (result.max_entry_size == 0)
        result.max_entry_size = MESH_MAX_ENTRY_SIZE_DEFAULT;
    return result;
}

