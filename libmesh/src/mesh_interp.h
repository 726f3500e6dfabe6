/*  mesh_interp.h: the reference matcher's pieces, for its siblings

    Private to libmesh. The interpreter (mesh_interp.c) answers for one rule
    by walking its pattern tree over the event's bytes. The explainer
    (mesh_explain.c) asks these same functions which part failed, so it can
    never disagree with the answer; the automaton (mesh_automaton_run.c)
    shares the check, the leaf test and, for the rare shapes it does not
    compile, the whole match, so the two engines cannot drift apart.
*/
#ifndef MESH_INTERP_H_INCLUDED
#define MESH_INTERP_H_INCLUDED

#include "mesh_pattern.h"

//  Where a pattern node finds its value in the event: nowhere, at a real
//  value, or in a "view": the keys of one map that start with a dotted
//  prefix ("state.status" seen from the node "state"), which together act
//  as an object.
typedef enum { MESH__MISSING, MESH__REAL, MESH__VIEW } mesh__where_t;

typedef struct {
    mesh__where_t where;
    const uint8_t *pos;         //  REAL: the value; VIEW: the map holding the keys
    const char *prefix;         //  VIEW: the keys' dotted prefix, without the dot
    size_t prefix_size;
} mesh__found_t;

typedef struct {
    const uint8_t *end;         //  end of the event's bytes
} mesh__context_t;


//  An event number, as exactly as the bytes carry it.
typedef struct {
    double value;
    int64_t integer;            //  INT (negative)
    uint64_t unsigned_integer;  //  UINT
    mesh__mp_type_t type;
} mesh__event_number_t;

//  No value at all: what a missing field finds.
extern const mesh__found_t mesh__missing;

//  Check that the bytes are one well-formed MessagePack map, nested at most
//  MESH_MAX_DEPTH_LIMIT levels, with nothing after it: 0, or -1 with err
//  (MESH_EMALFORMED). Every function below wants bytes that passed it.
int
    mesh__interp_check (const void *event, size_t size, mesh_error_t *err);

//  The interpreter's answer for one rule.
bool
    mesh__interp_match (const mesh_rule_t *self, const void *event, size_t size);

//  One matcher against one leaf (not a map or an array).
bool
    mesh__interp_test_leaf (const mesh__matcher_t *matcher, const mesh__mp_value_t *leaf);

//  Read the header of the value at pos into reader (a nil if unreadable).
mesh__mp_value_t
    mesh__interp_read (const mesh__context_t *context, const uint8_t *pos, mesh__mp_reader_t *reader);

//  The value that child finds in parent (a map, or a view of one).
mesh__found_t
    mesh__interp_lookup (const mesh__context_t *context, mesh__found_t parent, const mesh__node_t *child);

//  A leaf as a number, if it is one.
bool
    mesh__interp_number (const mesh__mp_value_t *value, mesh__event_number_t *number);

//  True if value is, or (as an array, at any depth) holds, a leaf.
bool
    mesh__interp_has_leaf (const mesh__context_t *context, mesh__found_t value);

//  One test of a node against the value it found.
bool
    mesh__interp_matcher_match (const mesh__context_t *context, const mesh__matcher_t *matcher,
                                mesh__found_t value);

//  The fields and `$or` groups of node against value.
bool
    mesh__interp_fields_match (const mesh__context_t *context, const mesh__node_t *node,
                               mesh__found_t value);

//  A whole node (its tests, then its fields) against value.
bool
    mesh__interp_node_match (const mesh__context_t *context, const mesh__node_t *node,
                             mesh__found_t value);

#endif
