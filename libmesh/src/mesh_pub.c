/*  mesh_pub.c: the publisher

    An XPUB socket that connects to the broker's XSUB ingest. XPUB rather
    than PUB because it tells us when the broker is there: the broker's
    XSUB subscribes to everything on every new connection, and our XPUB
    hands that subscription (\x01) to us; when the connection goes, we get
    the unsubscription (\x00). With ZMQ_XPUB_NODROP a full queue makes send
    block instead of dropping: back-pressure up to send_timeout_ms.

    Readiness follows the broker. ZMQ_IMMEDIATE is set: without it libzmq
    keeps the connection's pipe across reconnects, the XPUB sees neither
    the \x00 when the broker goes away nor a new \x01 when it is back, and
    we would never learn (DESIGN.md, "ZeroMQ facts that bite"). With it,
    ready is false from the \x00 to the next \x01. The price: an XPUB with
    no connected broker discards what it is given, silently, so we never
    send while not ready; each send waits for readiness up to
    connect_timeout_ms and fails with MESH_ETIMEDOUT otherwise.

    What was handed over. A send only queues (the fire-and-forget path:
    confirmed publishing needs the broker's answer, a later issue), and a
    queued event can still be lost: libzmq drops a connection's pipe when
    the broker goes away (ZMQ_IMMEDIATE), and drops what linger could not
    send at close. libzmq 4.3.4 without the draft API says nothing of what
    a pipe holds (ZMQ_EVENTS reports POLLOUT on an XPUB always; the pipes'
    statistics, zmq_socket_monitor_pipes_stats, are draft), so we ask TCP:
    the socket monitor's ZMQ_EVENT_CONNECTED carries the connection's file
    descriptor; we keep a dup of it and read TCP_INFO's tcpi_bytes_acked,
    the bytes the broker's host acknowledged. We know each event's size on
    the wire (ZMTP 3 frames: a flags byte, a one- or eight-byte size, the
    body) and the handshake's (the bytes written, acked plus SIOCOUTQ,
    before our first event on the connection), so an event is handed over
    when the acknowledged bytes reach its end. Events a connection still
    held when it went are lost; mesh_pub_drain waits for the rest. The dup
    is closed when the connection goes (\x00) or the publisher is
    destroyed; it never keeps a dead connection open for longer than until
    our next call. Over a transport other than tcp:// nothing is counted
    (stats.exact is false).

    Entries are checked as EventBridge's PutEvents checks them
    (mesh_entry_to_event) before anything is sent. Frames are
    docs/protocol.md's ingest message, [bus][event].
*/
#include <czmq.h>
#include <msgpack.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <time.h>
#include "mesh_private.h"

//  glibc's struct tcp_info stops at tcpi_total_retrans; the kernel's goes
//  on (linux/tcp.h, which cannot be included beside netinet/tcp.h) with
//  the fields below, there since Linux 4.1 (bytes_acked) and 4.18 in this
//  layout. We check the size the kernel returns.
typedef struct {
    struct tcp_info glibc;
    uint64_t pacing_rate;
    uint64_t max_pacing_rate;
    uint64_t bytes_acked;       //  RFC 4898 tcpEStatsAppHCThruOctetsAcked
} s_tcp_info_t;
_Static_assert (offsetof (s_tcp_info_t, bytes_acked) == 120, "the kernel's tcp_info layout");

struct _mesh_pub_t {
    zsock_t *sock;              //  XPUB, connected to the broker's ingest
    zsock_t *monitor;           //  PAIR: the XPUB's connect and disconnect events
    char *bus;                  //  default bus
    char *endpoint;
    mesh_pub_options_t options;
    bool ready;                 //  the broker's subscription is live
    int subscriptions;          //  \x01s less \x00s seen (one per connection)
    bool connected;             //  the newest connection is not known to be over
    int64_t alive_checked;      //  when s_pub_alive last asked TCP
    int newest_fd;              //  libzmq's fd of the newest connection, -1
    int fd;                     //  our dup of the current connection's fd, -1
    bool counting;              //  fd is calibrated: its events are counted
    uint64_t base;              //  bytes the connection carried before our events
    uint64_t written;           //  wire bytes of our events on the connection
    uint64_t *ends;             //  ring: end offset of each event not yet known
    size_t ends_cap;            //  handed over, oldest first
    size_t ends_head;
    size_t ends_size;
    bool drained;               //  mesh_pub_drain ran since the last send
    mesh_pub_stats_t stats;
};

