/*  mesh_pub.c: the publisher

    An XPUB socket that connects to the broker's XSUB ingest. XPUB rather
    than PUB because it tells us when the broker is there: the broker's
    XSUB subscribes to everything on every new connection, and our XPUB
    hands that subscription (\x01) to us; when the connection goes, we get
    the unsubscription (\x00). So we never send into the void (the
    slow-joiner problem), and with ZMQ_XPUB_NODROP a full queue makes send
    block instead of dropping: back-pressure up to send_timeout_ms.

    Entries are checked as EventBridge's PutEvents checks them
    (mesh_entry_to_event) before anything is sent. Frames are
    docs/protocol.md's ingest message, [bus][event].
*/
#include <czmq.h>
#include <msgpack.h>
#include "mesh_private.h"


struct _mesh_pub_t {
    zsock_t *sock;              //  XPUB, connected to the broker's ingest
    char *bus;                  //  default bus
    mesh_pub_options_t options;
    bool ready;                 //  the broker's subscription is live
};

void
mesh_pub_options_init (mesh_pub_options_t *self)
{
    self->connect_timeout_ms = 5000;
    self->send_timeout_ms = 30000;
    self->linger_ms = 5000;
    self->sndhwm = 10000;
    mesh_limits_init (&self->limits);
}

mesh_pub_t *
mesh_pub_new (const char *endpoint, const char *bus, const mesh_pub_options_t *options,
              mesh_error_t *err)
{
    assert (endpoint);
    if (!bus)
        bus = MESH_BUS_DEFAULT;
    if (!mesh_bus_name_valid (bus)) {
        mesh_error_set (err, MESH_EINVAL, "publisher: invalid bus name '%s'", bus);
        return NULL;
    }
    mesh_pub_t *self = calloc (1, sizeof (mesh_pub_t));
    if (!self) {
        mesh_error_set (err, MESH_ENOMEM, "publisher: out of memory");
        return NULL;
    }
    if (options)
        self->options = *options;
    else
        mesh_pub_options_init (&self->options);
    self->bus = strdup (bus);
    self->sock = zsock_new (ZMQ_XPUB);
    if (!self->sock || !self->bus) {
        mesh_error_set (err, MESH_ENOMEM, "publisher: cannot create socket");
        goto fail;
    }
    zsock_set_xpub_nodrop (self->sock, 1);
    zsock_set_sndhwm (self->sock, self->options.sndhwm);
    zsock_set_linger (self->sock, self->options.linger_ms);
    zsock_set_sndtimeo (self->sock, self->options.send_timeout_ms);
    if (zsock_connect (self->sock, "%s", endpoint) == -1) {
        mesh_error_set (err, MESH_EINVAL, "publisher: cannot connect to '%s': %s",
                        endpoint, zmq_strerror (zmq_errno ()));
        goto fail;
    }
    return self;
fail:
    mesh_pub_destroy (&self);
    return NULL;
}

void
mesh_pub_destroy (mesh_pub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mesh_pub_t *self = *self_p;
    zsock_destroy (&self->sock);
    free (self->bus);
    free (self);
    *self_p = NULL;
}

//  Read the subscription messages waiting on the XPUB without blocking:
//  \x01 means the broker is (again) connected, \x00 that it went away.
static void
s_pub_read_subscriptions (mesh_pub_t *self)
{
    void *handle = zsock_resolve (self->sock);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (zmq_msg_recv (&msg, handle, ZMQ_DONTWAIT) != -1)
        if (zmq_msg_size (&msg) >= 1)
            self->ready = ((uint8_t *) zmq_msg_data (&msg)) [0] == 1;
    zmq_msg_close (&msg);
}

int
mesh_pub_wait_ready (mesh_pub_t *self, int timeout_ms, mesh_error_t *err)
{
    assert (self);
    int64_t deadline = zclock_mono () + timeout_ms;
    s_pub_read_subscriptions (self);
    while (!self->ready) {
        int64_t left = deadline - zclock_mono ();
        if (timeout_ms >= 0 && left <= 0)
            return mesh_error_set (err, MESH_ETIMEDOUT,
                                   "publisher: no broker at %s after %d ms",
                                   zsock_endpoint (self->sock), timeout_ms);
        zmq_pollitem_t item = { zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, timeout_ms < 0? 100: (long) (left < 100? left: 100)) == -1
        && zmq_errno () != EINTR)
            return mesh_error_set (err, MESH_EIO, "publisher: poll: %s", zmq_strerror (zmq_errno ()));
        if (zsys_interrupted)
            return mesh_error_set (err, MESH_ETIMEDOUT, "publisher: interrupted while waiting for the broker");
        s_pub_read_subscriptions (self);
    }
    return MESH_OK;
}

