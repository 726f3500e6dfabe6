/*  service.h: what the example's services share

    Every subscriber service (rewards, warehouse, shipping) is the same
    program around a different handler: parse the common flags, connect
    as its target, call the handler for each delivery (libmesh's
    mesh_sub_run), print a summary on exit. service_subscriber_main does
    all of that.
*/
#ifndef SERVICE_H_INCLUDED
#define SERVICE_H_INCLUDED

#include "mesh.h"

//  What a handler gets besides the delivery.
typedef struct {
    const char *name;           //  the service's name, prefix of its lines
    bool quiet;                 //  no line per event
} service_t;

//  The handler: look at the event, do the work, print one line unless quiet.
//  Return 0 to go on.
typedef int (service_handler_fn) (const service_t *service, const mesh_delivery_t *delivery);

//  Run a subscriber service: flags --deliver, --target, --count, --quiet,
//  --connect-timeout, --help. Returns the process exit status.
int
    service_subscriber_main (int argc, char *argv [], const char *name, const char *purpose,
                             service_handler_fn *handler);

//  Helpers for handlers: a string or number field of the event, with a
//  fallback when it is missing.
const char *
    service_string (const mesh_delivery_t *delivery, const char *path, const char *fallback);
double
    service_number (const mesh_delivery_t *delivery, const char *path, double fallback);

//  Print one line for an event: "<name>: <text> seq=N rule=R id=I", flushed.
void
    service_log (const service_t *service, const mesh_delivery_t *delivery, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

#endif
