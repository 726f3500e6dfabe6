/*  mesh_engine.c: the broker's actor, XSUB ingest -> routes -> XPUB deliver

    One thread owns both sockets and runs the routes between them, the way
    zproxy shuttles frames, with three additions:

    - Demand. The XPUB is manual (ZMQ_XPUB_MANUAL), so every subscription
      reaches us and none takes effect unless we apply it: only a target's
      exact topic "name\0" is applied (s_handle_demand). It counts as a
      subscriber of that target and is answered with a hello on its topic
      (the subscriber's proof that it is live). Events routed to a target
      nobody subscribes to are counted (no_subscriber), not queued.

    - Back-pressure without head-of-line blocking. The XPUB has NODROP set,
      so a send to a subscriber whose queue is full fails with EAGAIN
      instead of dropping silently; libzmq only checks the pipes that match
      the message's topic, so one slow target never blocks the others. Its
      deliveries wait in its own queue (mesh_queue.h, up to backlog_bytes,
      then they are counted as overflow) and are retried in order.

    - Backlogs drain at the subscriber's pace. The XPUB's POLLOUT cannot
      say when: it is true even while one subscriber's pipe is full. What
      does say it is the socket's command mailbox: when libzmq's I/O thread
      has taken half a pipe's high-water mark of messages off a pipe, it
      sends the socket an "activate write" command, and the socket's
      ZMQ_FD becomes readable. So while anything is queued the engine polls
      that descriptor too, and retries every backlog when it fires, after
      every round of ingest and demand, and on a short timer as a safety net
      (a command libzmq processes inside another call, between our last
      retry and the poll, leaves no trace on the descriptor). The timer is
      adaptive: 1 ms after a retry that moved something, doubling to
      RETRY_MAX_MS while a backlog does not move (a stalled subscriber
      costs no busy loop).

    - Heartbeats. About once a second (--heartbeat) every subscribed
      target gets a heartbeat on its topic with the last sequence number
      given out, queued behind its backlog like a hello.

    - Sequence numbers. Every delivery carries its target's next sequence
      number and the broker's epoch (its start time), so a subscriber sees
      any gap, whatever caused it. They live in the targets registry, so a
      new set of routes does not reset them.

    Nothing is logged per message at info level or above; refusals are
    counted (mesh_stats.h) and logged through gates (mesh_log.h).

    - Taps. With a tap open, each event routed is offered to the taps
      (mesh_tap.h) with each delivery's sequence number and outcome; the
      taps' patterns are given to the routes (s_give_taps) so that the
      bus's walk answers them, and answers are only trusted while the
      routes have the taps' current generation.

    Why one file past 1,000 lines: it is one concept, the actor's loop,
    and everything here reads and writes its one self_t between two polls:
    sending and queueing, demand, ingest and routing (with the taps'
    hooks), the socket monitors, the API's socket, the tick, the start and
    the stop. What needs no self_t is already apart: the API's requests
    (mesh_api.c), the monitor's events and peers (mesh_watch.c), the taps
    and their records (mesh_tap.c), the metrics page and server
    (mesh_metrics.c), backlogs (mesh_queue.c), routes and targets.
*/
#include <malloc.h>
#include "mesh_engine.h"
#include "mesh_api.h"
#include "mesh_log.h"
#include "mesh_queue.h"
#include "mesh_stats.h"
#include "mesh_watch.h"
#include "mesh_metrics.h"
#include "mesh_tap.h"

#define INGEST_BATCH    1024        //  messages per poll round, for fairness
#define DEMAND_BATCH    1024        //  subscriptions per poll round
#define LOG_EVERY_MS    10000
#define RETRY_MAX_MS    16          //  longest wait between retries of a stuck backlog
#define TICK_MS         1000        //  housekeeping: expiry, memory, heartbeats
#define INGEST_HEADROOM (64 * 1024) //  over max_event_size, still read (and refused)
#define DELIVER_FRAME_MAX 256       //  a subscription: a byte and a topic, with room
#define TARGET_IDLE_MS  60000       //  a target no rule names is forgotten after this
#define TRIM_OVER_BYTES (1 << 20)   //  a drained backlog this large gives memory back
#define OWN_AFTER       1024        //  a backlog this long copies what it queues
#define SLOW_POLL_MS    10          //  while busy, between polls of all but ingest
#define API_BATCH       64          //  API requests per poll round, at most
#define API_ROUND_MS    5           //  and no more time than this, past the request under way
#define TAPS_GIVE_MS    1000        //  the routes take the taps' patterns this often at most

typedef struct {
    zsock_t *pipe;
    zsock_t *ingest;                //  XSUB, bound
    zsock_t *deliver;               //  XPUB, bound, ZMQ_XPUB_MANUAL
    zsock_t *api;                   //  ROUTER, bound (NULL: no --api)
    int64_t started;                //  zclock_mono at the start, for uptime
    zsock_t *ingest_monitor;        //  their connection events
    zsock_t *deliver_monitor;
    zsock_t *api_monitor;
    mesh_watch_t *watch;            //  every monitor event, kept for mesh monitor
    mesh_taps_t *taps;              //  mesh tap's copies of events (NULL: out of memory)
    uint64_t taps_given;            //  the taps' generation the routes have (s_give_taps)
    int64_t taps_given_at;          //  when, zclock_mono
    mesh_metrics_t *metrics;        //  the Prometheus endpoint (NULL: none)
    char metrics_url [128];
    size_t connections_open;
    size_t queued_peak;             //  bytes, since memory was last given back
    zmq_msg_t owned;                //  this ingest message's event, copied once if queued
    bool owned_valid;
    void *ingest_handle;
    void *deliver_handle;
    mesh_routes_t *routes;
    mesh_targets_t *targets;
    const mesh_broker_options_t *options;
    mesh_engine_args_t *args;       //  where the routes go back, and the reload
    uint64_t reloads;               //  reloads done
    int64_t rate_since;             //  the last tick, for the ingest rate
    uint64_t rate_received;         //  received then
    uint64_t epoch;
    mesh_stats_t stats;
    mesh_log_t log;
    int64_t next_stats;
    int retry_ms;                   //  the safety-net timer while backlogged
    bool terminated;
    bool ingest_open;               //  ingest is bound
    int64_t grace_deadline;         //  bind ingest by then at the latest
    char bind_error [256];          //  set when a bind failed
} self_t;

// --------------------------------------------------------------------------
//  Sending