void
mesh_pub_options_init (mesh_pub_options_t *self)
{
    self->monitor = NULL;
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
    self->newest_fd = self->fd = -1;
    self->stats.exact = true;
    if (options)
        self->options = *options;
    else
        mesh_pub_options_init (&self->options);
    self->bus = strdup (bus);
    self->endpoint = strdup (endpoint);
    self->sock = zsock_new (ZMQ_XPUB);
    self->monitor = zsock_new (ZMQ_PAIR);
    if (!self->sock || !self->monitor || !self->bus || !self->endpoint) {
        mesh_error_set (err, MESH_ENOMEM, "publisher: cannot create socket");
        goto fail;
    }
    zsock_set_xpub_nodrop (self->sock, 1);
    zsock_set_immediate (self->sock, 1);
    zsock_set_xpub_verboser (self->sock, 1);
    zsock_set_sndhwm (self->sock, self->options.sndhwm);
    //  What linger could send we wait for in mesh_pub_drain, counting; the
    //  socket itself closes with linger 0 (mesh_pub_destroy)
    zsock_set_linger (self->sock, 0);
    zsock_set_sndtimeo (self->sock, self->options.send_timeout_ms);
    zsock_set_linger (self->monitor, 0);
    char address [64];
    snprintf (address, sizeof (address), "inproc://mesh-pub-monitor-%p", (void *) self);
    if (zmq_socket_monitor (zsock_resolve (self->sock), address, self->options.monitor? ZMQ_EVENT_ALL
                            : ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) == -1
    ||  zsock_connect (self->monitor, "%s", address) == -1) {
        mesh_error_set (err, MESH_EIO, "publisher: cannot monitor the socket: %s", zmq_strerror (zmq_errno ()));
        goto fail;
    }
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

//  ---------------------------------------------------------------------
//  What the broker's host acknowledged

//  Read the monitor's events without blocking; remember the newest
//  connection's descriptor (libzmq's, valid while it is connected).
static void
s_pub_read_monitor (mesh_pub_t *self)
{
    void *handle = zsock_resolve (self->monitor);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (zmq_msg_recv (&msg, handle, ZMQ_DONTWAIT) != -1) {
        uint16_t event = 0;
        uint32_t value = 0;
        bool first = zmq_msg_size (&msg) == 6;
        if (first) {
            memcpy (&event, zmq_msg_data (&msg), 2);
            memcpy (&value, (uint8_t *) zmq_msg_data (&msg) + 2, 4);
        }
        char endpoint [256] = "";
        while (zmq_msg_more (&msg) && zmq_msg_recv (&msg, handle, ZMQ_DONTWAIT) != -1) {
            size_t size = zmq_msg_size (&msg) < sizeof (endpoint) - 1? zmq_msg_size (&msg): sizeof (endpoint) - 1;
            memcpy (endpoint, zmq_msg_data (&msg), size);       //  the endpoint frame
            endpoint [size] = 0;
        }
        if (first && self->options.monitor)
            mesh_monitor_line (self->options.monitor, "publisher", event, value, endpoint);
        if (first && event == ZMQ_EVENT_CONNECTED)
            self->newest_fd = (int) value;
        else
        if (first && event == ZMQ_EVENT_DISCONNECTED && (int) value == self->newest_fd)
            self->newest_fd = -1;
    }
    zmq_msg_close (&msg);
}

//  Bytes the connection's peer acknowledged and bytes written but not yet
//  acknowledged; -1 if the descriptor does not say.
static int
s_tcp_bytes (int fd, uint64_t *acked, uint64_t *unacked)
{
    s_tcp_info_t info;
    socklen_t size = sizeof (info);
    memset (&info, 0, sizeof (info));
    if (getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &size) == -1
    ||  size < offsetof (s_tcp_info_t, bytes_acked) + sizeof (info.bytes_acked))
        return -1;
    int queued = 0;
    if (ioctl (fd, TIOCOUTQ, &queued) == -1)      //  SIOCOUTQ: written - acknowledged
        return -1;
    *acked = info.bytes_acked;
    *unacked = (uint64_t) queued;
    return 0;
}

