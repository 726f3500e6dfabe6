/*  mesh_proxy.c: the broker's actor, XSUB ingest -> filter -> XPUB deliver

    One thread owns both sockets and runs the filter between them, the way
    zproxy shuttles frames, with three additions:

    - Demand. The XPUB is verbose, so every subscription reaches us. A
      subscription to "name\0" marks that target subscribed and is answered
      with a hello on its topic (the subscriber's proof that it is live);
      the last unsubscription marks it unsubscribed. Events routed to a
      target nobody subscribes to are counted (no_subscriber), not queued.

    - Back-pressure without head-of-line blocking. The XPUB has NODROP set,
      so a send to a subscriber whose queue is full fails with EAGAIN
      instead of dropping silently; libzmq only checks the pipes that match
      the message's topic, so one slow target never blocks the others. Its
      deliveries wait in its own queue (up to backlog_bytes, then they are
      counted as overflow) and are retried every millisecond, in order.

    - Sequence numbers. Every delivery carries its target's next sequence
      number and the broker's epoch (its start time), so a subscriber sees
      any gap, whatever caused it.

    Nothing is logged per message at info level or above; refusals are
    counted and reported at most once per LOG_EVERY_MS per kind.
*/
#include "mesh_broker.h"

#define INGEST_BATCH    1024        //  messages per poll round, for fairness
#define LOG_EVERY_MS    10000
#define HARD_FRAME_MAX  (64 * 1024 * 1024)

typedef struct {
    zmq_msg_t header;
    zmq_msg_t event;                //  empty for a hello
    bool hello;
} s_item_t;

typedef struct {
    s_item_t *items;                //  ring
    size_t capacity;
    size_t head;
    size_t count;
    size_t bytes;
} s_queue_t;

typedef enum { LOG_MALFORMED, LOG_UNKNOWN_BUS, LOG_OVERSIZED, LOG_NO_SUBSCRIBER,
               LOG_OVERFLOW, LOG_SUBSCRIPTION, LOG_KINDS } s_log_kind_t;

typedef struct {
    zsock_t *pipe;
    zsock_t *ingest;                //  XSUB, bound
    zsock_t *deliver;               //  XPUB, bound
    void *ingest_handle;
    void *deliver_handle;
    mesh_filter_t *filter;
    const mesh_broker_options_t *options;
    uint64_t epoch;
    size_t queued;                  //  deliveries waiting in all queues
    uint64_t send_errors;
    uint64_t ignored_subscriptions;     //  not "name\0" of a valid name, or over the target cap
    int64_t next_stats;
    struct {
        int64_t next;               //  no log before this time
        uint64_t suppressed;
    } gate [LOG_KINDS];
    bool terminated;
    bool ingest_open;               //  ingest is bound
    int64_t grace_deadline;         //  bind ingest by then at the latest
    char bind_error [256];          //  set when a bind failed
} self_t;

// --------------------------------------------------------------------------
//  Rate-limited logging of refusals: the first one at once, then a summary
//  at most every LOG_EVERY_MS.

