/*  mesh_monitor.c: the socket monitor's events, named and printed (mesh_monitor.h)  */
#include <time.h>
#include <zmq.h>
#include "mesh_private.h"

const char *
mesh_monitor_event_name (uint16_t event)
{
    switch (event) {
        case ZMQ_EVENT_CONNECTED:           return "connected";
        case ZMQ_EVENT_CONNECT_DELAYED:     return "connect_delayed";
        case ZMQ_EVENT_CONNECT_RETRIED:     return "connect_retried";
        case ZMQ_EVENT_LISTENING:           return "listening";
        case ZMQ_EVENT_BIND_FAILED:         return "bind_failed";
        case ZMQ_EVENT_ACCEPTED:            return "accepted";
        case ZMQ_EVENT_ACCEPT_FAILED:       return "accept_failed";
        case ZMQ_EVENT_CLOSED:              return "closed";
        case ZMQ_EVENT_CLOSE_FAILED:        return "close_failed";
        case ZMQ_EVENT_DISCONNECTED:        return "disconnected";
        case ZMQ_EVENT_MONITOR_STOPPED:     return "monitor_stopped";
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:  return "handshake_failed";
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:         return "handshake_succeeded";
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:   return "handshake_failed_protocol";
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:       return "handshake_failed_auth";
        default:                            return "other";
    }
}

void
mesh_monitor_time (int64_t ms, char *out, size_t size)
{
    if (ms < 0) {
        struct timespec now;
        clock_gettime (CLOCK_REALTIME, &now);
        ms = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
    }
    time_t seconds = (time_t) (ms / 1000);
    struct tm utc;
    gmtime_r (&seconds, &utc);
    size_t used = strftime (out, size, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf (out + used, size - used, ".%03dZ", (int) (ms % 1000));
}

void
mesh_monitor_line (FILE *out, const char *who, uint16_t event, uint32_t value, const char *endpoint)
{
    char when [32];
    mesh_monitor_time (-1, when, sizeof (when));
    fprintf (out, "%s: monitor: %s %s %s (value %u)\n", who, when, mesh_monitor_event_name (event), endpoint, value);
    fflush (out);
}

int
mesh_monitor_print (void *monitor, FILE *out, const char *who)
{
    int count = 0;
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (zmq_msg_recv (&msg, monitor, ZMQ_DONTWAIT) != -1) {
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size (&msg) == 6) {
            memcpy (&event, zmq_msg_data (&msg), 2);
            memcpy (&value, (uint8_t *) zmq_msg_data (&msg) + 2, 4);
        }
        char endpoint [256] = "";
        if (zmq_msg_more (&msg) && zmq_msg_recv (&msg, monitor, 0) != -1) {
            size_t size = zmq_msg_size (&msg) < sizeof (endpoint) - 1? zmq_msg_size (&msg): sizeof (endpoint) - 1;
            memcpy (endpoint, zmq_msg_data (&msg), size);
            endpoint [size] = 0;
        }
        mesh_monitor_line (out, who, event, value, endpoint);
        count++;
    }
    zmq_msg_close (&msg);
    return count;
}
