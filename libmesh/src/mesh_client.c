/*  mesh_client.c: the publisher and the subscriber

    Publisher: an XPUB socket that connects to the broker's XSUB ingest.
    XPUB rather than PUB because it tells us when the broker is there: the
    broker's XSUB subscribes to everything on every new connection, and
    our XPUB hands that subscription (\x01) to us; when the connection goes,
    we get the unsubscription (\x00). So we never send into the void (the
    slow-joiner problem), and with ZMQ_XPUB_NODROP a full queue makes send
    block instead of dropping: back-pressure up to send_timeout_ms.

    Subscriber: a SUB socket that connects to the broker's XPUB deliver
    endpoint and subscribes to its target's topic, the name followed by a
    NUL byte so that "rewards" never matches "rewards-v2". The broker
    answers every subscription with a hello on that topic, which is how we
    know the subscription is live before we report ready.

    Frames and headers are docs/protocol.md.
*/
#include <czmq.h>
#include <msgpack.h>
#include "mesh_private.h"

const char *
mesh_env_endpoint (const char *variable, const char *fallback)
{
    const char *value = getenv (variable);
    return value && *value? value: fallback;
}

static bool
s_name_valid (const char *name, size_t max, const char *extra)
{
    if (!name)
        return false;
    size_t size = strlen (name);
    if (size == 0 || size > max)
        return false;
    for (const char *c = name; *c; c++)
        if (!(isalnum ((unsigned char) *c) || strchr (extra, *c)))
            return false;
    return true;
}

bool
mesh_name_valid (const char *name)
{
    return s_name_valid (name, MESH_NAME_MAX, "._-");
}

bool
mesh_bus_name_valid (const char *name)
{
    return s_name_valid (name, MESH_BUS_NAME_MAX, "._/-");
}

// --------------------------------------------------------------------------
//  Publisher

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

// --------------------------------------------------------------------------
//  Subscriber

struct _mesh_sub_t {
    zsock_t *sock;              //  SUB, connected to the broker's deliver
    char target [MESH_NAME_MAX + 1];
    mesh_sub_options_t options;
    zmq_msg_t frames [3];       //  the current delivery
    bool stashed;               //  frames hold a delivery not yet handed out
    bool routed;                //  the hello said some rule targets us
    bool have_seq;
    uint64_t epoch;             //  the broker's run, from its headers
    uint64_t last_seq;
    uint64_t last_missed;       //  the gap before the current delivery
    mesh_event_t *event;        //  the current delivery, decoded
    char bus [MESH_BUS_NAME_MAX + 1];
    char rule [MESH_NAME_MAX + 1];
    mesh_sub_stats_t stats;
};

void
mesh_sub_options_init (mesh_sub_options_t *self)
{
    self->connect_timeout_ms = 5000;
    self->rcvhwm = 10000;
    mesh_limits_init (&self->limits);
    //  What the broker forwards it has checked against its own limit, which
    //  is above the publishers' entry limit (docs/protocol.md).
    self->limits.max_event_size = 4 * MESH_MAX_EVENT_SIZE_DEFAULT;
}

//  A delivery header, decoded. Strings point into the frame.
typedef struct {
    const char *ctl;    uint32_t ctl_size;
    const char *bus;    uint32_t bus_size;
    const char *rule;   uint32_t rule_size;
    uint64_t seq;
    uint64_t epoch;
    bool routed;
    uint64_t version;
} s_header_t;

//  Decode the header frame: a MessagePack map with string keys. Unknown
//  keys are skipped so that later minor versions can add fields.
static int
s_header_decode (const void *data, size_t size, s_header_t *header)
{
    memset (header, 0, sizeof (*header));
    mesh__mp_reader_t r;
    mesh__mp_value_t v;
    mesh__mp_reader_init (&r, data, size);
    if (mesh__mp_read (&r, &v) || v.type != MESH_MP_MAP)
        return -1;
    for (uint32_t i = 0; i < v.v.count; i++) {
        mesh__mp_value_t key, value;
        if (mesh__mp_read (&r, &key) || key.type != MESH_MP_STR)
            return -1;
        mesh__mp_reader_t at = r;
        if (mesh__mp_read (&r, &value))
            return -1;
        #define KEY_IS(name) (key.v.s.size == strlen (name) && memcmp (key.v.s.ptr, name, key.v.s.size) == 0)
        if (KEY_IS ("v") && value.type == MESH_MP_UINT)
            header->version = value.v.u;
        else
        if (KEY_IS ("ctl") && value.type == MESH_MP_STR) {
            header->ctl = value.v.s.ptr;
            header->ctl_size = value.v.s.size;
        }
        else
        if (KEY_IS ("bus") && value.type == MESH_MP_STR) {
            header->bus = value.v.s.ptr;
            header->bus_size = value.v.s.size;
        }
        else
        if (KEY_IS ("rule") && value.type == MESH_MP_STR) {
            header->rule = value.v.s.ptr;
            header->rule_size = value.v.s.size;
        }
        else
        if (KEY_IS ("seq") && value.type == MESH_MP_UINT)
            header->seq = value.v.u;
        else
        if (KEY_IS ("epoch") && value.type == MESH_MP_UINT)
            header->epoch = value.v.u;
        else
        if (KEY_IS ("routed") && value.type == MESH_MP_BOOL)
            header->routed = value.v.b;
        else {
            r = at;
            if (mesh__mp_skip (&r))
                return -1;
        }
        #undef KEY_IS
    }
    return header->version >= 1? 0: -1;
}

