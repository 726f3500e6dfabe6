/*  mesh_automaton_scratch.c: the state of a walk, per thread or per caller

    See mesh_automaton_scratch.h.
*/
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "mesh_private.h"
#include "mesh_automaton_scratch.h"

static pthread_key_t s_scratch_key;
static pthread_once_t s_scratch_once = PTHREAD_ONCE_INIT;
static int s_scratch_key_rc = -1;

static void
s_scratch_free (void *data)
{
    mesh__scratch_t *self = (mesh__scratch_t *) data;
    if (self) {
        free (self->nodes);
        free (self->joins);
        free (self->tries);
        free (self->rules);
        free (self->fired);
        free (self);
    }
}

static void
s_scratch_key_init (void)
{
    s_scratch_key_rc = pthread_key_create (&s_scratch_key, s_scratch_free);
}

//  Grow *array to at least need items of item bytes, zeroing the new ones.
static bool
s_scratch_grow (void **array, size_t *room, size_t need, size_t item)
{
    if (*room >= need)
        return true;
    size_t grown = need + need / 2 + 16;
    void *bigger = realloc (*array, grown * item);
    if (!bigger)
        return false;
    memset ((char *) bigger + *room * item, 0, (grown - *room) * item);
    *array = bigger;
    *room = grown;
    return true;
}

//  Make scratch big enough for automaton; false when out of memory.
static bool
s_scratch_fit (mesh__scratch_t *self, const mesh__automaton_t *automaton)
{
    return s_scratch_grow ((void **) &self->nodes, &self->node_room, automaton->node_count, sizeof (mesh__node_slot_t))
        && s_scratch_grow ((void **) &self->joins, &self->join_room, automaton->join_count, sizeof (mesh__join_slot_t))
        && s_scratch_grow ((void **) &self->tries, &self->trie_room, automaton->trie_count, sizeof (mesh__trie_slot_t))
        && s_scratch_grow ((void **) &self->rules, &self->rule_room, automaton->rule_count, sizeof (uint32_t))
        && s_scratch_grow ((void **) &self->fired, &self->fired_room, automaton->guard_stamps, sizeof (uint32_t));
}

mesh__scratch_t *
mesh__scratch_thread (const mesh__automaton_t *automaton)
{
    pthread_once (&s_scratch_once, s_scratch_key_init);
    if (s_scratch_key_rc != 0)
        return NULL;
    mesh__scratch_t *scratch = (mesh__scratch_t *) pthread_getspecific (s_scratch_key);
    if (!scratch) {
        scratch = (mesh__scratch_t *) calloc (1, sizeof (mesh__scratch_t));
        if (!scratch)
            return NULL;
        if (pthread_setspecific (s_scratch_key, scratch)) {
            free (scratch);
            return NULL;
        }
    }
    return s_scratch_fit (scratch, automaton)? scratch: NULL;
}

void
mesh__scratch_reserve (mesh__scratch_t *self, uint64_t epochs)
{
    if ((uint64_t) (UINT32_MAX - self->epoch) > epochs)
        return;
    if (self->node_room)
        memset (self->nodes, 0, self->node_room * sizeof (mesh__node_slot_t));
    if (self->join_room)
        memset (self->joins, 0, self->join_room * sizeof (mesh__join_slot_t));
    if (self->trie_room)
        memset (self->tries, 0, self->trie_room * sizeof (mesh__trie_slot_t));
    if (self->rule_room)
        memset (self->rules, 0, self->rule_room * sizeof (uint32_t));
    self->epoch = 0;
}




//  ---------------------------------------------------------------------
//  Scratch that the caller owns (mesh_matcher_t, see mesh_ruleset.c)

mesh_matcher_t *
mesh__scratch_new (void)
{
    return (mesh_matcher_t *) calloc (1, sizeof (mesh_matcher_t));
}

bool
mesh__scratch_fit (mesh_matcher_t *self, const mesh__automaton_t *automaton)
{
    return s_scratch_fit (self, automaton);
}

void
mesh__scratch_free (mesh_matcher_t *self)
{
    s_scratch_free (self);
}
