/*  mesh.h: the umbrella header of libmesh; it only includes the others.  */
#ifndef MESH_H_INCLUDED
#define MESH_H_INCLUDED

#include "mesh_error.h"
#include "mesh_limits.h"
#include "mesh_name.h"
#include "mesh_json.h"
#include "mesh_event.h"
#include "mesh_rule.h"
#include "mesh_client.h"
#include "mesh_config.h"
#include "mesh_flags.h"         //  and mesh_options.h, the option tables

#endif