//  Send [bus][event] blocking up to send_timeout_ms under back-pressure.
static int
s_pub_send_frames (mesh_pub_t *self, const char *bus, const void *data, size_t size, mesh_error_t *err)
{
    if (mesh_pub_wait_ready (self, self->options.connect_timeout_ms, err))
        return -1;
    void *handle = zsock_resolve (self->sock);
    if (zmq_send (handle, bus, strlen (bus), ZMQ_SNDMORE) == -1
    ||  zmq_send (handle, data, size, 0) == -1) {
        if (zmq_errno () == EAGAIN)
            return mesh_error_set (err, MESH_ETIMEDOUT,
                                   "publisher: the broker did not take the event within %d ms (back-pressure)",
                                   self->options.send_timeout_ms);
        return mesh_error_set (err, MESH_EIO, "publisher: send: %s", zmq_strerror (zmq_errno ()));
    }
    return MESH_OK;
}

static void
s_result_error (mesh_entry_result_t *result, const char *code, const char *format, ...)
{
    result->event_id [0] = '\0';
    snprintf (result->error_code, sizeof (result->error_code), "%s", code);
    va_list args;
    va_start (args, format);
    vsnprintf (result->error_message, sizeof (result->error_message), format, args);
    va_end (args);
}

//  The size EventBridge counts for an entry: Time is 14 bytes when set,
//  plus the UTF-8 bytes of Source, DetailType, Detail and each resource.
static size_t
s_entry_size (const mesh_entry_t *entry)
{
    size_t size = entry->time? 14: 0;
    size += entry->source? strlen (entry->source): 0;
    size += entry->detail_type? strlen (entry->detail_type): 0;
    size += entry->detail? strlen (entry->detail): 0;
    for (size_t i = 0; i < entry->resource_count; i++)
        size += entry->resources [i]? strlen (entry->resources [i]): 0;
    return size;
}

//  Validate one entry in EventBridge's order and with its error codes and
//  messages; on success return the event it describes.
mesh_event_t *
mesh_entry_to_event (const mesh_entry_t *entry, const char *default_bus,
                     const mesh_limits_t *limits, mesh_entry_result_t *result)
{
    assert (entry);
    assert (result);
    memset (result, 0, sizeof (*result));
    mesh_limits_t default_limits;
    if (!limits) {
        mesh_limits_init (&default_limits);
        limits = &default_limits;
    }
    const struct { const char *name; const char *value; } required [] = {
        { "Source", entry->source },
        { "DetailType", entry->detail_type },
        { "Detail", entry->detail },
    };
    for (size_t i = 0; i < 3; i++)
        if (!required [i].value) {
            s_result_error (result, "InvalidArgument",
                            "Parameter %s is not valid. Reason: %s is a required argument.",
                            required [i].name, required [i].name);
            return NULL;
        }
    const char *bus = entry->event_bus_name? entry->event_bus_name: default_bus;
    if (!mesh_bus_name_valid (bus)) {
        s_result_error (result, "InvalidArgument",
                        "Parameter EventBusName is not valid. Reason: '%.64s' is not a bus name "
                        "(1 to %d of A-Z a-z 0-9 . _ / -).", bus? bus: "", MESH_BUS_NAME_MAX);
        return NULL;
    }
    if (strncmp (entry->source, "aws.", 4) == 0) {
        s_result_error (result, "NotAuthorizedForSourceException",
                        "Not authorized for the source: sources starting with 'aws.' are reserved.");
        return NULL;
    }
    if (s_entry_size (entry) > limits->max_event_size) {
        s_result_error (result, "InvalidArgument",
                        "Parameter Entry is not valid. Reason: the entry is %zu bytes, over the limit of %zu.",
                        s_entry_size (entry), limits->max_event_size);
        return NULL;
    }
    mesh_event_t *event = mesh_event_new ();
    mesh_error_t err = { 0 };
    if (!event) {
        s_result_error (result, "InternalFailure", "out of memory");
        return NULL;
    }
    if (mesh_event_set_source (event, entry->source, &err)) {
        s_result_error (result, "InvalidArgument", "Parameter Source is not valid. Reason: %s.", err.text);
        goto fail;
    }
    if (mesh_event_set_detail_type (event, entry->detail_type, &err)) {
        s_result_error (result, "InvalidArgument", "Parameter DetailType is not valid. Reason: %s.", err.text);
        goto fail;
    }
    if (mesh_event_set_detail_json (event, entry->detail, strlen (entry->detail), limits, &err)) {
        s_result_error (result, "MalformedDetail", "Detail is malformed.");
        goto fail;
    }
    if (entry->time && mesh_event_set_time (event, entry->time, &err)) {
        s_result_error (result, "InvalidArgument", "Parameter Time is not valid. Reason: %s.", err.text);
        goto fail;
    }
    if (entry->id && mesh_event_set_id (event, entry->id, &err)) {
        s_result_error (result, "InvalidArgument", "Parameter Id is not valid. Reason: %s.", err.text);
        goto fail;
    }
    for (size_t i = 0; i < entry->resource_count; i++)
        if (!entry->resources [i] || mesh_event_add_resource (event, entry->resources [i], &err)) {
            s_result_error (result, "InvalidArgument",
                            "Parameter Resources is not valid. Reason: resource %zu: %s.",
                            i, entry->resources [i]? err.text: "null");
            goto fail;
        }
    mesh_event_fill_defaults (event);
    snprintf (result->event_id, sizeof (result->event_id), "%s", mesh_event_id (event));
    return event;
fail:
    mesh_event_destroy (&event);
    return NULL;
}