//  Try to send one item to its target without blocking: frame 1, the
//  topic and header, then a delivery's event. Returns 0 when sent (the
//  item's messages are consumed), 1 when the target's subscriber is full
//  (the item is untouched), -1 on another error.
static int
s_try_send (self_t *self, mesh_target_t *target, mesh_queue_item_t *item)
{
    bool event = item->kind == MESH_QUEUE_DELIVERY;
    if (zmq_msg_send (&item->header, self->deliver_handle,
                      (event? ZMQ_SNDMORE: 0) | ZMQ_DONTWAIT) == -1) {
        if (zmq_errno () == EAGAIN)
            return 1;                       //  a failed send leaves the message ours
        self->stats.send_errors++;          //  a loss like any other: counted
        MESH_LOG_GATED (&self->log, MESH_LOG_SEND, "deliver: target '%s': a send failed: %s",
                        target->name, zmq_strerror (zmq_errno ()));
        return -1;
    }
    //  Once the first frame is accepted, libzmq accepts the rest of the
    //  message (the high-water mark counts whole messages).
    if (event && zmq_msg_send (&item->event, self->deliver_handle, 0) == -1) {
        self->stats.send_errors++;
        return -1;
    }
    if (event)
        target->delivered++;
    else
    if (item->kind == MESH_QUEUE_HEARTBEAT) {
        target->heartbeats++;
        self->stats.heartbeats++;
    }
    return 0;
}

static void
s_item_close (mesh_queue_item_t *item)
{
    zmq_msg_close (&item->header);
    zmq_msg_close (&item->event);
}

//  Make a delivery that is about to be queued hold its event's own bytes.
//  libzmq receives small messages into a shared 8 KB buffer and hands out
//  references into it, so a queued reference would keep the whole buffer
//  alive: a stopped subscriber's backlog would cost several times what the
//  queue counts. One copy per event, shared by every target that queues
//  it, and only once the target's backlog is long (OWN_AFTER items): a
//  short one, which a busy subscriber has many times a second, is gone
//  before the buffers matter, and copying there would cost every event at
//  full speed. If the copy cannot be made, the reference stays (the cost
//  is then undercounted, nothing is lost).
static void
s_own_event (self_t *self, mesh_target_t *target, mesh_queue_item_t *item)
{
    if (mesh_queue_size (&target->queue) < OWN_AFTER)
        return;
    if (!self->owned_valid) {
        size_t size = zmq_msg_size (&item->event);
        if (size <= MESH_QUEUE_VSM_MAX || zmq_msg_init_size (&self->owned, size))
            return;             //  small ones are copied into the zmq_msg_t anyway
        memcpy (zmq_msg_data (&self->owned), zmq_msg_data (&item->event), size);
        self->owned_valid = true;
    }
    zmq_msg_close (&item->event);
    zmq_msg_init (&item->event);
    zmq_msg_copy (&item->event, &self->owned);
}

//  Send an item now if its target has nothing queued and room, else queue
//  it. Takes the item's messages in every case. Returns what became of it
//  (sent, queued, or dropped and counted).
static mesh_tap_outcome_t
s_send_or_queue (self_t *self, mesh_target_t *target, mesh_queue_item_t *item)
{
    int rc = mesh_queue_size (&target->queue) == 0? s_try_send (self, target, item): 1;
    if (rc == 1) {
        if (item->kind == MESH_QUEUE_DELIVERY)
            s_own_event (self, target, item);
        bool out_of_memory;
        size_t before = mesh_queue_bytes (&target->queue);
        if (mesh_queue_push (&target->queue, item, self->options->backlog_bytes, &out_of_memory) == 0) {
            self->stats.queued++;
            self->stats.queued_bytes += mesh_queue_bytes (&target->queue) - before;
            return MESH_TAP_QUEUED;
        }
        if (item->kind == MESH_QUEUE_DELIVERY)
            target->overflow++;
        if (out_of_memory) {
            self->stats.out_of_memory++;
            MESH_LOG_GATED (&self->log, MESH_LOG_RESOURCE,
                            "deliver: target '%s': out of memory for its backlog, deliveries dropped; "
                            "its sequence numbers show the gap", target->name);
        }
        else
            MESH_LOG_GATED (&self->log, MESH_LOG_OVERFLOW,
                            "deliver: target '%s' is too slow: its queue is full (%zu bytes), deliveries "
                            "dropped; its sequence numbers show the gap", target->name,
                            self->options->backlog_bytes);
    }
    if (rc != 0)
        s_item_close (item);
    return rc == 0? MESH_TAP_SENT: MESH_TAP_DROPPED;
}

static void
s_queue_pop (self_t *self, mesh_target_t *target)
{
    size_t before = mesh_queue_bytes (&target->queue);
    mesh_queue_pop (&target->queue);
    self->stats.queued--;
    self->stats.queued_bytes -= before - mesh_queue_bytes (&target->queue);
}

//  Drop everything queued for a target (its last subscriber left). Each
//  dropped delivery is counted as routed while nobody subscribed.
static void
s_queue_clear (self_t *self, mesh_target_t *target)
{
    mesh_queue_item_t *item;
    while ((item = mesh_queue_front (&target->queue))) {
        if (item->kind == MESH_QUEUE_DELIVERY)
            target->no_subscriber++;
        s_queue_pop (self, target);
    }
}

//  Send what a target has queued, in order, until it is empty or its
//  subscriber is full again. Returns the number of items that left.
static size_t
s_flush_target (self_t *self, mesh_target_t *target)
{
    size_t sent = 0;
    mesh_queue_item_t *item;
    while ((item = mesh_queue_front (&target->queue))) {
        if (s_try_send (self, target, item) == 1)
            break;
        s_queue_pop (self, target);     //  sent, or failed and counted
        sent++;
    }
    return sent;
}

//  Retry every backlog. Returns the number of items that left.
static size_t
s_flush_queues (self_t *self)
{
    size_t sent = 0;
    mesh_target_t *target;
    for (size_t i = 0; self->stats.queued && (target = mesh_targets_at (self->targets, i)); i++)
        if (mesh_queue_size (&target->queue))
            sent += s_flush_target (self, target);
    return sent;
}

