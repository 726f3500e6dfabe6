/*  mesh_sub.c: the subscriber

    A SUB socket that connects to the broker's XPUB deliver endpoint and
    subscribes to its target's topic, the name followed by a NUL byte so
    that "rewards" never matches "rewards-v2". The broker answers every
    subscription with a hello on that topic, which is how we know the
    subscription is live before we report ready. Every message is read
    whole and parsed by mesh_proto_message_parse; what does not parse is
    counted (malformed) and skipped. Deliveries, hellos and heartbeats all
    carry the target's sequence number, and all three feed one count of
    what was missed (s_sub_count), so a lost tail shows at the next
    heartbeat. Hellos and heartbeats carry the broker's epoch, so a broker
    restart shows at its first hello.

    Nothing before our first hello counts: what the broker had queued for
    the target before our subscription took effect may reach us first, and
    it is not ours to miss. A delivery names its route by number; the
    broker says what each number means (its bus and rule) in a route
    message before the first delivery that uses it after each hello, so
    the table is emptied at every hello and filled from the route messages
    that follow.
*/
#include <czmq.h>
#include "mesh_private.h"


struct _mesh_sub_t {
    zsock_t *sock;              //  SUB, connected to the broker's deliver
    zsock_t *monitor;           //  PAIR: its monitor events, with options.monitor
    char target [MESH_NAME_MAX + 1];
    mesh_sub_options_t options;
    zmq_msg_t frames [2];       //  the current delivery: [topic header][event]
    bool routed;                //  the hello said some rule targets us
    bool counting;              //  we have a baseline: epoch and last_seq
    uint64_t epoch;             //  the broker's run, from its headers
    uint64_t last_seq;          //  the highest seq we know the broker gave out
    uint64_t delivered_seq;     //  the seq of the current delivery
    uint64_t gap;               //  missed since the last delivery handed out
    bool restarted;             //  a broker restart since the last delivery handed out
    uint64_t last_missed;       //  the gap before the current delivery
    bool last_restarted;
    mesh_event_t *event;        //  the current delivery, decoded
    const char *bus;            //  the current delivery's route
    const char *rule;
    char **routes;              //  by route number: "bus\0rule\0", or NULL
    size_t routes_size;
    mesh_sub_stats_t stats;
};

void
mesh_sub_options_init (mesh_sub_options_t *self)
{
    //  Every field, resume_epoch and resume_seq included: a caller's options
    //  on the stack would otherwise resume from whatever was there
    memset (self, 0, sizeof (*self));
    self->connect_timeout_ms = 5000;
    self->rcvhwm = 10000;
    mesh_limits_init (&self->limits);
    //  What the broker forwards it has checked against its own limit, which
    //  is above the publishers' entry limit (docs/protocol.md).
    self->limits.max_event_size = 4 * MESH_MAX_EVENT_SIZE_DEFAULT;
}

//  Receive one whole message into self->frames. Returns its frame count
//  (frames past the second are read into the second and so dropped; the
//  count lets the parser refuse them), 0 on timeout or interrupt, -1 on a
//  socket error.
static int
s_sub_recv_frames (mesh_sub_t *self, int timeout_ms)
{
    void *handle = zsock_resolve (self->sock);
    zmq_pollitem_t items [2] = { { handle, 0, ZMQ_POLLIN, 0 },
                                 { self->monitor? zsock_resolve (self->monitor): NULL, 0, ZMQ_POLLIN, 0 } };
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        int64_t left = timeout_ms < 0? -1: deadline - zclock_mono ();
        int rc = zmq_poll (items, self->monitor? 2: 1, timeout_ms < 0? -1: left > 0? (long) left: 0);
        if (rc == -1)
            return zmq_errno () == EINTR? 0: -1;
        if (self->monitor && (items [1].revents & ZMQ_POLLIN))
            mesh_monitor_print (items [1].socket, self->options.monitor, self->target);
        if (items [0].revents & ZMQ_POLLIN)
            break;
        if (rc == 0 || (timeout_ms >= 0 && zclock_mono () >= deadline))
            return 0;
    }
    int count = 0;
    while (true) {
        zmq_msg_t *frame = &self->frames [count < 2? count: 1];
        if (zmq_msg_recv (frame, handle, 0) == -1)
            return zmq_errno () == EINTR? 0: -1;
        count++;
        if (!zmq_msg_more (frame))
            break;
    }
    return count;
}