//  The \x01 of a new connection: before we send anything on it, take
//  hold of its descriptor and measure what the handshake wrote.
static void
s_pub_connection_opened (mesh_pub_t *self)
{
    s_pub_read_monitor (self);
    self->counting = false;
    self->written = 0;
    if (self->newest_fd < 0 || strncmp (self->endpoint, "tcp://", 6) != 0) {
        self->stats.exact = false;
        return;
    }
    //  The descriptor is libzmq's; ours must be that connection's and not
    //  a number reused since: a TCP socket connected to our endpoint's port
    self->fd = fcntl (self->newest_fd, F_DUPFD_CLOEXEC, 0);
    struct sockaddr_storage peer;
    socklen_t peer_size = sizeof (peer);
    const char *colon = strrchr (self->endpoint, ':');
    int port = colon? atoi (colon + 1): -1;
    uint64_t acked, unacked;
    if (self->fd < 0
    ||  getpeername (self->fd, (struct sockaddr *) &peer, &peer_size) == -1
    ||  (peer.ss_family == AF_INET? ntohs (((struct sockaddr_in *) &peer)->sin_port)
       : peer.ss_family == AF_INET6? ntohs (((struct sockaddr_in6 *) &peer)->sin6_port): -2) != port
    ||  s_tcp_bytes (self->fd, &acked, &unacked)) {
        if (self->fd >= 0)
            close (self->fd);
        self->fd = -1;
        self->stats.exact = false;
        return;
    }
    self->base = acked + unacked;
    self->counting = true;
}

//  Count as handed over the events whose bytes the peer acknowledged.
static void
s_pub_sample (mesh_pub_t *self)
{
    uint64_t acked, unacked;
    if (!self->counting || s_tcp_bytes (self->fd, &acked, &unacked))
        return;
    uint64_t handed = acked > self->base? acked - self->base: 0;
    while (self->ends_size && self->ends [self->ends_head] <= handed) {
        self->ends_head = (self->ends_head + 1) % self->ends_cap;
        self->ends_size--;
        self->stats.handed++;
        self->stats.pending--;
    }
}

//  The \x00: the connection went, and with it what it still held.
static void
s_pub_connection_closed (mesh_pub_t *self)
{
    s_pub_sample (self);        //  the last word of a closed connection
    if (self->counting) {
        self->stats.lost += self->ends_size;
        self->stats.pending -= self->ends_size;
    }
    self->ends_head = self->ends_size = 0;
    if (self->fd >= 0)
        close (self->fd);
    self->fd = -1;
    self->counting = false;
    self->written = 0;
}

//  Remember an event of size wire bytes about to be sent on the current
//  connection. -1 when out of memory.
static int
s_pub_track (mesh_pub_t *self, uint64_t size)
{
    if (!self->counting) {
        self->stats.uncounted++;
        return 0;
    }
    if (self->ends_size == self->ends_cap)
        s_pub_sample (self);    //  make room with what was acknowledged
    if (self->ends_size == self->ends_cap) {
        size_t cap = self->ends_cap? self->ends_cap * 2: 1024;
        uint64_t *ends = malloc (cap * sizeof (uint64_t));
        if (!ends)
            return -1;
        for (size_t i = 0; i < self->ends_size; i++)
            ends [i] = self->ends [(self->ends_head + i) % self->ends_cap];
        free (self->ends);
        self->ends = ends;
        self->ends_cap = cap;
        self->ends_head = 0;
    }
    self->written += size;
    self->ends [(self->ends_head + self->ends_size) % self->ends_cap] = self->written;
    self->ends_size++;
    self->stats.pending++;
    return 0;
}