//  Receive one whole message into self->frames. Returns the frame count
//  (1..3; more frames are read and dropped), 0 on timeout or interrupt,
//  -1 on a socket error.
static int
s_sub_recv_frames (mesh_sub_t *self, int timeout_ms)
{
    void *handle = zsock_resolve (self->sock);
    zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
    int rc = zmq_poll (&item, 1, timeout_ms);
    if (rc == -1)
        return zmq_errno () == EINTR? 0: -1;
    if (rc == 0)
        return 0;
    int count = 0;
    while (true) {
        zmq_msg_t *frame = &self->frames [count < 3? count: 2];
        if (zmq_msg_recv (frame, handle, 0) == -1)
            return zmq_errno () == EINTR? 0: -1;
        count++;
        if (!zmq_msg_more (frame))
            break;
    }
    return count;
}

//  Take the message in self->frames: a hello updates what we know of the
//  broker and returns 0; a delivery is checked and returns 1; anything
//  else is counted malformed and returns -1 with err.
static int
s_sub_accept (mesh_sub_t *self, int frames, mesh_error_t *err)
{
    s_header_t header;
    if (frames < 2 || s_header_decode (zmq_msg_data (&self->frames [1]),
                                       zmq_msg_size (&self->frames [1]), &header)) {
        self->stats.malformed++;
        return mesh_error_set (err, MESH_EMALFORMED, "subscriber '%s': undecodable delivery header",
                               self->target);
    }
    if (header.ctl) {
        if (header.ctl_size == 5 && memcmp (header.ctl, "hello", 5) == 0) {
            self->routed = header.routed;
            if (!self->have_seq || header.epoch != self->epoch) {
                self->have_seq = true;
                self->epoch = header.epoch;
                self->last_seq = header.seq;
            }
        }
        return 0;               //  unknown controls are for later versions
    }
    if (frames != 3 || !header.bus || !header.rule || header.seq == 0
    ||  header.bus_size > MESH_BUS_NAME_MAX || header.rule_size > MESH_NAME_MAX) {
        self->stats.malformed++;
        return mesh_error_set (err, MESH_EMALFORMED, "subscriber '%s': delivery header lacks bus, rule or seq",
                               self->target);
    }
    mesh_event_destroy (&self->event);
    mesh_error_t decode_err = { 0 };
    self->event = mesh_event_decode (zmq_msg_data (&self->frames [2]), zmq_msg_size (&self->frames [2]),
                                     &self->options.limits, &decode_err);
    memcpy (self->bus, header.bus, header.bus_size);
    self->bus [header.bus_size] = '\0';
    memcpy (self->rule, header.rule, header.rule_size);
    self->rule [header.rule_size] = '\0';
    //  Sequence numbers: a gap is deliveries we never saw; a new epoch is a
    //  broker restart, after which numbering starts again from 1.
    uint64_t missed = 0;
    if (self->have_seq && header.epoch != self->epoch) {
        self->stats.restarts++;
        self->have_seq = false;
    }
    if (self->have_seq && header.seq > self->last_seq + 1)
        missed = header.seq - self->last_seq - 1;
    self->stats.missed += missed;
    self->have_seq = true;
    self->epoch = header.epoch;
    self->last_seq = header.seq;
    self->last_missed = missed;
    if (!self->event) {
        self->stats.malformed++;
        return mesh_error_set (err, decode_err.code, "subscriber '%s': delivery %" PRIu64 " from rule '%s': %s",
                               self->target, header.seq, self->rule, decode_err.text);
    }
    return 1;
}

