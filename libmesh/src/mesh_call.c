/*  mesh_call.c: one request to a broker's API and its reply (mesh_call.h)  */
#include <jansson.h>
#include <zmq.h>
#include "mesh_private.h"

struct _mesh_call_t {
    void *context;
    void *socket;
    char endpoint [256];
};

mesh_call_t *
mesh_call_new (const char *endpoint, mesh_error_t *err)
{
    mesh_call_t *self = (mesh_call_t *) calloc (1, sizeof (mesh_call_t));
    if (!self) {
        mesh_error_set (err, MESH_ENOMEM, "api: out of memory");
        return NULL;
    }
    snprintf (self->endpoint, sizeof (self->endpoint), "%s", endpoint);
    self->context = zmq_ctx_new ();
    self->socket = self->context? zmq_socket (self->context, ZMQ_REQ): NULL;
    int on = 1, linger = 0;
    if (!self->socket
    ||  zmq_setsockopt (self->socket, ZMQ_REQ_RELAXED, &on, sizeof (on))
    ||  zmq_setsockopt (self->socket, ZMQ_REQ_CORRELATE, &on, sizeof (on))
    ||  zmq_setsockopt (self->socket, ZMQ_LINGER, &linger, sizeof (linger))) {
        mesh_error_set (err, MESH_EIO, "api: cannot make a socket: %s", zmq_strerror (zmq_errno ()));
        mesh_call_destroy (&self);
        return NULL;
    }
    if (zmq_connect (self->socket, endpoint)) {
        mesh_error_set (err, MESH_EINVAL, "api: cannot connect to '%s': %s", endpoint,
                        zmq_strerror (zmq_errno ()));
        mesh_call_destroy (&self);
        return NULL;
    }
    return self;
}

void
mesh_call_destroy (mesh_call_t **self_p)
{
    assert (self_p);
    mesh_call_t *self = *self_p;
    if (self) {
        if (self->socket)
            zmq_close (self->socket);
        if (self->context)
            zmq_ctx_term (self->context);
        free (self);
        *self_p = NULL;
    }
}

void *
mesh_call_packed (mesh_call_t *self, const char *request, int timeout_ms, size_t *reply_size, mesh_error_t *err)
{
    assert (self && request && reply_size);
    json_error_t json_err;
    json_t *object = json_loads (request, 0, &json_err);
    if (!json_is_object (object)) {
        json_decref (object);
        mesh_error_set (err, MESH_EINVAL, "api: a request is a JSON object, as {\"op\": \"ping\"}");
        return NULL;
    }
    if (!json_object_get (object, "v"))
        json_object_set_new (object, "v", json_integer (MESH_PROTO_VERSION));
    char *text = json_dumps (object, JSON_COMPACT);
    json_decref (object);
    void *data = NULL;
    size_t size = 0;
    if (!text || mesh_json_to_msgpack (text, strlen (text), NULL, &data, &size, err)) {
        free (text);
        if (!err || !err->code)
            mesh_error_set (err, MESH_ENOMEM, "api: out of memory");
        return NULL;
    }
    free (text);
    int rc = zmq_send (self->socket, data, size, 0);
    free (data);
    if (rc == -1) {
        mesh_error_set (err, MESH_EIO, "api: cannot send to %s: %s", self->endpoint, zmq_strerror (zmq_errno ()));
        return NULL;
    }
    zmq_pollitem_t item = { self->socket, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, timeout_ms) <= 0 || !(item.revents & ZMQ_POLLIN)) {
        mesh_error_set (err, MESH_ETIMEDOUT, "api: no reply from %s within %d ms (is mesh-broker "
                        "running, with --api %s?)", self->endpoint, timeout_ms, self->endpoint);
        return NULL;
    }
    zmq_msg_t reply;
    zmq_msg_init (&reply);
    if (zmq_msg_recv (&reply, self->socket, 0) == -1) {
        zmq_msg_close (&reply);
        mesh_error_set (err, MESH_EIO, "api: cannot receive from %s: %s", self->endpoint,
                        zmq_strerror (zmq_errno ()));
        return NULL;
    }
    bool more = zmq_msg_more (&reply);
    void *bytes = NULL;
    if (!more && zmq_msg_size (&reply) > MESH_CALL_REPLY_MAX)
        mesh_error_set (err, MESH_ETOOBIG, "api: the reply from %s is over %u bytes", self->endpoint,
                        MESH_CALL_REPLY_MAX);
    else
    if (!more) {
        bytes = malloc (zmq_msg_size (&reply) + 1);
        if (bytes) {
            memcpy (bytes, zmq_msg_data (&reply), zmq_msg_size (&reply));
            *reply_size = zmq_msg_size (&reply);
        }
        else
            mesh_error_set (err, MESH_ENOMEM, "api: out of memory");
    }
    zmq_msg_close (&reply);
    if (more) {
        //  Not a reply of this protocol: take the rest and say so
        while (more) {
            zmq_msg_t rest;
            zmq_msg_init (&rest);
            more = zmq_msg_recv (&rest, self->socket, 0) != -1 && zmq_msg_more (&rest);
            zmq_msg_close (&rest);
        }
        mesh_error_set (err, MESH_EMALFORMED, "api: the reply from %s is not one frame", self->endpoint);
    }
    return bytes;
}

void
mesh_call_reply_limits (mesh_limits_t *limits)
{
    //  A reply is as large as the broker sends (a tap's records, a bus's
    //  rules), not an event's 256 KB, and nests an event a few levels down
    mesh_limits_init (limits);
    limits->max_event_size = MESH_CALL_REPLY_MAX;
    limits->max_depth = MESH_MAX_DEPTH_LIMIT;
}

char *
mesh_call_json (mesh_call_t *self, const char *request, int timeout_ms, mesh_error_t *err)
{
    size_t size = 0;
    void *bytes = mesh_call_packed (self, request, timeout_ms, &size, err);
    if (!bytes)
        return NULL;
    mesh_limits_t limits;
    mesh_call_reply_limits (&limits);
    char *json = mesh_msgpack_to_json (bytes, size, &limits, err);
    free (bytes);
    return json;
}