//  The size of a frame of size bytes on the wire (ZMTP 3).
static uint64_t
s_wire_size (size_t size)
{
    return (size > 255? 9: 2) + (uint64_t) size;
}

//  True unless the connection's TCP state says it is over (the broker
//  went): checked at most every 10 ms, since libzmq tells us only when we
//  call into the socket twice (the \x00 comes with the second handshake of
//  the pipe's termination), and an event sent meanwhile would be dropped.
static bool
s_pub_alive (mesh_pub_t *self)
{
    if (!self->counting)
        return true;
    int64_t now = zclock_mono ();
    if (now - self->alive_checked < 10)
        return true;
    self->alive_checked = now;
    s_tcp_info_t info;
    socklen_t size = sizeof (info);
    if (getsockopt (self->fd, IPPROTO_TCP, TCP_INFO, &info, &size) == -1)
        return false;
    return info.glibc.tcpi_state == TCP_ESTABLISHED;
}

//  Read the subscription messages waiting on the XPUB without blocking.
//  With ZMQ_XPUB_VERBOSER each connection's subscription (\x01) and its
//  end (\x00) both come up, in either order when a reconnection happens
//  while we are not looking: the new connection's \x01 can come before
//  the old one's \x00. So a \x01 opens the new connection (the old one, if
//  we still hold it, is over: there is one endpoint), and a \x00 closes the
//  connection only when no subscription is left.
static void
s_pub_read_subscriptions (mesh_pub_t *self)
{
    void *handle = zsock_resolve (self->sock);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (zmq_msg_recv (&msg, handle, ZMQ_DONTWAIT) != -1) {
        if (zmq_msg_size (&msg) < 1)
            continue;
        if (((uint8_t *) zmq_msg_data (&msg)) [0] == 1) {
            self->subscriptions++;
            s_pub_connection_closed (self);
            s_pub_connection_opened (self);
            self->connected = true;
        }
        else
        if (self->subscriptions > 0 && --self->subscriptions == 0) {
            s_pub_connection_closed (self);
            self->connected = false;
        }
    }
    zmq_msg_close (&msg);
    if (self->connected && !s_pub_alive (self)) {
        //  Over, though libzmq has not said so yet: not ready until a \x01
        s_pub_connection_closed (self);
        self->connected = false;
    }
    self->ready = self->connected && self->subscriptions > 0;
}

