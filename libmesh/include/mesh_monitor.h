/*  mesh_monitor.h: the ZeroMQ socket monitor's events, named and printed

    What libmesh's publisher and subscriber print with their monitor
    option (the --monitor of every mesh binary), and what the broker's
    mesh monitor names: one line an event, the time, who, the event, the
    endpoint and the monitor's value (a descriptor, an errno, a protocol
    error), as
        rewards: monitor: 2026-12-02T15:40:01.123Z connected tcp://127.0.0.1:5601 (value 9)
*/
#ifndef MESH_MONITOR_H_INCLUDED
#define MESH_MONITOR_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

//  "connected", "disconnected", "handshake_failed_protocol"... for a
//  ZMQ_EVENT_* (a 16-bit event of the monitor's first frame); "other".
const char *
    mesh_monitor_event_name (uint16_t event);

//  ms since 1970 (or now, when negative) as "2026-12-02T15:40:01.123Z",
//  the time every mesh line and log record carries. size: 25 at least.
void
    mesh_monitor_time (int64_t ms, char *out, size_t size);

//  One event's line to out: "who: monitor: TIME EVENT ENDPOINT (value V)".
void
    mesh_monitor_line (FILE *out, const char *who, uint16_t event, uint32_t value, const char *endpoint);

//  Read every event waiting on a monitor PAIR socket (libzmq's handle),
//  without blocking, and print each to out as a line that starts with who.
//  Returns how many were read.
int
    mesh_monitor_print (void *monitor, FILE *out, const char *who);

#ifdef __cplusplus
}
#endif

#endif