mesh_sub_t *
mesh_sub_new (const char *endpoint, const char *target, const mesh_sub_options_t *options,
              mesh_error_t *err)
{
    assert (endpoint);
    if (!mesh_name_valid (target)) {
        mesh_error_set (err, MESH_EINVAL,
                        "subscriber: invalid target name '%s': use 1 to %d of A-Z a-z 0-9 . _ -",
                        target? target: "(null)", MESH_NAME_MAX);
        return NULL;
    }
    mesh_sub_t *self = calloc (1, sizeof (mesh_sub_t));
    if (!self) {
        mesh_error_set (err, MESH_ENOMEM, "subscriber: out of memory");
        return NULL;
    }
    for (int i = 0; i < 3; i++)
        zmq_msg_init (&self->frames [i]);
    if (options)
        self->options = *options;
    else
        mesh_sub_options_init (&self->options);
    snprintf (self->target, sizeof (self->target), "%s", target);
    self->sock = zsock_new (ZMQ_SUB);
    if (!self->sock) {
        mesh_error_set (err, MESH_ENOMEM, "subscriber: cannot create socket");
        goto fail;
    }
    zsock_set_rcvhwm (self->sock, self->options.rcvhwm);
    zsock_set_linger (self->sock, 0);
    //  The topic is the name and its NUL: a prefix of no other topic.
    char topic [MESH_NAME_MAX + 1];
    size_t topic_size = strlen (target) + 1;
    memcpy (topic, target, topic_size);
    zmq_setsockopt (zsock_resolve (self->sock), ZMQ_SUBSCRIBE, topic, topic_size);
    if (zsock_connect (self->sock, "%s", endpoint) == -1) {
        mesh_error_set (err, MESH_EINVAL, "subscriber: cannot connect to '%s': %s",
                        endpoint, zmq_strerror (zmq_errno ()));
        goto fail;
    }
    //  Wait for the first message on our topic, the hello or a delivery:
    //  either proves the broker has our subscription. A delivery is kept
    //  for the first mesh_sub_recv.
    int64_t deadline = zclock_mono () + self->options.connect_timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (self->options.connect_timeout_ms >= 0 && left <= 0) {
            mesh_error_set (err, MESH_ETIMEDOUT, "subscriber '%s': no broker at %s after %d ms",
                            target, endpoint, self->options.connect_timeout_ms);
            goto fail;
        }
        int frames = s_sub_recv_frames (self, self->options.connect_timeout_ms < 0 || left > 100? 100: (int) left);
        if (frames == -1) {
            mesh_error_set (err, MESH_EIO, "subscriber '%s': %s", target, zmq_strerror (zmq_errno ()));
            goto fail;
        }
        if (zsys_interrupted) {
            mesh_error_set (err, MESH_ETIMEDOUT, "subscriber '%s': interrupted while connecting", target);
            goto fail;
        }
        if (frames == 0)
            continue;
        int rc = s_sub_accept (self, frames, NULL);
        if (rc == 1)
            self->stashed = true;
        if (rc == 1 || self->have_seq)
            break;
    }
    return self;
fail:
    mesh_sub_destroy (&self);
    return NULL;
}

void
mesh_sub_destroy (mesh_sub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mesh_sub_t *self = *self_p;
    for (int i = 0; i < 3; i++)
        zmq_msg_close (&self->frames [i]);
    mesh_event_destroy (&self->event);
    zsock_destroy (&self->sock);
    free (self);
    *self_p = NULL;
}

static void
s_sub_fill (mesh_sub_t *self, mesh_delivery_t *delivery)
{
    delivery->bus = self->bus;
    delivery->rule = self->rule;
    delivery->target = self->target;
    delivery->seq = self->last_seq;
    delivery->missed = self->last_missed;
    delivery->data = zmq_msg_data (&self->frames [2]);
    delivery->size = zmq_msg_size (&self->frames [2]);
    delivery->event = self->event;
    self->stats.received++;
}

int
mesh_sub_recv (mesh_sub_t *self, mesh_delivery_t *delivery, int timeout_ms, mesh_error_t *err)
{
    assert (self);
    assert (delivery);
    if (self->stashed) {
        self->stashed = false;
        s_sub_fill (self, delivery);
        return 1;
    }
    int64_t deadline = zclock_mono () + timeout_ms;
    while (!zsys_interrupted) {
        int wait = timeout_ms;
        if (timeout_ms >= 0) {
            int64_t left = deadline - zclock_mono ();
            wait = left > 0? (int) left: 0;
        }
        int frames = s_sub_recv_frames (self, wait);
        if (frames == -1)
            return mesh_error_set (err, MESH_EIO, "subscriber '%s': %s", self->target,
                                   zmq_strerror (zmq_errno ()));
        if (frames == 0) {
            if (timeout_ms >= 0 && zclock_mono () >= deadline)
                return 0;
            continue;           //  interrupted, or a spurious wake-up
        }
        int rc = s_sub_accept (self, frames, err);
        if (rc == 1) {
            s_sub_fill (self, delivery);
            return 1;
        }
        if (rc == -1)
            return -1;
    }
    return 0;
}

int
mesh_sub_run (mesh_sub_t *self, mesh_handler_fn *handler, void *arg, uint64_t max, mesh_error_t *err)
{
    assert (self);
    assert (handler);
    uint64_t handled = 0;
    while (!zsys_interrupted && (max == 0 || handled < max)) {
        mesh_delivery_t delivery;
        mesh_error_t recv_err = { 0 };
        int rc = mesh_sub_recv (self, &delivery, 500, &recv_err);
        if (rc == -1 && recv_err.code == MESH_EIO)
            return mesh_error_set (err, MESH_EIO, "%s", recv_err.text);
        if (rc != 1)
            continue;           //  timeout, or a malformed delivery (counted)
        handled++;
        if (handler (&delivery, arg))
            break;
    }
    return MESH_OK;
}

bool
mesh_sub_routed (const mesh_sub_t *self)
{
    assert (self);
    return self->routed;
}

void
mesh_sub_stats (const mesh_sub_t *self, mesh_sub_stats_t *stats)
{
    assert (self);
    *stats = self->stats;
}
