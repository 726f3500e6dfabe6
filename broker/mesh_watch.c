/*  mesh_watch.c: the socket monitor's events, kept (mesh_watch.h)  */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "mesh_watch.h"
#include "mesh.h"

#define S_PEERS_MAX  100000         //  connections remembered; past it, accepted ones have no peer entry
#define S_DESCRIPTORS_MAX (1 << 20) //  descriptors counted, at most (8 MB of counters)

struct _mesh_watch_t {
    mesh_watch_event_t ring [MESH_WATCH_KEPT];
    uint64_t next;                  //  the next event's seq
    mesh_watch_peer_t *peers;
    size_t peer_count, peer_room;
    uint64_t *messages;             //  by descriptor
    size_t message_room;
};

mesh_watch_t *
mesh_watch_new (void)
{
    mesh_watch_t *self = (mesh_watch_t *) calloc (1, sizeof (mesh_watch_t));
    if (self)
        self->next = 1;
    return self;
}

void
mesh_watch_destroy (mesh_watch_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->peers);
        free ((*self_p)->messages);
        free (*self_p);
        *self_p = NULL;
    }
}

//  "127.0.0.1:51234" of a connected descriptor, or "" when it has none.
static void
s_peer_address (int fd, char *address, size_t size)
{
    struct sockaddr_storage peer;
    socklen_t length = sizeof (peer);
    address [0] = 0;
    if (getpeername (fd, (struct sockaddr *) &peer, &length))
        return;
    char host [INET6_ADDRSTRLEN] = "";
    if (peer.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) &peer;
        inet_ntop (AF_INET, &in->sin_addr, host, sizeof (host));
        snprintf (address, size, "%s:%u", host, ntohs (in->sin_port));
    }
    else
    if (peer.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *) &peer;
        inet_ntop (AF_INET6, &in->sin6_addr, host, sizeof (host));
        snprintf (address, size, "[%s]:%u", host, ntohs (in->sin6_port));
    }
    else
        snprintf (address, size, "(local)");
}

const mesh_watch_event_t *
mesh_watch_add (mesh_watch_t *self, const char *socket, uint16_t event, int32_t value, const char *endpoint)
{
    mesh_watch_event_t *slot = &self->ring [self->next % MESH_WATCH_KEPT];
    *slot = (mesh_watch_event_t) { self->next++, zclock_time (), socket, event, value, "", 0 };
    snprintf (slot->address, sizeof (slot->address), "%s", endpoint? endpoint: "");
    if (event == ZMQ_EVENT_ACCEPTED) {
        s_peer_address (value, slot->address, sizeof (slot->address));
        if (self->peer_count == self->peer_room && self->peer_room < S_PEERS_MAX) {
            size_t room = self->peer_room? 2 * self->peer_room: 64;
            mesh_watch_peer_t *grown = (mesh_watch_peer_t *) realloc (self->peers, room * sizeof (*grown));
            if (grown) {
                self->peers = grown;
                self->peer_room = room;
            }
        }
        if (self->peer_count < self->peer_room) {
            mesh_watch_peer_t *peer = &self->peers [self->peer_count++];
            *peer = (mesh_watch_peer_t) { value, socket, "", slot->time_ms };
            snprintf (peer->address, sizeof (peer->address), "%s", slot->address);
        }
    }
    else
    if (event == ZMQ_EVENT_DISCONNECTED || event == ZMQ_EVENT_CLOSED) {
        //  The descriptor is gone: its address is the one remembered
        for (size_t i = 0; i < self->peer_count; i++)
            if (self->peers [i].fd == value && self->peers [i].socket == socket) {
                snprintf (slot->address, sizeof (slot->address), "%s", self->peers [i].address);
                self->peers [i] = self->peers [--self->peer_count];
                break;
            }
        if (value >= 0 && (size_t) value < self->message_room) {
            slot->messages = self->messages [value];
            self->messages [value] = 0;
        }
    }
    return slot;
}

void
mesh_watch_message (mesh_watch_t *self, int fd)
{
    if (fd < 0)
        return;
    if ((size_t) fd >= self->message_room) {
        if (fd >= S_DESCRIPTORS_MAX)
            return;
        size_t room = self->message_room? self->message_room: 256;
        while (room <= (size_t) fd)
            room *= 2;
        uint64_t *grown = (uint64_t *) realloc (self->messages, room * sizeof (uint64_t));
        if (!grown)
            return;             //  uncounted: a summary, not a loss
        memset (grown + self->message_room, 0, (room - self->message_room) * sizeof (uint64_t));
        self->messages = grown;
        self->message_room = room;
    }
    self->messages [fd]++;
}

uint64_t
mesh_watch_messages (const mesh_watch_t *self, int fd)
{
    return fd >= 0 && (size_t) fd < self->message_room? self->messages [fd]: 0;
}

uint64_t
mesh_watch_next (const mesh_watch_t *self)
{
    return self->next;
}

const mesh_watch_event_t *
mesh_watch_at (const mesh_watch_t *self, uint64_t seq)
{
    if (seq == 0 || seq >= self->next || self->next - seq > MESH_WATCH_KEPT)
        return NULL;
    return &self->ring [seq % MESH_WATCH_KEPT];
}

size_t
mesh_watch_peer_count (const mesh_watch_t *self)
{
    return self->peer_count;
}

const mesh_watch_peer_t *
mesh_watch_peer_at (const mesh_watch_t *self, size_t index)
{
    return index < self->peer_count? &self->peers [index]: NULL;
}

const char *
mesh_watch_event_name (uint16_t event)
{
    return mesh_monitor_event_name (event);
}
