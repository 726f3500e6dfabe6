/*  mesh_envelope.c: the keys of EventBridge's envelope, in its order

    See mesh_envelope.h. The lookup compares sizes and first bytes before
    memcmp: it runs for every key of every event the broker checks.
*/
#include <string.h>
#include "mesh_envelope.h"

const mesh__envelope_key_t mesh__envelope [MESH__ENV_KEYS] = {
    { "version", 7 }, { "id", 2 }, { "detail-type", 11 }, { "source", 6 },
    { "account", 7 }, { "time", 4 }, { "region", 6 }, { "resources", 9 },
    { "detail", 6 }
};

//  Index of an envelope key, or -1 for any other key
int
mesh__envelope_index (const char *key, size_t size)
{
    for (int index = 0; index < MESH__ENV_KEYS; index++)
        if (mesh__envelope [index].size == size && mesh__envelope [index].name [0] == key [0]
        &&  memcmp (mesh__envelope [index].name, key, size) == 0)
            return index;
    return -1;
}

