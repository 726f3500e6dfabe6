/*  mesh_limits.h: the limits that apply to events

    EventBridge's defaults, every one of which a caller can change: the size
    of one entry and of one encoded event on the wire, and how deep it may
    nest. The codecs, the broker's check and the matchers all read them from
    here, so a limit is raised in one place.
*/
#ifndef MESH_LIMITS_H_INCLUDED
#define MESH_LIMITS_H_INCLUDED

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Limits that apply to events. EventBridge's defaults; every one can be changed.
//  Callers keep the struct in their own storage: mesh_limits_init fills defaults.
#define MESH_MAX_EVENT_SIZE_DEFAULT   (256 * 1024)  //  EventBridge entry size
#define MESH_MAX_DEPTH_DEFAULT        1000          //  EventBridge's nesting limit
#define MESH_MAX_DEPTH_LIMIT          2000          //  highest settable (jansson parses 2048)
#define MESH_MAX_ENTRIES              10            //  entries per put-events call
#define MESH_MAX_ENTRY_SIZE_DEFAULT   MESH_MAX_EVENT_SIZE_DEFAULT  //  256 KB, as counted below
#define MESH_SOURCE_MAX               256           //  characters of a source (PutEvents: 1 to 256)
#define MESH_DETAIL_TYPE_MAX          128           //  characters of a detail-type (1 to 128)

typedef struct {
    size_t max_event_size;      //  bytes of one entry (EventBridge formula) and of
                                //  one encoded event on the wire
    int max_depth;              //  levels of nesting, the envelope map being level 1
    size_t max_entry_size;      //  mesh_event_check: EventBridge's entry size (source,
                                //  detail-type, detail, resources); 0 means the default
    int allow_reserved_source;  //  mesh_event_check: accept 'aws.' sources (the broker's
                                //  own events); publishers' are refused (0, the default)
} mesh_limits_t;

void
    mesh_limits_init (mesh_limits_t *self);

#ifdef __cplusplus
}
#endif

#endif
