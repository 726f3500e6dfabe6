/*  mesh_name.h: what a bus, rule or target name may be

    One alphabet for every name, checked in one place: the rule file when
    it is loaded, the publisher before it sends, the wire protocol when it
    reads a topic or a header. Target and rule names follow EventBridge's
    rule-name and target-id alphabet; a bus name may also hold '/', as
    EventBridge's bus names (partner buses) do.
*/
#ifndef MESH_NAME_H_INCLUDED
#define MESH_NAME_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MESH_NAME_MAX           64      //  target and rule names, in bytes
#define MESH_BUS_NAME_MAX       256

//  True if name is a valid target or rule name: 1 to 64 of [A-Za-z0-9._-].
//  NULL is not valid.
bool
    mesh_name_valid (const char *name);

//  True if name is a valid bus name: 1 to 256 of [A-Za-z0-9._/-].
bool
    mesh_bus_name_valid (const char *name);

//  The same checks on size bytes that need not end in a NUL (a frame, a
//  MessagePack string): a NUL among them makes the name invalid.
bool
    mesh_name_valid_n (const char *name, size_t size);
bool
    mesh_bus_name_valid_n (const char *name, size_t size);

#ifdef __cplusplus
}
#endif

#endif
