/*  mesh_automaton_run.c: one walk over an event answers for every rule

    The automaton (mesh_automaton.h, built by mesh_automaton_build.c) is run
    here: mesh__automaton_match walks the event's MessagePack bytes once,
    with a thread's scratch or one the caller owns (a mesh_matcher_t),
    and falls back on the interpreter (mesh_interp.h) where it must.

    Why one file past 1,000 lines: it is one concept, the walk, whose
    parts (the value matcher at a leaf, the counting at a map's close, the
    rules decided after the walk: the guard trie's sets, deferred probes,
    the guards, pending CONDs, default roots) all read and write one
    s_walk_t and one scratch, in an order that is the walk's own (the
    guards asked for first, to come while the deferred probes are looked
    up; the guards tested while the sets of STAMPs those probes' CONDs
    asked for come; the pending CONDs, which the probes may add to, after
    both); the scratch's layout is already apart (mesh_automaton_scratch.h),
    as is everything that does not walk.

    The walk
    - One pass over the bytes. At each map the trie names, every key is
      looked up; a named value is walked (maps and arrays recursively,
      leaves through the value matcher), anything else is stepped over
      undecoded by the one validating skip (mesh_mp.h), whose fast part is
      branchy: common headers advance by constants, so the processor runs
      ahead of its loads (2.2x faster on citylots than a mesh__mp_read per
      value). A map's named keys are
      never known to be over before its end (a key repeated later would
      win), and the bytes must be checked whole, so "stopping early" means
      stepping over the rest without looking at keys.
    - The bytes are validated as they are walked, with the interpreter's
      rules: one MessagePack map, nothing after it, containers nested at
      most MESH_MAX_DEPTH_LIMIT deep. A malformed event gets -1 and the
      interpreter's own error text (mesh__interp_check).
    - The walk recurses once per level of the event that the trie names
      (and per nested array there), so at most MESH_MAX_DEPTH_LIMIT frames
      of under 300 bytes: the same order as the interpreter.
    - On citylots (one core of a 2.1 GHz EPYC) a walk with 5 exact rules
      takes about 1.5x the time of mesh__mp_skip, the same skip without
      the trie, over the same events.

    The checking walk (mesh__automaton_match_checked, the broker's one
    read of an event, mesh_ruleset_match_event)
    - The same walk, doing mesh_event_check's work as it goes: skips are
      strict (mesh_mp.h: UTF-8, no bin or ext, integers within int64, map
      keys that are strings) and refuse NaN and infinities; the values the
      walk reads itself get the same tests; at the top map, the envelope's
      keys are noted (types, duplicates, the strings EventBridge's limits
      test, the entry's size) and judged at the end (mesh__envelope_passes).
    - It only decides. Whatever it refuses or hands over is read again by
      mesh_event_check, whose answer and wording are final, and then, if
      that passes, by the plain walk: a checking walk that refused too much
      would cost a second read, never a wrong answer; one that accepted too
      much would be wrong, which test_one_pass and fuzz_match look for
      (check and match against the one walk, on mutated events).
    - On the bench's payment event with 10,001 rules it takes 0.75-0.9x
      the time of the check and the match one after the other; most of
      what is left is the validation itself (the check alone is about
      twice the plain match).

    Where the automaton hands over to the interpreter (exact by
    construction):
    - Events, whole, in two rare shapes: a map that repeats a key some rule
      names (the last occurrence wins, and the automaton has used the
      first), and a map whose dotted key ("state.status") reaches a named
      field with no plain key before it (the interpreter reads such keys as
      an object, a "view"). Every rule then goes through the interpreter
      for that event: as slow as before the automaton, never wrong.
    - Rules, in two rare shapes: a `$or` inside an object that only asks
      for absence (all its tests exists: false), other than the root (such
      an object must hold for every array element, and "for every element,
      one of" does not multiply out); and rules whose `$or`s multiply out to
      more than S_EXPAND_MAX nodes. The interpreter runs them on every
      event, after the walk.

    Scratch
    The counters of a walk take 8 bytes per compiled node, 28 per join, 12
    per trie node and 4 per rule: too much for the stack with large sets.
    They live in scratch (mesh_automaton_scratch.h), one per thread or one
    a caller owns, stamped with epochs so that nothing is cleared between
    events and concurrent matches on one set share nothing.

    (Why this is one file: see the top. The walk is the hot path, and its
    pieces call each other in the inner loop; kept in one unit they stay
    static and inline into each other, split they would not.)
*/
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mesh_private.h"
#include "mesh_automaton.h"
#include "mesh_automaton_scratch.h"
#include "mesh_envelope.h"
#include "mesh_interp.h"

#define S_DEPTH_MAX     MESH_MAX_DEPTH_LIMIT

//  Ask for the cache line at p. gcc 12 at -O2 dropped __builtin_prefetch
//  calls here (s_defer's two, for a slot and the one after it: none was
//  left in the object, and the misses they were for came back), so on x86
//  the instruction is written out, where no pass can remove it.
static inline void
s_prefetch (const void *p)
{
#if defined (__GNUC__) && (defined (__x86_64__) || defined (__i386__))
    __asm__ volatile ("prefetcht0 %0" :: "m" (*(const char *) p));
#else
    __builtin_prefetch (p);
#endif
}

//  Ask for the slot of an entry hash and the one after it, where linear
//  probing looks next (the same line half the time: the table starts on one).
static inline void
s_ask_slot (const mesh__automaton_t *a, uint64_t hash)
{
    uint32_t i = (uint32_t) hash & a->slot_mask;
    s_prefetch (&a->entries [i]);
    s_prefetch (&a->entries [(i + 1) & a->slot_mask]);
}


