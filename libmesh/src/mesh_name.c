/*  mesh_name.c: the alphabet of bus, rule and target names (mesh_name.h)

    ASCII only, tested byte by byte without the locale: isalnum would
    accept more under some locales, and a name is an identifier on the
    wire, not text.
*/
#include "mesh_private.h"
#include "mesh_name.h"

static bool
s_valid (const char *name, size_t size, size_t max, const char *extra)
{
    if (!name || size == 0 || size > max)
        return false;
    for (size_t i = 0; i < size; i++) {
        char c = name [i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
               || (c && strchr (extra, c));
        if (!ok)
            return false;
    }
    return true;
}

bool
mesh_name_valid (const char *name)
{
    return s_valid (name, name? strlen (name): 0, MESH_NAME_MAX, "._-");
}

bool
mesh_bus_name_valid (const char *name)
{
    return s_valid (name, name? strlen (name): 0, MESH_BUS_NAME_MAX, "._/-");
}

bool
mesh_name_valid_n (const char *name, size_t size)
{
    return s_valid (name, size, MESH_NAME_MAX, "._-");
}

bool
mesh_bus_name_valid_n (const char *name, size_t size)
{
    return s_valid (name, size, MESH_BUS_NAME_MAX, "._/-");
}