//  Queue or send a control message (hello, heartbeat, route) on a
//  target's topic: one frame, head (the topic and the header) as
//  mesh_proto_head_pack wrote it. Returns true if it was sent or queued.
static bool
s_send_control (self_t *self, mesh_target_t *target, mesh_queue_kind_t kind,
                const uint8_t *head, size_t size)
{
    mesh_queue_item_t item = { .kind = kind };
    zmq_msg_init (&item.event);
    if (zmq_msg_init_size (&item.header, size)) {
        self->stats.out_of_memory++;
        MESH_LOG_GATED (&self->log, MESH_LOG_RESOURCE, "deliver: out of memory for a message to '%s'",
                        target->name);
        return false;
    }
    memcpy (zmq_msg_data (&item.header), head, size);
    return s_send_or_queue (self, target, &item) != MESH_TAP_DROPPED;
}

//  A hello or a heartbeat for target, packed by the protocol module.
static void
s_send_ctl (self_t *self, mesh_target_t *target, mesh_proto_kind_t kind)
{
    mesh_proto_header_t ctl = {
        .kind = kind, .routed = target->routes > 0, .seq = target->seq, .epoch = self->epoch,
        .target = target->name, .target_size = strlen (target->name),
    };
    uint8_t head [MESH_PROTO_HEAD_MAX];
    size_t size;
    mesh_error_t err = { 0 };
    int rc = mesh_proto_head_pack (&ctl, head, sizeof (head), &size, &err);
    assert (rc == 0);           //  a valid name always packs: the registry holds only those
    s_send_control (self, target, kind == MESH_PROTO_HELLO? MESH_QUEUE_HELLO: MESH_QUEUE_HEARTBEAT,
                    head, size);
}

//  A hello starts every subscriber's table of route numbers afresh
//  (docs/protocol.md): each route is said again before its next delivery.
static void
s_send_hello (self_t *self, mesh_target_t *target)
{
    mesh_target_forget_announced (target);
    s_send_ctl (self, target, MESH_PROTO_HELLO);
}

//  Say what route's number means on its target's topic, once after each
//  hello, before its first delivery there. Returns false if that could not
//  be sent or queued: the delivery must not go either (its subscriber
//  could not tell its rule).
static bool
s_announce (self_t *self, const mesh_route_t *route)
{
    mesh_target_t *target = route->target;
    if (mesh_target_announced (target, route->number))
        return true;
    mesh_proto_header_t header = {
        .kind = MESH_PROTO_ROUTE, .route = route->number,
        .target = target->name, .target_size = strlen (target->name),
        .bus = route->bus, .bus_size = strlen (route->bus),
        .rule = route->rule, .rule_size = strlen (route->rule),
    };
    uint8_t head [MESH_PROTO_HEAD_MAX];
    size_t size;
    mesh_error_t err = { 0 };
    int rc = mesh_proto_head_pack (&header, head, sizeof (head), &size, &err);
    assert (rc == 0);           //  the routes hold valid names only
    if (!s_send_control (self, target, MESH_QUEUE_ROUTE, head, size))
        return false;
    mesh_target_announce (target, route->number);
    return true;
}

//  A heartbeat on every subscribed target's topic: the last seq given out,
//  in order behind whatever the target has queued (as a hello is), so a
//  subscriber sees a lost tail too: nothing may follow the last delivery
//  it missed, but the next heartbeat does.
static void
s_send_heartbeats (self_t *self)
{
    mesh_target_t *target;
    for (size_t i = 0; (target = mesh_targets_at (self->targets, i)); i++) {
        if (!target->subscribers)
            continue;
        s_send_ctl (self, target, MESH_PROTO_HEARTBEAT);
    }
}

//  One delivery of an event, with its target's next sequence number.
//  Returns what became of it.
static mesh_tap_outcome_t
s_deliver (self_t *self, const mesh_route_t *route, zmq_msg_t *event)
{
    mesh_target_t *target = route->target;
    target->seq++;
    MESH_LOG_DEBUG (self->options->verbose, "route: bus '%s' rule '%s' -> target '%s' seq %" PRIu64 "%s",
                    route->bus, route->rule, target->name, target->seq,
                    target->subscribers? "": " (no subscriber)");
    if (!target->subscribers) {
        target->no_subscriber++;
        MESH_LOG_GATED (&self->log, MESH_LOG_NO_SUBSCRIBER,
                        "deliver: target '%s' has no subscriber: event from rule '%s' on bus '%s' not delivered",
                        target->name, route->rule, route->bus);
        return MESH_TAP_NO_SUBSCRIBER;
    }
    if (!s_announce (self, route)) {
        target->overflow++;             //  dropped with its route's message, counted
        return MESH_TAP_DROPPED;
    }
    //  Frame 1, the topic and the header, is the route's prefix and the seq:
    //  one allocation and one copy per delivery.
    mesh_queue_item_t item = { .kind = MESH_QUEUE_DELIVERY };
    if (zmq_msg_init_size (&item.header, route->header_size + MESH_PROTO_SEQ_SIZE)) {
        target->overflow++;
        self->stats.out_of_memory++;
        MESH_LOG_GATED (&self->log, MESH_LOG_RESOURCE, "deliver: out of memory for a delivery to '%s'",
                        target->name);
        return MESH_TAP_DROPPED;
    }
    mesh_proto_delivery_finish (route->header, route->header_size, target->seq, zmq_msg_data (&item.header));
    zmq_msg_init (&item.event);
    zmq_msg_copy (&item.event, event);      //  shares the buffer, no copy
    return s_send_or_queue (self, target, &item);
}

// --------------------------------------------------------------------------
//  Socket handlers

