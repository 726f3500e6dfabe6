/*  mesh_log.h: the broker's gated logging

    Refusals, losses and churn come from the network at any rate, so the
    broker never logs them one line each: every kind of trouble has a gate
    that lets its first line through at once, then at most one line per
    period, which says how many like it were suppressed meanwhile. The
    counters, not the log, are the exact record.

    MESH_LOG_GATED checks the gate before it formats anything, so a
    suppressed line costs a clock read and an increment. MESH_LOG_DEBUG
    costs a test of the verbose flag when it is off.
*/
#ifndef MESH_LOG_H_INCLUDED
#define MESH_LOG_H_INCLUDED

#include <czmq.h>

typedef enum {
    MESH_LOG_MALFORMED,
    MESH_LOG_UNKNOWN_BUS,
    MESH_LOG_OVERSIZED,
    MESH_LOG_LIMIT,             //  EventBridge's limits: one gate per MESH_EVENT_* refusal,
    MESH_LOG_LIMIT_LAST = MESH_LOG_LIMIT + 6,  //  from an oversized entry to a non-finite float
    MESH_LOG_NO_SUBSCRIBER,
    MESH_LOG_OVERFLOW,
    MESH_LOG_SUBSCRIPTION,      //  subscriptions that are not target topics
    MESH_LOG_DEMAND,            //  targets gaining and losing subscribers
    MESH_LOG_TARGETS,           //  targets refused: the registry is full
    MESH_LOG_CONNECTION,        //  connections accepted
    MESH_LOG_DISCONNECTION,     //  connections closed
    MESH_LOG_RESOURCE,          //  out of memory, out of file descriptors
    MESH_LOG_SEND,              //  ZeroMQ refused a message for another reason
    MESH_LOG_API,               //  API requests refused
    MESH_LOG_KINDS
} mesh_log_kind_t;

typedef struct {
    int64_t period_ms;
    struct {
        int64_t next;           //  no line before this time (zclock_mono)
        uint64_t suppressed;    //  lines held back since the last one
    } gate [MESH_LOG_KINDS];
} mesh_log_t;

//  Gates open, one line per kind per period_ms.
void
    mesh_log_init (mesh_log_t *self, int64_t period_ms);

//  True if a line of this kind may be written now (and closes the gate for
//  a period); false counts it as suppressed.
bool
    mesh_log_pass (mesh_log_t *self, mesh_log_kind_t kind);

//  Write a line of this kind (a warning; news, as demand and connections,
//  at info level), with the suppressed count since the last
//  one. Call only after mesh_log_pass said yes (the macro does).
void
    mesh_log_write (mesh_log_t *self, mesh_log_kind_t kind, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

#define MESH_LOG_GATED(log, kind, ...) \
    do { if (mesh_log_pass ((log), (kind))) mesh_log_write ((log), (kind), __VA_ARGS__); } while (0)

#define MESH_LOG_DEBUG(verbose, ...) \
    do { if (verbose) mesh_say (MESH_SAY_DEBUG, __VA_ARGS__); } while (0)

//  Every line the broker writes goes through mesh_say: at or above the
//  level (--log-level), as czmq's text line ("I: (mesh-broker) 26-12-02
//  09:00:00 ...") or, with --log-format json, as one JSON object a line,
//  {"time": "2026-12-02T09:00:00.123Z", "level": "info", "program":
//  "mesh-broker", "message": "..."}, for log shippers.
typedef enum { MESH_SAY_DEBUG, MESH_SAY_INFO, MESH_SAY_WARNING, MESH_SAY_ERROR } mesh_say_level_t;

//  From --log-level and --log-format: 0, or -1 when a value is not one of
//  theirs (debug, info, warning, error; text, json).
int
    mesh_say_setup (const char *level, const char *format);

void
    mesh_say (mesh_say_level_t level, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

#endif
