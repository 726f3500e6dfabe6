/*  mesh_automaton_share.h: the builder's tables of shared leaves

    Private to libmesh, for mesh_automaton_build.c. A small open-addressing
    map from a key (two numbers and a borrowed text) to a count or an id,
    used twice while building: to count how many rules name each exact
    value at each path (which says which of a rule's fields is its most
    selective), and to find the one shared leaf of a (field, object, value)
    that many rules test. Texts are borrowed from the rules' arenas, which
    outlive the build. Allocation failure is an answer (NULL), never an
    abort: a rule file decides how large these grow.
*/
#ifndef MESH_AUTOMATON_SHARE_H_INCLUDED
#define MESH_AUTOMATON_SHARE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t a, b;
    const char *text;
    size_t size;
    uint64_t hash;              //  0: an empty slot
    uint32_t value;
} mesh__share_slot_t;

typedef struct {
    mesh__share_slot_t *slots;  //  a power of two, at most half full
    size_t slot_count;
    size_t count;
} mesh__share_t;

void
    mesh__share_init (mesh__share_t *self);

void
    mesh__share_fini (mesh__share_t *self);

//  The value of key (a, b, text), created as 0 if missing. NULL when out
//  of memory.
uint32_t *
    mesh__share_at (mesh__share_t *self, uint64_t a, uint64_t b, const char *text, size_t size);

//  The value of key (a, b, text), or 0 if missing.
uint32_t
    mesh__share_get (const mesh__share_t *self, uint64_t a, uint64_t b, const char *text, size_t size);

#endif
