/*  mesh_rule.c: one EventBridge rule: a named, compiled pattern

    A rule is a pattern compiled (mesh_pattern_compile.c) into a tree that
    lives in the rule's own arena, so it is freed in one sweep. It answers
    for one event with the interpreter (mesh_interp.c) and says why it does
    not match with the explainer (mesh_explain.c); a rule set
    (mesh_ruleset.c) gathers rules and matches them all at once.

    Usage: mesh_rule_new compiles a pattern (or says why it cannot, as
    "<path>: <reason>"; mesh_rule_new_with takes options and gives the path
    and the reason apart) and mesh_rule_match answers for one event. See
    mesh_rule.h.
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mesh_private.h"
#include "mesh_pattern.h"
#include "mesh_interp.h"

void
mesh_rule_options_init (mesh_rule_options_t *self)
{
    assert (self);
    self->max_pattern_size = MESH_PATTERN_MAX_SIZE_DEFAULT;
    self->max_wildcard_complexity = MESH_WILDCARD_COMPLEXITY_DEFAULT;
}

mesh_rule_t *
mesh_rule_new (const char *name, const char *pattern, size_t size, mesh_error_t *err)
{
    return mesh_rule_new_with (name, pattern, size, NULL, NULL, err);
}

//  Compile a pattern. The text is at most options->max_pattern_size bytes
//  (EventBridge's API cap by default; more is MESH_ETOOBIG, because a caller
//  may want to tell "too long" from "wrong"), must be JSON (else Jackson's
//  reason, line and column), and must be an object (AWS: "Filter is not an
//  object"). Every other problem is MESH_EINVAL with "<path>: <reason>";
//  problem, if given, receives the path and the reason apart.

mesh_rule_t *
mesh_rule_new_with (const char *name, const char *pattern, size_t size,
                    const mesh_rule_options_t *options, mesh_pattern_error_t *problem,
                    mesh_error_t *err)
{
    mesh_rule_options_t defaults;
    if (!options) {
        mesh_rule_options_init (&defaults);
        options = &defaults;
    }
    if (problem) {
        memset (problem, 0, sizeof (*problem));
        snprintf (problem->path, sizeof (problem->path), "pattern");
    }
    if (!pattern) {
        mesh_error_set (err, MESH_EINVAL, "pattern: missing");
        if (problem)
            snprintf (problem->reason, sizeof (problem->reason), "missing");
        return NULL;
    }
    size_t max_size = options->max_pattern_size;
    if (size == SIZE_MAX)
        size = strnlen (pattern, max_size < SIZE_MAX? max_size + 1: SIZE_MAX);
    if (size > max_size) {
        mesh_error_set (err, MESH_ETOOBIG, "pattern: longer than %zu bytes", max_size);
        if (problem)
            snprintf (problem->reason, sizeof (problem->reason), "longer than %zu bytes", max_size);
        return NULL;
    }

    mesh_rule_t *self = (mesh_rule_t *) calloc (1, sizeof (mesh_rule_t));
    if (!self) {
        mesh_error_set (err, MESH_ENOMEM, "pattern: out of memory");
        return NULL;
    }
    mesh__arena_init (&self->arena);
    if (!name)
        name = "";
    size_t name_size = strlen (name);
    char *name_copy = (char *) mesh__arena_alloc (&self->arena, name_size + 1);
    if (!name_copy) {
        mesh_error_set (err, MESH_ENOMEM, "pattern: out of memory");
        goto fail;
    }
    memcpy (name_copy, name, name_size + 1);
    self->name = name_copy;
    self->root = mesh__pattern_compile (&self->arena, pattern, size, options, problem, err);
    if (!self->root)
        goto fail;
    return self;


fail:
    mesh_rule_destroy (&self);
    return NULL;
}

void
mesh_rule_destroy (mesh_rule_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        mesh_rule_t *self = *self_p;
        mesh__arena_fini (&self->arena);
        free (self);
        *self_p = NULL;
    }
}

const char *
mesh_rule_name (const mesh_rule_t *self)
{
    assert (self);
    return self->name;
}

//  Check the event's bytes whole (they may come from a hostile peer), then
//  interpret the pattern tree over them. Allocates nothing; the recursion is
//  bounded by the pattern's depth plus the event's array nesting, both
//  capped.

int
mesh_rule_match (const mesh_rule_t *self, const void *event, size_t size, mesh_error_t *err)
{
    assert (self);
    if (mesh__interp_check (event, size, err))
        return -1;
    return mesh__interp_match (self, event, size)? 1: 0;
}