void
mesh_pub_destroy (mesh_pub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mesh_pub_t *self = *self_p;
    if (self->sock && !self->drained)
        mesh_pub_drain (self, self->options.linger_ms);
    if (self->sock && self->monitor)
        zmq_socket_monitor (zsock_resolve (self->sock), NULL, 0);
    zsock_destroy (&self->sock);
    zsock_destroy (&self->monitor);
    if (self->fd >= 0)
        close (self->fd);
    free (self->ends);
    free (self->bus);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

bool
mesh_pub_ready (mesh_pub_t *self)
{
    assert (self);
    s_pub_read_subscriptions (self);
    return self->ready;
}

uint64_t
mesh_pub_drain (mesh_pub_t *self, int timeout_ms)
{
    assert (self);
    self->drained = true;
    int64_t deadline = zclock_mono () + (timeout_ms > 0? timeout_ms: 0);
    while (true) {
        s_pub_read_subscriptions (self);
        s_pub_sample (self);
        if (self->ends_size == 0 || !self->counting)
            break;
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        //  Wake up for a \x00 at once, else look again in 5 ms
        zmq_pollitem_t item = { zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, left < 5? (long) left: 5);
    }
    return self->stats.pending;
}

void
mesh_pub_stats (mesh_pub_t *self, mesh_pub_stats_t *stats)
{
    assert (self);
    s_pub_read_subscriptions (self);
    s_pub_sample (self);
    *stats = self->stats;
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
                                   self->endpoint, timeout_ms);
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

//  Send [bus][event], never while the broker is away (an XPUB with
//  ZMQ_IMMEDIATE would drop it silently): wait for it up to
//  connect_timeout_ms, then block up to send_timeout_ms under back-pressure.
static int
s_pub_send_frames (mesh_pub_t *self, const char *bus, const void *data, size_t size, mesh_error_t *err)
{
    if (mesh_pub_wait_ready (self, self->options.connect_timeout_ms, err))
        return -1;
    size_t bus_size = strlen (bus);
    uint64_t wire = s_wire_size (bus_size) + s_wire_size (size);
    if (s_pub_track (self, wire))
        return mesh_error_set (err, MESH_ENOMEM, "publisher: out of memory");
    self->drained = false;
    void *handle = zsock_resolve (self->sock);
    if (zmq_send (handle, bus, bus_size, ZMQ_SNDMORE) == -1
    ||  zmq_send (handle, data, size, 0) == -1) {
        //  Not queued: forget it (an XPUB takes a message whole or not at all)
        if (self->counting) {
            self->ends_size--;
            self->written -= wire;
            self->stats.pending--;
        }
        else
            self->stats.uncounted--;
        if (zmq_errno () == EAGAIN)
            return mesh_error_set (err, MESH_ETIMEDOUT,
                                   "publisher: the broker did not take the event within %d ms (back-pressure)",
                                   self->options.send_timeout_ms);
        return mesh_error_set (err, MESH_EIO, "publisher: send: %s", zmq_strerror (zmq_errno ()));
    }
    self->stats.queued++;
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
    //  What the broker would refuse is refused here, where the caller sees it
    mesh_error_t check = { 0 };
    if (mesh_event_check (data, size, &self->options.limits, NULL, &check)) {
        free (data);
        return mesh_error_set (err, MESH_EINVAL, "publisher: %s", check.text);
    }
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
    //  Every entry is checked, and encoded, before any is sent: by PutEvents'
    //  rules (mesh_entry_to_event), then by the broker's own check of the
    //  bytes (mesh_event_check), so that nothing is queued that the broker
    //  would refuse and count where the caller never sees it
    int failed = 0;
    void *data [MESH_MAX_ENTRIES] = { NULL };
    size_t sizes [MESH_MAX_ENTRIES] = { 0 };
    for (size_t i = 0; i < count; i++) {
        mesh_event_t *event = mesh_entry_to_event (&entries [i], self->bus, &self->options.limits, &results [i]);
        mesh_error_t check = { 0 };
        if (event && mesh_event_encode (event, &data [i], &sizes [i], &check))
            s_result_error (&results [i], "InternalFailure", "not sent: %s", check.text);
        else
        if (event && mesh_event_check (data [i], sizes [i], &self->options.limits, NULL, &check))
            s_result_error (&results [i], "InvalidArgument", "Parameter Entry is not valid. Reason: %s.",
                            check.text);
        if (results [i].error_code [0]) {
            free (data [i]);
            data [i] = NULL;
            failed++;
        }
        mesh_event_destroy (&event);
    }
    int rc = failed;
    for (size_t i = 0; i < count; i++) {
        if (!data [i])
            continue;
        if (rc == -1)
            //  The request failed on an earlier entry: this one was not sent.
            s_result_error (&results [i], "InternalFailure", "not sent: %s", err? err->text: "request failed");
        else {
            const char *bus = entries [i].event_bus_name? entries [i].event_bus_name: self->bus;
            if (s_pub_send_frames (self, bus, data [i], sizes [i], err)) {
                s_result_error (&results [i], "InternalFailure", "not sent: %s", err? err->text: "send failed");
                rc = -1;
            }
        }
        free (data [i]);
    }
    return rc;
}