//  Subscriptions and unsubscriptions from the deliver side. The XPUB is
//  in ZMQ_XPUB_MANUAL mode: a subscription has no effect on what ZeroMQ
//  sends until we apply it (ZMQ_SUBSCRIBE, which acts on the pipe the
//  message just read came from), and we apply only the exact topic of a
//  target. Anything else ("" for everything, a name without its NUL, an
//  instance topic this version does not serve, a 10,001st target) is
//  counted and has no effect at all: a socket subscribed to "" receives
//  nothing, so it cannot hold back any target by not reading.
//
//  Demand is counted per subscription: every subscribe a target topic
//  gets is +1, every unsubscribe -1 (libzmq reports one for each of a
//  pipe's subscriptions when the pipe goes). A peer that sends the same
//  subscription twice on one connection is counted twice but unsubscribed
//  once; libzmq gives no pipe identity to tell them apart without its
//  draft API. mesh's clients and ZeroMQ's SUB for one topic never do.
static void
s_handle_demand (self_t *self)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    for (int n = 0; n < DEMAND_BATCH
                 && zmq_msg_recv (&msg, self->deliver_handle, ZMQ_DONTWAIT) != -1; n++) {
        const uint8_t *data = zmq_msg_data (&msg);
        size_t size = zmq_msg_size (&msg);
        if (size < 1 || (data [0] != 0 && data [0] != 1))
            continue;
        bool subscribe = data [0] == 1;
        mesh_target_t *target = mesh_targets_lookup (self->targets, data + 1, size - 1);
        if (!subscribe) {
            if (!target || !target->subscribers)
                continue;       //  the end of a subscription we never applied
            zmq_setsockopt (self->deliver_handle, ZMQ_UNSUBSCRIBE, target->topic, target->topic_size);
            self->stats.unsubscriptions++;
            mesh_targets_unsubscribe (self->targets, target);
            if (!target->subscribers) {
                MESH_LOG_GATED (&self->log, MESH_LOG_DEMAND, "deliver: target '%s' has no subscriber left",
                                target->name);
                s_queue_clear (self, target);
            }
            continue;
        }
        bool valid = target != NULL;
        if (!target) {
            char name [MESH_NAME_MAX + 1];
            valid = mesh_proto_topic_parse (data + 1, size - 1, name, NULL) == 0;
            if (valid)
                target = mesh_targets_ensure (self->targets, name, false);
        }
        if (!target) {
            //  Subscriptions come from the network: a peer can send any
            //  number of them, so they are counted and the log is gated.
            self->stats.ignored_subscriptions++;
            if (valid)
                MESH_LOG_GATED (&self->log, MESH_LOG_TARGETS,
                                "deliver: ignored a subscription to a new target: the broker already "
                                "tracks %zu targets that no rule names", mesh_targets_unrouted (self->targets));
            else
                MESH_LOG_GATED (&self->log, MESH_LOG_SUBSCRIPTION,
                                "deliver: ignored a subscription that is not a target topic (%zu bytes)",
                                size - 1);
            continue;
        }
        zmq_setsockopt (self->deliver_handle, ZMQ_SUBSCRIBE, target->topic, target->topic_size);
        self->stats.subscriptions++;
        if (!target->subscribers)
            MESH_LOG_GATED (&self->log, MESH_LOG_DEMAND, "deliver: target '%s' subscribed%s", target->name,
                            target->routes? "": " (no rule targets it yet)");
        mesh_targets_subscribe (self->targets, target);
        s_send_hello (self, target);
    }
    zmq_msg_close (&msg);
}

//  Route one event that came for bus (counted as received already): the
//  refusals counted and logged, the deliveries made. Returns the number of
//  routes (0: no rule matched), or one of MESH_ROUTES_* with err. event
//  stays the caller's. An open tap that wants the event gets a copy of it
//  with what became of it (mesh_tap.h); with none open, this costs a test.
static int
s_route (self_t *self, const void *bus, size_t bus_size, zmq_msg_t *event, mesh_error_t *err)
{
    const mesh_route_t *routes;
    struct timespec start, end;
    clock_gettime (CLOCK_MONOTONIC, &start);
    int count = mesh_routes_match (self->routes, bus, bus_size, zmq_msg_data (event), zmq_msg_size (event),
                                   &routes, err);
    clock_gettime (CLOCK_MONOTONIC, &end);
    mesh_filter_time_add (&self->stats.filter, (uint64_t) ((end.tv_sec - start.tv_sec) * 1000000000
                                                           + (end.tv_nsec - start.tv_nsec)));
    bool tapped = false;
    if (mesh_taps_active (self->taps)) {
        //  The routes' answers are for the slots as they were given: a
        //  slot closed and opened again since has another pattern
        uint32_t decided = 0, matched = 0;
        if (self->taps_given == mesh_taps_generation (self->taps))
            mesh_routes_tap_hits (self->routes, &decided, &matched);
        tapped = mesh_taps_begin (self->taps, bus, bus_size, zmq_msg_data (event), zmq_msg_size (event),
                                  decided, matched);
    }
    if (count < 0) {
        mesh_log_kind_t kind;
        if (count == MESH_ROUTES_OVERSIZED) {
            self->stats.oversized++;
            kind = MESH_LOG_OVERSIZED;
        }
        else
        if (count == MESH_ROUTES_UNKNOWN_BUS) {
            self->stats.unknown_bus++;
            kind = MESH_LOG_UNKNOWN_BUS;
        }
        else
        if (count <= MESH_ROUTES_LIMIT + MESH_EVENT_OVERSIZED_ENTRY
        &&  count >= MESH_ROUTES_LIMIT + MESH_EVENT_NON_FINITE) {
            //  EventBridge's limits, each under its own counter and gate
            int why = MESH_ROUTES_LIMIT + MESH_EVENT_OVERSIZED_ENTRY - count;
            uint64_t *counters [] = {
                &self->stats.refused_oversized_entry, &self->stats.refused_reserved_source,
                &self->stats.refused_bad_source, &self->stats.refused_bad_detail_type,
                &self->stats.refused_bad_id, &self->stats.refused_bad_time,
                &self->stats.refused_non_finite
            };
            (*counters [why])++;
            kind = (mesh_log_kind_t) (MESH_LOG_LIMIT + why);
        }
        else {
            self->stats.malformed++;
            kind = MESH_LOG_MALFORMED;
        }
        MESH_LOG_GATED (&self->log, kind, "ingest: refused an event: %s", err->text);
        if (tapped)
            mesh_taps_end (self->taps, zclock_time (), err->text);
        return count;
    }
    if (count == 0) {
        self->stats.unmatched++;
        MESH_LOG_DEBUG (self->options->verbose, "routes: an event of %zu bytes matched no rule",
                        zmq_msg_size (event));
        if (tapped)
            mesh_taps_end (self->taps, zclock_time (), NULL);
        return 0;
    }
    self->stats.routed++;
    for (int i = 0; i < count; i++) {
        mesh_tap_outcome_t outcome = s_deliver (self, &routes [i], event);
        if (tapped)
            mesh_taps_route (self->taps, routes [i].rule, routes [i].target->name, routes [i].target->seq, outcome);
    }
    if (tapped)
        mesh_taps_end (self->taps, zclock_time (), NULL);
    if (self->owned_valid) {
        zmq_msg_close (&self->owned);
        self->owned_valid = false;
    }
    return count;
}

//  An event the API was given (put-events): as if it had come on ingest,
//  counted as received. Returns what s_route does.
static int
s_api_put (void *engine, const char *bus, const void *data, size_t size, mesh_error_t *err)
{
    self_t *self = (self_t *) engine;
    zmq_msg_t event;
    if (zmq_msg_init_size (&event, size)) {
        self->stats.out_of_memory++;
        return mesh_error_set (err, MESH_ENOMEM, "out of memory for the event");
    }
    memcpy (zmq_msg_data (&event), data, size);
    self->stats.received++;
    int rc = s_route (self, bus, strlen (bus), &event, err);
    zmq_msg_close (&event);
    return rc;
}

