/*  mesh_error.c: the error record

    Every libmesh function that can fail on outside input fills a
    mesh_error_t; this module writes and names them.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "mesh_error.h"

int
mesh_error_set (mesh_error_t *err, int code, const char *format, ...)
{
    if (err) {
        err->code = code;
        va_list args;
        va_start (args, format);
        vsnprintf (err->text, sizeof (err->text), format, args);
        va_end (args);
    }
    return -1;
}

void
mesh_error_clear (mesh_error_t *err)
{
    if (err) {
        err->code = MESH_OK;
        err->text [0] = '\0';
    }
}

const char *
mesh_error_name (int code)
{
    switch (code) {
        case MESH_OK:         return "OK";
        case MESH_EINVAL:     return "EINVAL";
        case MESH_EMALFORMED: return "EMALFORMED";
        case MESH_ETOOBIG:    return "ETOOBIG";
        case MESH_EDEPTH:     return "EDEPTH";
        case MESH_ETIMEDOUT:  return "ETIMEDOUT";
        case MESH_EIO:        return "EIO";
        case MESH_ENOMEM:     return "ENOMEM";
        default:              return "EUNKNOWN";
    }
}
