/*  mesh_automaton_build.c: every rule of a set compiled into one automaton

    mesh__automaton_new reads the pattern trees of all the rules of a set
    (mesh_pattern.h) and writes the automaton that mesh_automaton_run.c
    walks; mesh_automaton.h describes what it builds. The builder collects
    tries, nodes and keyed tests in growable arrays, each rule's `$or`s
    multiplied out in an arena (mesh_arena.h) that is emptied between
    rules, then lays them out in final arrays, sorted and grouped.

    Why one file past 1,000 lines: it is one concept, the builder, with
    three steps over one set of growable arrays (s_builder_t): placing each
    rule's nodes (s_place, with the choice of which fields become shared
    STAMPs: s_place_fields, s_cost, and of which root JOINs are guarded:
    s_guardable, s_place_guarded), registering their tests, and laying
    everything out (s_layout, with the guard trie: s_layout_guards), which
    reads every array. A split would only
    move the builder's struct into a header that every part includes. What
    needs no builder is already apart: the tables of shared leaves
    (mesh_automaton_share.c) and the walk (mesh_automaton_run.c).

    Memory: mesh__automaton_memory adds up every array the automaton holds;
    the rules it points into are counted by the set.
*/
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mesh_private.h"
#include "mesh_automaton.h"
#include "mesh_automaton_share.h"

#define S_EXPAND_MAX    (1 << 16)       //  nodes a rule's `$or`s may multiply out to
#define S_FILTER_MIN    4096            //  table entries from which a filter guards it
#define S_SHARE_MIN     4               //  rules naming a value at a path from which its test is shared
#define S_COST_BROAD    (UINT32_MAX - 1)   //  a field that holds for most events, or is not a leaf


//  ---------------------------------------------------------------------
//  Compiling. The builder collects tries, nodes and keyed tests in growable
//  arrays, then lays them out in final arrays.

typedef struct {
    uint32_t parent;
    const char *key;
    uint32_t size;
    uint32_t vm;
    uint32_t child_count;
    bool joins;
    bool records;
} s_btrie_t;

typedef struct {                //  (owner, value) pairs, grouped by owner at the end
    uint32_t owner;
    uint32_t value;
    const mesh__matcher_t *verify;
} s_pair_t;

typedef struct {
    uint64_t key_hash;
    const uint8_t *key;
    uint64_t bits;
    uint32_t size;
    uint32_t vm;
    uint8_t tag;
    mesh__am_fire_t fire;
} s_keyed_t;

typedef struct {
    uint32_t tags;
    uint32_t fold_max;
} s_bvm_t;

typedef struct {                //  a range while building: its vm and side
    uint32_t vm;
    uint8_t side;
    mesh__am_range_t range;
} s_brange_t;

//  A sub-rule's node, with $or multiplied out: the pattern node it comes
//  from and the children chosen for it.
typedef struct s_xnode_s s_xnode_t;
struct s_xnode_s {
    const mesh__node_t *pattern;
    s_xnode_t **children;
    uint32_t child_count;
    uint32_t need;              //  positive children
    uint8_t tests;              //  mesh__am_tests_t
    bool dflt;                  //  its answer when missing
};

//  One way to choose in every group: a list of children.
typedef struct {
    s_xnode_t **items;
    uint32_t count;
} s_xlist_t;

#define S_VECTOR(type, name) type *name; size_t name##_count, name##_room

typedef struct {
    bool failed;                //  out of memory
    S_VECTOR (s_btrie_t, tries);
    uint32_t *trie_index;       //  (parent, key) -> trie + 1, open addressing
    size_t trie_index_room;
    S_VECTOR (mesh__am_node_t, nodes);
    uint32_t join_count;
    S_VECTOR (s_bvm_t, vms);
    S_VECTOR (s_keyed_t, keyed);
    S_VECTOR (s_pair_t, any);           //  vm -> node
    S_VECTOR (s_pair_t, generic);       //  vm -> node, verify
    S_VECTOR (s_pair_t, prefixes);      //  vm -> length
    S_VECTOR (s_pair_t, suffixes);
    S_VECTOR (s_pair_t, folds);
    S_VECTOR (s_brange_t, ranges);
    S_VECTOR (s_pair_t, dts);           //  trie -> node
    S_VECTOR (uint32_t, default_roots);
    S_VECTOR (uint32_t, fallback_rules);
    S_VECTOR (s_pair_t, shared);        //  JOIN -> STAMP
    S_VECTOR (mesh__am_guard_t, guards);
    uint32_t cond_join;         //  while placing a COND's field: its JOIN, else MESH__AM_NONE
    S_VECTOR (uint32_t, guard_joins);   //  each guard's JOIN
    S_VECTOR (const mesh__node_t *, guard_leaves);  //  and its field's pattern
    mesh__share_t values;       //  (path, exact value) -> rules that name it
    mesh__share_t stamps;       //  (field trie, JOIN trie, value) -> STAMP + 1
    mesh__arena_t expansion;    //  this rule's expansion, emptied rule by rule
    size_t xnodes;              //  nodes and list items of this rule's expansion
} s_builder_t;

//  Make room for one more item in a vector; false (and failed) when out of memory.
static bool
s_reserve (s_builder_t *self, void **array, size_t count, size_t *room, size_t item)
{
    if (count < *room)
        return true;
    size_t grown = *room? *room * 2: 16;
    void *bigger = realloc (*array, grown * item);
    if (!bigger) {
        self->failed = true;
        return false;
    }
    *array = bigger;
    *room = grown;
    return true;
}

