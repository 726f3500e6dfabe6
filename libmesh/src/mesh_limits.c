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
}