int
mesh_pub_send (mesh_pub_t *self, const char *bus, mesh_event_t *event, mesh_error_t *err)
{
    assert (self);
    assert (event);
    if (!bus)
        bus = self->bus;
    if (!mesh_bus_name_valid (bus))
        return mesh_error_set (err, MESH_EINVAL, "publisher: invalid bus name '%s'", bus);
    mesh_event_fill_defaults (event);
    void *data = NULL;
    size_t size = 0;
    if (mesh_event_encode (event, &data, &size, err))
        return -1;
    int rc = s_pub_send_frames (self, bus, data, size, err);
    free (data);
    return rc;
}

int
mesh_pub_put_events (mesh_pub_t *self, const mesh_entry_t *entries, size_t count,
                     mesh_entry_result_t *results, mesh_error_t *err)
{
    assert (self);
    if (count < 1 || count > MESH_MAX_ENTRIES)
        return mesh_error_set (err, MESH_EINVAL,
                               "put-events: 1 validation error detected: Value at 'entries' failed to "
                               "satisfy constraint: Member must have length between 1 and %d, got %zu",
                               MESH_MAX_ENTRIES, count);
    assert (entries);
    assert (results);
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += s_entry_size (&entries [i]);
    if (total > self->options.limits.max_event_size)
        return mesh_error_set (err, MESH_ETOOBIG,
                               "put-events: Total size of the entries in the request is over the limit: "
                               "%zu bytes, limit %zu", total, self->options.limits.max_event_size);
    int failed = 0;
    mesh_event_t *events [MESH_MAX_ENTRIES] = { NULL };
    for (size_t i = 0; i < count; i++) {
        events [i] = mesh_entry_to_event (&entries [i], self->bus, &self->options.limits, &results [i]);
        if (!events [i])
            failed++;
    }
    int rc = failed;
    for (size_t i = 0; i < count; i++) {
        if (!events [i])
            continue;
        if (rc == -1) {
            //  The request failed on an earlier entry: this one was not sent.
            s_result_error (&results [i], "InternalFailure", "not sent: %s", err? err->text: "request failed");
            continue;
        }
        const char *bus = entries [i].event_bus_name? entries [i].event_bus_name: self->bus;
        void *data = NULL;
        size_t size = 0;
        if (mesh_event_encode (events [i], &data, &size, err)
        ||  s_pub_send_frames (self, bus, data, size, err)) {
            s_result_error (&results [i], "InternalFailure", "not sent: %s", err? err->text: "send failed");
            rc = -1;
        }
        free (data);
    }
    for (size_t i = 0; i < count; i++)
        mesh_event_destroy (&events [i]);
    return rc;
}

