/*  mesh_client.c: what the client programs share beside the publisher and
    the subscriber (mesh_pub.c, mesh_sub.c)  */
#include <stdlib.h>
#include "mesh_private.h"

const char *
mesh_env_endpoint (const char *variable, const char *fallback)
{
    const char *value = getenv (variable);
    return value && *value? value: fallback;
}