static void
s_handle_ingest (self_t *self)
{
    zmq_msg_t bus, event;
    zmq_msg_init (&bus);
    zmq_msg_init (&event);
    for (int n = 0; n < INGEST_BATCH; n++) {
        if (zmq_msg_recv (&bus, self->ingest_handle, ZMQ_DONTWAIT) == -1)
            break;
        if (self->watch)
            mesh_watch_message (self->watch, zmq_msg_get (&bus, ZMQ_SRCFD));
        //  Count the frames, keeping the first two (the rest are drained).
        size_t frames = 1;
        if (zmq_msg_more (&bus)) {
            frames += zmq_msg_recv (&event, self->ingest_handle, 0) != -1;
            zmq_msg_t rest;
            zmq_msg_init (&rest);
            for (bool more = zmq_msg_more (&event); more; more = zmq_msg_more (&rest), frames++)
                if (zmq_msg_recv (&rest, self->ingest_handle, 0) == -1)
                    break;
            zmq_msg_close (&rest);
        }
        self->stats.received++;
        mesh_proto_frame_t views [2] = {
            { zmq_msg_data (&bus), zmq_msg_size (&bus) }, { zmq_msg_data (&event), zmq_msg_size (&event) }
        };
        mesh_proto_frame_t bus_frame, event_frame;
        mesh_error_t err = { 0 };
        if (mesh_proto_ingest_parse (views, frames, &bus_frame, &event_frame, &err)) {
            self->stats.malformed++;
            MESH_LOG_GATED (&self->log, MESH_LOG_MALFORMED, "%s", err.text);
            continue;
        }
        s_route (self, bus_frame.data, bus_frame.size, &event, &err);
    }
    zmq_msg_close (&bus);
    zmq_msg_close (&event);
}

//  Give the routes the open taps' patterns when they changed (or the
//  routes did, force), so that each bus's walk matches them too
//  (mesh_routes_set_taps): a compile of each bus a tap watches, here,
//  between two events, as a reload would be. Once a second at most (the
//  tick catches up): a peer that opens and closes taps in a loop must not
//  hold ingest in compiles. Until the routes have the taps' generation,
//  s_route does not trust their answers, and each tap walks on its own.
static void
s_give_taps (self_t *self, bool force)
{
    if (!self->taps || (!force && mesh_taps_generation (self->taps) == self->taps_given))
        return;
    if (!force && zclock_mono () - self->taps_given_at < TAPS_GIVE_MS)
        return;
    mesh_routes_tap_t slots [MESH_TAP_MAX];
    for (size_t i = 0; i < MESH_TAP_MAX; i++)
        mesh_taps_slot (self->taps, i, &slots [i].bus, &slots [i].pattern);
    int64_t start = zclock_usecs ();
    size_t merged = mesh_routes_set_taps (self->routes, slots, MESH_TAP_MAX, &self->options->rule_options);
    self->taps_given = mesh_taps_generation (self->taps);
    self->taps_given_at = zclock_mono ();
    MESH_LOG_DEBUG (self->options->verbose, "taps: %zu open, their patterns in the walk of %zu bus(es), "
                    "in %.1f ms", mesh_taps_count (self->taps), merged, (double) (zclock_usecs () - start) / 1000);
}

//  Read the rule files again and swap the routes, between two events: no
//  event is matched against a half-built set, and the targets (their
//  sequence numbers, subscribers and backlogs) are the registry's, which
//  both sets of routes share. A file that is refused leaves the old routes.
//  Returns 0, or -1 with err.
static int
s_reload (self_t *self, mesh_error_t *err)
{
    int64_t start = zclock_usecs ();
    mesh_routes_t *routes = self->args->reload (self->args->reload_arg, self->epoch, err);
    if (!routes) {
        mesh_say (MESH_SAY_WARNING, "reload: refused, the rules that were running still are: %s", err->text);
        return -1;
    }
    mesh_routes_t *old = self->routes;
    mesh_routes_carry (routes, old);
    self->routes = self->args->routes = routes;
    mesh_routes_destroy (&old);
    self->reloads++;
    self->taps_given = UINT64_MAX;      //  the new routes have no taps yet
    s_give_taps (self, true);
    size_t rules = 0;
    for (size_t i = 0; i < mesh_routes_bus_count (routes); i++)
        rules += mesh_bus_rule_total (mesh_routes_bus_at (routes, i));
    mesh_say (MESH_SAY_INFO, "reload: %zu bus(es), %zu rule(s), swapped in %.1f ms", mesh_routes_bus_count (routes), rules,
               (double) (zclock_usecs () - start) / 1000);
    return 0;
}

//  The API's reload: the new routes, or NULL with err.
static const mesh_routes_t *
s_api_reload (void *engine, mesh_error_t *err)
{
    self_t *self = (self_t *) engine;
    return s_reload (self, err)? NULL: self->routes;
}

static void
s_handle_pipe (self_t *self)
{
    zmsg_t *request = zmsg_recv (self->pipe);
    if (!request)
        return;
    char *command = zmsg_popstr (request);
    if (command && streq (command, "$TERM"))
        self->terminated = true;
    else
    if (command && streq (command, "STATS")) {
        char *line = mesh_stats_line (&self->stats, self->targets);
        zstr_send (self->pipe, line? line: "(out of memory)");
        free (line);
    }
    else
    if (command && streq (command, "RELOAD")) {
        mesh_error_t err = { 0 };
        if (s_reload (self, &err))
            zstr_sendx (self->pipe, "ERROR", err.text, NULL);
        else
            zstr_send (self->pipe, "OK");
    }
    else
    if (command && streq (command, "ENDPOINTS")) {
        if (*self->bind_error)
            zstr_sendx (self->pipe, "ERROR", self->bind_error, NULL);
        else
            zstr_sendx (self->pipe, "OK", self->ingest_open? zsock_endpoint (self->ingest): "",
                        zsock_endpoint (self->deliver), self->api? zsock_endpoint (self->api): "",
                        self->metrics_url, NULL);
    }
    else
        mesh_say (MESH_SAY_ERROR, "engine: unknown command '%s'", command? command: "");
    free (command);
    zmsg_destroy (&request);
}