static void
s_sub_routes_clear (mesh_sub_t *self)
{
    for (size_t i = 0; i < self->routes_size; i++) {
        free (self->routes [i]);
        self->routes [i] = NULL;
    }
}

//  Count what one header says of the target's sequence (the rules are
//  mesh_sub.h's): epoch and seq from a delivery (delivery true: seq is
//  its own number) or from a hello or a heartbeat (seq is the last one
//  the broker gave out before it).
static void
s_sub_count (mesh_sub_t *self, uint64_t epoch, uint64_t seq, bool delivery)
{
    //  How many numbers the broker gave out before this message's own
    uint64_t before = delivery? seq - 1: seq;
    if (!self->counting) {
        self->counting = true;
        self->epoch = epoch;
        if (self->options.resume_epoch == 0) {
            //  A fresh subscriber: what went before it joined is not its loss
            self->last_seq = before;
            return;
        }
        if (epoch == self->options.resume_epoch)
            self->last_seq = self->options.resume_seq;
        else {
            //  The broker restarted while we were away: all of this run's
            //  numbers so far went to nobody; the old run's tail after
            //  resume_seq is unknown to us
            self->stats.restarts++;
            self->restarted = true;
            self->last_seq = 0;
        }
    }
    else
    if (epoch != self->epoch) {
        //  A broker restart: numbering starts again from 1, and the route
        //  numbers of the old run mean nothing in the new one
        s_sub_routes_clear (self);
        self->stats.restarts++;
        self->restarted = true;
        self->epoch = epoch;
        self->last_seq = 0;
    }
    if (before > self->last_seq) {
        self->stats.missed += before - self->last_seq;
        self->gap += before - self->last_seq;
    }
    if (seq > self->last_seq)
        self->last_seq = seq;
}

//  Remember what route number means. Returns 0, or -1 with err when
//  memory is short (its deliveries will then be refused as unknown).
static int
s_sub_route_set (mesh_sub_t *self, const mesh_proto_header_t *header, mesh_error_t *err)
{
    if (header->route >= self->routes_size) {
        size_t size = self->routes_size? self->routes_size: 16;
        while (size <= header->route)
            size *= 2;
        char **routes = realloc (self->routes, size * sizeof (char *));
        if (!routes)
            return mesh_error_set (err, MESH_ENOMEM, "subscriber '%s': out of memory for route %u",
                                   self->target, header->route);
        memset (routes + self->routes_size, 0, (size - self->routes_size) * sizeof (char *));
        self->routes = routes;
        self->routes_size = size;
    }
    char *names = malloc (header->bus_size + header->rule_size + 2);
    if (!names)
        return mesh_error_set (err, MESH_ENOMEM, "subscriber '%s': out of memory for route %u",
                               self->target, header->route);
    memcpy (names, header->bus, header->bus_size);
    names [header->bus_size] = '\0';
    memcpy (names + header->bus_size + 1, header->rule, header->rule_size);
    names [header->bus_size + 1 + header->rule_size] = '\0';
    free (self->routes [header->route]);
    self->routes [header->route] = names;
    return MESH_OK;
}

