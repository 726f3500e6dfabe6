/*  mesh_sub.h: receive what a mesh broker delivers to one target

    A subscriber connects to the broker's deliver endpoint as one target and
    receives what the broker's rules route to that target, one delivery at a
    time, each with the rule that matched, the bus and the per-target sequence
    number; gaps in the sequence are counted. mesh_sub_run is the receive
    loop of a program that handles deliveries (the example's services,
    `mesh tail`): it calls a handler for each, the way a Lambda handler is
    called. The frames are mesh_proto.h's; the wire format is
    docs/protocol.md.
*/
#ifndef MESH_SUB_H_INCLUDED
#define MESH_SUB_H_INCLUDED

#include <stdbool.h>
#include "mesh_error.h"
#include "mesh_event.h"
#include "mesh_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MESH_DELIVER_DEFAULT  "tcp://127.0.0.1:5601"

typedef struct _mesh_sub_t mesh_sub_t;

typedef struct {
    int connect_timeout_ms;     //  wait for the broker's hello (5000; -1 forever)
    int rcvhwm;                 //  messages buffered before the broker queues (10000)
    mesh_limits_t limits;
} mesh_sub_options_t;

void
    mesh_sub_options_init (mesh_sub_options_t *self);

//  One delivery. Strings and event bytes are borrowed from the subscriber and
//  valid until its next receive.
typedef struct {
    const char *bus;
    const char *rule;
    const char *target;
    uint64_t seq;               //  per-target sequence number, from 1
    uint64_t missed;            //  deliveries skipped before this one (a gap)
    const void *data;           //  the event, MessagePack
    size_t size;
    mesh_event_t *event;        //  the event decoded (borrowed)
} mesh_delivery_t;

//  Connect to the broker's deliver endpoint as target and wait until the
//  broker confirms the subscription (its hello), up to connect_timeout_ms.
//  Returns NULL with err on a bad name or endpoint, or MESH_ETIMEDOUT.
mesh_sub_t *
    mesh_sub_new (const char *endpoint, const char *target,
                  const mesh_sub_options_t *options, mesh_error_t *err);

void
    mesh_sub_destroy (mesh_sub_t **self_p);

//  Receive the next delivery, waiting up to timeout_ms (-1 forever). Returns
//  1 with *delivery filled, 0 on timeout or interrupt, -1 with err on a
//  delivery that does not decode (it is counted and skipped by mesh_sub_run).
int
    mesh_sub_recv (mesh_sub_t *self, mesh_delivery_t *delivery, int timeout_ms,
                   mesh_error_t *err);

//  The handler of mesh_sub_run: return 0 to go on, anything else to stop.
typedef int (mesh_handler_fn) (const mesh_delivery_t *delivery, void *arg);

//  Call handler for each delivery until it returns non-zero, the process is
//  interrupted (SIGINT/SIGTERM), or max deliveries (0: no limit) were handled.
//  Deliveries that do not decode are counted (mesh_sub_stats) and skipped.
//  Returns 0, or -1 with err on a socket failure.
int
    mesh_sub_run (mesh_sub_t *self, mesh_handler_fn *handler, void *arg,
                  uint64_t max, mesh_error_t *err);

//  True if the broker's hello said that some rule targets this subscriber.
//  False means no rule names the target: nothing will arrive until one does.
bool
    mesh_sub_routed (const mesh_sub_t *self);

typedef struct {
    uint64_t received;          //  deliveries handed to the caller
    uint64_t missed;            //  sum of sequence gaps
    uint64_t malformed;         //  deliveries that did not decode
    uint64_t restarts;          //  broker restarts seen (the sequence restarted)
} mesh_sub_stats_t;

void
    mesh_sub_stats (const mesh_sub_t *self, mesh_sub_stats_t *stats);

#ifdef __cplusplus
}
#endif

#endif
