/*  mesh_client.h: the client side of libmesh, one include for all of it

    mesh_proto.h  the wire protocol (frames, headers, names)
    mesh_pub.h    the publisher and the put-events batch loop
    mesh_sub.h    the subscriber and its receive loop
    mesh_call.h   one request to the broker's API and its reply
    mesh_monitor.h  the socket monitor's events, named and printed
*/
#ifndef MESH_CLIENT_H_INCLUDED
#define MESH_CLIENT_H_INCLUDED

#include "mesh_proto.h"
#include "mesh_pub.h"
#include "mesh_sub.h"
#include "mesh_call.h"
#include "mesh_monitor.h"

#endif
