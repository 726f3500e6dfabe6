/*  mesh_flags.h: the options the mesh binaries share, as tables to include

    Each table is a piece of a mesh_options_t table (include it with an
    entry of type MESH_OPTION_TABLE whose offset is the field it fills), so
    that the broker, bin/mesh and the services spell, bound and explain
    their common options the same way, and read the same environment
    variables.

        { "rules", .type = MESH_OPTION_TABLE, .table = mesh_flags_rule_options,
          .offset = offsetof (settings_t, rule_options) },
*/
#ifndef MESH_FLAGS_H_INCLUDED
#define MESH_FLAGS_H_INCLUDED

#include "mesh_options.h"

#ifdef __cplusplus
extern "C" {
#endif

//  --max-pattern-size, --max-wildcard-complexity, into a mesh_rule_options_t.
extern const mesh_option_t mesh_flags_rule_options [];

//  --ingest into a const char * (MESH_INGEST, MESH_INGEST_DEFAULT).
extern const mesh_option_t mesh_flags_ingest [];

//  --deliver into a const char * (MESH_DELIVER, MESH_DELIVER_DEFAULT).
extern const mesh_option_t mesh_flags_deliver [];

//  --api into a const char * (MESH_API, MESH_API_DEFAULT): the broker's
//  request/reply endpoint (docs/protocol.md, "The API").
extern const mesh_option_t mesh_flags_api [];

//  --monitor into a bool: print this process's socket monitor events to
//  stderr (the caller sets its options' monitor to stderr when it is true).
extern const mesh_option_t mesh_flags_monitor [];

//  --connect-timeout into an int, in milliseconds (a mesh_pub_options_t's
//  or a mesh_sub_options_t's connect_timeout_ms).
extern const mesh_option_t mesh_flags_connect_timeout [];

#ifdef __cplusplus
}
#endif

#endif
