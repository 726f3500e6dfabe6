/*  bench_bus_common.h: what the bus benchmark's publishers and subscribers share

    The bus benchmark (`make bench-bus`, tests/bench/bench_bus.sh) runs a
    publisher, a broker and three subscribers as separate processes. Two
    programs play the clients: bench_bus (ZeroMQ: the zmq_proxy baseline and
    mesh) and bench_nats (NATS core). Both send the same bytes, built here:
    the example's `Payment Processed` event as MessagePack (or a 4 KB one),
    whose detail carries a fixed-width string slot

        "bench": "BENCH:<seq, 16 hex digits>:<time, 16 hex digits>"

    that the publisher overwrites in place before each send (the sequence
    number from 1, and CLOCK_MONOTONIC in ns) so that the event stays one
    valid envelope of unchanging size. Sequence 0 is a probe: the publisher
    sends probes until every subscriber has seen one (each touches a file in
    the ready directory), which is how it knows all three are connected and
    subscribed, for every system alike. A run stops at --count events or
    after --seconds, whichever comes first; then the publisher sends an end
    event (sequence BENCH_END, the count sent in the time field), which
    arrives after every event since each system keeps one publisher's order.
    A subscriber checks that it receives 1..N in order, each exactly once,
    and records each event's one-way latency. CLOCK_MONOTONIC is one clock
    for every process on the machine.
*/
#ifndef BENCH_BUS_COMMON_H_INCLUDED
#define BENCH_BUS_COMMON_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_MARK          "BENCH:"
#define BENCH_MARK_SIZE     6
#define BENCH_SLOT_SIZE     (BENCH_MARK_SIZE + 16 + 1 + 16)
#define BENCH_END           UINT64_MAX      //  the end event's sequence number

//  Nanoseconds of CLOCK_MONOTONIC.
uint64_t
    bench_now (void);

//  Build the payload: kind "payment" (the example's event) or "4k" (the same
//  padded to 4096 bytes of MessagePack). Returns a malloc'd buffer, its size
//  in *size_p and the slot's offset in *slot_p, or NULL on a bad kind.
uint8_t *
    bench_payload_new (const char *kind, size_t *size_p, size_t *slot_p);

//  Write seq and stamp (ns) into the slot at offset slot.
void
    bench_stamp (uint8_t *data, size_t slot, uint64_t seq, uint64_t stamp);

//  One subscriber's tally. Keep it in caller storage: bench_tally_init.
typedef struct {
    const char *id;
    uint64_t expected;          //  events 1..expected (the end event may lower it)
    uint64_t capacity;          //  latencies room
    uint64_t next;              //  the sequence number expected next
    uint64_t received;          //  events with seq >= 1 taken
    uint64_t lost;              //  skipped sequence numbers
    uint64_t disordered;        //  duplicates or out of order
    uint64_t probes;
    uint64_t last_recv;         //  bench_now () of the last event taken
    uint64_t *latency;          //  ns, for seq > warmup
    uint64_t latency_count;
    uint64_t warmup;            //  first events left out of the latencies
    size_t slot;                //  where the slot was found last
    const char *ready_dir;      //  touch ready_dir/<id> at the first probe
    bool ready;
} bench_tally_t;

void
    bench_tally_init (bench_tally_t *self, const char *id, uint64_t expected,
                      const char *ready_dir);
void
    bench_tally_fini (bench_tally_t *self);

//  Take one received event; returns true once event `expected` and the end
//  event have arrived (the run is over for this subscriber), or the end
//  event after a loss. Events without a slot are ignored.
bool
    bench_tally_take (bench_tally_t *self, const void *data, size_t size);

//  Print the tally as one line of key=value on stdout and write the
//  latencies (uint64 ns, native order) to lat_file if it is not NULL.
void
    bench_tally_report (bench_tally_t *self, const char *lat_file, const char *note);

//  How many of the count files ready_dir/<name> exist (name from the ids).
int
    bench_ready_count (const char *ready_dir, char **ids, int count);

//  The publisher's schedule: paced at rate events/s (0: as fast as it can).
//  bench_pace_due gives the time event i (from 0) is due, and sleeps until
//  then; its value is the stamp, so that a publisher that falls behind its
//  schedule shows as latency (no coordinated omission).
typedef struct {
    double rate;
    uint64_t start;
} bench_pace_t;

void
    bench_pace_init (bench_pace_t *self, double rate);
uint64_t
    bench_pace_due (bench_pace_t *self, uint64_t i);

//  The options both programs' pub and sub commands take.
typedef struct {
    const char *role;           //  "pub" or "sub"
    const char *endpoint;       //  zmq endpoint or NATS URL
    const char *payload;        //  "payment" or "4k"
    const char *topic;          //  sub: zmq subscription / NATS subject
    const char *bus;            //  zmq pub: first frame
    const char *id;             //  sub: name in reports and the ready file
    const char *ready_dir;
    const char *lat_file;
    char *ready_ids [8];        //  pub: subscribers to wait for
    int ready_count;
    uint64_t count;             //  events to send / expect (at most)
    double seconds;             //  pub: stop sending after this long (0: no limit)
    double rate;                //  pub: events per second, 0 for as fast as possible
    int frames;                 //  zmq sub: fewest frames of an event message (the event is last)
    double timeout;             //  seconds before giving up
} bench_args_t;

//  A publisher's one line for bench_bus.sh: what it sent and when.
void
    bench_pub_report (uint64_t sent, size_t size, uint64_t start, uint64_t end);

//  A subscriber stops at SIGTERM or SIGINT (and then reports what it has):
//  bench_catch_stop installs the handlers, bench_stopped says if one came.
void
    bench_catch_stop (void);
bool
    bench_stopped (void);

//  Parse argv after the role ("pub" or "sub"); returns 0, or -1 with a
//  message on stderr.
int
    bench_args_parse (bench_args_t *self, const char *role, int argc, char *argv []);

#endif
