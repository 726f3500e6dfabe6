/*  mesh_sub.h: receive what a mesh broker delivers to one target

    A subscriber connects to the broker's deliver endpoint as one target and
    receives what the broker's rules route to that target, one delivery at a
    time, each with the rule that matched, the bus and the per-target sequence
    number; what the sequence shows was missed is counted. mesh_sub_run is the receive
    loop of a program that handles deliveries (the example's services,
    `mesh tail`): it calls a handler for each, the way a Lambda handler is
    called. The frames are mesh_proto.h's; the wire format is
    docs/protocol.md.

    What a subscriber counts. Every delivery, hello and heartbeat carries
    a sequence number: a delivery its own, a hello or a heartbeat the last
    one the broker gave out for the target. Hellos and heartbeats carry the
    broker's epoch (its run); a delivery is of the epoch before it. The
    subscriber starts at its first hello (what the broker had queued for
    the target's other subscribers may reach it first, and is ignored),
    keeps a baseline (an epoch and the last seq it knows was given out) and
    applies, to each of the three in arrival order:

    - baseline: a fresh subscriber (resume_epoch 0) takes its first hello
      as its baseline and counts nothing before it: what went to the target
      before it joined is not its loss (the hello's seq). A subscriber that
      resumes (resume_epoch and resume_seq, from mesh_sub_position of its
      previous run) starts from that position instead, so a restarted
      subscriber counts what was given out while it was away;
    - same epoch: a delivery with seq > last + 1 counts seq - last - 1 as
      missed; a hello or heartbeat with seq > last counts seq - last (a lost
      tail shows at the next heartbeat, about a second later, without
      waiting for the next delivery). Numbers at or below last count
      nothing and do not move the baseline back;
    - another epoch (or, when resuming, an epoch other than resume_epoch):
      the broker restarted: restarts + 1, the baseline becomes 0 in the new
      epoch, and the new run's numbers before this message count as missed
      (usually none: a restarted broker opens ingest when its subscribers
      are back). What the old run gave out after the last number this
      subscriber saw (its last delivery or heartbeat) cannot be known and
      is not counted.

    missed therefore counts numbers the broker gave out for the target that
    this subscriber did not receive, as far as the headers it received show.

    A delivery names its route by number; the route messages the broker
    sends after each hello say which bus and rule each number is, and the
    subscriber keeps that table (emptied at every hello and at a new
    epoch). A delivery whose number it was not told of is malformed.
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
    //  Where a previous run of this target's subscriber stopped
    //  (mesh_sub_position): a subscriber that resumes counts what was given
    //  out since. 0, 0: a fresh subscriber (the default).
    uint64_t resume_epoch;
    uint64_t resume_seq;
    //  Where to print the socket monitor's events of this subscriber's
    //  socket as they come (mesh_monitor.h), or NULL (the default): the
    //  --monitor of the services and of mesh tail
    FILE *monitor;
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
    uint64_t missed;            //  missed since the previous delivery (a gap,
                                //  shown by this delivery or by a hello or
                                //  heartbeat before it)
    bool restarted;             //  a broker restart since the previous delivery
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

//  Where this subscriber is: the broker's epoch and the last seq it knows
//  was given out for the target (received or counted as missed). Save it
//  at exit and give it as resume_epoch and resume_seq to the next run.
//  Returns false (and the resume position, 0, 0 when none) while nothing
//  has arrived yet.
bool
    mesh_sub_position (const mesh_sub_t *self, uint64_t *epoch, uint64_t *seq);

//  What the subscriber counted, by the rules at the top of this file.
typedef struct {
    uint64_t received;          //  deliveries handed to the caller
    uint64_t missed;            //  numbers given out and not received
    uint64_t malformed;         //  messages that did not parse or decode
    uint64_t restarts;          //  broker restarts seen (a new epoch)
    uint64_t heartbeats;        //  heartbeats received
} mesh_sub_stats_t;

void
    mesh_sub_stats (const mesh_sub_t *self, mesh_sub_stats_t *stats);

#ifdef __cplusplus
}
#endif

#endif
