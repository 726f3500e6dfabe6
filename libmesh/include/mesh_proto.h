/*  mesh_proto.h: the wire protocol, version 3 (docs/protocol.md)

    Every frame that crosses a socket between a mesh broker and its clients
    is packed and parsed here, so the broker, the library's publisher and
    subscriber, and the tests share one implementation and one set of error
    texts. Nothing here touches a socket: a message is an array of frames
    (mesh_proto_frame_t views over bytes someone else owns), which makes the
    whole protocol testable without ZeroMQ.

    Ingest (publisher -> broker):   [bus][event]
    Deliver (broker -> subscriber): [topic header][event]    a delivery
                                    [topic header]           a hello, a
                                                             heartbeat, a route,
                                                             and the reserved
                                                             control kinds
    Frame 1 of a deliver-side message is the topic, a target name and one
    NUL byte, immediately followed by the header, a MessagePack map with
    string keys that ends exactly at the frame's end; its "v" is
    MESH_PROTO_VERSION and its "ctl" (absent in a delivery) names the kind
    of message. The topic leads the frame, so a subscription to it is still
    a prefix ZeroMQ filters on.

    A delivery's header is small: {v, route, seq}. Its bus and rule are
    said once per route, in a "route" message on the topic before the
    first delivery that uses the route after each hello; the broker's run
    (epoch) is said by the hello and the heartbeats. (Version 2 repeated
    bus, rule, target and epoch in every delivery: about 60 bytes more per
    delivery, which every hop copies; on loopback, where the bytes are the
    cost, the bus carried a third more events per second without them.)

    Parsing allocates nothing and points into the caller's bytes; packing
    writes into the caller's buffer. The broker's hot path does not pack a
    whole frame 1 per delivery: it keeps, per (rule, target), a prefix that
    holds every byte, topic included, but the sequence number
    (mesh_proto_delivery_prefix), and appends the number
    (mesh_proto_delivery_finish).
*/
#ifndef MESH_PROTO_H_INCLUDED
#define MESH_PROTO_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mesh_error.h"
#include "mesh_name.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The protocol's major version: "v" in every header. A header with another
//  "v" is refused, since its keys or its frames may mean something else.
//  2: the topic and the header share frame 1. 3: a delivery's header is
//  {v, route, seq}; "route" messages say what a route number means.
#define MESH_PROTO_VERSION      3

//  Where the broker's API listens unless told otherwise (docs/protocol.md).
#define MESH_API_DEFAULT        "tcp://127.0.0.1:5602"

//  Route numbers are below this: a subscriber can keep its table of them
//  in an array (the broker numbers each target's routes from 0).
#define MESH_PROTO_ROUTE_MAX    (1u << 20)

#define MESH_TOPIC_MAX          (MESH_NAME_MAX + 1)     //  a name and its NUL
//  The largest header this version packs (a route's: the longest bus, rule
//  and target names, the keys, a number), with room to spare.
#define MESH_PROTO_HEADER_MAX   512
//  The largest frame 1 this version packs: a topic and a header.
#define MESH_PROTO_HEAD_MAX     (MESH_TOPIC_MAX + MESH_PROTO_HEADER_MAX)
//  Bytes mesh_proto_delivery_finish appends to a prefix: the sequence
//  number, always as a MessagePack uint64 so that a header's size is fixed
//  per (rule, target).
#define MESH_PROTO_SEQ_SIZE     9

//  One frame of a message: borrowed bytes.
typedef struct {
    const void *data;
    size_t size;
} mesh_proto_frame_t;

//  The kinds of message on the deliver side (and, later, the API socket).
//  The reserved kinds have a name on the wire but no fields yet: a peer of
//  this version parses them (only "v" is checked) and ignores them.
typedef enum {
    MESH_PROTO_DELIVERY = 1,    //  no "ctl": an event routed by a rule
    MESH_PROTO_HELLO,           //  "hello": a subscription is live
    MESH_PROTO_HEARTBEAT,       //  "heartbeat": the broker is alive, and the target's last seq
    MESH_PROTO_ROUTE,           //  "route": what a route number of this topic means
    MESH_PROTO_REQUEST,         //  "request": reserved, client -> broker API
    MESH_PROTO_REPLY,           //  "reply": reserved, broker API -> client
    MESH_PROTO_UNKNOWN          //  any other "ctl": from a later minor version, ignore
} mesh_proto_kind_t;

//  The wire name of a kind ("hello"...; "delivery" for a delivery, which
//  carries no "ctl"); never NULL.
const char *
    mesh_proto_kind_name (mesh_proto_kind_t kind);

//  A header, parsed or to pack. Strings are (pointer, size), not
//  NUL-terminated, and point into the parsed frame. Which fields a kind
//  carries: a delivery route and seq (and target, which names its topic
//  when packing and is the topic's name when parsed); a route target,
//  route, bus and rule; a hello routed, target, seq (the last one given
//  out, 0 for none yet), epoch; a heartbeat target, seq (the last one
//  given out for the target) and epoch.
typedef struct {
    uint64_t version;           //  "v"
    mesh_proto_kind_t kind;     //  from "ctl"
    const char *ctl;            //  "ctl" as sent (NULL in a delivery)
    size_t ctl_size;
    const char *bus;
    size_t bus_size;
    const char *rule;
    size_t rule_size;
    const char *target;
    size_t target_size;
    uint64_t seq;               //  per-target sequence number, from 1
    uint32_t route;             //  a delivery's route, or the one a route message names
    uint64_t epoch;             //  the broker's run: its start time in ms
    bool routed;                //  hello: some rule targets this topic
} mesh_proto_header_t;

