/*  mesh_heartbeat.h: the heartbeat's header, packed on the broker's side

    A heartbeat is a control message on a target's topic, two frames
    [topic][header], with the header
        {"v": 1, "ctl": "heartbeat", "target": name, "epoch": epoch, "seq": seq}
    seq being the last sequence number given out for the target (0 for none
    yet) and always a uint64 (0xcf), as in the hello. It is here because
    libmesh's mesh_proto_header_pack packs only "v" and "ctl" for the
    reserved kinds in this version; it belongs in mesh_proto once that
    packs a heartbeat's fields, and then this file goes.
*/
#ifndef MESH_HEARTBEAT_H_INCLUDED
#define MESH_HEARTBEAT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  Pack the header of a heartbeat for target (a valid name) into out,
//  capacity bytes. Returns its size, or 0 if capacity is short
//  (MESH_PROTO_HEADER_MAX is always enough).
size_t
    mesh_heartbeat_pack (const char *target, uint64_t seq, uint64_t epoch, void *out, size_t capacity);

#endif
