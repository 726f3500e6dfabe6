/*  mesh_envelope.h: the keys of EventBridge's envelope, in its order

    Private to libmesh. The codecs write an event's keys in this order, the
    event object fills and checks them, and the broker's check looks for
    them in one pass: one table for all three.
*/
#ifndef MESH_ENVELOPE_H_INCLUDED
#define MESH_ENVELOPE_H_INCLUDED

#include <stddef.h>

enum {
    MESH__ENV_VERSION, MESH__ENV_ID, MESH__ENV_DETAIL_TYPE, MESH__ENV_SOURCE, MESH__ENV_ACCOUNT,
    MESH__ENV_TIME, MESH__ENV_REGION, MESH__ENV_RESOURCES, MESH__ENV_DETAIL, MESH__ENV_KEYS
};

typedef struct {
    const char *name;
    size_t size;
} mesh__envelope_key_t;

//  The keys, indexed by MESH__ENV_*.
extern const mesh__envelope_key_t mesh__envelope [MESH__ENV_KEYS];

//  Index of an envelope key of size bytes, or -1 for any other key.
int
    mesh__envelope_index (const char *key, size_t size);

#endif