//  Take the message in self->frames: a hello or a heartbeat updates what
//  we know of the broker and returns 0; a delivery is checked and returns 1; a message of
//  another kind (reserved, or from a later version) is ignored and returns
//  0; anything that does not parse is counted malformed and returns -1
//  with err.
static int
s_sub_accept (mesh_sub_t *self, int frames, mesh_error_t *err)
{
    mesh_proto_frame_t views [2];
    for (int i = 0; i < frames && i < 2; i++)
        views [i] = (mesh_proto_frame_t) { zmq_msg_data (&self->frames [i]), zmq_msg_size (&self->frames [i]) };
    mesh_proto_header_t header;
    mesh_error_t parse_err = { 0 };
    if (mesh_proto_message_parse (views, (size_t) frames, &header, &parse_err)) {
        self->stats.malformed++;
        return mesh_error_set (err, MESH_EMALFORMED, "subscriber '%s': %s", self->target, parse_err.text);
    }
    if (header.kind == MESH_PROTO_HELLO) {
        self->routed = header.routed;
        s_sub_routes_clear (self);
        s_sub_count (self, header.epoch, header.seq, false);
        return 0;
    }
    if (!self->counting)
        return 0;               //  before our first hello: not ours
    if (header.kind == MESH_PROTO_HEARTBEAT) {
        self->stats.heartbeats++;
        s_sub_count (self, header.epoch, header.seq, false);
        return 0;
    }
    if (header.kind == MESH_PROTO_ROUTE) {
        if (s_sub_route_set (self, &header, err))
            return -1;
        return 0;
    }
    if (header.kind != MESH_PROTO_DELIVERY)
        return 0;               //  reserved kinds and kinds of later versions
    const char *names = header.route < self->routes_size? self->routes [header.route]: NULL;
    if (!names) {
        //  Its seq is not counted: the gap shows what it was
        self->stats.malformed++;
        return mesh_error_set (err, MESH_EMALFORMED, "subscriber '%s': delivery %" PRIu64 " names route %u, "
                               "which the broker did not describe since its hello", self->target,
                               header.seq, header.route);
    }
    self->bus = names;
    self->rule = names + strlen (names) + 1;
    mesh_event_destroy (&self->event);
    mesh_error_t decode_err = { 0 };
    self->event = mesh_event_decode (zmq_msg_data (&self->frames [1]), zmq_msg_size (&self->frames [1]),
                                     &self->options.limits, &decode_err);
    s_sub_count (self, self->epoch, header.seq, true);
    self->delivered_seq = header.seq;
    self->last_missed = self->gap;
    self->last_restarted = self->restarted;
    self->gap = 0;
    self->restarted = false;
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
    for (int i = 0; i < 2; i++)
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
    char topic [MESH_TOPIC_MAX];
    size_t topic_size = mesh_proto_topic (target, topic);
    zmq_setsockopt (zsock_resolve (self->sock), ZMQ_SUBSCRIBE, topic, topic_size);
    if (self->options.monitor) {
        char address [64];
        snprintf (address, sizeof (address), "inproc://mesh-sub-monitor-%p", (void *) self);
        self->monitor = zsock_new (ZMQ_PAIR);
        if (!self->monitor || zmq_socket_monitor (zsock_resolve (self->sock), address, ZMQ_EVENT_ALL)
        ||  zsock_connect (self->monitor, "%s", address)) {
            mesh_error_set (err, MESH_EIO, "subscriber: cannot monitor the socket: %s", zmq_strerror (zmq_errno ()));
            goto fail;
        }
    }
    if (zsock_connect (self->sock, "%s", endpoint) == -1) {
        mesh_error_set (err, MESH_EINVAL, "subscriber: cannot connect to '%s': %s",
                        endpoint, zmq_strerror (zmq_errno ()));
        goto fail;
    }
    //  Wait for our hello: it proves the broker has our subscription, and
    //  what comes after it is ours.
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
        s_sub_accept (self, frames, NULL);
        if (self->counting)
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
    for (int i = 0; i < 2; i++)
        zmq_msg_close (&self->frames [i]);
    mesh_event_destroy (&self->event);
    s_sub_routes_clear (self);
    free (self->routes);
    if (self->monitor) {
        zmq_socket_monitor (zsock_resolve (self->sock), NULL, 0);
        zsock_destroy (&self->monitor);
    }
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
    delivery->seq = self->delivered_seq;
    delivery->missed = self->last_missed;
    delivery->restarted = self->last_restarted;
    delivery->data = zmq_msg_data (&self->frames [1]);
    delivery->size = zmq_msg_size (&self->frames [1]);
    delivery->event = self->event;
    self->stats.received++;
}

int
mesh_sub_recv (mesh_sub_t *self, mesh_delivery_t *delivery, int timeout_ms, mesh_error_t *err)
{
    assert (self);
    assert (delivery);
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

bool
mesh_sub_position (const mesh_sub_t *self, uint64_t *epoch, uint64_t *seq)
{
    assert (self);
    *epoch = self->counting? self->epoch: self->options.resume_epoch;
    *seq = self->counting? self->last_seq: self->options.resume_seq;
    return self->counting || self->options.resume_epoch != 0;
}

void
mesh_sub_stats (const mesh_sub_t *self, mesh_sub_stats_t *stats)
{
    assert (self);
    *stats = self->stats;
}