//  Once a second: forget targets no rule names and nobody subscribes to,
//  give drained queues' rings back, and memory back to the system once
//  the backlogs have drained.
//  A new Prometheus page, when a scrape came since the last one.
static void
s_render_metrics (self_t *self)
{
    if (!self->metrics || !mesh_metrics_wanted (self->metrics))
        return;
    char *page = mesh_metrics_render (&self->stats, self->targets, self->routes,
                                      self->watch? mesh_watch_peer_count (self->watch): 0);
    if (page)
        mesh_metrics_publish (self->metrics, page);
}

static void
s_tick (self_t *self, int64_t now)
{
    s_render_metrics (self);
    //  The ingest rate over the last tick, as a gauge
    if (self->rate_since && now > self->rate_since)
        self->stats.ingest_rate = (size_t) ((self->stats.received - self->rate_received) * 1000
                                            / (uint64_t) (now - self->rate_since));
    self->rate_since = now;
    self->rate_received = self->stats.received;
    self->stats.expired_targets += mesh_targets_expire (self->targets, now, TARGET_IDLE_MS);
    if (self->taps && mesh_taps_expire (self->taps, now))
        MESH_LOG_GATED (&self->log, MESH_LOG_API, "api: closed a tap nobody read for %d s", MESH_TAP_IDLE_MS / 1000);
    s_give_taps (self, false);          //  what an API round held back, and what expired
    mesh_target_t *target;
    for (size_t i = 0; (target = mesh_targets_at (self->targets, i)); i++)
        mesh_queue_shrink (&target->queue);
    if (self->stats.queued_bytes > self->queued_peak)
        self->queued_peak = self->stats.queued_bytes;
    if (self->stats.queued_bytes == 0 && self->queued_peak > TRIM_OVER_BYTES) {
        //  free () keeps what it got back for later; a drained backlog of
        //  many small messages would otherwise hold its peak for ever.
        malloc_trim (0);
        self->queued_peak = 0;
    }
}

//  Answer what waits on the API's socket, API_BATCH requests at most a
//  round: each gets its reply before the next is read, and the engine's
//  state is read between two events, never during one.
static void
    s_handle_api_round (self_t *self);

static void
s_handle_api (self_t *self)
{
    s_handle_api_round (self);
    s_give_taps (self, false);          //  a tap opened or closed: the routes' walk follows
}

static void
s_handle_api_round (self_t *self)
{
    //  A round of the API ends after API_ROUND_MS too, whatever is waiting:
    //  a peer that sends costly requests (a list of 100,000 rules) one
    //  after the other gets one in before ingest has its turn, not 64
    int64_t until = zclock_mono () + API_ROUND_MS;
    for (int n = 0; n < API_BATCH && zclock_mono () < until; n++) {
        //  Afresh for each request: one may have reloaded the routes
        mesh_api_state_t state = { &self->stats, self->targets, self->routes, self->options, self->epoch,
                                   self->started, self->ingest_open, s_api_put, s_api_reload, self, self->watch,
                                   self->taps };
        bool refused = false;
        mesh_error_t err = { 0 };
        int rc = mesh_api_handle (zsock_resolve (self->api), &state, &refused, &err);
        if (rc == 0)
            return;
        self->stats.api_requests++;
        if (refused || rc < 0) {
            self->stats.api_errors++;
            MESH_LOG_GATED (&self->log, MESH_LOG_API, "api: %s", err.text);
        }
    }
}

// --------------------------------------------------------------------------
//  The actor

