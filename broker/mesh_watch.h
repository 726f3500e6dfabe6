/*  mesh_watch.h: what the ZeroMQ socket monitor says of the broker's sockets

    The engine hands every monitor event of its sockets (ingest, deliver,
    api) to mesh_watch_add, in its own thread: a connection accepted, one
    closed, a handshake that failed and why, a socket listening. Each is
    kept, numbered, with the time and the peer's address (the monitor gives
    an accepted connection's file descriptor; the address is getpeername's,
    remembered until the connection goes), in a ring of the last
    MESH_WATCH_KEPT; the connections open now are kept as peers. The API's
    monitor operation reads both (mesh monitor).

    Messages per peer: the engine tells of each message ingest reads with
    the descriptor it came on (ZMQ_SRCFD), which is the monitor's value for
    the connection, so a peer's count is its descriptor's since the last
    connection on it closed. A descriptor the kernel gives again before the
    engine has read the old connection's close may lose the new one's
    first messages from its count (counted everywhere else all the same).
*/
#ifndef MESH_WATCH_H_INCLUDED
#define MESH_WATCH_H_INCLUDED

#include <czmq.h>

#define MESH_WATCH_KEPT         4096    //  events kept, the newest
#define MESH_WATCH_ADDRESS_MAX  64

typedef struct {
    uint64_t seq;               //  from 1, one more each event
    int64_t time_ms;            //  zclock_time when it was read
    const char *socket;         //  "ingest", "deliver" or "api"
    uint16_t event;             //  ZMQ_EVENT_*
    int32_t value;              //  the monitor's value: a descriptor, an errno, a protocol error
    char address [MESH_WATCH_ADDRESS_MAX];      //  the peer's, or the endpoint's
    uint64_t messages;          //  disconnected, closed: what ingest had read from it
} mesh_watch_event_t;

typedef struct {
    int fd;
    const char *socket;
    char address [MESH_WATCH_ADDRESS_MAX];
    int64_t since_ms;
} mesh_watch_peer_t;

typedef struct _mesh_watch_t mesh_watch_t;

mesh_watch_t *
    mesh_watch_new (void);

void
    mesh_watch_destroy (mesh_watch_t **self_p);

//  One monitor event of socket (a static string), with its value and the
//  endpoint the monitor named. Returns it as kept (its peer's address
//  resolved), valid until the next add.
const mesh_watch_event_t *
    mesh_watch_add (mesh_watch_t *self, const char *socket, uint16_t event, int32_t value, const char *endpoint);

//  The number the next event will get.
uint64_t
    mesh_watch_next (const mesh_watch_t *self);

//  Event seq, or NULL when it was overwritten or has not come yet.
const mesh_watch_event_t *
    mesh_watch_at (const mesh_watch_t *self, uint64_t seq);

//  One message ingest read, on descriptor fd (zmq_msg_get's ZMQ_SRCFD).
void
    mesh_watch_message (mesh_watch_t *self, int fd);

//  The messages ingest read on fd since the last connection on it closed.
uint64_t
    mesh_watch_messages (const mesh_watch_t *self, int fd);

//  The connections open now.
size_t
    mesh_watch_peer_count (const mesh_watch_t *self);
const mesh_watch_peer_t *
    mesh_watch_peer_at (const mesh_watch_t *self, size_t index);

//  "accepted", "disconnected", "handshake_failed_protocol"...
const char *
    mesh_watch_event_name (uint16_t event);

#endif
