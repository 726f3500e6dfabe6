/*  mesh_ruleset.c: a set of rules, matched all at once

    The API above both engines: a set takes rules, is frozen by
    mesh_ruleset_compile, which builds one automaton from all their pattern
    trees (mesh_automaton_build.c), and then answers for an event with the
    indexes of every matching rule in one walk (mesh_automaton_run.c),
    which agrees with the interpreter on every rule. A mesh_matcher_t is the
    walk's scratch, owned by the caller instead of the thread.

    Usage: see mesh_rule.h. This file is the only one that knows the set's
    layout, and the only one that calls both the rules and the automaton:
    the engines below never call back up.
*/
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include "mesh_private.h"
#include "mesh_pattern.h"
#include "mesh_automaton.h"

struct _mesh_ruleset_t {
    mesh_rule_t **rules;
    size_t size;
    size_t capacity;
    bool compiled;
    mesh__automaton_t *automaton;       //  built by mesh_ruleset_compile
};

mesh_ruleset_t *
mesh_ruleset_new (void)
{
    return (mesh_ruleset_t *) calloc (1, sizeof (mesh_ruleset_t));
}

void
mesh_ruleset_destroy (mesh_ruleset_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        mesh_ruleset_t *self = *self_p;
        mesh__automaton_destroy (&self->automaton);     //  it points into the rules
        for (size_t i = 0; i < self->size; i++)
            mesh_rule_destroy (&self->rules [i]);
        free (self->rules);
        free (self);
        *self_p = NULL;
    }
}

//  Take the rule into the set. On failure (set compiled, out of memory, or
//  INT_MAX rules already) the caller keeps the rule and *rule_p is left as
//  it was.

int
mesh_ruleset_add (mesh_ruleset_t *self, mesh_rule_t **rule_p)
{
    assert (self);
    assert (rule_p && *rule_p);
    if (self->compiled || self->size >= INT_MAX)
        return -1;
    if (self->size == self->capacity) {
        size_t capacity = self->capacity? self->capacity * 2: 8;
        mesh_rule_t **rules = (mesh_rule_t **) realloc (self->rules, capacity * sizeof (mesh_rule_t *));
        if (!rules)
            return -1;
        self->rules = rules;
        self->capacity = capacity;
    }
    self->rules [self->size] = *rule_p;
    *rule_p = NULL;
    return (int) self->size++;
}

size_t
mesh_ruleset_size (const mesh_ruleset_t *self)
{
    assert (self);
    return self->size;
}

const mesh_rule_t *
mesh_ruleset_rule (const mesh_ruleset_t *self, size_t index)
{
    assert (self);
    return index < self->size? self->rules [index]: NULL;
}

//  Freeze the set and build the automaton that matches all its rules at
//  once (mesh_automaton_build.c). Fails only when out of memory, and then the set
//  stays open; calling it again once compiled is harmless.

int
mesh_ruleset_compile (mesh_ruleset_t *self, mesh_error_t *err)
{
    assert (self);
    if (self->compiled)
        return 0;
    self->automaton = mesh__automaton_new (self->rules, self->size, err);
    if (!self->automaton)
        return -1;
    self->compiled = true;
    return 0;
}

//  The automaton answers for every rule in one walk over the event (see
//  mesh_automaton_run.c); it agrees with mesh_rule_match on every rule, and
//  refuses exactly the bytes that mesh_rule_match refuses.

int
mesh_ruleset_match (const mesh_ruleset_t *self, const void *event, size_t size,
                    uint32_t *hits, mesh_error_t *err)
{
    assert (self);
    if (!self->compiled) {
        mesh_error_set (err, MESH_EINVAL, "ruleset: not compiled");
        return -1;
    }
    return mesh__automaton_match (self->automaton, event, size, hits, err);
}

//  The broker's read of an event: mesh_event_check and mesh_ruleset_match
//  in one walk (mesh__automaton_match_checked). Only an event that walk
//  refuses or hands over is read again: by mesh_event_check, whose answer
//  (and wording) is final, and, when it accepts, by the plain match. So
//  the answer is always the check's and the match's, however the walk
//  decides; the walk only makes the common case one pass.

int
mesh_ruleset_match_event (const mesh_ruleset_t *self, const void *event, size_t size,
                          const mesh_limits_t *limits, uint32_t *hits, mesh_error_t *err)
{
    assert (self);
    assert (limits);
    if (!self->compiled) {
        mesh_error_set (err, MESH_EINVAL, "ruleset: not compiled");
        return MESH_EVENT_MALFORMED;
    }
    int count = mesh__automaton_match_checked (self->automaton, event, size, limits, hits);
    if (count >= 0)
        return count;
    int checked = mesh_event_check (event, size, limits, NULL, err);
    if (checked)
        return checked;
    count = mesh__automaton_match (self->automaton, event, size, hits, err);
    return count < 0? MESH_EVENT_MALFORMED: count;
}

const mesh__automaton_t *
mesh__ruleset_automaton (const mesh_ruleset_t *self)
{
    assert (self);
    return self->compiled? self->automaton: NULL;
}

size_t
mesh_ruleset_memory (const mesh_ruleset_t *self)
{
    assert (self);
    size_t bytes = sizeof (mesh_ruleset_t) + self->capacity * sizeof (mesh_rule_t *);
    for (size_t i = 0; i < self->size; i++)
        bytes += sizeof (mesh_rule_t) + self->rules [i]->arena.bytes;
    return bytes + mesh__automaton_memory (self->automaton);
}


//  ---------------------------------------------------------------------
//  Matchers: scratch that the caller owns

mesh_matcher_t *
mesh_matcher_new (const mesh_ruleset_t *set)
{
    mesh_matcher_t *self = mesh__scratch_new ();
    if (self && set && set->automaton && !mesh__scratch_fit (self, set->automaton))
        mesh_matcher_destroy (&self);
    return self;
}

void
mesh_matcher_destroy (mesh_matcher_t **self_p)
{
    assert (self_p);
    mesh__scratch_free (*self_p);
    *self_p = NULL;
}

//  As mesh_ruleset_match, with self's scratch. It grows (allocating) only
//  for a set larger than the ones it was made for or used with; if that
//  fails, the interpreter answers.

int
mesh_matcher_match (mesh_matcher_t *self, const mesh_ruleset_t *set, const void *event,
                    size_t size, uint32_t *hits, mesh_error_t *err)
{
    assert (self);
    assert (set);
    if (!set->compiled) {
        mesh_error_set (err, MESH_EINVAL, "ruleset: not compiled");
        return -1;
    }
    return mesh__automaton_match_with (set->automaton, self, event, size, hits, err);
}
