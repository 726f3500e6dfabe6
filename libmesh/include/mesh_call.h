/*  mesh_call.h: one request to a broker's API and its reply

    The client side of the API (docs/protocol.md, "The API"): a REQ socket
    connected to the broker's --api endpoint. A request is written as a
    JSON object, {"op": "stats"}, which mesh_call_json completes with the
    protocol's version and sends as MessagePack; the reply comes back as
    JSON text, {"v": 3, "op": "stats", "ok": true, ...}. Whether the broker
    said ok is the caller's to read: a reply that is an error is still a
    reply.

        mesh_error_t err;
        mesh_call_t *call = mesh_call_new ("tcp://127.0.0.1:5602", &err);
        char *reply = mesh_call_json (call, "{\"op\":\"ping\"}", 2000, &err);
        ...
        free (reply);
        mesh_call_destroy (&call);

    A call that gets no reply in time returns NULL with MESH_ETIMEDOUT; the
    socket is then ready for another request (the REQ socket is relaxed and
    correlates replies, so a late reply to the first is never taken for
    the second's).
*/
#ifndef MESH_CALL_H_INCLUDED
#define MESH_CALL_H_INCLUDED

#include "mesh_error.h"
#include "mesh_limits.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _mesh_call_t mesh_call_t;

//  Connect to endpoint (nothing is sent yet). NULL with err when the
//  endpoint is not one ZeroMQ can connect to.
mesh_call_t *
    mesh_call_new (const char *endpoint, mesh_error_t *err);

void
    mesh_call_destroy (mesh_call_t **self_p);

//  Send request (the text of a JSON object; "v" is added when missing) and
//  wait up to timeout_ms for the reply. Returns the reply as JSON text
//  (caller frees), or NULL with err: MESH_EINVAL when request is not a
//  JSON object, MESH_ETIMEDOUT when no reply came, MESH_EMALFORMED when
//  what came is not a reply.
char *
    mesh_call_json (mesh_call_t *self, const char *request, int timeout_ms, mesh_error_t *err);

//  The same exchange, for a reader of MessagePack: the reply's bytes as
//  they came, unchecked (caller frees; *size set), or NULL with err as
//  mesh_call_json says, or MESH_ETOOBIG past MESH_CALL_REPLY_MAX.
void *
    mesh_call_packed (mesh_call_t *self, const char *request, int timeout_ms, size_t *size, mesh_error_t *err);

//  The largest reply mesh_call_json reads, and the broker sends (8 MiB).
#define MESH_CALL_REPLY_MAX (8u << 20)

//  The limits a reply is converted with, both ways: MESH_CALL_REPLY_MAX,
//  and the deepest nesting an event may have.
void
    mesh_call_reply_limits (mesh_limits_t *limits);

#ifdef __cplusplus
}
#endif

#endif
