/*  mesh_error.h: error codes and the error record

    libmesh never logs and never asserts on input that comes from outside.
    Every function that can fail on such input takes a `mesh_error_t *err`
    (which may be NULL) and fills it with a code and a one-line message of
    the form `<where>: <what is wrong>: <offending value>`.
*/
#ifndef MESH_ERROR_H_INCLUDED
#define MESH_ERROR_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Error codes: 0 is success, every failure is negative (libuv style).
#define MESH_OK            0
#define MESH_EINVAL       -1    //  bad argument, bad pattern, bad config, bad field
#define MESH_EMALFORMED   -2    //  bytes that do not decode (JSON or MessagePack)
#define MESH_ETOOBIG      -3    //  over a size limit
#define MESH_EDEPTH       -4    //  nested deeper than the limit
#define MESH_ETIMEDOUT    -5    //  a peer did not answer in time
#define MESH_EIO          -6    //  a socket or file operation failed
#define MESH_ENOMEM       -7    //  out of memory

#define MESH_ERROR_TEXT_MAX 256

typedef struct {
    int code;                           //  one of MESH_E*, MESH_OK when clear
    char text [MESH_ERROR_TEXT_MAX];    //  one line, no final period
} mesh_error_t;

//  Fill err (if not NULL) with code and a printf-style message. Returns -1,
//  the failure value of every libmesh function that returns int, so that
//  `return mesh_error_set (err, MESH_EINVAL, "...")` reads naturally.
int
    mesh_error_set (mesh_error_t *err, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Clear err (if not NULL) to MESH_OK and an empty text.
void
    mesh_error_clear (mesh_error_t *err);

//  Name of an error code, e.g. "EINVAL"; never NULL.
const char *
    mesh_error_name (int code);

#ifdef __cplusplus
}
#endif

#endif