static void
s_log_gated (self_t *self, s_log_kind_t kind, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_log_gated (self_t *self, s_log_kind_t kind, const char *format, ...)
{
    int64_t now = zclock_mono ();
    if (now < self->gate [kind].next) {
        self->gate [kind].suppressed++;
        return;
    }
    char text [512];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    if (self->gate [kind].suppressed)
        zsys_warning ("%s (and %" PRIu64 " more like it in the last %d s)",
                      text, self->gate [kind].suppressed, LOG_EVERY_MS / 1000);
    else
        zsys_warning ("%s", text);
    self->gate [kind].suppressed = 0;
    self->gate [kind].next = now + LOG_EVERY_MS;
}

// --------------------------------------------------------------------------
//  Per-target queues

static s_queue_t *
s_queue (mesh_target_t *target)
{
    if (!target->queue)
        target->queue = calloc (1, sizeof (s_queue_t));
    assert (target->queue);
    return (s_queue_t *) target->queue;
}

static bool
s_queue_empty (const mesh_target_t *target)
{
    return !target->queue || ((s_queue_t *) target->queue)->count == 0;
}

//  Append an item, taking its messages. Returns false if the queue is full.
static bool
s_queue_push (self_t *self, mesh_target_t *target, s_item_t *item)
{
    s_queue_t *queue = s_queue (target);
    size_t size = zmq_msg_size (&item->header) + zmq_msg_size (&item->event);
    if (queue->bytes + size > self->options->backlog_bytes)
        return false;
    if (queue->count == queue->capacity) {
        size_t capacity = queue->capacity? queue->capacity * 2: 1024;
        s_item_t *items = malloc (capacity * sizeof (s_item_t));
        if (!items)
            return false;
        //  Unwrap the ring into the new array; zmq_msg_t may be moved with
        //  memcpy once, as long as the old copy is not used again.
        for (size_t i = 0; i < queue->count; i++)
            memcpy (&items [i], &queue->items [(queue->head + i) % queue->capacity], sizeof (s_item_t));
        free (queue->items);
        queue->items = items;
        queue->capacity = capacity;
        queue->head = 0;
    }
    memcpy (&queue->items [(queue->head + queue->count) % queue->capacity], item, sizeof (s_item_t));
    queue->count++;
    queue->bytes += size;
    self->queued++;
    return true;
}

static s_item_t *
s_queue_front (mesh_target_t *target)
{
    s_queue_t *queue = (s_queue_t *) target->queue;
    return &queue->items [queue->head];
}

static void
s_queue_pop (self_t *self, mesh_target_t *target)
{
    s_queue_t *queue = (s_queue_t *) target->queue;
    s_item_t *item = &queue->items [queue->head];
    queue->bytes -= zmq_msg_size (&item->header) + zmq_msg_size (&item->event);
    zmq_msg_close (&item->header);
    zmq_msg_close (&item->event);
    queue->head = (queue->head + 1) % queue->capacity;
    queue->count--;
    self->queued--;
}

//  Drop everything queued for a target (its last subscriber left). Each
//  dropped delivery is counted as routed while nobody subscribed.
static void
s_queue_clear (self_t *self, mesh_target_t *target)
{
    while (!s_queue_empty (target)) {
        if (!s_queue_front (target)->hello)
            target->no_subscriber++;
        s_queue_pop (self, target);
    }
}

static void
s_queue_destroy (mesh_target_t *target)
{
    s_queue_t *queue = (s_queue_t *) target->queue;
    if (!queue)
        return;
    for (size_t i = 0; i < queue->count; i++) {
        s_item_t *item = &queue->items [(queue->head + i) % queue->capacity];
        zmq_msg_close (&item->header);
        zmq_msg_close (&item->event);
    }
    free (queue->items);
    free (queue);
    target->queue = NULL;
}

// --------------------------------------------------------------------------
//  Sending

//  Try to send one item to its target without blocking. Returns 0 when
//  sent (the item's messages are consumed), 1 when the target's subscriber
//  is full (the item is untouched), -1 on another error.
static int
s_try_send (self_t *self, mesh_target_t *target, s_item_t *item)
{
    if (zmq_send (self->deliver_handle, target->topic, target->topic_size,
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        if (zmq_errno () == EAGAIN)
            return 1;
        self->send_errors++;            //  a loss like any other: counted
        return -1;
    }
    //  Once the first frame is accepted, libzmq accepts the rest of the
    //  message (the high-water mark counts whole messages).
    if (zmq_msg_send (&item->header, self->deliver_handle, item->hello? 0: ZMQ_SNDMORE) == -1
    || (!item->hello && zmq_msg_send (&item->event, self->deliver_handle, 0) == -1)) {
        self->send_errors++;
        return -1;
    }
    if (!item->hello)
        target->delivered++;
    return 0;
}

//  Send an item now if its target has nothing queued and room, else queue
//  it. Takes the item's messages in every case.
static void
s_send_or_queue (self_t *self, mesh_target_t *target, s_item_t *item)
{
    int rc = s_queue_empty (target)? s_try_send (self, target, item): 1;
    if (rc == 1 && !s_queue_push (self, target, item)) {
        target->overflow++;
        s_log_gated (self, LOG_OVERFLOW,
                     "deliver: target '%s' is too slow: its queue is full (%zu bytes), deliveries dropped; "
                     "its sequence numbers show the gap", target->name, self->options->backlog_bytes);
        rc = -1;
    }
    if (rc != 1) {
        zmq_msg_close (&item->header);
        zmq_msg_close (&item->event);
    }
}

//  Retry every queue in order until each is empty or full again.
static void
s_flush_queues (self_t *self)
{
    mesh_target_t *target;
    for (size_t i = 0; self->queued && (target = mesh_filter_target_at (self->filter, i)); i++)
        while (!s_queue_empty (target)) {
            int rc = s_try_send (self, target, s_queue_front (target));
            if (rc == 1)
                break;
            s_queue_pop (self, target);
        }
}

static void
s_send_hello (self_t *self, mesh_target_t *target)
{
    mesh_proto_header_t hello = {
        .kind = MESH_PROTO_HELLO, .routed = target->routed, .seq = target->seq, .epoch = self->epoch,
        .target = target->name, .target_size = strlen (target->name),
    };
    uint8_t header [MESH_PROTO_HEADER_MAX];
    size_t size;
    mesh_error_t err = { 0 };
    if (mesh_proto_header_pack (&hello, header, sizeof (header), &size, &err)) {
        zsys_error ("deliver: cannot pack a hello for '%s': %s", target->name, err.text);
        return;
    }
    s_item_t item = { .hello = true };
    zmq_msg_init (&item.event);
    zmq_msg_init_size (&item.header, size);
    memcpy (zmq_msg_data (&item.header), header, size);
    s_send_or_queue (self, target, &item);
}

static void
s_deliver (self_t *self, const mesh_route_t *route, zmq_msg_t *event)
{
    mesh_target_t *target = route->target;
    target->seq++;
    if (self->options->verbose)
        zsys_debug ("route: bus '%s' rule '%s' -> target '%s' seq %" PRIu64 "%s", route->bus, route->rule,
                    target->name, target->seq, target->subscribed? "": " (no subscriber)");
    if (!target->subscribed) {
        target->no_subscriber++;
        s_log_gated (self, LOG_NO_SUBSCRIBER,
                     "deliver: target '%s' has no subscriber: event from rule '%s' on bus '%s' not delivered",
                     target->name, route->rule, route->bus);
        return;
    }
    s_item_t item = { .hello = false };
    zmq_msg_init_size (&item.header, route->header_size + MESH_PROTO_SEQ_SIZE);
    mesh_proto_delivery_finish (route->header, route->header_size, target->seq, zmq_msg_data (&item.header));
    zmq_msg_init (&item.event);
    zmq_msg_copy (&item.event, event);      //  shares the buffer, no copy
    s_send_or_queue (self, target, &item);
}

// --------------------------------------------------------------------------
//  Socket handlers

//  Subscriptions and unsubscriptions from the deliver side.
static void
s_handle_demand (self_t *self)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (zmq_msg_recv (&msg, self->deliver_handle, ZMQ_DONTWAIT) != -1) {
        const uint8_t *data = zmq_msg_data (&msg);
        size_t size = zmq_msg_size (&msg);
        if (size < 1 || (data [0] != 0 && data [0] != 1))
            continue;
        bool subscribe = data [0] == 1;
        mesh_target_t *target = mesh_filter_target (self->filter, data + 1, size - 1, subscribe);
        if (!target) {
            //  Subscriptions come from the network: a peer can send any
            //  number of them, so they are counted and the log is gated.
            if (subscribe) {
                self->ignored_subscriptions++;
                s_log_gated (self, LOG_SUBSCRIPTION,
                             "deliver: ignored a subscription that is not a target topic (%zu bytes)", size - 1);
            }
            continue;
        }
        if (subscribe) {
            if (!target->subscribed)
                zsys_info ("deliver: target '%s' subscribed%s", target->name,
                           target->routed? "": " (no rule targets it yet)");
            target->subscribed = true;
            s_send_hello (self, target);
        }
        else {
            zsys_info ("deliver: target '%s' has no subscriber left", target->name);
            target->subscribed = false;
            s_queue_clear (self, target);
        }
    }
    zmq_msg_close (&msg);
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
        mesh_proto_frame_t views [2] = {
            { zmq_msg_data (&bus), zmq_msg_size (&bus) }, { zmq_msg_data (&event), zmq_msg_size (&event) }
        };
        mesh_proto_frame_t bus_frame, event_frame;
        mesh_error_t err = { 0 };
        if (mesh_proto_ingest_parse (views, frames, &bus_frame, &event_frame, &err)) {
            mesh_filter_count_malformed (self->filter);
            s_log_gated (self, LOG_MALFORMED, "%s", err.text);
            continue;
        }
        mesh_route_t *routes;
        int count = mesh_filter_route (self->filter, bus_frame.data, bus_frame.size,
                                       event_frame.data, event_frame.size, &routes, &err);
        if (count < 0) {
            s_log_kind_t kind = count == MESH_FILTER_OVERSIZED? LOG_OVERSIZED
                              : count == MESH_FILTER_UNKNOWN_BUS? LOG_UNKNOWN_BUS
                              : LOG_MALFORMED;
            s_log_gated (self, kind, "ingest: refused an event: %s", err.text);
            continue;
        }
        if (self->options->verbose && count == 0)
            zsys_debug ("filter: an event of %zu bytes matched no rule", zmq_msg_size (&event));
        for (int i = 0; i < count; i++)
            s_deliver (self, &routes [i], &event);
    }
    zmq_msg_close (&bus);
    zmq_msg_close (&event);
}