#define S_PUSH(self, name, value)                                               \
    do {                                                                        \
        if (s_reserve ((self), (void **) &(self)->name, (self)->name##_count,   \
                       &(self)->name##_room, sizeof (*(self)->name)))           \
            (self)->name [(self)->name##_count++] = (value);                    \
    } while (0)

//  Zeroed memory for count items that starts on a cache line, for the
//  tables the walk probes at random: a 32-byte slot then never straddles
//  two lines, and the walk's two prefetches (a slot, the next) cover the
//  probe (calloc's large blocks start 16 bytes into a page, which put half
//  of the slots across two lines). NULL when out of memory; freed with free.
static void *
s_line_alloc (size_t count, size_t item)
{
    if (count && item > SIZE_MAX / count)
        return NULL;
    size_t size = (count * item + 63) & ~(size_t) 63;
    void *memory = NULL;
    if (posix_memalign (&memory, 64, size? size: 64))
        return NULL;
    memset (memory, 0, size? size: 64);
    return memory;
}

static void *
s_xalloc (s_builder_t *self, size_t size)
{
    void *memory = mesh__arena_alloc (&self->expansion, size);
    if (!memory)
        self->failed = true;
    return memory;
}

static void
s_xfree (s_builder_t *self)
{
    mesh__arena_fini (&self->expansion);
    self->xnodes = 0;
}

//  The child of trie node parent for this key segment, created if new.
static uint32_t
s_trie_child (s_builder_t *self, uint32_t parent, const char *key, uint32_t size)
{
    if (2 * (self->tries_count + 1) > self->trie_index_room) {
        size_t room = self->trie_index_room? self->trie_index_room * 2: 1024;
        uint32_t *index = (uint32_t *) calloc (room, sizeof (uint32_t));
        if (!index) {
            self->failed = true;
            return MESH__AM_NONE;
        }
        for (size_t i = 0; i < self->trie_index_room; i++) {
            uint32_t entry = self->trie_index [i];
            if (entry) {
                const s_btrie_t *trie = &self->tries [entry - 1];
                size_t at = mesh__am_mix (mesh__am_hash_bytes (trie->key, trie->size) ^ trie->parent) & (room - 1);
                while (index [at])
                    at = (at + 1) & (room - 1);
                index [at] = entry;
            }
        }
        free (self->trie_index);
        self->trie_index = index;
        self->trie_index_room = room;
    }
    size_t mask = self->trie_index_room - 1;
    size_t at = mesh__am_mix (mesh__am_hash_bytes (key, size) ^ parent) & mask;
    for (; self->trie_index [at]; at = (at + 1) & mask) {
        const s_btrie_t *trie = &self->tries [self->trie_index [at] - 1];
        if (trie->parent == parent && trie->size == size && memcmp (trie->key, key, size) == 0)
            return self->trie_index [at] - 1;
    }
    s_btrie_t trie = { parent, key, size, MESH__AM_NONE, 0, false, false };
    size_t before = self->tries_count;
    S_PUSH (self, tries, trie);
    if (self->tries_count == before)
        return MESH__AM_NONE;
    self->tries [parent].child_count++;
    self->trie_index [at] = (uint32_t) self->tries_count;
    return (uint32_t) self->tries_count - 1;
}

static uint32_t
s_vm (s_builder_t *self, uint32_t trie)
{
    if (self->tries [trie].vm == MESH__AM_NONE) {
        s_bvm_t vm = { 0, 0 };
        size_t before = self->vms_count;
        S_PUSH (self, vms, vm);
        if (self->vms_count == before)
            return MESH__AM_NONE;
        self->tries [trie].vm = (uint32_t) before;
    }
    return self->tries [trie].vm;
}

//  The fire of node behind the test verify, for a key of tag. A wildcard
//  "head*tail" keyed as the prefix head, with a short tail, is confirmed by
//  its tail alone: the probe that found the entry has matched the head.
static mesh__am_fire_t
s_fire_of (mesh__am_tag_t tag, uint32_t node, const mesh__matcher_t *verify)
{
    mesh__am_fire_t fire = { node, 0, 0, 0, { verify } };
    if (tag == MESH__AM_TAG_PREFIX && verify && verify->kind == MESH__WILDCARD && verify->u.wildcard.count == 2) {
        mesh__text_t head = verify->u.wildcard.pieces [0];
        mesh__text_t tail = verify->u.wildcard.pieces [1];
        if (head.size > 0 && tail.size > 0 && tail.size <= 8 && head.size + tail.size <= UINT16_MAX) {
            fire.least = (uint16_t) (head.size + tail.size);
            fire.tail_size = (uint8_t) tail.size;
            fire.u.tail = 0;
            memcpy (&fire.u.tail, tail.ptr, tail.size);
        }
    }
    return fire;
}

static void
s_keyed (s_builder_t *self, uint32_t vm, mesh__am_tag_t tag, uint64_t key_hash, const void *key,
         uint32_t size, uint64_t bits, uint32_t node, const mesh__matcher_t *verify)
{
    s_keyed_t keyed = { key_hash, (const uint8_t *) key, bits, size, vm, (uint8_t) tag, s_fire_of (tag, node, verify) };
    S_PUSH (self, keyed, keyed);
    self->vms [vm].tags |= MESH__AM_BIT (tag);
}

static void
s_keyed_bytes (s_builder_t *self, uint32_t vm, mesh__am_tag_t tag, mesh__text_t text, uint32_t node,
               const mesh__matcher_t *verify)
{
    s_keyed (self, vm, tag, mesh__am_hash_bytes (text.ptr, text.size), text.ptr, (uint32_t) text.size, 0,
             node, verify);
    if (tag == MESH__AM_TAG_PREFIX || tag == MESH__AM_TAG_SUFFIX) {
        s_pair_t pair = { vm, (uint32_t) text.size, NULL };
        if (tag == MESH__AM_TAG_PREFIX)
            S_PUSH (self, prefixes, pair);
        else
            S_PUSH (self, suffixes, pair);
    }
}

static void
s_keyed_bits (s_builder_t *self, uint32_t vm, mesh__am_tag_t tag, uint64_t bits, uint32_t node)
{
    s_keyed (self, vm, tag, mesh__am_mix (bits), NULL, 0, bits, node, NULL);
}

//  Register one test of node at value matcher vm.
static void
s_register (s_builder_t *self, uint32_t vm, uint32_t node, const mesh__matcher_t *matcher)
{
    s_pair_t generic = { vm, node, matcher };
    switch (matcher->kind) {
        case MESH__EXACT_STRING:
            s_keyed_bytes (self, vm, MESH__AM_TAG_STRING, matcher->u.text, node, NULL);
            break;
        case MESH__EXACT_NUMBER:
            if (matcher->u.number.is_integer) {
                s_keyed_bits (self, vm, MESH__AM_TAG_INT, (uint64_t) matcher->u.number.integer, node);
                s_keyed_bits (self, vm, MESH__AM_TAG_INT_AS_DOUBLE, mesh__am_double_bits (matcher->u.number.value), node);
            }
            else
                s_keyed_bits (self, vm, MESH__AM_TAG_FLOAT, mesh__am_double_bits (matcher->u.number.value), node);
            break;
        case MESH__EXACT_TRUE:
            s_keyed_bits (self, vm, MESH__AM_TAG_TRUE, 0, node);
            break;
        case MESH__EXACT_FALSE:
            s_keyed_bits (self, vm, MESH__AM_TAG_FALSE, 0, node);
            break;
        case MESH__EXACT_NULL:
            s_keyed_bits (self, vm, MESH__AM_TAG_NULL, 0, node);
            break;
        case MESH__PREFIX:
            s_keyed_bytes (self, vm, MESH__AM_TAG_PREFIX, matcher->u.text, node, NULL);
            break;
        case MESH__SUFFIX:
            s_keyed_bytes (self, vm, MESH__AM_TAG_SUFFIX, matcher->u.text, node, NULL);
            break;
        case MESH__PREFIX_NOCASE:
        case MESH__EQUALS_NOCASE: {
            const char *s = matcher->u.text.ptr;
            const char *end = s + matcher->u.text.size;
            uint64_t hash = MESH__AM_FOLD_SEED;
            uint32_t folded = 0;
            while (s < end) {
                hash = mesh__am_fold_step (hash, mesh__am_fold_next (&s, end));
                folded++;
            }
            if (matcher->kind == MESH__PREFIX_NOCASE) {
                s_keyed (self, vm, MESH__AM_TAG_FOLD_PREFIX, hash, NULL, 0, 0, node, matcher);
                s_pair_t pair = { vm, folded, NULL };
                S_PUSH (self, folds, pair);
            }
            else {
                s_keyed (self, vm, MESH__AM_TAG_FOLD, hash, NULL, 0, 0, node, matcher);
                if (folded > self->vms [vm].fold_max)
                    self->vms [vm].fold_max = folded;
            }
            break;
        }
        case MESH__WILDCARD: {
            const mesh__wildcard_t *wildcard = &matcher->u.wildcard;
            if (wildcard->count == 1)
                s_keyed_bytes (self, vm, MESH__AM_TAG_STRING, wildcard->pieces [0], node, NULL);
            else
            //  "head*" is a prefix and "*tail" a suffix: nothing to confirm
            if (wildcard->count == 2 && wildcard->pieces [1].size == 0 && wildcard->pieces [0].size > 0)
                s_keyed_bytes (self, vm, MESH__AM_TAG_PREFIX, wildcard->pieces [0], node, NULL);
            else
            if (wildcard->count == 2 && wildcard->pieces [0].size == 0 && wildcard->pieces [1].size > 0)
                s_keyed_bytes (self, vm, MESH__AM_TAG_SUFFIX, wildcard->pieces [1], node, NULL);
            else
            if (wildcard->pieces [0].size > 0)
                s_keyed_bytes (self, vm, MESH__AM_TAG_PREFIX, wildcard->pieces [0], node, matcher);
            else
            if (wildcard->pieces [wildcard->count - 1].size > 0)
                s_keyed_bytes (self, vm, MESH__AM_TAG_SUFFIX, wildcard->pieces [wildcard->count - 1], node, matcher);
            else
                S_PUSH (self, generic, generic);
            break;
        }
        case MESH__NUMERIC:
            if (matcher->u.range.low == matcher->u.range.high
            &&  !matcher->u.range.low_open && !matcher->u.range.high_open)
                s_keyed_bits (self, vm, MESH__AM_TAG_NUMERIC_EQ, mesh__am_double_bits (matcher->u.range.low), node);
            else {
                //  Only > and >= leave high at +inf, only < and <= leave
                //  low at -inf (a pattern number is never infinite)
                s_brange_t range = { vm, MESH__AM_BETWEEN, { matcher->u.range.low, matcher->u.range.high, node,
                                                      matcher->u.range.low_open, matcher->u.range.high_open } };
                if (isinf (range.range.high))
                    range.side = MESH__AM_ABOVE;
                else
                if (isinf (range.range.low))
                    range.side = MESH__AM_BELOW;
                S_PUSH (self, ranges, range);
            }
            break;
        case MESH__EXISTS: {
            s_pair_t any = { vm, node, NULL };
            S_PUSH (self, any, any);
            break;
        }
        case MESH__ABSENT:
            break;                  //  not a test that fires: the node is MESH__AM_LEAF_DT
        default:                    //  suffix-nocase, cidr, anything-but
            S_PUSH (self, generic, generic);
            break;
    }
}

static mesh__am_tests_t
s_tests_of (const mesh__node_t *pattern)
{
    if (!pattern->matchers)
        return MESH__AM_TESTS_NONE;
    for (size_t i = 0; i < pattern->matcher_count; i++)
        if (pattern->matchers [i].kind == MESH__ABSENT)
            return MESH__AM_TESTS_DT;
    return MESH__AM_TESTS_POS;
}

static s_xnode_t **s_expand_node (s_builder_t *self, const mesh__node_t *node, uint32_t *count);

//  Append to every list of lists [count] every one of options [option_count]
//  (product): each option is either one node (nodes != NULL) or a list.
static s_xlist_t *
s_product (s_builder_t *self, s_xlist_t *lists, uint32_t count, s_xnode_t **nodes,
           s_xlist_t *options, uint32_t option_count)
{
    uint64_t total = (uint64_t) count * option_count;
    if (total > S_EXPAND_MAX)
        return NULL;
    s_xlist_t *result = (s_xlist_t *) s_xalloc (self, total * sizeof (s_xlist_t));
    if (!result)
        return NULL;
    for (uint32_t i = 0; i < count; i++)
        for (uint32_t j = 0; j < option_count; j++) {
            uint32_t more = nodes? 1: options [j].count;
            s_xlist_t *list = &result [i * option_count + j];
            list->count = lists [i].count + more;
            self->xnodes += list->count;
            if (self->xnodes > S_EXPAND_MAX)
                return NULL;
            list->items = (s_xnode_t **) s_xalloc (self, list->count * sizeof (s_xnode_t *) + 1);
            if (!list->items)
                return NULL;
            if (lists [i].count)
                memcpy (list->items, lists [i].items, lists [i].count * sizeof (s_xnode_t *));
            if (nodes)
                list->items [lists [i].count] = nodes [j];
            else
            if (more)
                memcpy (list->items + lists [i].count, options [j].items, more * sizeof (s_xnode_t *));
        }
    return result;
}

//  The fields of node (its children and its `$or` groups) multiplied out:
//  *count lists of children, one per way of choosing in every group.
static s_xlist_t *
s_expand_fields (s_builder_t *self, const mesh__node_t *node, uint32_t *count)
{
    s_xlist_t *lists = (s_xlist_t *) s_xalloc (self, sizeof (s_xlist_t));
    if (!lists)
        return NULL;
    lists->items = NULL;
    lists->count = 0;
    uint32_t list_count = 1;
    for (const mesh__node_t *child = node->children; child; child = child->next) {
        uint32_t options;
        s_xnode_t **nodes = s_expand_node (self, child, &options);
        if (!nodes)
            return NULL;
        lists = s_product (self, lists, list_count, nodes, NULL, options);
        if (!lists)
            return NULL;
        list_count *= options;
    }
    for (const mesh__or_t *group = node->ors; group; group = group->next) {
        //  The options of a group: every alternative's own lists
        s_xlist_t *options = NULL;
        uint32_t option_count = 0;
        for (size_t i = 0; i < group->count; i++) {
            uint32_t more;
            s_xlist_t *alternative = s_expand_fields (self, &group->alternatives [i], &more);
            if (!alternative || option_count + (uint64_t) more > S_EXPAND_MAX)
                return NULL;
            s_xlist_t *joined = (s_xlist_t *) s_xalloc (self, (option_count + more) * sizeof (s_xlist_t));
            if (!joined)
                return NULL;
            if (option_count)
                memcpy (joined, options, option_count * sizeof (s_xlist_t));
            memcpy (joined + option_count, alternative, more * sizeof (s_xlist_t));
            options = joined;
            option_count += more;
        }
        lists = s_product (self, lists, list_count, NULL, options, option_count);
        if (!lists)
            return NULL;
        list_count *= option_count;
    }
    *count = list_count;
    return lists;
}

//  The ways node can be, each with its children and what they add up to.
static s_xnode_t **
s_expand_node (s_builder_t *self, const mesh__node_t *node, uint32_t *count)
{
    uint32_t list_count;
    s_xlist_t *lists = s_expand_fields (self, node, &list_count);
    if (!lists)
        return NULL;
    self->xnodes += list_count;
    if (self->xnodes > S_EXPAND_MAX)
        return NULL;
    s_xnode_t **nodes = (s_xnode_t **) s_xalloc (self, list_count * sizeof (s_xnode_t *));
    s_xnode_t *storage = (s_xnode_t *) s_xalloc (self, list_count * sizeof (s_xnode_t));
    if (!nodes || !storage)
        return NULL;
    mesh__am_tests_t tests = s_tests_of (node);
    for (uint32_t i = 0; i < list_count; i++) {
        s_xnode_t *x = &storage [i];
        x->pattern = node;
        x->children = lists [i].items;
        x->child_count = lists [i].count;
        x->tests = (uint8_t) tests;
        x->need = 0;
        for (uint32_t c = 0; c < x->child_count; c++)
            x->need += !x->children [c]->dflt;
        //  Missing, a node holds if its tests allow absence and all its
        //  fields may be missing
        x->dflt = tests != MESH__AM_TESTS_POS && x->need == 0;
        nodes [i] = x;
    }
    *count = list_count;
    return nodes;
}

//  True if a `$or` sits in an object that must hold for every element of an
//  array (all its tests are exists:false), other than the root: "for every
//  element, one of" does not multiply out, so the rule goes to the
//  interpreter. Alternatives share the quantifier of the node they sit in.
static bool
s_needs_interpreter (const mesh__node_t *node, bool for_all)
{
    if (node->ors && for_all)
        return true;
    for (const mesh__node_t *child = node->children; child; child = child->next)
        if (s_needs_interpreter (child, child->absence_only))
            return true;
    for (const mesh__or_t *group = node->ors; group; group = group->next)
        for (size_t i = 0; i < group->count; i++)
            if (s_needs_interpreter (&group->alternatives [i], for_all))
                return true;
    return false;
}

static uint32_t
s_add_node (s_builder_t *self, mesh__am_node_t node)
{
    size_t before = self->nodes_count;
    S_PUSH (self, nodes, node);
    return self->nodes_count == before? MESH__AM_NONE: (uint32_t) before;
}

static void s_place (s_builder_t *self, const s_xnode_t *x, uint32_t trie, uint32_t target, bool share);
static void s_register_tests (s_builder_t *self, const mesh__node_t *pattern, uint32_t trie, uint32_t node);

//  Place child i of x under its key below trie.
static void
s_place_child (s_builder_t *self, const s_xnode_t *x, uint32_t i, uint32_t trie, uint32_t target, bool share)
{
    const mesh__node_t *child = x->children [i]->pattern;
    uint32_t child_trie = s_trie_child (self, trie, child->path + child->path_size - child->segment_size,
                                        (uint32_t) child->segment_size);
    if (child_trie != MESH__AM_NONE)
        s_place (self, x->children [i], child_trie, target, share);
}

//  Place the children of x, each under its key below trie.
static void
s_place_children (s_builder_t *self, const s_xnode_t *x, uint32_t trie, uint32_t target)
{
    for (uint32_t i = 0; i < x->child_count && !self->failed; i++)
        s_place_child (self, x, i, trie, target, false);
}

//  The leaf a chain of one-field objects ends in (what s_place collapses),
//  or NULL if x does not end in one.
static const s_xnode_t *
s_chain_leaf (const s_xnode_t *x)
{
    while (x->tests == MESH__AM_TESTS_NONE && x->child_count == 1 && x->need == 1)
        x = x->children [0];
    return x->child_count == 0? x: NULL;
}

//  A leaf whose test can be a STAMP: one exact string, positive.
static bool
s_shareable (const s_xnode_t *leaf)
{
    return leaf && leaf->tests == MESH__AM_TESTS_POS && leaf->pattern->matcher_count == 1
        && leaf->pattern->matchers [0].kind == MESH__EXACT_STRING;
}

static uint64_t
s_path_key (const mesh__node_t *pattern)
{
    return mesh__am_hash_bytes (pattern->path, pattern->path_size);
}

//  The key s_count_leaves counts a leaf under, beside its path: a leaf of
//  one test that is looked up by its text (an exact string, a prefix, a
//  suffix, equals-ignore-case) by its kind and text (kind 0: an exact
//  string, as s_stamp's), any other by its path alone (kind 1).
static uint64_t
s_count_kind (const mesh__node_t *pattern, const char **text, size_t *size)
{
    const mesh__matcher_t *matcher = &pattern->matchers [0];
    int kind = pattern->matcher_count == 1? (int) matcher->kind: -1;
    if (kind == MESH__EXACT_STRING || kind == MESH__PREFIX || kind == MESH__SUFFIX
    ||  kind == MESH__EQUALS_NOCASE || kind == MESH__PREFIX_NOCASE) {
        *text = matcher->u.text.ptr;
        *size = matcher->u.text.size;
        return kind == MESH__EXACT_STRING? 0: 2 + (uint64_t) kind;
    }
    *text = "";
    *size = 0;
    return 1;
}

//  How many rules a positive field of a join lets through, as far as the
//  build can tell: a test looked up by its text (an exact string, a
//  prefix...) by the rules that name that text there; other tests by the
//  rules with tests of their kind there; anything-but, exists and nested
//  objects as nearly all.
static uint32_t
s_cost (const s_builder_t *self, const s_xnode_t *x)
{
    const s_xnode_t *leaf = s_chain_leaf (x);
    if (!leaf || leaf->tests != MESH__AM_TESTS_POS)
        return S_COST_BROAD;
    const mesh__node_t *pattern = leaf->pattern;
    for (size_t i = 0; i < pattern->matcher_count; i++)
        if (pattern->matchers [i].kind >= MESH__EXISTS)
            return S_COST_BROAD;
    const char *text;
    size_t size;
    uint64_t kind = s_count_kind (pattern, &text, &size);
    return mesh__share_get (&self->values, s_path_key (pattern), kind, text, size);
}

//  Tests that hold for most values: anything-but, exists, numeric ranges,
//  cidr, and the other tests that are not looked up by key.
static bool
s_broad (const mesh__node_t *pattern)
{
    for (size_t i = 0; i < pattern->matcher_count; i++) {
        int kind = pattern->matchers [i].kind;
        if (kind == MESH__NUMERIC || kind == MESH__CIDR || kind == MESH__EXISTS
        ||  kind == MESH__SUFFIX_NOCASE || kind >= MESH__BUT_STRINGS)
            return true;
    }
    return false;
}

//  A root JOIN that can be guarded: no tests of its own, every field
//  positive, all but one a chain to one exact string (1 to
//  MESH__AM_GUARD_STAMPS of them), and that one a chain to broad tests
//  (its index in broad).
static bool
s_guardable (const s_xnode_t *x, uint32_t *broad)
{
    if (x->tests != MESH__AM_TESTS_NONE)
        return false;
    uint32_t exact = 0;
    *broad = UINT32_MAX;
    for (uint32_t i = 0; i < x->child_count; i++) {
        const s_xnode_t *leaf = s_chain_leaf (x->children [i]);
        if (x->children [i]->dflt || !leaf)
            return false;
        if (s_shareable (leaf))
            exact++;
        else
        if (*broad == UINT32_MAX && leaf->tests == MESH__AM_TESTS_POS && s_broad (leaf->pattern))
            *broad = i;
        else
            return false;
    }
    return *broad != UINT32_MAX && exact >= 1 && exact <= MESH__AM_GUARD_STAMPS;
}

//  Place a guarded JOIN (mesh_automaton.h): its exact fields as STAMPs
//  that guard, its broad field only as a trie node whose leaves the walk
//  keeps; the JOIN itself is never touched by the walk.
static void
s_place_guarded (s_builder_t *self, const s_xnode_t *x, uint32_t id, uint32_t broad)
{
    for (uint32_t i = 0; i < x->child_count && !self->failed; i++)
        if (i != broad) {
            size_t before = self->shared_count;
            s_place_child (self, x, i, 0, id, true);
            if (self->shared_count > before)
                self->nodes [self->shared [before].value].root = 1;
        }
    const s_xnode_t *field = x->children [broad];
    uint32_t trie = 0;
    while (!self->failed) {
        const mesh__node_t *pattern = field->pattern;
        trie = s_trie_child (self, trie, pattern->path + pattern->path_size - pattern->segment_size,
                             (uint32_t) pattern->segment_size);
        if (trie == MESH__AM_NONE || field->child_count == 0)
            break;
        field = field->children [0];
    }
    if (self->failed || trie == MESH__AM_NONE)
        return;
    self->tries [trie].records = true;
    //  matcher_first: for now, the guard's place in guard_leaves
    mesh__am_guard_t guard = { 0 };
    guard.rule = self->nodes [id].target & ~MESH__AM_RULE;
    guard.trie = trie;
    guard.test = MESH__AM_GUARD_MATCHERS;
    guard.u.matchers.first = (uint32_t) self->guards_count;
    guard.u.matchers.count = (uint32_t) field->pattern->matcher_count;
    S_PUSH (self, guard_leaves, field->pattern);
    S_PUSH (self, guards, guard);
    S_PUSH (self, guard_joins, id);
}

//  A root JOIN whose last field can be a COND (mesh_automaton.h): no
//  tests of its own, every field positive and a chain to one leaf, all
//  but its access an exact string (1 to MESH__AM_GUARD_STAMPS of them),
//  and the access a test looked up by key. Its access: the field that is
//  not an exact string, else the least shared.
static bool
s_direct (const s_builder_t *self, const s_xnode_t *x, uint32_t *access)
{
    if (x->tests != MESH__AM_TESTS_NONE || x->child_count < 2 || x->child_count > MESH__AM_GUARD_STAMPS + 1)
        return false;
    uint32_t other = UINT32_MAX, best = UINT32_MAX, best_cost = UINT32_MAX;
    for (uint32_t i = 0; i < x->child_count; i++) {
        const s_xnode_t *leaf = s_chain_leaf (x->children [i]);
        if (x->children [i]->dflt || !leaf || leaf->tests != MESH__AM_TESTS_POS || s_broad (leaf->pattern))
            return false;
        if (!s_shareable (leaf)) {
            if (other != UINT32_MAX)
                return false;
            other = i;
        }
        uint32_t cost = s_cost (self, x->children [i]);
        if (cost < best_cost || best == UINT32_MAX) {
            best_cost = cost;
            best = i;
        }
    }
    *access = other != UINT32_MAX? other: best;
    return true;
}

//  Place a JOIN whose access is a COND: the other fields as STAMPs, the
//  access as the COND; the JOIN itself is never touched by the walk.
static void
s_place_direct (s_builder_t *self, const s_xnode_t *x, uint32_t id, uint32_t access)
{
    for (uint32_t i = 0; i < x->child_count && !self->failed; i++)
        if (i != access)
            s_place_child (self, x, i, 0, id, true);
    self->cond_join = id;
    s_place_child (self, x, access, 0, id, false);
    self->cond_join = MESH__AM_NONE;
}

//  Place the fields of join id: its least shared positive field, its
//  access, reports as usual; every other field whose exact value enough
//  rules name at its path becomes a shared STAMP (mesh_automaton.h).
static void
s_place_fields (s_builder_t *self, const s_xnode_t *x, uint32_t trie, uint32_t id)
{
    uint32_t broad;
    if (self->nodes [id].root && s_guardable (x, &broad)) {
        s_place_guarded (self, x, id, broad);
        return;
    }
    if (self->nodes [id].root && s_direct (self, x, &broad)) {
        s_place_direct (self, x, id, broad);
        return;
    }
    uint32_t access = UINT32_MAX, best = UINT32_MAX;
    for (uint32_t i = 0; i < x->child_count; i++)
        if (!x->children [i]->dflt) {
            uint32_t cost = s_cost (self, x->children [i]);
            if (cost < best || access == UINT32_MAX) {
                best = cost;
                access = i;
            }
        }
    for (uint32_t i = 0; i < x->child_count && !self->failed; i++) {
        bool share = i != access && !x->children [i]->dflt && s_shareable (s_chain_leaf (x->children [i]))
                  && s_cost (self, x->children [i]) >= S_SHARE_MIN;
        s_place_child (self, x, i, trie, id, share);
    }
}

//  The STAMP for leaf x at trie, for joins whose instances are at join_trie:
//  found, or made and its test registered. MESH__AM_NONE when out of memory.
static uint32_t
s_stamp (s_builder_t *self, const s_xnode_t *x, uint32_t trie, uint32_t join_trie)
{
    const mesh__text_t *text = &x->pattern->matchers [0].u.text;
    uint32_t *stamp = mesh__share_at (&self->stamps, trie, join_trie, text->ptr, text->size);
    if (!stamp) {
        self->failed = true;
        return MESH__AM_NONE;
    }
    if (!*stamp) {
        mesh__am_node_t node = { .kind = MESH__AM_LEAF_STAMP, .bit = MESH__AM_NO_BIT, .target = MESH__AM_NONE,
                                 .trie = trie, .join = join_trie };
        uint32_t id = s_add_node (self, node);
        if (id == MESH__AM_NONE)
            return MESH__AM_NONE;
        s_register_tests (self, x->pattern, trie, id);
        *stamp = id + 1;
    }
    return *stamp - 1;
}

static void
s_register_tests (s_builder_t *self, const mesh__node_t *pattern, uint32_t trie, uint32_t node)
{
    uint32_t vm = s_vm (self, trie);
    if (vm == MESH__AM_NONE)
        return;
    for (size_t i = 0; i < pattern->matcher_count; i++)
        s_register (self, vm, node, &pattern->matchers [i]);
}

//  Compile x, which lives at trie node trie and reports to target (share:
//  as a STAMP that target, a JOIN, reads when it closes).
static void
s_place (s_builder_t *self, const s_xnode_t *x, uint32_t trie, uint32_t target, bool share)
{
    if (share && x->child_count == 0) {
        uint32_t stamp = s_stamp (self, x, trie, self->nodes [target].trie);
        if (stamp != MESH__AM_NONE) {
            s_pair_t pair = { target, stamp, NULL };
            S_PUSH (self, shared, pair);
        }
        return;
    }
    if (share) {
        //  A chain of one-field objects: the leaf at its end is the stamp
        s_place_child (self, x, 0, trie, target, true);
        return;
    }
    if (x->child_count == 0) {
        mesh__am_node_t leaf = { .kind = x->tests == MESH__AM_TESTS_DT? MESH__AM_LEAF_DT: MESH__AM_LEAF_POS,
                                 .bit = MESH__AM_NO_BIT, .target = target, .trie = trie };
        if (self->cond_join != MESH__AM_NONE) {
            //  Its JOIN is never counted: it decides the JOIN's rule
            leaf.kind = MESH__AM_LEAF_COND;
            leaf.target = self->nodes [self->cond_join].target;
            leaf.join = self->cond_join;
        }
        uint32_t id = s_add_node (self, leaf);
        if (id == MESH__AM_NONE)
            return;
        s_register_tests (self, x->pattern, trie, id);
        if (x->tests == MESH__AM_TESTS_DT) {
            s_pair_t pair = { trie, id, NULL };
            S_PUSH (self, dts, pair);
        }
        return;
    }
    if (x->tests == MESH__AM_TESTS_NONE && x->child_count == 1 && x->need == 1) {
        //  One positive field and nothing else: report straight through
        s_place_children (self, x, trie, target);
        return;
    }
    mesh__am_quant_t quant = x->pattern->absence_only? MESH__AM_ALL: x->need == 0? MESH__AM_SOME_DT: MESH__AM_SOME;
    mesh__am_node_t join = { .kind = MESH__AM_JOIN, .tests = x->tests, .quant = (uint8_t) quant,
                             .dflt = x->dflt, .bit = MESH__AM_NO_BIT, .target = target, .trie = trie,
                             .need = x->need, .join = self->join_count };
    uint32_t id = s_add_node (self, join);
    if (id == MESH__AM_NONE)
        return;
    self->join_count++;
    self->tries [trie].joins = true;
    if (x->tests != MESH__AM_TESTS_NONE)
        s_register_tests (self, x->pattern, trie, id);
    if (x->tests == MESH__AM_TESTS_DT) {
        s_pair_t pair = { trie, id, NULL };
        S_PUSH (self, dts, pair);
    }
    s_place_fields (self, x, trie, id);
}

//  Count, for s_cost, the rules behind each leaf of pattern node (and of
//  its `$or` alternatives): by path and text for a test looked up by its
//  text, or by path for tests of other kinds.
static void
s_count_leaves (s_builder_t *self, const mesh__node_t *node)
{
    if (node->matchers && node->matcher_count) {
        const char *text;
        size_t size;
        uint64_t kind = s_count_kind (node, &text, &size);
        uint32_t *count = mesh__share_at (&self->values, s_path_key (node), kind, text, size);
        if (!count) {
            self->failed = true;
            return;
        }
        if (*count < UINT32_MAX - 2)
            (*count)++;
    }
    for (const mesh__node_t *child = node->children; child && !self->failed; child = child->next)
        s_count_leaves (self, child);
    for (const mesh__or_t *group = node->ors; group && !self->failed; group = group->next)
        for (size_t i = 0; i < group->count; i++)
            s_count_leaves (self, &group->alternatives [i]);
}

//  Compile rule index: its sub-rules, or a place on the interpreter's list.
static void
s_compile_rule (s_builder_t *self, const mesh_rule_t *rule, uint32_t index)
{
    uint32_t count = 0;
    s_xnode_t **roots = s_needs_interpreter (rule->root, false)
                      ? NULL: s_expand_node (self, rule->root, &count);
    if (!roots) {
        if (!self->failed)
            S_PUSH (self, fallback_rules, index);
        s_xfree (self);
        return;
    }
    for (uint32_t i = 0; i < count && !self->failed; i++) {
        const s_xnode_t *root = roots [i];
        if (root->child_count == 1 && root->need == 1)
            s_place_children (self, root, 0, MESH__AM_RULE | index);
        else {
            mesh__am_node_t join = { .kind = MESH__AM_JOIN, .tests = MESH__AM_TESTS_NONE,
                                     .quant = MESH__AM_SOME, .dflt = root->dflt,
                                     .root = count == 1? MESH__AM_SOLE: 1, .bit = MESH__AM_NO_BIT,
                                     .target = MESH__AM_RULE | index, .trie = 0, .need = root->need,
                                     .join = self->join_count };
            uint32_t id = s_add_node (self, join);
            if (id == MESH__AM_NONE)
                break;
            self->join_count++;
            self->tries [0].joins = true;
            if (root->need == 0)
                S_PUSH (self, default_roots, id);
            s_place_fields (self, root, 0, id);
        }
    }
    s_xfree (self);
}


//  ---------------------------------------------------------------------
//  Laying the automaton out

static int
s_pair_compare (const void *a, const void *b)
{
    const s_pair_t *x = (const s_pair_t *) a;
    const s_pair_t *y = (const s_pair_t *) b;
    if (x->owner != y->owner)
        return x->owner < y->owner? -1: 1;
    if (x->value != y->value)
        return x->value < y->value? -1: 1;
    return 0;
}

static int
s_keyed_compare (const void *a, const void *b)
{
    const s_keyed_t *x = (const s_keyed_t *) a;
    const s_keyed_t *y = (const s_keyed_t *) b;
    if (x->vm != y->vm)
        return x->vm < y->vm? -1: 1;
    if (x->tag != y->tag)
        return x->tag < y->tag? -1: 1;
    if (x->key_hash != y->key_hash)
        return x->key_hash < y->key_hash? -1: 1;
    if (MESH__AM_BIT (x->tag) & MESH__AM_BYTES_TAGS) {
        if (x->size != y->size)
            return x->size < y->size? -1: 1;
        return memcmp (x->key, y->key, x->size);
    }
    if (MESH__AM_BIT (x->tag) & MESH__AM_FOLD_TAGS)
        return 0;
    return x->bits < y->bits? -1: x->bits > y->bits? 1: 0;
}

//  Ranges by vm and side, then in the order that makes the ones that hold
//  for a number a prefix (see mesh__am_range_t).
static int
s_range_compare (const void *a, const void *b)
{
    const s_brange_t *x = (const s_brange_t *) a;
    const s_brange_t *y = (const s_brange_t *) b;
    if (x->vm != y->vm)
        return x->vm < y->vm? -1: 1;
    if (x->side != y->side)
        return x->side < y->side? -1: 1;
    double first = x->side == MESH__AM_BELOW? -x->range.high: x->range.low;
    double second = y->side == MESH__AM_BELOW? -y->range.high: y->range.low;
    if (first != second)
        return first < second? -1: 1;
    uint8_t x_open = x->side == MESH__AM_BELOW? x->range.high_open: x->range.low_open;
    uint8_t y_open = y->side == MESH__AM_BELOW? y->range.high_open: y->range.low_open;
    if (x_open != y_open)
        return x_open < y_open? -1: 1;
    return x->range.node < y->range.node? -1: x->range.node > y->range.node;
}

static void *
s_final (mesh__automaton_t *self, const void *data, size_t count, size_t item)
{
    size_t size = count * item;
    void *copy = malloc (size? size: 1);
    if (copy && size)
        memcpy (copy, data, size);
    self->bytes += size;
    return copy;
}

//  Group pairs by owner (sorted, and with duplicate values dropped if
//  unique): for owner o, its values are [first [o], first [o] + count [o]).
static bool
s_group (s_pair_t *pairs, size_t count, bool unique, uint32_t *firsts, uint32_t *counts,
         size_t owners, size_t *kept)
{
    if (count)
        qsort (pairs, count, sizeof (s_pair_t), s_pair_compare);
    size_t out = 0;
    for (size_t i = 0; i < count; i++) {
        if (unique && out > 0 && pairs [out - 1].owner == pairs [i].owner
        &&  pairs [out - 1].value == pairs [i].value)
            continue;
        pairs [out++] = pairs [i];
    }
    for (size_t o = 0; o < owners; o++)
        firsts [o] = counts [o] = 0;
    for (size_t i = out; i-- > 0; ) {
        firsts [pairs [i].owner] = (uint32_t) i;
        counts [pairs [i].owner]++;
    }
    *kept = out;
    return true;
}

static void
s_builder_free (s_builder_t *self)
{
    s_xfree (self);
    free (self->tries);
    free (self->trie_index);
    free (self->nodes);
    free (self->vms);
    free (self->keyed);
    free (self->any);
    free (self->generic);
    free (self->prefixes);
    free (self->suffixes);
    free (self->folds);
    free (self->ranges);
    free (self->dts);
    free (self->default_roots);
    free (self->fallback_rules);
    free (self->shared);
    free (self->guards);
    free (self->guard_joins);
    free (self->guard_leaves);
    mesh__share_fini (&self->values);
    mesh__share_fini (&self->stamps);
}

//  A table entry with one fire that needs no verify keeps its node in the
//  slot, or the rule when the node is a rule's only field: a probe that
//  finds it reads nothing else (accepts NULL).
static void
s_entry_inline (mesh__automaton_t *self, const s_builder_t *b, mesh__am_entry_t *entry)
{
    //  A rule's only field, a wildcard whose tail of 3 bytes or fewer fits the slot
    if (entry && entry->fire_count == 1) {
        const mesh__am_fire_t *fire = &self->fires [entry->fire_first];
        const mesh__am_node_t *node = &b->nodes [fire->node];
        if (fire->tail_size && fire->tail_size <= MESH__AM_TAIL_INLINE
        &&  fire->least == entry->size + fire->tail_size
        &&  node->kind == MESH__AM_LEAF_POS && (node->target & MESH__AM_RULE)) {
            entry->fire_first = node->target & ~MESH__AM_RULE;
            entry->fire_count = MESH__AM_FIRE_TAIL | (uint32_t) fire->tail_size << 24
                              | (uint32_t) (fire->u.tail & 0xffffff);
            return;
        }
    }
    if (entry && entry->fire_count == 1
    &&  !self->fires [entry->fire_first].tail_size && !self->fires [entry->fire_first].u.verify) {
        uint32_t id = self->fires [entry->fire_first].node;
        const mesh__am_node_t *node = &b->nodes [id];
        if (node->kind == MESH__AM_LEAF_POS && (node->target & MESH__AM_RULE)) {
            entry->fire_first = node->target & ~MESH__AM_RULE;
            entry->fire_count = 1 | MESH__AM_FIRE_RULE;
        }
        else
        if (node->kind == MESH__AM_LEAF_COND && node->join <= MESH__AM_SET_MAX) {
            entry->fire_first = node->target & ~MESH__AM_RULE;
            entry->fire_count = MESH__AM_FIRE_COND | node->join;
        }
        else {
            entry->fire_first = id;
            entry->fire_count = 1 | MESH__AM_FIRE_NODE;
        }
    }
}

//  The anything-but lists of the guards' tests (texts and numbers), copied
//  in the guards' order beside them, so that the candidates of one set
//  read their lists in one stream too. False when out of memory.
static bool
s_copy_sets (mesh__automaton_t *self, size_t matchers)
{
    size_t bytes = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t at = 0;
        for (size_t i = 0; i < matchers; i++) {
            mesh__matcher_t *matcher = &self->guard_matchers [i];
            int kind = matcher->kind;
            size_t count = matcher->u.set.count;
            if (kind == MESH__BUT_NUMBERS) {
                if (pass)
                    matcher->u.set.numbers = (mesh__number_t *) memcpy (self->guard_bytes + at,
                                             matcher->u.set.numbers, count * sizeof (mesh__number_t));
                at += count * sizeof (mesh__number_t);
            }
            else
            if (kind == MESH__BUT_STRINGS || kind == MESH__BUT_PREFIX || kind == MESH__BUT_SUFFIX
            ||  kind == MESH__BUT_NOCASE) {
                mesh__text_t *texts = (mesh__text_t *) (self->guard_bytes + at);
                at += count * sizeof (mesh__text_t);
                for (size_t k = 0; k < count; k++) {
                    if (pass) {
                        texts [k].ptr = (const char *) memcpy (self->guard_bytes + at,
                                                               matcher->u.set.texts [k].ptr,
                                                               matcher->u.set.texts [k].size);
                        texts [k].size = matcher->u.set.texts [k].size;
                    }
                    at += (matcher->u.set.texts [k].size + 7) & ~(size_t) 7;
                }
                if (pass)
                    matcher->u.set.texts = texts;
            }
        }
        if (!pass) {
            bytes = at;
            self->guard_bytes = (uint8_t *) malloc (bytes? bytes: 1);
            self->bytes += bytes;
            if (!self->guard_bytes)
                return false;
        }
        else
            assert (at == bytes);
    }
    return true;
}

//  A guard whose field is one test of a kind the guard can hold (exists,
//  one numeric range, anything-but one short string) keeps it in place of
//  its copies: true then.
static bool
s_guard_inline (mesh__am_guard_t *guard, const mesh__node_t *leaf)
{
    if (leaf->matcher_count != 1)
        return false;
    const mesh__matcher_t *matcher = &leaf->matchers [0];
    if (matcher->kind == MESH__EXISTS)
        guard->test = MESH__AM_GUARD_EXISTS;
    else
    if (matcher->kind == MESH__NUMERIC) {
        guard->test = MESH__AM_GUARD_RANGE;
        guard->low_open = matcher->u.range.low_open;
        guard->high_open = matcher->u.range.high_open;
        guard->u.range.low = matcher->u.range.low;
        guard->u.range.high = matcher->u.range.high;
    }
    else
    if (matcher->kind == MESH__BUT_STRINGS && matcher->u.set.count == 1
    &&  matcher->u.set.texts [0].size <= MESH__AM_GUARD_TEXT) {
        guard->test = MESH__AM_GUARD_BUT_TEXT;
        guard->text_size = (uint8_t) matcher->u.set.texts [0].size;
        memcpy (guard->u.text, matcher->u.set.texts [0].ptr, guard->text_size);
    }
    else
        return false;
    return true;
}

//  A node of the guard trie while it is built: its JOINs in the guards
//  (what its edge keeps).
typedef struct {
    uint32_t guard_first, guard_count;
} s_gnode_t;

//  The guard trie of the guarded JOINs (their STAMP lists are laid out in
//  self->shared, ascending): a path per distinct list, its JOINs at its
//  end. False when out of memory.
static bool
s_layout_guards (mesh__automaton_t *self, s_builder_t *b)
{
    size_t count = b->guards_count;
    assert (b->failed || (b->guard_joins_count == count && b->guard_leaves_count == count));
    size_t matchers = 0;
    for (size_t i = 0; i < count; i++)
        matchers += b->guards [i].u.matchers.count;
    mesh__share_t edges;
    mesh__share_init (&edges);
    uint32_t *at = (uint32_t *) calloc (count? count: 1, sizeof (uint32_t));   //  a guard's node
    uint32_t nodes = 1;
    size_t path_room = 64;
    uint64_t *paths = (uint64_t *) malloc (path_room * sizeof (uint64_t));      //  a node's path hash
    bool ok = at && paths;
    if (ok)
        paths [0] = MESH__AM_GPATH_ROOT;
    for (size_t i = 0; i < count && ok; i++) {
        const mesh__am_node_t *join = &b->nodes [b->guard_joins [i]];
        uint32_t node = 0;
        for (uint32_t k = 0; k < join->shared_count && ok; k++) {
            uint32_t stamp = self->shared [join->shared_first + k];
            uint32_t *child = mesh__share_at (&edges, node, stamp, "", 0);
            ok = child != NULL;
            if (ok && !*child) {
                if (nodes == path_room) {
                    uint64_t *grown = (uint64_t *) realloc (paths, 2 * path_room * sizeof (uint64_t));
                    ok = grown != NULL;
                    if (!ok)
                        break;
                    paths = grown;
                    path_room *= 2;
                }
                paths [nodes] = mesh__am_gpath (paths [node], stamp);
                *child = ++nodes;          //  the new node's index (nodes - 1), + 1
            }
            if (ok)
                node = *child - 1;
        }
        at [i] = node;
    }
    uint32_t room = 16;
    while (room < 2 * edges.count)
        room *= 2;
    s_gnode_t *gnodes = (s_gnode_t *) calloc (nodes, sizeof (s_gnode_t));
    self->gedges = (mesh__am_gedge_t *) calloc (room, sizeof (mesh__am_gedge_t));
    self->guards = (mesh__am_guard_t *) malloc ((count? count: 1) * sizeof (mesh__am_guard_t));
    self->guard_matchers = (mesh__matcher_t *) malloc ((matchers? matchers: 1) * sizeof (mesh__matcher_t));
    self->bytes += room * sizeof (mesh__am_gedge_t) + count * sizeof (mesh__am_guard_t)
                 + matchers * sizeof (mesh__matcher_t);
    ok = ok && gnodes && self->gedges && self->guards && self->guard_matchers;
    if (ok) {
        self->gedge_mask = room - 1;
        self->guard_count = (uint32_t) count;
        //  The guards grouped by node, in the order they came
        for (size_t i = 0; i < count; i++)
            gnodes [at [i]].guard_count++;
        uint32_t first = 0;
        for (uint32_t n = 0; n < nodes; n++) {
            gnodes [n].guard_first = first;
            first += gnodes [n].guard_count;
            gnodes [n].guard_count = 0;
        }
        for (size_t i = 0; i < count; i++) {
            s_gnode_t *node = &gnodes [at [i]];
            self->guards [node->guard_first + node->guard_count++] = b->guards [i];
        }
        //  The edges, each with its child's guards (no guard is at the root)
        for (size_t i = 0; i < edges.slot_count; i++) {
            const mesh__share_slot_t *edge = &edges.slots [i];
            if (!edge->hash)
                continue;
            uint32_t slot = (uint32_t) paths [edge->value - 1] & self->gedge_mask;
            while (self->gedges [slot].child)
                slot = (slot + 1) & self->gedge_mask;
            const s_gnode_t *child = &gnodes [edge->value - 1];
            self->gedges [slot] = (mesh__am_gedge_t) { (uint32_t) edge->a, (uint32_t) edge->b, edge->value - 1,
                                                       child->guard_first, child->guard_count, 0, 0 };
        }
        uint32_t copied = 0;
        for (size_t i = 0; i < count; i++) {
            mesh__am_guard_t *guard = &self->guards [i];
            const mesh__node_t *leaf = b->guard_leaves [guard->u.matchers.first];
            if (!s_guard_inline (guard, leaf)) {
                memcpy (&self->guard_matchers [copied], leaf->matchers,
                        guard->u.matchers.count * sizeof (mesh__matcher_t));
                guard->u.matchers.first = copied;
                copied += guard->u.matchers.count;
            }
        }
        //  Each edge knows where its guards' copied tests are, so that both can be
        //  asked for at once (the copies of one set's guards are in one run)
        for (uint32_t slot = 0; slot <= self->gedge_mask; slot++) {
            mesh__am_gedge_t *edge = &self->gedges [slot];
            if (!edge->child)
                continue;
            edge->matcher_first = edge->matcher_count = 0;
            for (uint32_t i = 0; i < edge->guard_count; i++) {
                const mesh__am_guard_t *guard = &self->guards [edge->guard_first + i];
                if (guard->test != MESH__AM_GUARD_MATCHERS)
                    continue;
                if (!edge->matcher_count)
                    edge->matcher_first = guard->u.matchers.first;
                edge->matcher_count = guard->u.matchers.first + guard->u.matchers.count - edge->matcher_first;
            }
        }
        ok = s_copy_sets (self, copied);
        for (size_t i = 0; i < b->nodes_count; i++)
            self->guard_stamps += b->nodes [i].kind == MESH__AM_LEAF_STAMP && b->nodes [i].root;
    }
    free (at);
    free (paths);
    free (gnodes);
    mesh__share_fini (&edges);
    return ok;
}

//  Lay the builder's collections out into self.
static bool
s_layout (mesh__automaton_t *self, s_builder_t *b)
{
    size_t tries = b->tries_count;
    size_t vms = b->vms_count;
    uint32_t *firsts = (uint32_t *) calloc (tries > vms? tries: vms, sizeof (uint32_t));
    uint32_t *counts = (uint32_t *) calloc (tries > vms? tries: vms, sizeof (uint32_t));
    bool ok = false;
    //  A table key holds vm << 4 | tag: more vms than that would take
    //  gigabytes of tries first, so it fails as out of memory
    if (!firsts || !counts || vms > MESH__AM_VM_MAX)
        goto done;

    //  Tries, with their edges grouped by parent
    self->trie_count = (uint32_t) tries;
    self->tries = (mesh__am_trie_t *) calloc (tries, sizeof (mesh__am_trie_t));
    self->edges = (mesh__am_edge_t *) calloc (tries, sizeof (mesh__am_edge_t));
    self->bytes += tries * (sizeof (mesh__am_trie_t) + sizeof (mesh__am_edge_t));
    if (!self->tries || !self->edges)
        goto done;
    uint32_t edge_at = 0;
    size_t slots = 0;
    for (size_t i = 0; i < tries; i++) {
        mesh__am_trie_t *trie = &self->tries [i];
        trie->edge_first = edge_at;
        edge_at += b->tries [i].child_count;
        trie->vm = b->tries [i].vm;
        trie->joins = b->tries [i].joins;
        trie->records = b->tries [i].records;
        if (b->tries [i].child_count > MESH__AM_LINEAR) {
            uint32_t room = 16;
            while (room < 2 * b->tries [i].child_count)
                room *= 2;
            trie->slot_first = (uint32_t) slots;
            trie->slot_mask = room - 1;
            slots += room;
        }
    }
    self->edge_slots = (uint32_t *) calloc (slots? slots: 1, sizeof (uint32_t));
    self->bytes += slots * sizeof (uint32_t);
    if (!self->edge_slots)
        goto done;
    for (size_t i = 1; i < tries; i++) {
        const s_btrie_t *built = &b->tries [i];
        mesh__am_trie_t *parent = &self->tries [built->parent];
        uint32_t edge = parent->edge_first + parent->edge_count++;
        self->edges [edge] = (mesh__am_edge_t) { built->key, built->size, (uint32_t) i };
        parent->lengths |= (uint64_t) 1 << (built->size < 63? built->size: 63);
        if (b->tries [built->parent].child_count > MESH__AM_LINEAR) {
            uint32_t at = (uint32_t) mesh__am_hash_bytes (built->key, built->size) & parent->slot_mask;
            while (self->edge_slots [parent->slot_first + at])
                at = (at + 1) & parent->slot_mask;
            self->edge_slots [parent->slot_first + at] = edge + 1;
        }
    }

    //  Nodes checked at the end of a visit that saw a leaf, by trie
    size_t kept;
    s_group (b->dts, b->dts_count, false, firsts, counts, tries, &kept);
    self->dt_nodes = (uint32_t *) malloc ((kept? kept: 1) * sizeof (uint32_t));
    self->bytes += kept * sizeof (uint32_t);
    if (!self->dt_nodes)
        goto done;
    for (size_t i = 0; i < kept; i++)
        self->dt_nodes [i] = b->dts [i].value;
    for (size_t i = 0; i < tries; i++) {
        self->tries [i].dt_first = firsts [i];
        self->tries [i].dt_count = counts [i];
    }

    //  Value matchers: lengths, then fires (any, generic, then the table's)
    self->vms = (mesh__am_vm_t *) calloc (vms? vms: 1, sizeof (mesh__am_vm_t));
    self->bytes += vms * sizeof (mesh__am_vm_t);
    if (!self->vms)
        goto done;
    for (size_t i = 0; i < vms; i++) {
        self->vms [i].tags = b->vms [i].tags;
        self->vms [i].fold_max = b->vms [i].fold_max;
    }
    size_t prefix_kept, suffix_kept, fold_kept;
    s_group (b->prefixes, b->prefixes_count, true, firsts, counts, vms, &prefix_kept);
    for (size_t i = 0; i < vms; i++) {
        self->vms [i].prefix_first = firsts [i];
        self->vms [i].prefix_count = counts [i];
    }
    s_group (b->suffixes, b->suffixes_count, true, firsts, counts, vms, &suffix_kept);
    for (size_t i = 0; i < vms; i++) {
        self->vms [i].suffix_first = (uint32_t) prefix_kept + firsts [i];
        self->vms [i].suffix_count = counts [i];
    }
    s_group (b->folds, b->folds_count, true, firsts, counts, vms, &fold_kept);
    for (size_t i = 0; i < vms; i++) {
        self->vms [i].fold_first = (uint32_t) (prefix_kept + suffix_kept) + firsts [i];
        self->vms [i].fold_count = counts [i];
    }
    size_t length_count = prefix_kept + suffix_kept + fold_kept;
    self->lengths = (uint32_t *) malloc ((length_count? length_count: 1) * sizeof (uint32_t));
    self->bytes += length_count * sizeof (uint32_t);
    if (!self->lengths)
        goto done;
    for (size_t i = 0; i < prefix_kept; i++)
        self->lengths [i] = b->prefixes [i].value;
    for (size_t i = 0; i < suffix_kept; i++)
        self->lengths [prefix_kept + i] = b->suffixes [i].value;
    for (size_t i = 0; i < fold_kept; i++)
        self->lengths [prefix_kept + suffix_kept + i] = b->folds [i].value;

    size_t fire_count = b->any_count + b->generic_count + b->keyed_count;
    self->fires = (mesh__am_fire_t *) malloc ((fire_count? fire_count: 1) * sizeof (mesh__am_fire_t));
    self->bytes += fire_count * sizeof (mesh__am_fire_t);
    if (!self->fires)
        goto done;
    size_t fire_at = 0;
    size_t any_kept, generic_kept;
    s_group (b->any, b->any_count, true, firsts, counts, vms, &any_kept);
    for (size_t i = 0; i < vms; i++) {
        self->vms [i].any_first = firsts [i];
        self->vms [i].any_count = counts [i];
    }
    for (size_t i = 0; i < any_kept; i++)
        self->fires [fire_at++] = (mesh__am_fire_t) { b->any [i].value, 0, 0, 0, { NULL } };
    //  Generic tests keep their order within a vm (qsort is not stable,
    //  but the order of tests does not change the answer)
    s_group (b->generic, b->generic_count, false, firsts, counts, vms, &generic_kept);
    for (size_t i = 0; i < vms; i++) {
        self->vms [i].generic_first = (uint32_t) fire_at + firsts [i];
        self->vms [i].generic_count = counts [i];
    }
    for (size_t i = 0; i < generic_kept; i++)
        self->fires [fire_at++] = (mesh__am_fire_t) { b->generic [i].value, 0, 0, 0, { b->generic [i].verify } };

    //  Numeric ranges, sorted per vm and side
    if (b->ranges_count)
        qsort (b->ranges, b->ranges_count, sizeof (s_brange_t), s_range_compare);
    self->ranges = (mesh__am_range_t *) malloc ((b->ranges_count? b->ranges_count: 1) * sizeof (mesh__am_range_t));
    self->bytes += b->ranges_count * sizeof (mesh__am_range_t);
    if (!self->ranges)
        goto done;
    for (size_t i = b->ranges_count; i-- > 0; ) {
        const s_brange_t *range = &b->ranges [i];
        self->ranges [i] = range->range;
        self->vms [range->vm].range_first [range->side] = (uint32_t) i;
        self->vms [range->vm].range_count [range->side]++;
    }

    //  Each JOIN's STAMPs, grouped by JOIN
    if (b->shared_count)
        qsort (b->shared, b->shared_count, sizeof (s_pair_t), s_pair_compare);
    //  Equal lists are kept once: the 100,000 JOINs of rules that all name
    //  one source and one detail-type read the same two words when they
    //  close, which stay in the cache
    self->shared = (uint32_t *) malloc ((b->shared_count? b->shared_count: 1) * sizeof (uint32_t));
    uint32_t list_room = 16;
    while (list_room < 2 * b->shared_count)
        list_room *= 2;
    uint32_t *lists = (uint32_t *) calloc (list_room, sizeof (uint32_t));   //  a JOIN + 1
    if (!self->shared || !lists) {
        free (lists);
        goto done;
    }
    size_t lists_kept = 0;
    for (size_t i = 0; i < b->shared_count; ) {
        uint32_t owner = b->shared [i].owner;
        size_t count = 0;
        for (; i < b->shared_count && b->shared [i].owner == owner; i++)
            self->shared [lists_kept + count++] = b->shared [i].value;
        mesh__am_node_t *join = &b->nodes [owner];
        join->shared_first = (uint32_t) lists_kept;
        join->shared_count = (uint32_t) count;
        uint32_t at = (uint32_t) mesh__am_hash_bytes (&self->shared [lists_kept], count * sizeof (uint32_t))
                    & (list_room - 1);
        for (; lists [at]; at = (at + 1) & (list_room - 1)) {
            const mesh__am_node_t *same = &b->nodes [lists [at] - 1];
            if (same->shared_count == count
            &&  memcmp (&self->shared [same->shared_first], &self->shared [lists_kept],
                        count * sizeof (uint32_t)) == 0) {
                join->shared_first = same->shared_first;
                break;
            }
        }
        if (!lists [at]) {
            lists [at] = owner + 1;
            lists_kept += count;
        }
    }
    free (lists);
    self->bytes += lists_kept * sizeof (uint32_t);

    //  Each LEAF_COND's STAMP set, as [count, STAMPs...] in self->sets (one
    //  copy of each list), the node's join its place there. Each kept list
    //  has a STAMP at least, so twice the kept words bound what is written.
    size_t set_room = lists_kept? 2 * lists_kept: 1;
    uint32_t *set_at = (uint32_t *) malloc (set_room * sizeof (uint32_t));
    self->sets = (uint32_t *) malloc (set_room * sizeof (uint32_t));
    if (!set_at || !self->sets) {
        free (set_at);
        goto done;
    }
    memset (set_at, 0xff, set_room * sizeof (uint32_t));
    size_t set_count = 0;
    for (size_t i = 0; i < b->nodes_count; i++)
        if (b->nodes [i].kind == MESH__AM_LEAF_COND) {
            const mesh__am_node_t *join = &b->nodes [b->nodes [i].join];
            if (set_at [join->shared_first] == UINT32_MAX) {
                set_at [join->shared_first] = (uint32_t) set_count;
                self->sets [set_count++] = join->shared_count;
                memcpy (&self->sets [set_count], &self->shared [join->shared_first],
                        join->shared_count * sizeof (uint32_t));
                set_count += join->shared_count;
            }
            b->nodes [i].join = set_at [join->shared_first];
        }
    free (set_at);
    self->bytes += set_room * sizeof (uint32_t);

    //  The table: equal keys become one entry with a list of fires
    if (b->keyed_count)
        qsort (b->keyed, b->keyed_count, sizeof (s_keyed_t), s_keyed_compare);
    size_t entry_count = 0;
    for (size_t i = 0; i < b->keyed_count; i++)
        if (i == 0 || s_keyed_compare (&b->keyed [i - 1], &b->keyed [i]) != 0)
            entry_count++;
    uint32_t room = 16;
    while (room < 2 * entry_count)
        room *= 2;
    self->entries = (mesh__am_entry_t *) s_line_alloc (room, sizeof (mesh__am_entry_t));
    self->slot_mask = room - 1;
    self->bytes += room * sizeof (mesh__am_entry_t);
    if (!self->entries)
        goto done;
    if (entry_count >= S_FILTER_MIN) {
        //  Eight bits per key: about 5% of absent keys get past it
        uint32_t words = 64;
        while (words * 64 < 8 * entry_count)
            words *= 2;
        self->filter = (uint64_t *) s_line_alloc (words, sizeof (uint64_t));
        self->filter_mask = words - 1;
        self->bytes += words * sizeof (uint64_t);
        if (!self->filter)
            goto done;
    }
    mesh__am_entry_t *entry = NULL;
    for (size_t i = 0; i < b->keyed_count; i++) {
        const s_keyed_t *keyed = &b->keyed [i];
        if (i == 0 || s_keyed_compare (&b->keyed [i - 1], keyed) != 0) {
            //  A fire of the entry before that is alone and needs no
            //  verify is kept in its slot
            s_entry_inline (self, b, entry);
            uint64_t hash = mesh__am_entry_hash (keyed->key_hash, keyed->vm, keyed->tag);
            if (self->filter)
                self->filter [(hash >> 12) & self->filter_mask] |= mesh__am_filter_bits (hash);
            uint32_t at = (uint32_t) hash & self->slot_mask;
            while (self->entries [at].fire_count)
                at = (at + 1) & self->slot_mask;
            entry = &self->entries [at];
            entry->vm_tag = keyed->vm << 4 | keyed->tag;
            entry->size = keyed->size;
            if (MESH__AM_BIT (keyed->tag) & MESH__AM_BYTES_TAGS) {
                entry->head = mesh__am_head (keyed->key, keyed->size);
                if (keyed->size <= MESH__AM_INLINE_KEY)
                    entry->rest.tail = keyed->size > 8? mesh__am_head (keyed->key + 8, keyed->size - 8): 0;
                else
                    entry->rest.key = keyed->key;
            }
            else
                entry->head = MESH__AM_BIT (keyed->tag) & MESH__AM_FOLD_TAGS? keyed->key_hash: keyed->bits;
            entry->fire_first = (uint32_t) fire_at;
        }
        entry->fire_count++;
        self->fires [fire_at++] = keyed->fire;
    }
    s_entry_inline (self, b, entry);

    //  A fire of a rule's only field names the rule: a hit reads no node
    for (size_t i = 0; i < fire_at; i++) {
        mesh__am_fire_t *fire = &self->fires [i];
        const mesh__am_node_t *node = &b->nodes [fire->node];
        if (node->kind == MESH__AM_LEAF_POS && (node->target & MESH__AM_RULE)) {
            fire->node = node->target & ~MESH__AM_RULE;
            fire->rule = 1;
        }
    }

    //  A vm whose entries fire only rules, conds and rules behind an inline
    //  tail answers the same whenever its probes run (a tail reads the
    //  leaf's string, which the event holds): in a large table they wait
    //  to the end of the walk, their slots asked for as the walk goes
    //  (mesh_automaton_run.c)
    if (self->filter) {
        for (size_t i = 0; i < b->vms_count; i++)
            self->vms [i].deferred = 1;
        for (uint32_t i = 0; i <= self->slot_mask; i++) {
            const mesh__am_entry_t *slot = &self->entries [i];
            if (slot->fire_count && !(slot->fire_count & MESH__AM_FIRE_TAIL))
                self->vms [slot->vm_tag >> 4].deferred = 0;
        }
    }

    if (!s_layout_guards (self, b))
        goto done;

    //  Each leaf that reports to a JOIN gets a bit of the JOIN's counters
    //  (and the JOIN's trie and counters), up to 64 a JOIN
    uint8_t *bits = (uint8_t *) calloc (b->nodes_count? b->nodes_count: 1, 1);
    if (!bits)
        goto done;
    for (size_t i = 0; i < b->nodes_count; i++) {
        mesh__am_node_t *leaf = &b->nodes [i];
        if ((leaf->kind != MESH__AM_LEAF_POS && leaf->kind != MESH__AM_LEAF_DT)
        ||  (leaf->target & MESH__AM_RULE) || bits [leaf->target] >= 64)
            continue;
        const mesh__am_node_t *join = &b->nodes [leaf->target];
        leaf->bit = bits [leaf->target]++;
        leaf->need = join->trie;
        leaf->join = join->join;
    }
    free (bits);
    self->nodes = (mesh__am_node_t *) s_final (self, b->nodes, b->nodes_count, sizeof (mesh__am_node_t));
    self->node_count = (uint32_t) b->nodes_count;
    self->join_count = b->join_count;
    self->default_roots = (uint32_t *) s_final (self, b->default_roots, b->default_roots_count,
                                                sizeof (uint32_t));
    self->default_root_count = (uint32_t) b->default_roots_count;
    self->fallback_rules = (uint32_t *) s_final (self, b->fallback_rules, b->fallback_rules_count,
                                                 sizeof (uint32_t));
    self->fallback_count = (uint32_t) b->fallback_rules_count;
    ok = self->nodes && self->default_roots && self->fallback_rules;
done:
    free (firsts);
    free (counts);
    return ok;
}

//  Compile every rule into one automaton; see the top of this file.

mesh__automaton_t *
mesh__automaton_new (mesh_rule_t *const *rules, size_t count, mesh_error_t *err)
{
    mesh__automaton_t *self = (mesh__automaton_t *) calloc (1, sizeof (mesh__automaton_t));
    s_builder_t builder;
    memset (&builder, 0, sizeof (builder));
    builder.cond_join = MESH__AM_NONE;
    mesh__arena_init (&builder.expansion);
    if (!self)
        goto fail;
    self->rules = rules;
    self->rule_count = count;
    self->bytes = sizeof (mesh__automaton_t);

    s_btrie_t root = { MESH__AM_NONE, "", 0, MESH__AM_NONE, 0, false, false };
    S_PUSH (&builder, tries, root);
    for (size_t i = 0; i < count && !builder.failed; i++)
        if (!s_needs_interpreter (rules [i]->root, false))
            s_count_leaves (&builder, rules [i]->root);
    for (size_t i = 0; i < count && !builder.failed; i++)
        s_compile_rule (&builder, rules [i], (uint32_t) i);
    if (builder.failed || builder.nodes_count >= MESH__AM_RULE || !s_layout (self, &builder))
        goto fail;
    s_builder_free (&builder);
    return self;

fail:
    s_builder_free (&builder);
    mesh__automaton_destroy (&self);
    mesh_error_set (err, MESH_ENOMEM, "ruleset: out of memory compiling %zu rules", count);
    return NULL;
}

void
mesh__automaton_destroy (mesh__automaton_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        mesh__automaton_t *self = *self_p;
        free (self->tries);
        free (self->edges);
        free (self->edge_slots);
        free (self->nodes);
        free (self->dt_nodes);
        free (self->shared);
        free (self->vms);
        free (self->lengths);
        free (self->fires);
        free (self->ranges);
        free (self->entries);
        free (self->filter);
        free (self->default_roots);
        free (self->fallback_rules);
        free (self->guards);
        free (self->guard_matchers);
        free (self->sets);
        free (self->guard_bytes);
        free (self->gedges);
        free (self);
        *self_p = NULL;
    }
}

size_t
mesh__automaton_memory (const mesh__automaton_t *self)
{
    return self? self->bytes: 0;
}