//  Equal bytes, for the short keys and values the walk compares (a call to
//  memcmp cost more than the comparison: 11% of a checking walk). Reads
//  only [a, a + size) and [b, b + size).
static inline bool
s_same (const void *a, const void *b, size_t size)
{
    const uint8_t *x = a, *y = b;
    if (size >= 8 && size <= 16) {
        uint64_t x0, y0, x1, y1;
        memcpy (&x0, x, 8);
        memcpy (&y0, y, 8);
        memcpy (&x1, x + size - 8, 8);
        memcpy (&y1, y + size - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (size > 16)
        return memcmp (x, y, size) == 0;
    for (size_t i = 0; i < size; i++)
        if (x [i] != y [i])
            return false;
    return true;
}


//  ---------------------------------------------------------------------
//  Matching

typedef enum { S_WALK_OK, S_WALK_MALFORMED, S_WALK_FALLBACK } s_status_t;

//  A probe of a deferred vm (mesh__am_vm_t): its slot is asked for when the
//  walk finds the value, and read when the queue fills or the walk ends, so
//  that the misses of an event's values overlap instead of coming one by one.
#define S_DEFERRED 8

typedef struct {
    uint64_t hash;              //  mesh__am_entry_hash: where its slot is
    uint64_t head;              //  what the slot's head must be (s_head)
    const void *key;
    const void *text;           //  the leaf, when a string (a slot's tail reads its end)
    uint32_t vm_tag, size;
    uint32_t text_size;
} s_deferred_t;

typedef struct {
    const mesh__automaton_t *a;
    mesh__scratch_t *s;
    const uint8_t *end;
    uint32_t *hits;
    uint32_t hit_count;
    uint32_t event;             //  epoch of this event, for the rules' stamps
    s_status_t status;
    int max_depth;              //  containers open at most at a value's level
    int skip_flags;             //  0, or the strict skip's (checking)
    mesh__envelope_scan_t *scan;    //  checking: what the top map says, else NULL
    const uint8_t *detail;      //  checking: the detail's contents, while at its key
    uint32_t fired_count;       //  in s->fired
    uint32_t record_count;      //  in s->records
    bool records_full;          //  a leaf found no room there
    uint32_t pending_count;     //  in s->pending
    const void *bytes;          //  the event, for the interpreter
    size_t size;
    uint32_t deferred_count;    //  probes waiting, in deferred
    s_deferred_t *deferred;     //  S_DEFERRED of them, on s_match's stack
} s_walk_t;

//  One value found at a trie node's path, with what its instances said.
typedef struct {
    uint32_t epoch;
    uint32_t head;              //  JOINs touched in this visit
    uint32_t maps;              //  instances that are maps
    uint32_t missing;           //  instances that hold no fields (scalars, [])
    bool leaf;                  //  a leaf came (not a map, not an array)
} s_visit_t;

static inline uint32_t
s_epoch (s_walk_t *self)
{
    return ++self->s->epoch;
}

static const uint8_t *
s_malformed (s_walk_t *self)
{
    self->status = S_WALK_MALFORMED;
    return NULL;
}


static const uint8_t *
s_fallback (s_walk_t *self)
{
    self->status = S_WALK_FALLBACK;
    return NULL;
}

//  A checking walk's tests of a value it reads itself (the strict skip's,
//  mesh__mp_check_value, and no NaN or infinity): false to refuse it.
static inline bool
s_value_passes (const s_walk_t *self, const mesh__mp_value_t *value, const uint8_t *after, int level)
{
    if (!self->skip_flags)
        return true;
    if (value->type == MESH_MP_FLOAT)
        return isfinite (value->v.f);
    return mesh__mp_check_value (value, after, self->end, level, self->max_depth) == 0;
}

//  Step over pending values at level depth, with the one validating skip
//  (mesh_mp.h), strict in a checking walk; in_map: the pending values are
//  a map's keys and values (a strict skip then refuses a key that is not
//  a string). Inlined into the walk, as it was before the skip moved to
//  mesh_mp.h (measured: as a call of its own it cost the walk 2%).
static inline __attribute__ ((always_inline)) const uint8_t *
s_skip (s_walk_t *self, const uint8_t *p, uint64_t pending, int depth, bool in_map)
{
    int flags = self->skip_flags? self->skip_flags | (in_map? MESH__MP_IN_MAP: 0): 0;
    const uint8_t *after = mesh__mp_skip_values (p, self->end, pending, depth, self->max_depth, flags, NULL);
    return after? after: s_malformed (self);
}

//  A rule holds, once an event. In a large set the first few hits are
//  told apart by a look at the list (in the cache), later ones by the
//  rule's slot (a miss, in a large set); a small set's slots stay in the
//  cache, and a rule that fires again and again (a test on every number
//  of an array) finds its slot at once.
#define S_HITS_LISTED   16
#define S_GUARD_EDGES   16              //  guard trie nodes tested after the rest
#define S_SLOTS_CACHED  8192            //  rules whose slots fit the caches

//  Past the listed few, every hit told apart by its slot has one.
static void
s_hits_listed (s_walk_t *self)
{
    for (uint32_t i = 0; i < S_HITS_LISTED; i++)
        self->s->rules [self->hits [i]] = self->event;
}

//  A rule that cannot hit twice in an event (MESH__AM_SOLE) needs no look.
static inline void
s_hit_once (s_walk_t *self, uint32_t rule)
{
    if (self->a->rule_count <= S_SLOTS_CACHED)
        self->s->rules [rule] = self->event;
    self->hits [self->hit_count++] = rule;
    if (self->hit_count == S_HITS_LISTED)
        s_hits_listed (self);
}

static void
s_hit (s_walk_t *self, uint32_t rule)
{
    if (self->hit_count < S_HITS_LISTED && self->a->rule_count > S_SLOTS_CACHED) {
        for (uint32_t i = 0; i < self->hit_count; i++)
            if (self->hits [i] == rule)
                return;
        s_hit_once (self, rule);
    }
    else
    if (self->s->rules [rule] != self->event) {
        self->s->rules [rule] = self->event;
        self->hits [self->hit_count++] = rule;
    }
}

//  Node id departs from its default answer: it holds (positive) when its
//  default is not to, or fails when its default is to hold. Tell its
//  target once per instance of the target.
static void
s_report (s_walk_t *self, uint32_t id, bool positive)
{
    const mesh__automaton_t *a = self->a;
    const mesh__am_node_t *from = &a->nodes [id];
    uint32_t target = from->target;
    if (target & MESH__AM_RULE) {
        assert (positive);      //  only a positive field collapses into its rule
        s_hit (self, target & ~MESH__AM_RULE);
        return;
    }
    mesh__trie_slot_t *trie;
    mesh__join_slot_t *slot;
    uint64_t bit = 0;
    if (from->bit != MESH__AM_NO_BIT) {
        //  A leaf knows its JOIN's counters: neither the JOIN's node nor
        //  its own slot is read
        trie = &self->s->tries [from->need];
        slot = &self->s->joins [from->join];
        bit = (uint64_t) 1 << from->bit;
        if (slot->instance == trie->instance && (slot->bits & bit))
            return;
    }
    else {
        const mesh__am_node_t *join = &a->nodes [target];
        trie = &self->s->tries [join->trie];
        slot = &self->s->joins [join->join];
        mesh__node_slot_t *node = &self->s->nodes [id];
        if (node->reported == trie->instance)
            return;
        node->reported = trie->instance;
    }
    if (slot->instance != trie->instance) {
        slot->instance = trie->instance;
        slot->pos = 0;
        slot->viol = 0;
        slot->bits = 0;
        slot->next_instance = trie->head;
        trie->head = target;
    }
    slot->bits |= bit;
    if (positive)
        slot->pos++;
    else
        slot->viol++;
}

//  Put a JOIN on the visit's list, once.
static void
s_touch (s_walk_t *self, s_visit_t *visit, uint32_t id)
{
    mesh__join_slot_t *slot = &self->s->joins [self->a->nodes [id].join];
    if (slot->visit != visit->epoch) {
        slot->visit = visit->epoch;
        slot->q = 0;
        slot->next_visit = visit->head;
        visit->head = id;
    }
}

//  A COND of rule fired: the rule holds if its set's STAMPs all fired; if
//  some did not yet, the end of the walk looks again. Past the list's
//  room the interpreter answers now, on bytes the walk has not all checked
//  yet: it reads within the bytes' bounds and stops at anything it cannot
//  read, and should the walk then refuse them, the answer goes with them.
static void
s_cond (s_walk_t *self, uint32_t rule, uint32_t set)
{
    const uint32_t *stamps = &self->a->sets [set];
    uint32_t instance = self->s->tries [0].instance;
    for (uint32_t i = 1; i <= stamps [0]; i++)
        if (self->s->nodes [stamps [i]].reported != instance) {
            if (self->pending_count < MESH__SCRATCH_PENDING)
                self->s->pending [self->pending_count++] = (mesh__pending_t) { rule, set };
            else
            if (mesh__interp_match (self->a->rules [rule], self->bytes, self->size))
                s_hit (self, rule);
            return;
        }
    s_hit (self, rule);
}

//  A test of node id passed on a leaf of this visit.
static void
s_fire (s_walk_t *self, s_visit_t *visit, uint32_t id)
{
    const mesh__am_node_t *node = &self->a->nodes [id];
    if (node->kind == MESH__AM_LEAF_POS)
        s_report (self, id, true);
    else
    if (node->kind == MESH__AM_LEAF_COND)
        s_cond (self, node->target & ~MESH__AM_RULE, node->join);
    else
    if (node->kind == MESH__AM_LEAF_STAMP) {
        uint32_t instance = self->s->tries [node->join].instance;
        if (node->root && self->s->nodes [id].reported != instance) {
            //  The guard trie's edges from the root and from each STAMP that fired before
            //  it (as pairs, in order) are asked for now, to be there after the walk
            const mesh__automaton_t *a = self->a;
            uint64_t path = mesh__am_gpath (MESH__AM_GPATH_ROOT, id);
            s_prefetch (&a->gedges [path & a->gedge_mask]);
            for (uint32_t k = 0; k < self->fired_count && k < 4; k++) {
                uint32_t other = self->s->fired [k];
                uint64_t pair = other < id? mesh__am_gpath (mesh__am_gpath (MESH__AM_GPATH_ROOT, other), id)
                                          : mesh__am_gpath (path, other);
                s_prefetch (&a->gedges [pair & a->gedge_mask]);
            }
            self->s->fired [self->fired_count++] = id;     //  at most once an event each
        }
        self->s->nodes [id].reported = instance;
    }
    else {
        self->s->nodes [id].fired = visit->epoch;
        if (node->kind == MESH__AM_JOIN)
            s_touch (self, visit, id);
    }
}

//  Whether leaf passes what fire asks of it first.
static inline bool
s_fire_holds (const mesh__am_fire_t *fire, const mesh__mp_value_t *leaf)
{
    if (fire->tail_size) {
        if (leaf->type != MESH_MP_STR || leaf->v.s.size < fire->least)
            return false;
        return memcmp (leaf->v.s.ptr + leaf->v.s.size - fire->tail_size, &fire->u.tail,
                       fire->tail_size) == 0;
    }
    return !fire->u.verify || mesh__interp_test_leaf (fire->u.verify, leaf);
}

static void
s_fire_list (s_walk_t *self, s_visit_t *visit, uint32_t first, uint32_t count,
             const mesh__mp_value_t *leaf)
{
    const mesh__am_fire_t *fire = &self->a->fires [first];
    for (uint32_t i = 0; i < count; i++, fire++)
        if (s_fire_holds (fire, leaf)) {
            if (fire->rule)
                s_hit (self, fire->node);
            else
                s_fire (self, visit, fire->node);
        }
}

//  Whether a large table's filter turns the key of this entry hash away.
static inline bool
s_filtered (const mesh__automaton_t *a, uint64_t hash)
{
    return a->filter && (~a->filter [(hash >> 12) & a->filter_mask] & mesh__am_filter_bits (hash));
}

static inline void
    s_lookup (s_walk_t *self, s_visit_t *visit, uint64_t hash, uint32_t vm_tag, uint64_t head,
              const void *key, uint32_t size, const mesh__mp_value_t *leaf);

//  The probes that waited: their entries hold rules, conds and inline
//  tails only, which need neither the visit nor more of the leaf than its
//  string (NULL: a probe without a visit is never deferred again).
static void
s_flush_deferred (s_walk_t *self)
{
    for (uint32_t i = 0; i < self->deferred_count; i++) {
        const s_deferred_t *d = &self->deferred [i];
        mesh__mp_value_t leaf = { .type = MESH_MP_STR };
        leaf.v.s.ptr = d->text;
        leaf.v.s.size = d->text_size;
        s_lookup (self, NULL, d->hash, d->vm_tag, d->head, d->key, d->size, d->text? &leaf: NULL);
    }
    self->deferred_count = 0;
}

//  What a key's slot holds as its head: bytes tags their first 8 bytes,
//  folded text its hash, anything else its bits.
static inline uint64_t
s_head (mesh__am_tag_t tag, uint64_t key_hash, const void *key, uint32_t size, uint64_t bits)
{
    return MESH__AM_BIT (tag) & MESH__AM_BYTES_TAGS? mesh__am_head (key, size)
         : MESH__AM_BIT (tag) & MESH__AM_FOLD_TAGS? key_hash: bits;
}

//  Wait with a probe that passed the filter: its slot asked for now, read
//  at the walk's end (or when the queue is full), with the leaf's string
//  for a tail to read.
static inline void
s_defer (s_walk_t *self, uint64_t hash, uint32_t vm_tag, uint64_t head, const void *key, uint32_t size,
         const mesh__mp_value_t *leaf)
{
    if (self->deferred_count == S_DEFERRED)
        s_flush_deferred (self);
    s_ask_slot (self->a, hash);
    bool text = leaf && leaf->type == MESH_MP_STR;
    self->deferred [self->deferred_count++] = (s_deferred_t) {
        hash, head, key, text? leaf->v.s.ptr: NULL, vm_tag, size, text? leaf->v.s.size: 0 };
}

//  A slot's inline tail (MESH__AM_FIRE_TAIL) on the leaf whose head of
//  size bytes found it: the string ends with the tail, past the head.
static inline bool
s_tail_holds (const mesh__am_entry_t *entry, uint32_t size, const mesh__mp_value_t *leaf)
{
    uint32_t tail_size = entry->fire_count >> 24 & 3;
    if (!leaf || leaf->type != MESH_MP_STR || leaf->v.s.size < size + tail_size)
        return false;
    const uint8_t *end = (const uint8_t *) leaf->v.s.ptr + leaf->v.s.size - tail_size;
    uint32_t tail = 0;
    for (uint32_t k = 0; k < tail_size; k++)
        tail |= (uint32_t) end [k] << (8 * k);
    return tail == (entry->fire_count & 0xffffff);
}

//  Look a key up in the table and fire what it holds. A large table (one
//  that stops fitting the caches) is guarded by its filter, which turns
//  most values that no rule names away with one load that mostly hits.
static void
s_probe (s_walk_t *self, s_visit_t *visit, uint32_t vm, mesh__am_tag_t tag, uint64_t key_hash,
         const void *key, uint32_t size, uint64_t bits, const mesh__mp_value_t *leaf)
{
    const mesh__automaton_t *a = self->a;
    uint64_t hash = mesh__am_entry_hash (key_hash, vm, tag);
    if (s_filtered (a, hash))
        return;
    uint32_t vm_tag = vm << 4 | (uint32_t) tag;
    uint64_t head = s_head (tag, key_hash, key, size, bits);
    if (visit && a->vms [vm].deferred)
        s_defer (self, hash, vm_tag, head, key, size, leaf);
    else
        s_lookup (self, visit, hash, vm_tag, head, key, size, leaf);
}

//  The slot of a key (at its entry hash, the head its slot must hold) and
//  what it fires. Inline: a probe that does not wait is as one function.
static inline __attribute__ ((always_inline)) void
s_lookup (s_walk_t *self, s_visit_t *visit, uint64_t hash, uint32_t vm_tag, uint64_t head,
          const void *key, uint32_t size, const mesh__mp_value_t *leaf)
{
    const mesh__automaton_t *a = self->a;
    bool bytes = MESH__AM_BIT (vm_tag & 15) & MESH__AM_BYTES_TAGS;
    for (uint32_t i = (uint32_t) hash & a->slot_mask; ; i = (i + 1) & a->slot_mask) {
        const mesh__am_entry_t *entry = &a->entries [i];
        if (!entry->fire_count)
            return;
        if (entry->head != head || entry->vm_tag != vm_tag)
            continue;
        if (bytes && entry->size != size)
            continue;
        if (bytes && size > 8) {
            const uint8_t *rest = (const uint8_t *) key + 8;
            if (size <= MESH__AM_INLINE_KEY? entry->rest.tail != mesh__am_head (rest, size - 8)
                                           : !s_same (entry->rest.key + 8, rest, size - 8))
                continue;
        }
        assert (visit || (entry->fire_count & MESH__AM_FIRE_TAIL));
        if (entry->fire_count & MESH__AM_FIRE_RULE) {
            if (!(entry->fire_count & MESH__AM_FIRE_COND))
                s_hit (self, entry->fire_first);
            else
            if (s_tail_holds (entry, size, leaf))
                s_hit (self, entry->fire_first);
        }
        else
        if (entry->fire_count & MESH__AM_FIRE_COND) {
            uint32_t set = entry->fire_count & MESH__AM_SET_MAX;
            //  A probe that waited: its rule's STAMPs are asked for, and
            //  read after the guards, which have work to overlap it with
            if (!visit && self->pending_count < MESH__SCRATCH_PENDING) {
                s_prefetch (&a->sets [set]);
                self->s->pending [self->pending_count++] = (mesh__pending_t) { entry->fire_first, set };
            }
            else
                s_cond (self, entry->fire_first, set);
        }
        else
        if (entry->fire_count & MESH__AM_FIRE_NODE)
            s_fire (self, visit, entry->fire_first);
        else
            s_fire_list (self, visit, entry->fire_first, entry->fire_count, leaf);
        return;
    }
}

static inline void
s_probe_bytes (s_walk_t *self, s_visit_t *visit, uint32_t vm, mesh__am_tag_t tag, const void *key,
               uint32_t size, const mesh__mp_value_t *leaf)
{
    s_probe (self, visit, vm, tag, mesh__am_hash_bytes (key, size), key, size, 0, leaf);
}

static inline void
s_probe_bits (s_walk_t *self, s_visit_t *visit, uint32_t vm, mesh__am_tag_t tag, uint64_t bits,
              const mesh__mp_value_t *leaf)
{
    s_probe (self, visit, vm, tag, mesh__am_mix (bits), NULL, 0, bits, leaf);
}

//  equals-ignore-case and ignore-case prefixes: the folded code points are
//  hashed one by one; each distinct prefix length is looked up as it goes
//  by, the whole text at the end (if no longer than the longest pattern).
static void
s_match_folded (s_walk_t *self, s_visit_t *visit, uint32_t vm_id, const mesh__mp_value_t *leaf)
{
    const mesh__am_vm_t *vm = &self->a->vms [vm_id];
    const uint32_t *counts = &self->a->lengths [vm->fold_first];
    const char *s = leaf->v.s.ptr;
    const char *end = s + leaf->v.s.size;
    uint64_t hash = MESH__AM_FOLD_SEED;
    uint32_t folded = 0;
    uint32_t next = 0;
    while (true) {
        while (next < vm->fold_count && counts [next] == folded) {
            s_probe (self, visit, vm_id, MESH__AM_TAG_FOLD_PREFIX, hash, NULL, 0, 0, leaf);
            next++;
        }
        if (s == end)
            break;
        if (next == vm->fold_count && folded >= vm->fold_max)
            return;                 //  too long for any equals-ignore-case
        hash = mesh__am_fold_step (hash, mesh__am_fold_next (&s, end));
        folded++;
    }
    if ((vm->tags & MESH__AM_BIT (MESH__AM_TAG_FOLD)) && folded <= vm->fold_max)
        s_probe (self, visit, vm_id, MESH__AM_TAG_FOLD, hash, NULL, 0, 0, leaf);
}

//  The numeric ranges of vm that hold for number (not NaN): a prefix of
//  each one-sided list, and the ranges of the two-sided list that start
//  low enough and end high enough. The same tests as the interpreter's.
static void
s_match_ranges (s_walk_t *self, s_visit_t *visit, const mesh__am_vm_t *vm, double number)
{
    const mesh__am_range_t *range = &self->a->ranges [vm->range_first [MESH__AM_ABOVE]];
    for (uint32_t i = 0; i < vm->range_count [MESH__AM_ABOVE]; i++, range++) {
        if (range->low_open? !(number > range->low): !(number >= range->low))
            break;
        s_fire (self, visit, range->node);
    }
    range = &self->a->ranges [vm->range_first [MESH__AM_BELOW]];
    for (uint32_t i = 0; i < vm->range_count [MESH__AM_BELOW]; i++, range++) {
        if (range->high_open? !(number < range->high): !(number <= range->high))
            break;
        s_fire (self, visit, range->node);
    }
    range = &self->a->ranges [vm->range_first [MESH__AM_BETWEEN]];
    for (uint32_t i = 0; i < vm->range_count [MESH__AM_BETWEEN]; i++, range++) {
        if (number < range->low)
            break;
        if ((range->low_open? number > range->low: true)
        &&  (range->high_open? number < range->high: number <= range->high))
            s_fire (self, visit, range->node);
    }
}

#define S_PREFETCH 16              //  prefix slots asked for ahead, in a large table

//  A leaf (anything but a map or an array) at trie node t.
static void
s_leaf (s_walk_t *self, const mesh__am_trie_t *t, s_visit_t *visit, const mesh__mp_value_t *leaf)
{
    visit->leaf = true;
    const mesh__automaton_t *a = self->a;
    if (t->records) {
        if (self->record_count < MESH__SCRATCH_RECORDS)
            self->s->records [self->record_count++] = (mesh__record_t) { (uint32_t) (t - a->tries), *leaf };
        else
            self->records_full = true;
    }
    if (t->vm == MESH__AM_NONE)
        return;
    const mesh__am_vm_t *vm = &a->vms [t->vm];
    uint32_t tags = vm->tags;
    double number;
    switch (leaf->type) {
        case MESH_MP_STR: {
            const uint8_t *s = (const uint8_t *) leaf->v.s.ptr;
            uint32_t size = leaf->v.s.size;
            if (tags & MESH__AM_BIT (MESH__AM_TAG_STRING))
                s_probe_bytes (self, visit, t->vm, MESH__AM_TAG_STRING, s, size, leaf);
            //  Nested prefixes are probed at several lengths, each slot
            //  likely a miss in a large table: a deferred vm's wait to the
            //  end of the walk, each slot asked for as it is queued;
            //  another's are asked for all first, then looked up
            uint64_t hashes [S_PREFETCH];
            uint32_t ahead = 0;
            if (a->filter && !vm->deferred)
                for (; ahead < vm->prefix_count && ahead < S_PREFETCH; ahead++) {
                    uint32_t length = a->lengths [vm->prefix_first + ahead];
                    if (length > size)
                        break;
                    hashes [ahead] = mesh__am_hash_bytes (s, length);
                    s_ask_slot (a, mesh__am_entry_hash (hashes [ahead], t->vm, MESH__AM_TAG_PREFIX));
                }
            for (uint32_t i = 0; i < vm->prefix_count; i++) {
                uint32_t length = a->lengths [vm->prefix_first + i];
                if (length > size)
                    break;
                uint64_t key_hash = i < ahead? hashes [i]: mesh__am_hash_bytes (s, length);
                if (vm->deferred) {
                    //  The probe's wait without its general steps
                    uint64_t hash = mesh__am_entry_hash (key_hash, t->vm, MESH__AM_TAG_PREFIX);
                    if (!s_filtered (a, hash))
                        s_defer (self, hash, t->vm << 4 | MESH__AM_TAG_PREFIX, mesh__am_head (s, length),
                                 s, length, leaf);
                }
                else
                    s_probe (self, visit, t->vm, MESH__AM_TAG_PREFIX, key_hash, s, length, 0, leaf);
            }
            for (uint32_t i = 0; i < vm->suffix_count; i++) {
                uint32_t length = a->lengths [vm->suffix_first + i];
                if (length > size)
                    break;
                s_probe_bytes (self, visit, t->vm, MESH__AM_TAG_SUFFIX, s + size - length, length, leaf);
            }
            if (tags & MESH__AM_FOLD_TAGS)
                s_match_folded (self, visit, t->vm, leaf);
            break;
        }
        case MESH_MP_UINT:
            if ((tags & MESH__AM_BIT (MESH__AM_TAG_INT)) && leaf->v.u <= INT64_MAX)
                s_probe_bits (self, visit, t->vm, MESH__AM_TAG_INT, leaf->v.u, leaf);
            number = (double) leaf->v.u;
            goto integer;
        case MESH_MP_INT:
            if (tags & MESH__AM_BIT (MESH__AM_TAG_INT))
                s_probe_bits (self, visit, t->vm, MESH__AM_TAG_INT, (uint64_t) leaf->v.i, leaf);
            number = (double) leaf->v.i;
        integer:
            //  An integer equals a pattern float, or a numeric "=", by value
            if (tags & MESH__AM_BIT (MESH__AM_TAG_FLOAT))
                s_probe_bits (self, visit, t->vm, MESH__AM_TAG_FLOAT, mesh__am_double_bits (number), leaf);
            if (tags & MESH__AM_BIT (MESH__AM_TAG_NUMERIC_EQ))
                s_probe_bits (self, visit, t->vm, MESH__AM_TAG_NUMERIC_EQ, mesh__am_double_bits (number), leaf);
            s_match_ranges (self, visit, vm, number);
            break;
        case MESH_MP_FLOAT:
            number = leaf->v.f;
            if (!isfinite (number))
                break;              //  NaN, infinities: only exists (the interpreter's rule)
            if (tags & MESH__AM_BIT (MESH__AM_TAG_FLOAT))
                s_probe_bits (self, visit, t->vm, MESH__AM_TAG_FLOAT, mesh__am_double_bits (number), leaf);
            if (tags & MESH__AM_BIT (MESH__AM_TAG_INT_AS_DOUBLE))
                s_probe_bits (self, visit, t->vm, MESH__AM_TAG_INT_AS_DOUBLE, mesh__am_double_bits (number), leaf);
            if (tags & MESH__AM_BIT (MESH__AM_TAG_NUMERIC_EQ))
                s_probe_bits (self, visit, t->vm, MESH__AM_TAG_NUMERIC_EQ, mesh__am_double_bits (number), leaf);
            s_match_ranges (self, visit, vm, number);
            break;
        case MESH_MP_BOOL: {
            mesh__am_tag_t tag = leaf->v.b? MESH__AM_TAG_TRUE: MESH__AM_TAG_FALSE;
            if (tags & MESH__AM_BIT (tag))
                s_probe_bits (self, visit, t->vm, tag, 0, leaf);
            break;
        }
        case MESH_MP_NIL:
            if (tags & MESH__AM_BIT (MESH__AM_TAG_NULL))
                s_probe_bits (self, visit, t->vm, MESH__AM_TAG_NULL, 0, leaf);
            break;
        default:                    //  bin, ext: only exists and anything-but
            break;
    }
    s_fire_list (self, visit, vm->any_first, vm->any_count, leaf);
    s_fire_list (self, visit, vm->generic_first, vm->generic_count, leaf);
}

//  The end of one instance (one map) of trie node index: each JOIN touched
//  in it gives its verdict to the visit (or, at the root, to its rule).
static void
s_close_instance (s_walk_t *self, uint32_t index, s_visit_t *visit)
{
    const mesh__automaton_t *a = self->a;
    uint32_t id = self->s->tries [index].head;
    while (id != MESH__AM_NONE) {
        const mesh__am_node_t *join = &a->nodes [id];
        mesh__join_slot_t *slot = &self->s->joins [join->join];
        uint32_t next = slot->next_instance;
        uint32_t pos = slot->pos;
        for (uint32_t i = 0; i < join->shared_count; i++)
            pos += self->s->nodes [a->shared [join->shared_first + i]].reported == slot->instance;
        bool holds = pos == join->need && slot->viol == 0;
        if (join->root == MESH__AM_SOLE) {
            if (holds)
                s_hit_once (self, join->target & ~MESH__AM_RULE);
        }
        else
        if (join->root) {
            if (holds)
                s_hit (self, join->target & ~MESH__AM_RULE);
        }
        else
        if (holds == (join->quant == MESH__AM_SOME)) {
            s_touch (self, visit, id);
            slot->q++;
        }
        id = next;
    }
}

//  The end of a visit of trie node t: the nodes there that depart from
//  their default answer report it.
static void
s_close_visit (s_walk_t *self, const mesh__am_trie_t *t, s_visit_t *visit)
{
    const mesh__automaton_t *a = self->a;
    mesh__scratch_t *s = self->s;
    if (visit->leaf)
        for (uint32_t i = 0; i < t->dt_count; i++) {
            uint32_t id = a->dt_nodes [t->dt_first + i];
            if (s->nodes [id].fired != visit->epoch) {
                if (a->nodes [id].kind == MESH__AM_LEAF_DT)
                    s_report (self, id, false);
                else
                    s_touch (self, visit, id);
            }
        }
    uint32_t id = visit->head;
    while (id != MESH__AM_NONE) {
        const mesh__am_node_t *join = &a->nodes [id];
        const mesh__join_slot_t *slot = &s->joins [join->join];
        uint32_t next = slot->next_visit;
        bool tests = join->tests == MESH__AM_TESTS_NONE
                  || s->nodes [id].fired == visit->epoch
                  || (join->tests == MESH__AM_TESTS_DT && !visit->leaf);
        bool fields = join->quant == MESH__AM_SOME? slot->q > 0
                    : join->quant == MESH__AM_SOME_DT? visit->missing > 0 || slot->q < visit->maps
                    : slot->q == 0;
        bool holds = tests && fields;
        if (holds != join->dflt)
            s_report (self, id, holds);
        id = next;
    }
}

static const uint8_t *
s_walk_map (s_walk_t *self, uint32_t index, const uint8_t *p, uint32_t count, int depth,
            s_visit_t *visit);

static const uint8_t *
s_walk_array (s_walk_t *self, uint32_t index, s_visit_t *visit, const uint8_t *p, uint32_t count,
              int depth);

//  One value at p, at level depth, found at trie node index: read (and, in
//  a checking walk, tested), then walked into visit: a map through its
//  keys (or skipped when the trie names none), an array element by
//  element, a leaf through the value matcher.
static inline const uint8_t *
s_walk_one (s_walk_t *self, uint32_t index, const mesh__am_trie_t *t, s_visit_t *visit,
            const uint8_t *p, int depth)
{
    mesh__mp_reader_t reader;
    mesh__mp_reader_init (&reader, p, (size_t) (self->end - p));
    mesh__mp_value_t value;
    if (mesh__mp_read (&reader, &value) || !s_value_passes (self, &value, reader.pos, depth + 1))
        return s_malformed (self);
    p = reader.pos;
    if (value.type == MESH_MP_MAP || value.type == MESH_MP_ARRAY) {
        if (depth == self->max_depth)
            return s_malformed (self);
        if (value.type == MESH_MP_MAP) {
            p = t->edge_count
              ? s_walk_map (self, index, p, value.v.count, depth + 1, visit)
              : s_skip (self, p, 2 * (uint64_t) value.v.count, depth + 1, true);
            visit->maps++;
        }
        else
        if (value.v.count == 0)
            visit->missing++;
        else
            p = s_walk_array (self, index, visit, p, value.v.count, depth + 1);
    }
    else {
        s_leaf (self, t, visit, &value);
        visit->missing++;
    }
    return p;
}

//  The elements of an array found at trie node index (nested arrays are
//  flattened, as the interpreter does).
static const uint8_t *
s_walk_array (s_walk_t *self, uint32_t index, s_visit_t *visit, const uint8_t *p, uint32_t count,
              int depth)
{
    const mesh__am_trie_t *t = &self->a->tries [index];
    for (uint32_t i = 0; i < count && p; i++)
        p = s_walk_one (self, index, t, visit, p, depth);
    return p;
}

//  The value at trie node index, at level depth: a visit.
static const uint8_t *
s_walk_value (s_walk_t *self, uint32_t index, const uint8_t *p, int depth)
{
    const mesh__am_trie_t *t = &self->a->tries [index];
    s_visit_t visit = { s_epoch (self), MESH__AM_NONE, 0, 0, false };
    p = s_walk_one (self, index, t, &visit, p, depth);
    if (p && (t->joins || t->dt_count))
        s_close_visit (self, t, &visit);
    return p;
}

//  The child of trie node t whose key is these bytes, or MESH__AM_NONE.
static inline uint32_t
s_child (const mesh__automaton_t *a, const mesh__am_trie_t *t, const char *key, uint32_t size)
{
    if (!(t->lengths >> (size < 63? size: 63) & 1))
        return MESH__AM_NONE;
    if (t->edge_count <= MESH__AM_LINEAR) {
        const mesh__am_edge_t *edge = &a->edges [t->edge_first];
        for (uint32_t i = 0; i < t->edge_count; i++, edge++)
            if (edge->size == size && s_same (edge->key, key, size))
                return edge->trie;
        return MESH__AM_NONE;
    }
    uint64_t hash = mesh__am_hash_bytes (key, size);
    for (uint32_t i = (uint32_t) hash & t->slot_mask; ; i = (i + 1) & t->slot_mask) {
        uint32_t slot = a->edge_slots [t->slot_first + i];
        if (!slot)
            return MESH__AM_NONE;
        const mesh__am_edge_t *edge = &a->edges [slot - 1];
        if (edge->size == size && s_same (edge->key, key, size))
            return edge->trie;
    }
}

//  True if a key that names no child of t reaches one through a dot
//  ("state.status" and the child "state") that had no plain key earlier
//  in this instance: the interpreter would read the dotted keys as an
//  object there (a view), which the automaton leaves to it.
static bool
s_dotted (const s_walk_t *self, const mesh__am_trie_t *t, const char *key, uint32_t size, uint32_t instance)
{
    uint64_t candidates = t->lengths & ~((uint64_t) 1 << 63);
    if (size < 63)
        candidates &= ((uint64_t) 1 << size) - 1;
    while (candidates) {
        uint32_t at = (uint32_t) __builtin_ctzll (candidates);
        candidates &= candidates - 1;
        if (key [at] == '.') {
            uint32_t child = s_child (self->a, t, key, at);
            if (child != MESH__AM_NONE && self->s->tries [child].seen != instance)
                return true;
        }
    }
    if ((t->lengths >> 63) & 1)
        for (uint32_t at = 63; at < size; at++)
            if (key [at] == '.') {
                uint32_t child = s_child (self->a, t, key, at);
                if (child != MESH__AM_NONE && self->s->tries [child].seen != instance)
                    return true;
            }
    return false;
}

//  A checking walk, at a key of the top map: when it is the envelope's,
//  note its value as mesh_event_check would (types, the strings the limits
//  test, the entry's size), reading only headers and, for resources, the
//  strings it holds. Returns p (the value is then walked or skipped as any
//  other), or NULL to refuse the event. The detail's size is its encoded
//  bytes, known once it has been walked: s_walk_map adds it.
static const uint8_t *
s_scan_envelope (s_walk_t *self, const char *key, uint32_t size, const uint8_t *p)
{
    int index = mesh__envelope_index (key, size);
    if (index < 0)
        return p;
    mesh__envelope_scan_t *scan = self->scan;
    if (scan->seen & (1u << index))
        return s_malformed (self);              //  an envelope key given twice
    scan->seen |= 1u << index;
    mesh__mp_reader_t reader;
    mesh__mp_reader_init (&reader, p, (size_t) (self->end - p));
    mesh__mp_value_t value;
    if (mesh__mp_read (&reader, &value))
        return s_malformed (self);
    if (index == MESH__ENV_DETAIL) {
        self->detail = reader.pos;
        return value.type == MESH_MP_MAP? p: s_malformed (self);
    }
    if (index == MESH__ENV_RESOURCES) {
        if (value.type != MESH_MP_ARRAY)
            return s_malformed (self);
        for (uint32_t item = 0; item < value.v.count; item++) {
            mesh__mp_value_t resource;
            if (mesh__mp_read (&reader, &resource) || resource.type != MESH_MP_STR)
                return s_malformed (self);
            scan->entry_size += resource.v.s.size;
        }
        return p;
    }
    if (value.type != MESH_MP_STR)
        return s_malformed (self);
    const char **text = index == MESH__ENV_ID? &scan->id
                      : index == MESH__ENV_SOURCE? &scan->source
                      : index == MESH__ENV_DETAIL_TYPE? &scan->detail_type
                      : index == MESH__ENV_TIME? &scan->time: NULL;
    if (text) {
        size_t *text_size = index == MESH__ENV_ID? &scan->id_size
                          : index == MESH__ENV_SOURCE? &scan->source_size
                          : index == MESH__ENV_DETAIL_TYPE? &scan->detail_type_size: &scan->time_size;
        *text = value.v.s.ptr;
        *text_size = value.v.s.size;
    }
    return p;
}

//  The count key/value pairs of a map at trie node index, whose contents
//  are at level depth: an instance. visit is NULL at the root.
static const uint8_t *
s_walk_map (s_walk_t *self, uint32_t index, const uint8_t *p, uint32_t count, int depth,
            s_visit_t *visit)
{
    const mesh__automaton_t *a = self->a;
    const mesh__am_trie_t *t = &a->tries [index];
    const uint8_t *end = self->end;
    uint32_t instance = s_epoch (self);
    mesh__trie_slot_t *slot = &self->s->tries [index];
    slot->instance = instance;
    slot->head = MESH__AM_NONE;
    for (uint32_t pair = 0; pair < count; pair++) {
        if (p >= end)
            return s_malformed (self);
        const char *key;
        uint32_t size;
        uint8_t b = *p;
        if ((b & 0xe0) == 0xa0) {
            size = b & 0x1f;
            if ((size_t) (end - p) <= size)
                return s_malformed (self);
            key = (const char *) p + 1;
            p += 1 + size;
        }
        else {
            mesh__mp_reader_t reader;
            mesh__mp_reader_init (&reader, p, (size_t) (end - p));
            mesh__mp_value_t value;
            if (b < 0xd9 || b > 0xdb || mesh__mp_read (&reader, &value)) {
                //  Not a string: the key and its value are stepped over
                //  (a checking walk refuses it)
                if (self->skip_flags)
                    return s_malformed (self);
                p = s_skip (self, p, 2, depth, true);
                if (!p)
                    return NULL;
                continue;
            }
            key = value.v.s.ptr;
            size = value.v.s.size;
            p = reader.pos;
        }
        if (self->skip_flags && !mesh__utf8_valid (key, size))
            return s_malformed (self);
        if (!visit && self->scan) {
            p = s_scan_envelope (self, key, size, p);
            if (!p)
                return NULL;
        }
        uint32_t child = s_child (a, t, key, size);
        if (child != MESH__AM_NONE) {
            mesh__trie_slot_t *seen = &self->s->tries [child];
            if (seen->seen == instance)
                return s_fallback (self);       //  a repeated key: the last one counts
            seen->seen = instance;
            p = s_walk_value (self, child, p, depth);
        }
        else {
            if (s_dotted (self, t, key, size, instance))
                return s_fallback (self);
            p = s_skip (self, p, 1, depth, false);
        }
        if (!p)
            return NULL;
        if (!visit && self->detail) {
            //  The detail's JSON text, counted as its encoded contents and
            //  two braces, as mesh_event_check counts it
            self->scan->entry_size += (size_t) (p - self->detail) + 2;
            self->detail = NULL;
        }
    }
    if (t->joins)
        s_close_instance (self, index, visit);
    return p;
}

//  Whether a guard's field holds for one leaf, as mesh__interp_test_leaf
//  answers for its tests: NaN and the infinities match no value test.
static inline bool
s_guard_holds (const mesh__automaton_t *a, const mesh__am_guard_t *guard, const mesh__mp_value_t *leaf)
{
    switch (guard->test) {
        case MESH__AM_GUARD_EXISTS:
            return true;
        case MESH__AM_GUARD_RANGE: {
            mesh__event_number_t number;
            if (!mesh__interp_number (leaf, &number)
            ||  (leaf->type == MESH_MP_FLOAT && !isfinite (leaf->v.f)))
                return false;
            double d = number.value;
            return (guard->low_open? d > guard->u.range.low: d >= guard->u.range.low)
                && (guard->high_open? d < guard->u.range.high: d <= guard->u.range.high);
        }
        case MESH__AM_GUARD_BUT_TEXT:
            if (leaf->type == MESH_MP_STR)
                return leaf->v.s.size != guard->text_size
                    || memcmp (leaf->v.s.ptr, guard->u.text, guard->text_size) != 0;
            return !(leaf->type == MESH_MP_FLOAT && !isfinite (leaf->v.f));
        default:
            break;
    }
    for (uint32_t k = 0; k < guard->u.matchers.count; k++) {
        const mesh__matcher_t *matcher = &a->guard_matchers [guard->u.matchers.first + k];
        if (matcher->kind == MESH__EXISTS || mesh__interp_test_leaf (matcher, leaf))
            return true;
    }
    return false;
}

//  A guarded JOIN whose STAMPs all fired: its last field holds when one of
//  its tests holds for a leaf the walk kept at its trie node (the walk
//  would have fired it there); with too many leaves kept, the interpreter
//  answers for the JOIN's rule (which holds if this sub-rule does, and
//  matters only then).
static void
s_guard (s_walk_t *self, const mesh__am_guard_t *guard, const void *event, size_t size)
{
    uint32_t rule = guard->rule;
    if (self->records_full) {
        if (mesh__interp_match (self->a->rules [rule], event, size))
            s_hit (self, rule);
        return;
    }
    for (uint32_t i = 0; i < self->record_count; i++) {
        const mesh__record_t *record = &self->s->records [i];
        if (record->trie != guard->trie)
            continue;
        if (s_guard_holds (self->a, guard, &record->leaf)) {
            s_hit (self, rule);
            return;
        }
    }
}

//  The guard trie from node, with the fired STAMPs from first on (sorted):
//  each node reached is a set of STAMPs that all fired, and its edge (with
//  its JOINs) goes on the list, its guards and their tests asked for.
//  Every node is reached once at most, by one path; the depth is
//  MESH__AM_GUARD_STAMPS at most. Past the list's room, the JOINs are
//  tested at once.
static void
s_guards_from (s_walk_t *self, uint32_t node, uint64_t path, uint32_t first,
               const mesh__am_gedge_t **reached, uint32_t *reached_count)
{
    const mesh__automaton_t *a = self->a;
    for (uint32_t k = first; k < self->fired_count; k++) {
        uint32_t stamp = self->s->fired [k];
        uint64_t child_path = mesh__am_gpath (path, stamp);
        for (uint32_t slot = (uint32_t) child_path & a->gedge_mask; a->gedges [slot].child;
             slot = (slot + 1) & a->gedge_mask) {
            const mesh__am_gedge_t *edge = &a->gedges [slot];
            if (edge->parent == node && edge->stamp == stamp) {
                if (edge->guard_count) {
                    if (*reached_count < S_GUARD_EDGES) {
                        const char *at = (const char *) &a->guards [edge->guard_first];
                        const char *end = (const char *) &a->guards [edge->guard_first + edge->guard_count];
                        for (; at < end; at += 64)
                            s_prefetch (at);
                        at = (const char *) &a->guard_matchers [edge->matcher_first];
                        end = (const char *) &a->guard_matchers [edge->matcher_first + edge->matcher_count];
                        for (; at < end; at += 64)
                            s_prefetch (at);
                        reached [(*reached_count)++] = edge;
                    }
                    else
                        for (uint32_t i = 0; i < edge->guard_count; i++)
                            s_guard (self, &a->guards [edge->guard_first + i], self->bytes, self->size);
                }
                s_guards_from (self, edge->child, child_path, k + 1, reached, reached_count);
                break;
            }
        }
    }
}

//  Sort the hits ascending. Rules that fire from one list come out in rule
//  order, so a sorted run is looked for first (50,000 hits of one
//  anything-but field need no sort at all); then insertion sort for the
//  usual few, heapsort beyond (no allocation, unlike qsort).
static void
s_sort (uint32_t *items, uint32_t count)
{
    uint32_t sorted = 1;
    while (sorted < count && items [sorted - 1] <= items [sorted])
        sorted++;
    if (sorted >= count)
        return;                 //  the common case: hits come out in rule order
    if (count <= 32) {
        for (uint32_t i = sorted; i < count; i++) {
            uint32_t item = items [i];
            uint32_t j = i;
            while (j > 0 && items [j - 1] > item) {
                items [j] = items [j - 1];
                j--;
            }
            items [j] = item;
        }
        return;
    }
    for (uint32_t start = count / 2; start > 0; ) {
        uint32_t root = --start;
        while (2 * root + 1 < count) {
            uint32_t child = 2 * root + 1;
            if (child + 1 < count && items [child + 1] > items [child])
                child++;
            if (items [root] >= items [child])
                break;
            uint32_t swap = items [root];
            items [root] = items [child];
            items [child] = swap;
            root = child;
        }
    }
    for (uint32_t last = count - 1; last > 0; last--) {
        uint32_t swap = items [0];
        items [0] = items [last];
        items [last] = swap;
        uint32_t root = 0;
        while (2 * root + 1 < last) {
            uint32_t child = 2 * root + 1;
            if (child + 1 < last && items [child + 1] > items [child])
                child++;
            if (items [root] >= items [child])
                break;
            swap = items [root];
            items [root] = items [child];
            items [child] = swap;
            root = child;
        }
    }
}

//  Every rule by the interpreter, on bytes it has checked.
static int
s_interpret (const mesh__automaton_t *self, const void *event, size_t size, uint32_t *hits,
             mesh_error_t *err)
{
    if (mesh__interp_check (event, size, err))
        return -1;
    int count = 0;
    for (size_t i = 0; i < self->rule_count; i++)
        if (mesh__interp_match (self->rules [i], event, size))
            hits [count++] = (uint32_t) i;
    return count;
}

//  Walk the event once with scratch (big enough for self); see the top of
//  this file. Falls back on the interpreter for the events it does not
//  take. With limits, the walk is also mesh_event_check (a checking walk,
//  mesh__automaton_match_checked): it then answers MESH__AM_REFUSED or
//  MESH__AM_NOT_TAKEN instead of falling back, and sets no error.
static int
s_match (const mesh__automaton_t *self, mesh__scratch_t *scratch, const void *event, size_t size,
         const mesh_limits_t *limits, uint32_t *hits, mesh_error_t *err)
{
    if (!event || size == 0 || size > UINT32_MAX / 4)
        return limits? MESH__AM_NOT_TAKEN: s_interpret (self, event, size, hits, err);
    //  A walk takes at most an epoch per value and per map, and a value
    //  takes a byte at least
    mesh__scratch_reserve (scratch, 2 * (uint64_t) size + 4);

    s_deferred_t deferred [S_DEFERRED];     //  written before read
    s_walk_t walk = { self, scratch, (const uint8_t *) event + size, hits, 0, 0, S_WALK_OK,
                      S_DEPTH_MAX, 0, NULL, NULL, 0, 0, false, 0, event, size, 0, deferred };
    mesh__envelope_scan_t scan = { 0 };
    mesh_limits_t checked;
    if (limits) {
        checked = mesh__limits_clamp (limits);
        if (size > checked.max_event_size)
            return MESH__AM_REFUSED;
        walk.max_depth = checked.max_depth;
        walk.skip_flags = MESH__MP_STRICT | MESH__MP_FINITE;
        walk.scan = &scan;
    }
    walk.event = s_epoch (&walk);
    const uint8_t *p = (const uint8_t *) event;
    if ((*p & 0xf0) == 0x80)
        p = s_walk_map (&walk, 0, p + 1, *p & 0x0f, 1, NULL);
    else {
        mesh__mp_reader_t reader;
        mesh__mp_reader_init (&reader, p, size);
        mesh__mp_value_t value;
        p = mesh__mp_read (&reader, &value) == 0 && value.type == MESH_MP_MAP
          ? s_walk_map (&walk, 0, reader.pos, value.v.count, 1, NULL)
          : s_malformed (&walk);
    }
    if (p && p != walk.end)
        p = s_malformed (&walk);        //  bytes after the map
    if (p && limits && mesh__envelope_passes (&scan, &checked))
        p = s_malformed (&walk);
    if (!p) {
        if (limits)
            return walk.status == S_WALK_MALFORMED? MESH__AM_REFUSED: MESH__AM_NOT_TAKEN;
        if (walk.status == S_WALK_MALFORMED) {
            //  The interpreter's check words the error. The two read bytes
            //  from the network: should they ever disagree, the walk's
            //  refusal stands (malformed), rather than an abort
            if (mesh__interp_check (event, size, err) == 0)
                mesh_error_set (err, MESH_EMALFORMED, "msgpack: malformed event");
            return -1;
        }
        return s_interpret (self, event, size, hits, err);
    }
    //  The guard trie first: its JOINs' guards and tests are asked for, to
    //  come while the deferred probes are looked up; the CONDs those find
    //  have their sets of STAMPs asked for, to come while the guards are
    //  tested, and are decided last with the others that wait
    const mesh__am_gedge_t *reached [S_GUARD_EDGES];
    uint32_t reached_count = 0;
    if (walk.fired_count) {
        s_sort (scratch->fired, walk.fired_count);
        s_guards_from (&walk, 0, MESH__AM_GPATH_ROOT, 0, reached, &reached_count);
    }
    s_flush_deferred (&walk);
    for (uint32_t e = 0; e < reached_count; e++)
        for (uint32_t i = 0; i < reached [e]->guard_count; i++)
            s_guard (&walk, &self->guards [reached [e]->guard_first + i], event, size);
    uint32_t instance = scratch->tries [0].instance;
    for (uint32_t i = 0; i < walk.pending_count; i++) {
        const mesh__pending_t *pending = &scratch->pending [i];
        const uint32_t *stamps = &self->sets [pending->set];
        uint32_t k = 1;
        while (k <= stamps [0] && scratch->nodes [stamps [k]].reported == instance)
            k++;
        if (k > stamps [0])
            s_hit (&walk, pending->rule);
    }
    uint32_t root = scratch->tries [0].instance;
    for (uint32_t i = 0; i < self->default_root_count; i++) {
        const mesh__am_node_t *join = &self->nodes [self->default_roots [i]];
        if (scratch->joins [join->join].instance != root)
            s_hit (&walk, join->target & ~MESH__AM_RULE);
    }
    for (uint32_t i = 0; i < self->fallback_count; i++)
        if (mesh__interp_match (self->rules [self->fallback_rules [i]], event, size))
            s_hit (&walk, self->fallback_rules [i]);
    s_sort (hits, walk.hit_count);
    return (int) walk.hit_count;
}

//  With this thread's scratch. Out of memory for it (which can only happen
//  on a thread's first match, or with a set larger than any it matched
//  before), the interpreter answers instead: slower, never wrong.

int
mesh__automaton_match (const mesh__automaton_t *self, const void *event, size_t size,
                       uint32_t *hits, mesh_error_t *err)
{
    assert (self);
    mesh__scratch_t *scratch = mesh__scratch_thread (self);
    return scratch? s_match (self, scratch, event, size, NULL, hits, err)
                  : s_interpret (self, event, size, hits, err);
}

int
mesh__automaton_match_checked (const mesh__automaton_t *self, const void *event, size_t size,
                               const mesh_limits_t *limits, uint32_t *hits)
{
    assert (self);
    assert (limits);
    mesh__scratch_t *scratch = mesh__scratch_thread (self);
    return scratch? s_match (self, scratch, event, size, limits, hits, NULL): MESH__AM_NOT_TAKEN;
}


//  ---------------------------------------------------------------------
//  With scratch that the caller owns (mesh_matcher_t, see mesh_ruleset.c)

int
mesh__automaton_match_with (const mesh__automaton_t *self, mesh_matcher_t *scratch,
                            const void *event, size_t size, uint32_t *hits, mesh_error_t *err)
{
    assert (self);
    assert (scratch);
    return mesh__scratch_fit (scratch, self)
         ? s_match (self, scratch, event, size, NULL, hits, err)
         : s_interpret (self, event, size, hits, err);
}