//  ---------------------------------------------------------------------
//  Ingest: [bus][event]

//  Check the frames of an ingest message: exactly two. On success *bus and
//  *event are the two frames; the bus's name and the event's content are
//  the broker's to judge (an unknown bus is counted apart from malformed
//  frames). Returns 0, or -1 with MESH_EMALFORMED.
int
    mesh_proto_ingest_parse (const mesh_proto_frame_t *frames, size_t count,
                             mesh_proto_frame_t *bus, mesh_proto_frame_t *event,
                             mesh_error_t *err);

//  ---------------------------------------------------------------------
//  The topic: a target name and one NUL

//  Write target's topic into topic (room for MESH_TOPIC_MAX bytes) and
//  return its size, or 0 if target is not a valid name.
size_t
    mesh_proto_topic (const char *target, char topic [MESH_TOPIC_MAX]);

//  Read a topic: a valid name followed by exactly one NUL, which is the
//  only NUL. Copies the name into name (room for MESH_NAME_MAX + 1).
//  Returns 0, or -1 with MESH_EMALFORMED.
int
    mesh_proto_topic_parse (const void *data, size_t size, char name [MESH_NAME_MAX + 1],
                            mesh_error_t *err);

//  ---------------------------------------------------------------------
//  Headers

//  Pack header, the MessagePack map alone (its version is ignored: this
//  side speaks MESH_PROTO_VERSION), into out, capacity bytes; *size is the
//  bytes written. What goes on the wire is mesh_proto_head_pack's frame. Names are checked
//  (valid bus, rule and target names). Keys come in these orders: a
//  delivery {v, route, seq}, a route {v, ctl, target, route, bus, rule}, a
//  hello {v, ctl, routed, target, epoch, seq}, a heartbeat {v, ctl, target,
//  epoch, seq}, the reserved kinds {v, ctl}. Returns 0, or -1 with MESH_EINVAL
//  for a field a kind needs that is missing or invalid, or MESH_ETOOBIG if
//  capacity is short (MESH_PROTO_HEADER_MAX is always enough).
int
    mesh_proto_header_pack (const mesh_proto_header_t *header, void *out, size_t capacity,
                            size_t *size, mesh_error_t *err);

//  Parse a header, the bytes after frame 1's topic, into *header,
//  allocating nothing (strings point into data). Refuses, with MESH_EMALFORMED and a message that names the
//  key: bytes that are not exactly one map, a key that is not a string, a
//  repeated key, a known key of the wrong type, a missing "v" or a "v"
//  other than MESH_PROTO_VERSION, a route number of MESH_PROTO_ROUTE_MAX
//  or more, and for a delivery, a route, a hello or a heartbeat a missing
//  field or a name that is not valid. Unknown keys are skipped: minor
//  versions may add some. Returns 0 or -1.
int
    mesh_proto_header_parse (const void *data, size_t size, mesh_proto_header_t *header,
                             mesh_error_t *err);

//  Pack frame 1 of a deliver-side message into out, capacity bytes: the
//  topic of header's target, then the header (mesh_proto_header_pack).
//  Every kind needs a valid target here, the reserved ones too: it names
//  the topic. Returns 0, or -1 as mesh_proto_header_pack
//  (MESH_PROTO_HEAD_MAX is always enough).
int
    mesh_proto_head_pack (const mesh_proto_header_t *header, void *out, size_t capacity,
                          size_t *size, mesh_error_t *err);

//  Parse a whole deliver-side message. Frame 1 is split at its first NUL
//  (a name holds none, a header may): before it a valid target name, after
//  it exactly one header map. Then the frame count its kind needs (a
//  delivery 2, a hello, a heartbeat and a route 1, other kinds 1 or more),
//  and for those four a header's target must be the topic's (a delivery
//  names none: its target is set to the topic's name). On success *header
//  is filled (the event, for a delivery, is frames [1]). Returns 0, or -1
//  with MESH_EMALFORMED and a text that names the frame.
int
    mesh_proto_message_parse (const mesh_proto_frame_t *frames, size_t count,
                              mesh_proto_header_t *header, mesh_error_t *err);

//  ---------------------------------------------------------------------
//  Deliveries on the hot path

//  Write into out (capacity bytes) the prefix of frame 1 of every delivery
//  of one route (a (bus, rule) the broker numbered route for target): the
//  topic and all of the header but the sequence number. Returns the
//  prefix's size, or 0 with err if the name is invalid, the route number
//  too large or capacity short (MESH_PROTO_HEAD_MAX is always enough).
size_t
    mesh_proto_delivery_prefix (const char *target, uint32_t route, void *out, size_t capacity,
                                mesh_error_t *err);

//  Write a delivery's whole frame 1 into out: the prefix, then seq. out
//  has room for prefix_size + MESH_PROTO_SEQ_SIZE bytes, which is the size
//  of the frame. The bytes are those mesh_proto_head_pack writes for the
//  same delivery.
void
    mesh_proto_delivery_finish (const void *prefix, size_t prefix_size, uint64_t seq, void *out);

#ifdef __cplusplus
}
#endif

#endif