//  One line of every counter, for STATS and the periodic log.
static char *
s_stats_line (self_t *self)
{
    mesh_filter_stats_t stats;
    mesh_filter_stats (self->filter, &stats);
    char *line = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&line, &size);
    assert (out);
    fprintf (out, "received=%" PRIu64 " routed=%" PRIu64 " unmatched=%" PRIu64 " unknown_bus=%" PRIu64
                  " malformed=%" PRIu64 " oversized=%" PRIu64 " queued=%zu send_errors=%" PRIu64
                  " ignored_subscriptions=%" PRIu64,
             stats.received, stats.routed, stats.unmatched, stats.unknown_bus,
             stats.malformed, stats.oversized, self->queued, self->send_errors,
             self->ignored_subscriptions);
    mesh_target_t *target;
    for (size_t i = 0; (target = mesh_filter_target_at (self->filter, i)); i++)
        fprintf (out, " target:%s=seq:%" PRIu64 ",delivered:%" PRIu64 ",no_subscriber:%" PRIu64
                      ",overflow:%" PRIu64 ",queued:%zu,subscribed:%d",
                 target->name, target->seq, target->delivered, target->no_subscriber,
                 target->overflow, target->queue? ((s_queue_t *) target->queue)->count: 0,
                 target->subscribed);
    fclose (out);
    return line;
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
        char *line = s_stats_line (self);
        zstr_send (self->pipe, line);
        free (line);
    }
    else
    if (command && streq (command, "ENDPOINTS")) {
        if (*self->bind_error)
            zstr_sendx (self->pipe, "ERROR", self->bind_error, NULL);
        else
            zstr_sendx (self->pipe, "OK", self->ingest_open? zsock_endpoint (self->ingest): "",
                        zsock_endpoint (self->deliver), NULL);
    }
    else
        zsys_error ("proxy: unknown command '%s'", command? command: "");
    free (command);
    zmsg_destroy (&request);
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
    for (size_t i = 0; (target = mesh_filter_target_at (self->filter, i)); i++)
        if (target->routed && !target->subscribed)
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
        for (size_t i = 0; (target = mesh_filter_target_at (self->filter, i)); i++)
            if (target->routed && !target->subscribed)
                zsys_warning ("ingest: open after %d ms of start-up grace; target '%s' has no subscriber yet",
                              self->options->startup_grace_ms, target->name);
    }
    return 0;
}