static int
s_bind (self_t *self, zsock_t *sock, const char *endpoint, const char *what)
{
    if (zsock_bind (sock, "%s", endpoint) == -1) {
        snprintf (self->bind_error, sizeof (self->bind_error), "cannot bind %s endpoint %s: %s",
                  what, endpoint, zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

//  Ingest opens when every routed target has a subscriber, or when the
//  start-up grace is over, whichever comes first: after a broker restart
//  the subscribers are back before the first event is routed, and the
//  publishers wait meanwhile (they block until the broker subscribes).
//  Returns -1 if the bind failed.
static int
s_open_ingest (self_t *self)
{
    bool all_subscribed = true;
    mesh_target_t *target;
    for (size_t i = 0; (target = mesh_targets_at (self->targets, i)); i++)
        if (target->routes && !target->subscribers)
            all_subscribed = false;
    if (!all_subscribed && zclock_mono () < self->grace_deadline)
        return 0;
    if (s_bind (self, self->ingest, self->options->ingest, "ingest"))
        return -1;
    self->ingest_open = true;
    //  Subscribe upstream to everything: XSUB replays this to every
    //  publisher that connects, which is also how publishers know we are up.
    zmq_send (self->ingest_handle, "\x01", 1, 0);
    if (!all_subscribed) {
        for (size_t i = 0; (target = mesh_targets_at (self->targets, i)); i++)
            if (target->routes && !target->subscribers)
                mesh_say (MESH_SAY_WARNING, "ingest: open after %d ms of start-up grace; target '%s' has no subscriber yet",
                              self->options->startup_grace_ms, target->name);
    }
    return 0;
}

static zsock_t *s_monitor (self_t *self, zsock_t *sock, const char *what);

//  The Prometheus endpoint, its first page rendered. -1 if it cannot listen.
static int
s_open_metrics (self_t *self)
{
    mesh_error_t err = { 0 };
    self->metrics = mesh_metrics_start (self->options->metrics, self->metrics_url, sizeof (self->metrics_url), &err);
    if (!self->metrics) {
        snprintf (self->bind_error, sizeof (self->bind_error), "%s", err.text);
        return -1;
    }
    s_render_metrics (self);
    return 0;
}

//  The API's ROUTER, bound: its frames are limited (a larger one ends its
//  connection), its replies never wait for a slow reader. -1 if the bind
//  failed.
static int
s_open_api (self_t *self)
{
    self->api = zsock_new (ZMQ_ROUTER);
    if (!self->api) {
        snprintf (self->bind_error, sizeof (self->bind_error), "cannot create the api socket: %s",
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    zsock_set_maxmsgsize (self->api, MESH_API_FRAME_LIMIT);
    zsock_set_linger (self->api, 0);
    zsock_set_sndhwm (self->api, 1000);
    self->api_monitor = s_monitor (self, self->api, "api");
    return s_bind (self, self->api, self->options->api, "api");
}

//  Watch a socket's connections: a PAIR that receives its monitor events.
static zsock_t *
s_monitor (self_t *self, zsock_t *sock, const char *what)
{
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "inproc://mesh-monitor-%s-%p", what, (void *) self);
    if (zmq_socket_monitor (zsock_resolve (sock), endpoint, ZMQ_EVENT_ALL))
        return NULL;
    zsock_t *monitor = zsock_new (ZMQ_PAIR);
    if (monitor && zsock_connect (monitor, "%s", endpoint)) {
        zsock_destroy (&monitor);
        return NULL;
    }
    return monitor;
}

//  Connections accepted and lost, and accept () failing (file descriptors
//  gone): counted, and logged through their gates, so a flood of
//  connections is one line per 10 s and running out of descriptors is
//  seen. libzmq retries a failed accept by itself once descriptors are
//  free again; the broker goes on serving the connections it has.
static void
s_handle_monitor (self_t *self, zsock_t *monitor, const char *what, bool counted)
{
    for (int n = 0; n < DEMAND_BATCH; n++) {
        zmq_msg_t event, address;
        zmq_msg_init (&event);
        zmq_msg_init (&address);
        if (zmq_msg_recv (&event, zsock_resolve (monitor), ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&event);
            zmq_msg_close (&address);
            return;
        }
        if (zmq_msg_more (&event))
            zmq_msg_recv (&address, zsock_resolve (monitor), 0);
        uint16_t id = 0;
        uint32_t value = 0;
        if (zmq_msg_size (&event) >= 6) {
            memcpy (&id, zmq_msg_data (&event), 2);
            memcpy (&value, (uint8_t *) zmq_msg_data (&event) + 2, 4);
        }
        const char *peer = "";
        if (self->watch) {
            char endpoint [MESH_WATCH_ADDRESS_MAX];
            size_t size = zmq_msg_size (&address) < sizeof (endpoint) - 1? zmq_msg_size (&address)
                                                                       : sizeof (endpoint) - 1;
            memcpy (endpoint, zmq_msg_data (&address), size);
            endpoint [size] = 0;
            peer = mesh_watch_add (self->watch, what, id, (int32_t) value, endpoint)->address;
        }
        if (!counted) {
            zmq_msg_close (&event);
            zmq_msg_close (&address);
            continue;                   //  the API's connections are watched, not counted
        }
        if (id == ZMQ_EVENT_ACCEPTED) {
            self->stats.connections++;
            self->connections_open++;
            MESH_LOG_GATED (&self->log, MESH_LOG_CONNECTION, "%s: accepted a connection from %s (%zu open)",
                            what, *peer? peer: "an unknown address", self->connections_open);
        }
        else
        if (id == ZMQ_EVENT_DISCONNECTED) {
            self->stats.disconnections++;
            if (self->connections_open)
                self->connections_open--;
            MESH_LOG_GATED (&self->log, MESH_LOG_DISCONNECTION, "%s: a connection from %s closed (%zu open)",
                            what, *peer? peer: "an unknown address", self->connections_open);
        }
        else
        if (id == ZMQ_EVENT_ACCEPT_FAILED) {
            self->stats.accept_failures++;
            MESH_LOG_GATED (&self->log, MESH_LOG_RESOURCE, "%s: cannot accept a connection: %s%s", what,
                            strerror ((int) value), value == EMFILE || value == ENFILE
                            ? " (out of file descriptors: raise the limit, ulimit -n)": "");
        }
        zmq_msg_close (&event);
        zmq_msg_close (&address);
    }
}

void
mesh_engine_actor (zsock_t *pipe, void *args)
{
    mesh_engine_args_t *engine_args = (mesh_engine_args_t *) args;
    self_t *self = calloc (1, sizeof (self_t));
    assert (self);              //  at start-up, before any peer: nothing to go on with
    self->pipe = pipe;
    self->routes = engine_args->routes;
    self->args = engine_args;
    self->targets = engine_args->targets;
    self->options = engine_args->options;
    self->epoch = mesh_routes_epoch (self->routes);
    self->started = zclock_mono ();
    mesh_log_init (&self->log, LOG_EVERY_MS);

    self->watch = mesh_watch_new ();         //  NULL: nothing is kept, the rest works
    self->taps = mesh_taps_new ();           //  NULL: tap-open is refused, the rest works
    self->ingest = zsock_new (ZMQ_XSUB);
    self->deliver = zsock_new (ZMQ_XPUB);
    if (self->ingest && self->deliver) {
        self->ingest_monitor = s_monitor (self, self->ingest, "ingest");
        self->deliver_monitor = s_monitor (self, self->deliver, "deliver");
    }
    if (!self->ingest || !self->deliver || !self->ingest_monitor || !self->deliver_monitor) {
        //  Out of memory or of file descriptors: say so on ENDPOINTS.
        snprintf (self->bind_error, sizeof (self->bind_error), "cannot create the sockets: %s",
                  zmq_strerror (zmq_errno ()));
        zsock_signal (pipe, 0);
        while (!self->terminated)
            s_handle_pipe (self);
        goto done;
    }
    //  Nothing over the limit is read whole: a larger frame ends its
    //  connection (counted as a disconnection). Ingest: the largest event
    //  and some headroom, so that an event a little over the limit is still
    //  read, refused and counted as oversized; deliver: a subscription is a
    //  byte and a topic.
    int64_t ingest_max = (int64_t) self->options->limits.max_event_size + INGEST_HEADROOM;
    zsock_set_maxmsgsize (self->ingest, (int) (ingest_max < INT_MAX? ingest_max: INT_MAX));
    zsock_set_maxmsgsize (self->deliver, DELIVER_FRAME_MAX);
    zsock_set_linger (self->ingest, 0);
    zsock_set_xpub_nodrop (self->deliver, 1);
    zsock_set_xpub_manual (self->deliver, 1);
    zsock_set_sndhwm (self->deliver, self->options->sndhwm);
    zsock_set_linger (self->deliver, 1000);
    zsock_signal (pipe, 0);
    self->ingest_handle = zsock_resolve (self->ingest);
    self->deliver_handle = zsock_resolve (self->deliver);
    self->grace_deadline = zclock_mono () + self->options->startup_grace_ms;
    //  Deliver first: subscribers reconnect, then ingest opens (below).
    //  The API with it, so that a broker waiting for its subscribers
    //  answers a ping.
    if (s_bind (self, self->deliver, self->options->deliver, "deliver")
    ||  (*self->options->api && s_open_api (self))
    ||  (*self->options->metrics && s_open_metrics (self))) {
        //  Answer ENDPOINTS with the error until told to stop.
        while (!self->terminated)
            s_handle_pipe (self);
        goto done;
    }

    int interval = self->options->stats_interval_ms;
    self->next_stats = interval > 0? zclock_mono () + interval: INT64_MAX;
    int64_t next_tick = zclock_mono () + TICK_MS;
    int heartbeat_ms = self->options->heartbeat_ms;
    int64_t next_heartbeat = heartbeat_ms > 0? zclock_mono () + heartbeat_ms: INT64_MAX;
    //  The deliver socket's command descriptor: readable when libzmq has
    //  commands for the socket, among them a pipe's "activate write".
    int deliver_fd = -1;
    size_t fd_size = sizeof (deliver_fd);
    int rc = zmq_getsockopt (self->deliver_handle, ZMQ_FD, &deliver_fd, &fd_size);
    assert (rc == 0);
    //  Every socket in a zmq_poll costs a system call or two per call, and
    //  at full speed the loop polls every few events. So while events flow
    //  the loop polls only ingest (and, while something is queued, the
    //  command descriptor; poll ignores a negative one), and everything
    //  else, the pipe, subscriptions and the monitors, every SLOW_POLL_MS.
    //  Idle, it polls everything with the long timeout. A subscription so
    //  waits at most SLOW_POLL_MS for its hello, which changes nothing it
    //  is sent: with ZMQ_XPUB_MANUAL it receives nothing before we apply it.
    zmq_pollitem_t items [] = {
        { self->ingest_handle, 0, ZMQ_POLLIN, 0 },
        { NULL, -1, ZMQ_POLLIN, 0 },               //  deliver_fd while backlogged
        { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
        { self->deliver_handle, 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (self->ingest_monitor), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (self->deliver_monitor), 0, ZMQ_POLLIN, 0 },
        { self->api? zsock_resolve (self->api): NULL, -1, ZMQ_POLLIN, 0 },
        { self->api_monitor? zsock_resolve (self->api_monitor): NULL, -1, ZMQ_POLLIN, 0 },
    };
    const int slow_items = self->api? (self->api_monitor? 8: 7): 6;
    int64_t next_slow = 0;
    self->retry_ms = 1;
    while (!self->terminated) {
        if (!self->ingest_open && s_open_ingest (self)) {
            while (!self->terminated)
                s_handle_pipe (self);
            break;
        }
        //  Last thing before waiting: retry the backlogs, so that the wait
        //  is only for what can change them.
        if (self->stats.queued)
            self->retry_ms = s_flush_queues (self)? 1
                           : self->retry_ms < RETRY_MAX_MS? self->retry_ms * 2: RETRY_MAX_MS;
        int64_t now = zclock_mono ();
        int64_t timeout = self->stats.queued? self->retry_ms: !self->ingest_open? 1: TICK_MS;
        if (next_tick - now < timeout)
            timeout = next_tick > now? next_tick - now: 0;
        if (next_heartbeat - now < timeout)
            timeout = next_heartbeat > now? next_heartbeat - now: 0;
        if (self->next_stats - now < timeout)
            timeout = self->next_stats > now? self->next_stats - now: 0;
        items [1].fd = self->stats.queued? deliver_fd: -1;
        bool slow = now >= next_slow;
        if (slow)
            next_slow = now + SLOW_POLL_MS;
        else
        if (next_slow - now < timeout)
            timeout = next_slow - now;
        for (int i = 0; i < 8; i++)
            items [i].revents = 0;
        if (zmq_poll (items, slow? slow_items: 2, (long) timeout) == -1 && zmq_errno () != EINTR)
            break;
        if (slow && !(items [0].revents & ZMQ_POLLIN))
            next_slow = 0;      //  idle: the next wait is a full one too
        if (items [2].revents & ZMQ_POLLIN)
            s_handle_pipe (self);
        if (items [1].fd >= 0 && (items [1].revents & ZMQ_POLLIN)) {
            //  Process the commands (ZMQ_EVENTS does), which re-arms the
            //  descriptor, then retry.
            int events;
            size_t events_size = sizeof (events);
            zmq_getsockopt (self->deliver_handle, ZMQ_EVENTS, &events, &events_size);
            self->retry_ms = 1;
        }
        if (items [4].revents & ZMQ_POLLIN)
            s_handle_monitor (self, self->ingest_monitor, "ingest", true);
        if (items [5].revents & ZMQ_POLLIN)
            s_handle_monitor (self, self->deliver_monitor, "deliver", true);
        if (items [6].revents & ZMQ_POLLIN)
            s_handle_api (self);
        if (items [7].revents & ZMQ_POLLIN)
            s_handle_monitor (self, self->api_monitor, "api", false);
        //  Demand before ingest, so a subscriber's hello precedes what it is sent.
        if (items [3].revents & ZMQ_POLLIN)
            s_handle_demand (self);
        if (self->stats.queued)
            s_flush_queues (self);
        if (items [0].revents & ZMQ_POLLIN)
            s_handle_ingest (self);
        now = zclock_mono ();
        if (now >= next_tick) {
            s_tick (self, now);
            next_tick = now + TICK_MS;
        }
        if (now >= next_heartbeat) {
            s_send_heartbeats (self);
            next_heartbeat = now + heartbeat_ms;
        }
        if (now >= self->next_stats) {
            char *line = mesh_stats_line (&self->stats, self->targets);
            if (line)
                mesh_say (MESH_SAY_INFO, "stats: %s", line);
            free (line);
            self->next_stats = now + interval;
        }
    }
done:
    {
        //  The backlogs hold messages of this thread's sockets' context:
        //  close them before the sockets go.
        mesh_target_t *target;
        for (size_t i = 0; (target = mesh_targets_at (self->targets, i)); i++)
            mesh_queue_fini (&target->queue);
    }
    if (self->ingest)
        zmq_socket_monitor (zsock_resolve (self->ingest), NULL, 0);
    if (self->deliver)
        zmq_socket_monitor (zsock_resolve (self->deliver), NULL, 0);
    if (self->api)
        zmq_socket_monitor (zsock_resolve (self->api), NULL, 0);
    zsock_destroy (&self->api_monitor);
    mesh_metrics_stop (&self->metrics);
    mesh_watch_destroy (&self->watch);
    mesh_taps_destroy (&self->taps);
    zsock_destroy (&self->ingest_monitor);
    zsock_destroy (&self->deliver_monitor);
    zsock_destroy (&self->ingest);
    zsock_destroy (&self->deliver);
    zsock_destroy (&self->api);
    free (self);
}
