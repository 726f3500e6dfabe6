/*  mesh_json.h: any JSON value to MessagePack and back

    The conversions the event envelope is built on (mesh_event.h), for any
    value: lossless (integers stay integers and must fit int64, floats stay
    floats, strings are valid UTF-8) and bounded by mesh_limits_t. MessagePack
    bin and ext values have no JSON form and are refused.
*/
#ifndef MESH_JSON_H_INCLUDED
#define MESH_JSON_H_INCLUDED

#include <stddef.h>
#include "mesh_error.h"
#include "mesh_limits.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Convert JSON text (any value, not only envelopes) to MessagePack and back.
//  Same fidelity and limits as above. Output buffers are malloc'd; caller frees.
int
    mesh_json_to_msgpack (const char *text, size_t size, const mesh_limits_t *limits,
                          void **data_p, size_t *size_p, mesh_error_t *err);
char *
    mesh_msgpack_to_json (const void *data, size_t size, const mesh_limits_t *limits,
                          mesh_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
