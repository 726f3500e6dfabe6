/*  mesh_automaton_scratch.h: the state of a walk, per thread or per caller

    Private to libmesh. A walk of the automaton (mesh_automaton_run.c)
    counts in scratch: a slot per compiled node, JOIN, trie node and rule.
    Every slot carries the epoch it was written in; the epoch grows with
    every map and every value walked, so a slot from an older walk (or
    another set) never looks current, and nothing is cleared between
    events. mesh_ruleset_match keeps one per thread (allocated on the
    thread's first match, grown for larger sets, freed when it exits); a
    mesh_matcher_t is one that its caller owns (mesh__scratch_new, _fit,
    _free in mesh_automaton.h). The walk reads and writes the slots
    directly, so their layout is here.
*/
#ifndef MESH_AUTOMATON_SCRATCH_H_INCLUDED
#define MESH_AUTOMATON_SCRATCH_H_INCLUDED

#include "mesh_automaton.h"

typedef struct {
    uint32_t reported;          //  instance of its target it last reported to
    uint32_t fired;             //  visit in which one of its tests fired
} mesh__node_slot_t;

typedef struct {
    uint32_t instance;          //  the instance pos and viol count for
    uint32_t pos, viol;
    uint32_t next_instance;     //  the instance's list of touched JOINs
    uint32_t visit;             //  the visit q counts for
    uint32_t q;                 //  instances that held (MESH__AM_SOME) or broke (else)
    uint32_t next_visit;
    uint64_t bits;              //  the LEAFs with a bit that reported to the instance
} mesh__join_slot_t;

typedef struct {
    uint32_t instance;          //  the open instance (map) of this trie node
    uint32_t head;              //  JOINs touched in it
    uint32_t seen;              //  instance of the parent in which its key came
} mesh__trie_slot_t;

//  A leaf the walk kept for guarded JOINs: the trie node it came at.
typedef struct {
    uint32_t trie;
    mesh__mp_value_t leaf;
} mesh__record_t;

#define MESH__SCRATCH_RECORDS  64      //  more in one event: the guarded JOINs
                                        //  that could hold ask the interpreter

//  A COND that fired before its STAMPs could all have: its rule and set.
typedef struct {
    uint32_t rule, set;
} mesh__pending_t;

#define MESH__SCRATCH_PENDING  64      //  more in one event: the interpreter answers

//  A thread's scratch; mesh_matcher_t lets a caller own one.
typedef struct _mesh_matcher_t mesh__scratch_t;

struct _mesh_matcher_t {
    uint32_t epoch;
    mesh__node_slot_t *nodes;
    mesh__join_slot_t *joins;
    mesh__trie_slot_t *tries;
    uint32_t *rules;            //  event in which the rule was hit
    uint32_t *fired;            //  the guarding STAMPs that fired in this event
    size_t node_room, join_room, trie_room, rule_room, fired_room;
    mesh__record_t records [MESH__SCRATCH_RECORDS];
    mesh__pending_t pending [MESH__SCRATCH_PENDING];
};

//  This thread's scratch, big enough for automaton; NULL when out of memory
//  (the caller then has the interpreter answer).
mesh__scratch_t *
    mesh__scratch_thread (const mesh__automaton_t *automaton);

//  Make room for a walk that may use `epochs` epochs without wrapping (the
//  slots are cleared when the epoch would).
void
    mesh__scratch_reserve (mesh__scratch_t *self, uint64_t epochs);

#endif
