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

//  Index of an envelope key, or -1 for any other key: by size first, so
//  that most keys cost one comparison or none.
int
mesh__envelope_index (const char *key, size_t size)
{
    int index;
    switch (size) {
        case 2:  index = MESH__ENV_ID; break;
        case 4:  index = MESH__ENV_TIME; break;
        case 6:
            index = key [0] == 's'? MESH__ENV_SOURCE: key [0] == 'r'? MESH__ENV_REGION: MESH__ENV_DETAIL;
            break;
        case 7:  index = key [0] == 'v'? MESH__ENV_VERSION: MESH__ENV_ACCOUNT; break;
        case 9:  index = MESH__ENV_RESOURCES; break;
        case 11: index = MESH__ENV_DETAIL_TYPE; break;
        default: return -1;
    }
    return memcmp (mesh__envelope [index].name, key, size) == 0? index: -1;
}
