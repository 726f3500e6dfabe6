/*  mesh_automaton.h: every rule of a set compiled into one automaton

    Private to libmesh. mesh_ruleset.c drives it: mesh__automaton_new when
    the set is compiled (mesh_automaton_build.c), mesh__automaton_match for
    each event (mesh_automaton_run.c). The automaton reads the rules'
    pattern trees (mesh_pattern.h) and calls the interpreter
    (mesh_interp.h) for what it leaves to it; neither calls back up.
*/
#ifndef MESH_AUTOMATON_H_INCLUDED
#define MESH_AUTOMATON_H_INCLUDED

#include "mesh_pattern.h"

typedef struct _mesh_automaton_t mesh__automaton_t;

//  Build one automaton from all the rules of a set (borrowed: they must
//  outlive it and not change). NULL with err (MESH_ENOMEM) when out of
//  memory.
mesh__automaton_t *
    mesh__automaton_new (mesh_rule_t *const *rules, size_t count, mesh_error_t *err);

//  Destroy it; accepts NULL and nullifies the reference.
void
    mesh__automaton_destroy (mesh__automaton_t **self_p);

//  mesh_ruleset_match's answer: the indexes of the matching rules,
//  ascending, in hits, and their number; -1 with err (MESH_EMALFORMED)
//  exactly when the interpreter refuses the bytes. Uses this thread's
//  scratch.
int
    mesh__automaton_match (const mesh__automaton_t *self, const void *event, size_t size,
                           uint32_t *hits, mesh_error_t *err);

//  The same with scratch the caller owns (a mesh_matcher_t), grown to fit
//  self first; if that fails, the interpreter answers.
int
    mesh__automaton_match_with (const mesh__automaton_t *self, mesh_matcher_t *scratch,
                                const void *event, size_t size, uint32_t *hits, mesh_error_t *err);

//  Bytes the automaton holds (not the rules it was built from).
size_t
    mesh__automaton_memory (const mesh__automaton_t *self);

//  Scratch for walks (mesh_matcher_t is its public name): new and empty,
//  or NULL when out of memory; grown to fit automaton (false when out of
//  memory); freed (accepts NULL).
mesh_matcher_t *
    mesh__scratch_new (void);
bool
    mesh__scratch_fit (mesh_matcher_t *self, const mesh__automaton_t *automaton);
void
    mesh__scratch_free (mesh_matcher_t *self);

#endif