void
mesh_proxy_actor (zsock_t *pipe, void *args)
{
    mesh_proxy_args_t *proxy_args = (mesh_proxy_args_t *) args;
    self_t *self = calloc (1, sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->filter = proxy_args->filter;
    self->options = proxy_args->options;
    self->epoch = mesh_filter_epoch (self->filter);

    self->ingest = zsock_new (ZMQ_XSUB);
    self->deliver = zsock_new (ZMQ_XPUB);
    assert (self->ingest && self->deliver);
    int64_t frame_max = 4 * (int64_t) self->options->limits.max_event_size;
    zsock_set_maxmsgsize (self->ingest, (int) (frame_max > HARD_FRAME_MAX? frame_max: HARD_FRAME_MAX));
    zsock_set_linger (self->ingest, 0);
    zsock_set_xpub_nodrop (self->deliver, 1);
    zsock_set_xpub_verbose (self->deliver, 1);
    zsock_set_sndhwm (self->deliver, self->options->sndhwm);
    zsock_set_linger (self->deliver, 1000);
    zsock_signal (pipe, 0);
    self->ingest_handle = zsock_resolve (self->ingest);
    self->deliver_handle = zsock_resolve (self->deliver);
    self->grace_deadline = zclock_mono () + self->options->startup_grace_ms;
    //  Deliver first: subscribers reconnect, then ingest opens (below).
    if (s_bind (self, self->deliver, self->options->deliver, "deliver")) {
        //  Answer ENDPOINTS with the error until told to stop.
        while (!self->terminated)
            s_handle_pipe (self);
        goto done;
    }

    int interval = self->options->stats_interval_ms;
    self->next_stats = interval > 0? zclock_mono () + interval: INT64_MAX;
    zmq_pollitem_t items [] = {
        { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
        { self->deliver_handle, 0, ZMQ_POLLIN, 0 },
        { self->ingest_handle, 0, ZMQ_POLLIN, 0 },
    };
    while (!self->terminated) {
        if (!self->ingest_open && s_open_ingest (self)) {
            while (!self->terminated)
                s_handle_pipe (self);
            break;
        }
        int64_t now = zclock_mono ();
        long timeout = self->queued || !self->ingest_open? 1: 1000;
        if (self->next_stats - now < timeout)
            timeout = self->next_stats > now? (long) (self->next_stats - now): 0;
        if (zmq_poll (items, 3, timeout) == -1 && zmq_errno () != EINTR)
            break;
        if (items [0].revents & ZMQ_POLLIN)
            s_handle_pipe (self);
        //  Demand before ingest, so a subscriber's hello precedes what it is sent.
        if (items [1].revents & ZMQ_POLLIN)
            s_handle_demand (self);
        if (self->queued)
            s_flush_queues (self);
        if (items [2].revents & ZMQ_POLLIN)
            s_handle_ingest (self);
        if (zclock_mono () >= self->next_stats) {
            char *line = s_stats_line (self);
            zsys_info ("stats: %s", line);
            free (line);
            self->next_stats = zclock_mono () + interval;
        }
    }
done:
    {
        mesh_target_t *target;
        for (size_t i = 0; self->filter && (target = mesh_filter_target_at (self->filter, i)); i++)
            s_queue_destroy (target);
    }
    zsock_destroy (&self->ingest);
    zsock_destroy (&self->deliver);
    free (self);
}
