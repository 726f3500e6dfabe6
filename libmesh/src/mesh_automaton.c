/*  mesh_automaton.c: every rule of a set compiled into one automaton

    mesh_ruleset_compile turns the pattern trees of all the rules of a set
    (mesh_pattern.h; the interpreter in mesh_rule.c reads the same trees)
    into one automaton, and mesh_ruleset_match runs it: one walk over the
    event's MessagePack bytes answers for every rule at once. What a walk
    costs grows with the event's fields, not with the number of rules; it
    reads the bytes in place and allocates nothing. The interpreter stays
    the reference: for every pattern it accepts and every byte string, the
    automaton returns the rules that mesh_rule_match would, and refuses the
    same bytes with the same words.

    Use: nothing to do here; mesh_rule.h's set calls mesh__automaton_new
    when compiled, mesh__automaton_match to match, mesh__automaton_memory
    for its size. mesh_matcher_t (end of this file) lets a caller own the
    scratch that matching needs.

    The automaton
    - A trie of the field paths that some rule names, one node per key
      segment ("detail" -> "total_cost"). A trie node finds a child by the
      key's bytes: a filter on the key's length, then a compare when it has
      a few children, a hash table when it has many.
    - At each trie node that holds tests, one value matcher for all of them.
      Exact strings, numbers (ints exactly, anything with a float by value,
      as the interpreter compares), true/false/null, prefixes and suffixes
      (one lookup per distinct length the rules use), equals-ignore-case
      and ignore-case prefixes (by a hash of the folded code points, then
      confirmed), numeric "=", and wildcards (by their literal head or
      tail, then confirmed) are keys of one hash table. A large table gets
      a small Bloom filter in front, so that a value no rule names costs a
      load that stays in the cache: 100,000 exact rules match as fast as 5.
      Numeric ranges are kept sorted by their bounds: a number walks the
      one-sided ranges (> 5, <= 7) only as far as those that hold, and the
      two-sided ones as far as those that start below it. The rest (cidr,
      anything-but, ignore-case suffixes, wildcards with a star at both
      ends) is tested one by one with the interpreter's own leaf test
      (mesh__matcher_test): linear in the number of such tests on that one
      field. Anything-but holds for nearly every value anyway; an index of
      the others can come if rule sets ask for thousands of them.
    - Rules become AND-counts (as in event-ruler and quamina). `$or` is
      multiplied out at compile time: a rule becomes one sub-rule per way of
      choosing in its groups (at most 1000, EventBridge's cap), each a tree
      of AND nodes, and the rule matches when one of them does. A chain of
      objects with one positive field each ({"detail": {"state": [...]}})
      is collapsed: the test at its end reports straight to the first node
      above that has more to decide, or to the rule itself. A one-field rule
      (the common case, and every rule of the 100,000-rule benchmark) costs
      nothing while matching but its key in the table.
    - A node that must count (a "join") has several fields, or a field whose
      absence counts (exists: false; an object whose fields may all be
      absent), or tests of its own beside its fields. It counts per
      instance of its object: per map, and per map element where the event
      has an array, which is what makes matching array-consistent (all the
      fields of one pattern object come from one element, as the
      interpreter requires). An instance holds when every positive field
      was reached and no negative one broken; the instances of one value
      then give the node's answer: some instance must hold, or every one
      when the object only asks for absence. Only departures from the
      default (the answer when the field is missing) travel up, so a
      negative condition costs nothing until a value breaks it.

    The walk
    - One pass over the bytes. At each map the trie names, every key is
      looked up; a named value is walked (maps and arrays recursively,
      leaves through the value matcher), anything else is stepped over
      undecoded by a branchy skip that validates as it goes (2.2x faster
      than mesh__mp_skip on citylots: common headers advance by constants,
      so the processor runs ahead of its loads). A map's named keys are
      never known to be over before its end (a key repeated later would
      win), and the bytes must be checked whole, so "stopping early" means
      stepping over the rest without looking at keys.
    - The bytes are validated as they are walked, with the interpreter's
      rules: one MessagePack map, nothing after it, containers nested at
      most MESH_MAX_DEPTH_LIMIT deep. A malformed event gets -1 and the
      interpreter's own error text (mesh__event_check).
    - The walk recurses once per level of the event that the trie names
      (and per nested array there), so at most MESH_MAX_DEPTH_LIMIT frames
      of under 300 bytes: the same order as the interpreter.
    - On citylots (one core of a 2.1 GHz EPYC) a walk with 5 exact rules
      takes 0.6x the time of a plain mesh__mp_skip over the same events.

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
    mesh_ruleset_match keeps them in a thread-local scratch, allocated on a
    thread's first match, grown when the thread meets a larger set, freed
    when it exits; a mesh_matcher_t is the same scratch owned by the
    caller. Every slot is stamped with the epoch (a counter of maps and
    values walked) it was written in, so nothing is cleared between events
    and concurrent matches on one set share nothing.

    Memory: mesh__automaton_memory adds up every array the automaton holds;
    the rules it points into are counted by the set.
*/
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "mesh_private.h"
#include "mesh_automaton.h"
#include "mesh_interp.h"

#define S_NONE          UINT32_MAX
#define S_RULE          0x80000000u     //  a target that is a rule: S_RULE | index
#define S_DEPTH_MAX     MESH_MAX_DEPTH_LIMIT
#define S_LINEAR        8               //  children looked up by compare, not hash
#define S_EXPAND_MAX    (1 << 16)       //  nodes a rule's `$or`s may multiply out to
#define S_FILTER_MIN    4096            //  table entries from which a filter guards it


//  ---------------------------------------------------------------------
//  The compiled automaton

typedef enum {
    S_LEAF_POS,         //  tests without exists:false: holds once one fires
    S_LEAF_DT,          //  tests with exists:false: holds unless a leaf came and none fired
    S_JOIN              //  an object node that counts its fields
} s_node_kind_t;

typedef enum { S_TESTS_NONE, S_TESTS_POS, S_TESTS_DT } s_tests_t;

typedef enum {
    S_SOME,             //  some instance must hold; a missing object fails
    S_SOME_DT,          //  some instance must hold; every field may be missing
    S_ALL               //  every instance must hold (the object asks for absence only)
} s_quant_t;

typedef struct {
    uint8_t kind;               //  s_node_kind_t
    uint8_t tests;              //  JOIN: its own tests, s_tests_t
    uint8_t quant;              //  JOIN: s_quant_t
    uint8_t dflt;               //  JOIN: its answer when its field is missing
    uint8_t root;               //  JOIN at the root: decides a sub-rule
    uint32_t target;            //  the JOIN it reports to, or S_RULE | rule
    uint32_t trie;              //  where it lives (a JOIN: where its instances are)
    uint32_t need;              //  JOIN: positive fields
    uint32_t join;              //  JOIN: its counters in the scratch
} s_cnode_t;

typedef struct {
    const char *key;            //  in the rules' arenas
    uint32_t size;
    uint32_t trie;
} s_edge_t;

typedef struct {
    uint32_t edge_first, edge_count;
    uint32_t slot_first, slot_mask;     //  hash of the edges when edge_count > S_LINEAR
    uint64_t lengths;           //  bit n: a child's key has n bytes (bit 63: 63 or more)
    uint32_t vm;                //  its value matcher, or S_NONE
    uint32_t dt_first, dt_count;        //  nodes to check when a visit saw a leaf
    uint8_t joins;              //  JOINs live here
} s_trie_t;

//  The kinds of keys in the table. Bytes: the key is the value's bytes (or
//  its first or last bytes). Bits: the key is a 64-bit number. Folded: the
//  key is the hash of folded code points, and every hit is confirmed.
typedef enum {
    S_TAG_STRING, S_TAG_PREFIX, S_TAG_SUFFIX,                       //  bytes
    S_TAG_INT, S_TAG_FLOAT, S_TAG_INT_AS_DOUBLE, S_TAG_NUMERIC_EQ,  //  bits
    S_TAG_TRUE, S_TAG_FALSE, S_TAG_NULL,                            //  bits (0)
    S_TAG_FOLD, S_TAG_FOLD_PREFIX                                   //  folded
} s_tag_t;

#define S_BIT(tag)      (1u << (tag))
#define S_BYTES_TAGS    (S_BIT (S_TAG_STRING) | S_BIT (S_TAG_PREFIX) | S_BIT (S_TAG_SUFFIX))
#define S_FOLD_TAGS     (S_BIT (S_TAG_FOLD) | S_BIT (S_TAG_FOLD_PREFIX))

typedef struct {
    uint32_t node;
    const mesh__matcher_t *verify;  //  test the leaf with it first; NULL: no need
} s_fire_t;

//  A numeric range, for the three sorted lists of a value matcher: above
//  (no upper bound, sorted by low, closed first), below (no lower bound,
//  sorted by high, descending, closed first) and between (sorted by low).
//  In the first two, the ranges that hold for a number are a prefix.
typedef struct {
    double low, high;
    uint32_t node;
    uint8_t low_open, high_open;
} s_range_t;

typedef enum { S_ABOVE, S_BELOW, S_BETWEEN } s_side_t;

typedef struct {
    uint32_t tags;              //  S_BIT of each tag it has in the table
    uint32_t any_first, any_count;          //  fire on every leaf (exists: true)
    uint32_t generic_first, generic_count;  //  test on every leaf
    uint32_t prefix_first, prefix_count;    //  lengths, ascending, in a->lengths
    uint32_t suffix_first, suffix_count;
    uint32_t fold_first, fold_count;        //  ignore-case prefixes: code points
    uint32_t fold_max;          //  longest equals-ignore-case, code points
    uint32_t range_first [3], range_count [3];      //  by s_side_t, in a->ranges
} s_vm_t;

typedef struct {
    uint64_t hash;              //  of the whole key: vm, tag, and value
    const uint8_t *key;         //  bytes tags
    uint64_t bits;              //  bits tags
    uint32_t size;
    uint32_t vm;
    uint32_t fire_first, fire_count;
    uint8_t tag;
} s_entry_t;

struct _mesh_automaton_t {
    mesh_rule_t *const *rules;
    size_t rule_count;
    s_trie_t *tries;
    uint32_t trie_count;
    s_edge_t *edges;
    uint32_t *edge_slots;
    s_cnode_t *nodes;
    uint32_t node_count;
    uint32_t join_count;
    uint32_t *dt_nodes;
    s_vm_t *vms;
    uint32_t *lengths;
    s_fire_t *fires;
    s_range_t *ranges;
    s_entry_t *entries;
    uint64_t *slots;            //  fingerprint << 32 | (entry + 1); 0 is empty
    uint32_t slot_mask;
    uint64_t *filter;           //  large tables: two bits per key, one word
    uint32_t filter_mask;       //  per probe (a blocked Bloom filter)
    uint32_t *default_roots;    //  root JOINs that hold when nothing breaks them
    uint32_t default_root_count;
    uint32_t *fallback_rules;   //  rules left to the interpreter
    uint32_t fallback_count;
    size_t bytes;
};


//  ---------------------------------------------------------------------
//  Hashing: keys come from rules (trusted) and are probed with values from
//  events, so probe lengths depend only on the rules' keys.

static inline uint64_t
s_mix (uint64_t x)
{
    x ^= x >> 32;
    x *= UINT64_C (0xd6e8feb86659fd93);
    x ^= x >> 32;
    x *= UINT64_C (0xd6e8feb86659fd93);
    x ^= x >> 32;
    return x;
}

static inline uint64_t
s_hash_bytes (const void *data, size_t size)
{
    const uint8_t *p = (const uint8_t *) data;
    uint64_t hash = UINT64_C (0x9e3779b97f4a7c15) ^ (size * UINT64_C (0xff51afd7ed558ccd));
    while (size >= 8) {
        uint64_t word;
        memcpy (&word, p, 8);
        hash = s_mix (hash ^ word);
        p += 8;
        size -= 8;
    }
    uint64_t tail = 0;
    if (size >= 4) {
        uint32_t head, end;
        memcpy (&head, p, 4);
        memcpy (&end, p + size - 4, 4);
        tail = (uint64_t) head << 32 | end;
    }
    else
    if (size > 0)
        tail = (uint64_t) p [0] << 16 | (uint64_t) p [size / 2] << 8 | p [size - 1];
    return s_mix (hash ^ tail);
}

static inline uint64_t
s_entry_hash (uint64_t key_hash, uint32_t vm, int tag)
{
    return s_mix (key_hash ^ ((uint64_t) vm << 8 | (uint64_t) tag) * UINT64_C (0x9e3779b97f4a7c15));
}

//  Folded text is hashed code point by code point (FNV-1a over 32-bit
//  units); the same steps at compile time and at match time.
#define S_FOLD_SEED     UINT64_C (0xcbf29ce484222325)

static inline uint64_t
s_fold_step (uint64_t hash, uint32_t c)
{
    return (hash ^ c) * UINT64_C (0x100000001b3);
}

static inline uint32_t
s_fold_next (const char **s, const char *end)
{
    uint8_t byte = (uint8_t) **s;
    if (byte < 0x80) {
        (*s)++;
        return byte >= 'A' && byte <= 'Z'? byte + ('a' - 'A'): byte;
    }
    return mesh__fold (mesh__utf8_next (s, end));
}

//  A number as a table key: -0 is 0, as == says.
static inline uint64_t
s_double_bits (double value)
{
    if (value == 0)
        value = 0;
    uint64_t bits;
    memcpy (&bits, &value, sizeof (bits));
    return bits;
}


//  ---------------------------------------------------------------------
//  Scratch: the state of one walk. Every slot carries the epoch it was
//  written in; the epoch grows with every map and every value walked, so a
//  slot from an older walk (or another set) never looks current, and
//  nothing is cleared between events.

typedef struct {
    uint32_t reported;          //  instance of its target it last reported to
    uint32_t fired;             //  visit in which one of its tests fired
} s_node_slot_t;

typedef struct {
    uint32_t instance;          //  the instance pos and viol count for
    uint32_t pos, viol;
    uint32_t next_instance;     //  the instance's list of touched JOINs
    uint32_t visit;             //  the visit q counts for
    uint32_t q;                 //  instances that held (S_SOME) or broke (else)
    uint32_t next_visit;
} s_join_slot_t;

typedef struct {
    uint32_t instance;          //  the open instance (map) of this trie node
    uint32_t head;              //  JOINs touched in it
    uint32_t seen;              //  instance of the parent in which its key came
} s_trie_slot_t;

//  A thread's scratch; mesh_matcher_t lets a caller own one.
typedef struct _mesh_matcher_t s_scratch_t;

struct _mesh_matcher_t {
    uint32_t epoch;
    s_node_slot_t *nodes;
    s_join_slot_t *joins;
    s_trie_slot_t *tries;
    uint32_t *rules;            //  event in which the rule was hit
    size_t node_room, join_room, trie_room, rule_room;
};

static pthread_key_t s_scratch_key;
static pthread_once_t s_scratch_once = PTHREAD_ONCE_INIT;
static int s_scratch_key_rc = -1;

static void
s_scratch_free (void *data)
{
    s_scratch_t *self = (s_scratch_t *) data;
    if (self) {
        free (self->nodes);
        free (self->joins);
        free (self->tries);
        free (self->rules);
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
s_scratch_fit (s_scratch_t *self, const mesh__automaton_t *automaton)
{
    return s_scratch_grow ((void **) &self->nodes, &self->node_room, automaton->node_count, sizeof (s_node_slot_t))
        && s_scratch_grow ((void **) &self->joins, &self->join_room, automaton->join_count, sizeof (s_join_slot_t))
        && s_scratch_grow ((void **) &self->tries, &self->trie_room, automaton->trie_count, sizeof (s_trie_slot_t))
        && s_scratch_grow ((void **) &self->rules, &self->rule_room, automaton->rule_count, sizeof (uint32_t));
}

//  This thread's scratch, big enough for automaton; NULL when out of memory.
static s_scratch_t *
s_scratch (const mesh__automaton_t *automaton)
{
    pthread_once (&s_scratch_once, s_scratch_key_init);
    if (s_scratch_key_rc != 0)
        return NULL;
    s_scratch_t *scratch = (s_scratch_t *) pthread_getspecific (s_scratch_key);
    if (!scratch) {
        scratch = (s_scratch_t *) calloc (1, sizeof (s_scratch_t));
        if (!scratch)
            return NULL;
        if (pthread_setspecific (s_scratch_key, scratch)) {
            free (scratch);
            return NULL;
        }
    }
    return s_scratch_fit (scratch, automaton)? scratch: NULL;
}

//  Make room for a walk that may use `epochs` epochs without wrapping.
static void
s_scratch_reserve (s_scratch_t *self, uint64_t epochs)
{
    if ((uint64_t) (UINT32_MAX - self->epoch) > epochs)
        return;
    if (self->node_room)
        memset (self->nodes, 0, self->node_room * sizeof (s_node_slot_t));
    if (self->join_room)
        memset (self->joins, 0, self->join_room * sizeof (s_join_slot_t));
    if (self->trie_room)
        memset (self->tries, 0, self->trie_room * sizeof (s_trie_slot_t));
    if (self->rule_room)
        memset (self->rules, 0, self->rule_room * sizeof (uint32_t));
    self->epoch = 0;
}


//  ---------------------------------------------------------------------
//  Matching

typedef enum { S_WALK_OK, S_WALK_MALFORMED, S_WALK_FALLBACK } s_status_t;

typedef struct {
    const mesh__automaton_t *a;
    s_scratch_t *s;
    const uint8_t *end;
    uint32_t *hits;
    uint32_t hit_count;
    uint32_t event;             //  epoch of this event, for the rules' stamps
    s_status_t status;
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

//  Step over pending values at level depth, with the one validating skip
//  (mesh_mp.h), whose fast part inlines here.
static const uint8_t *
s_skip (s_walk_t *self, const uint8_t *p, uint64_t pending, int depth)
{
    const uint8_t *after = mesh__mp_skip_values (p, self->end, pending, depth, S_DEPTH_MAX, NULL);
    return after? after: s_malformed (self);
}

static void
s_hit (s_walk_t *self, uint32_t rule)
{
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
    uint32_t target = a->nodes [id].target;
    if (target & S_RULE) {
        assert (positive);      //  only a positive field collapses into its rule
        s_hit (self, target & ~S_RULE);
        return;
    }
    const s_cnode_t *join = &a->nodes [target];
    s_trie_slot_t *trie = &self->s->tries [join->trie];
    s_node_slot_t *node = &self->s->nodes [id];
    if (node->reported == trie->instance)
        return;
    node->reported = trie->instance;
    s_join_slot_t *slot = &self->s->joins [join->join];
    if (slot->instance != trie->instance) {
        slot->instance = trie->instance;
        slot->pos = 0;
        slot->viol = 0;
        slot->next_instance = trie->head;
        trie->head = target;
    }
    if (positive)
        slot->pos++;
    else
        slot->viol++;
}

//  Put a JOIN on the visit's list, once.
static void
s_touch (s_walk_t *self, s_visit_t *visit, uint32_t id)
{
    s_join_slot_t *slot = &self->s->joins [self->a->nodes [id].join];
    if (slot->visit != visit->epoch) {
        slot->visit = visit->epoch;
        slot->q = 0;
        slot->next_visit = visit->head;
        visit->head = id;
    }
}

//  A test of node id passed on a leaf of this visit.
static void
s_fire (s_walk_t *self, s_visit_t *visit, uint32_t id)
{
    const s_cnode_t *node = &self->a->nodes [id];
    if (node->kind == S_LEAF_POS)
        s_report (self, id, true);
    else {
        self->s->nodes [id].fired = visit->epoch;
        if (node->kind == S_JOIN)
            s_touch (self, visit, id);
    }
}

static void
s_fire_list (s_walk_t *self, s_visit_t *visit, uint32_t first, uint32_t count,
             const mesh__mp_value_t *leaf)
{
    const s_fire_t *fire = &self->a->fires [first];
    for (uint32_t i = 0; i < count; i++, fire++)
        if (!fire->verify || mesh__interp_test_leaf (fire->verify, leaf))
            s_fire (self, visit, fire->node);
}

//  The two bits of a key's word in the filter.
static inline uint64_t
s_filter_bits (uint64_t hash)
{
    return (uint64_t) 1 << (hash & 63) | (uint64_t) 1 << ((hash >> 6) & 63);
}

//  Look a key up in the table and fire what it holds. A large table (one
//  that stops fitting the caches) is guarded by its filter, which turns
//  most values that no rule names away with one load that mostly hits.
static void
s_probe (s_walk_t *self, s_visit_t *visit, uint32_t vm, s_tag_t tag, uint64_t key_hash,
         const void *key, uint32_t size, uint64_t bits, const mesh__mp_value_t *leaf)
{
    const mesh__automaton_t *a = self->a;
    uint64_t hash = s_entry_hash (key_hash, vm, tag);
    if (a->filter && (~a->filter [(hash >> 12) & a->filter_mask] & s_filter_bits (hash)))
        return;
    uint32_t fingerprint = (uint32_t) (hash >> 32);
    for (uint32_t i = (uint32_t) hash & a->slot_mask; ; i = (i + 1) & a->slot_mask) {
        uint64_t slot = a->slots [i];
        if (!slot)
            return;
        if ((uint32_t) (slot >> 32) != fingerprint)
            continue;
        const s_entry_t *entry = &a->entries [(uint32_t) slot - 1];
        if (entry->hash != hash || entry->vm != vm || entry->tag != tag)
            continue;
        if (S_BIT (tag) & S_BYTES_TAGS) {
            if (entry->size != size || memcmp (entry->key, key, size) != 0)
                continue;
        }
        else
        if (!(S_BIT (tag) & S_FOLD_TAGS) && entry->bits != bits)
            continue;
        s_fire_list (self, visit, entry->fire_first, entry->fire_count, leaf);
        return;
    }
}

static inline void
s_probe_bytes (s_walk_t *self, s_visit_t *visit, uint32_t vm, s_tag_t tag, const void *key,
               uint32_t size, const mesh__mp_value_t *leaf)
{
    s_probe (self, visit, vm, tag, s_hash_bytes (key, size), key, size, 0, leaf);
}

static inline void
s_probe_bits (s_walk_t *self, s_visit_t *visit, uint32_t vm, s_tag_t tag, uint64_t bits,
              const mesh__mp_value_t *leaf)
{
    s_probe (self, visit, vm, tag, s_mix (bits), NULL, 0, bits, leaf);
}

//  equals-ignore-case and ignore-case prefixes: the folded code points are
//  hashed one by one; each distinct prefix length is looked up as it goes
//  by, the whole text at the end (if no longer than the longest pattern).
static void
s_match_folded (s_walk_t *self, s_visit_t *visit, uint32_t vm_id, const mesh__mp_value_t *leaf)
{
    const s_vm_t *vm = &self->a->vms [vm_id];
    const uint32_t *counts = &self->a->lengths [vm->fold_first];
    const char *s = leaf->v.s.ptr;
    const char *end = s + leaf->v.s.size;
    uint64_t hash = S_FOLD_SEED;
    uint32_t folded = 0;
    uint32_t next = 0;
    while (true) {
        while (next < vm->fold_count && counts [next] == folded) {
            s_probe (self, visit, vm_id, S_TAG_FOLD_PREFIX, hash, NULL, 0, 0, leaf);
            next++;
        }
        if (s == end)
            break;
        if (next == vm->fold_count && folded >= vm->fold_max)
            return;                 //  too long for any equals-ignore-case
        hash = s_fold_step (hash, s_fold_next (&s, end));
        folded++;
    }
    if ((vm->tags & S_BIT (S_TAG_FOLD)) && folded <= vm->fold_max)
        s_probe (self, visit, vm_id, S_TAG_FOLD, hash, NULL, 0, 0, leaf);
}

//  The numeric ranges of vm that hold for number (not NaN): a prefix of
//  each one-sided list, and the ranges of the two-sided list that start
//  low enough and end high enough. The same tests as the interpreter's.
static void
s_match_ranges (s_walk_t *self, s_visit_t *visit, const s_vm_t *vm, double number)
{
    const s_range_t *range = &self->a->ranges [vm->range_first [S_ABOVE]];
    for (uint32_t i = 0; i < vm->range_count [S_ABOVE]; i++, range++) {
        if (range->low_open? !(number > range->low): !(number >= range->low))
            break;
        s_fire (self, visit, range->node);
    }
    range = &self->a->ranges [vm->range_first [S_BELOW]];
    for (uint32_t i = 0; i < vm->range_count [S_BELOW]; i++, range++) {
        if (range->high_open? !(number < range->high): !(number <= range->high))
            break;
        s_fire (self, visit, range->node);
    }
    range = &self->a->ranges [vm->range_first [S_BETWEEN]];
    for (uint32_t i = 0; i < vm->range_count [S_BETWEEN]; i++, range++) {
        if (number < range->low)
            break;
        if ((range->low_open? number > range->low: true)
        &&  (range->high_open? number < range->high: number <= range->high))
            s_fire (self, visit, range->node);
    }
}

//  A leaf (anything but a map or an array) at trie node t.
static void
s_leaf (s_walk_t *self, const s_trie_t *t, s_visit_t *visit, const mesh__mp_value_t *leaf)
{
    visit->leaf = true;
    if (t->vm == S_NONE)
        return;
    const mesh__automaton_t *a = self->a;
    const s_vm_t *vm = &a->vms [t->vm];
    uint32_t tags = vm->tags;
    double number;
    switch (leaf->type) {
        case MESH_MP_STR: {
            const uint8_t *s = (const uint8_t *) leaf->v.s.ptr;
            uint32_t size = leaf->v.s.size;
            if (tags & S_BIT (S_TAG_STRING))
                s_probe_bytes (self, visit, t->vm, S_TAG_STRING, s, size, leaf);
            for (uint32_t i = 0; i < vm->prefix_count; i++) {
                uint32_t length = a->lengths [vm->prefix_first + i];
                if (length > size)
                    break;
                s_probe_bytes (self, visit, t->vm, S_TAG_PREFIX, s, length, leaf);
            }
            for (uint32_t i = 0; i < vm->suffix_count; i++) {
                uint32_t length = a->lengths [vm->suffix_first + i];
                if (length > size)
                    break;
                s_probe_bytes (self, visit, t->vm, S_TAG_SUFFIX, s + size - length, length, leaf);
            }
            if (tags & S_FOLD_TAGS)
                s_match_folded (self, visit, t->vm, leaf);
            break;
        }
        case MESH_MP_UINT:
            if ((tags & S_BIT (S_TAG_INT)) && leaf->v.u <= INT64_MAX)
                s_probe_bits (self, visit, t->vm, S_TAG_INT, leaf->v.u, leaf);
            number = (double) leaf->v.u;
            goto integer;
        case MESH_MP_INT:
            if (tags & S_BIT (S_TAG_INT))
                s_probe_bits (self, visit, t->vm, S_TAG_INT, (uint64_t) leaf->v.i, leaf);
            number = (double) leaf->v.i;
        integer:
            //  An integer equals a pattern float, or a numeric "=", by value
            if (tags & S_BIT (S_TAG_FLOAT))
                s_probe_bits (self, visit, t->vm, S_TAG_FLOAT, s_double_bits (number), leaf);
            if (tags & S_BIT (S_TAG_NUMERIC_EQ))
                s_probe_bits (self, visit, t->vm, S_TAG_NUMERIC_EQ, s_double_bits (number), leaf);
            s_match_ranges (self, visit, vm, number);
            break;
        case MESH_MP_FLOAT:
            number = leaf->v.f;
            if (isnan (number))
                break;              //  equal to nothing
            if (tags & S_BIT (S_TAG_FLOAT))
                s_probe_bits (self, visit, t->vm, S_TAG_FLOAT, s_double_bits (number), leaf);
            if (tags & S_BIT (S_TAG_INT_AS_DOUBLE))
                s_probe_bits (self, visit, t->vm, S_TAG_INT_AS_DOUBLE, s_double_bits (number), leaf);
            if (tags & S_BIT (S_TAG_NUMERIC_EQ))
                s_probe_bits (self, visit, t->vm, S_TAG_NUMERIC_EQ, s_double_bits (number), leaf);
            s_match_ranges (self, visit, vm, number);
            break;
        case MESH_MP_BOOL: {
            s_tag_t tag = leaf->v.b? S_TAG_TRUE: S_TAG_FALSE;
            if (tags & S_BIT (tag))
                s_probe_bits (self, visit, t->vm, tag, 0, leaf);
            break;
        }
        case MESH_MP_NIL:
            if (tags & S_BIT (S_TAG_NULL))
                s_probe_bits (self, visit, t->vm, S_TAG_NULL, 0, leaf);
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
    while (id != S_NONE) {
        const s_cnode_t *join = &a->nodes [id];
        s_join_slot_t *slot = &self->s->joins [join->join];
        uint32_t next = slot->next_instance;
        bool holds = slot->pos == join->need && slot->viol == 0;
        if (join->root) {
            if (holds)
                s_hit (self, join->target & ~S_RULE);
        }
        else
        if (holds == (join->quant == S_SOME)) {
            s_touch (self, visit, id);
            slot->q++;
        }
        id = next;
    }
}

//  The end of a visit of trie node t: the nodes there that depart from
//  their default answer report it.
static void
s_close_visit (s_walk_t *self, const s_trie_t *t, s_visit_t *visit)
{
    const mesh__automaton_t *a = self->a;
    s_scratch_t *s = self->s;
    if (visit->leaf)
        for (uint32_t i = 0; i < t->dt_count; i++) {
            uint32_t id = a->dt_nodes [t->dt_first + i];
            if (s->nodes [id].fired != visit->epoch) {
                if (a->nodes [id].kind == S_LEAF_DT)
                    s_report (self, id, false);
                else
                    s_touch (self, visit, id);
            }
        }
    uint32_t id = visit->head;
    while (id != S_NONE) {
        const s_cnode_t *join = &a->nodes [id];
        const s_join_slot_t *slot = &s->joins [join->join];
        uint32_t next = slot->next_visit;
        bool tests = join->tests == S_TESTS_NONE
                  || s->nodes [id].fired == visit->epoch
                  || (join->tests == S_TESTS_DT && !visit->leaf);
        bool fields = join->quant == S_SOME? slot->q > 0
                    : join->quant == S_SOME_DT? visit->missing > 0 || slot->q < visit->maps
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

//  The elements of an array found at trie node index (nested arrays are
//  flattened, as the interpreter does).
static const uint8_t *
s_walk_array (s_walk_t *self, uint32_t index, s_visit_t *visit, const uint8_t *p, uint32_t count,
              int depth)
{
    const s_trie_t *t = &self->a->tries [index];
    for (uint32_t i = 0; i < count && p; i++) {
        mesh__mp_reader_t reader;
        mesh__mp_reader_init (&reader, p, (size_t) (self->end - p));
        mesh__mp_value_t value;
        if (mesh__mp_read (&reader, &value))
            return s_malformed (self);
        p = reader.pos;
        if (value.type == MESH_MP_MAP || value.type == MESH_MP_ARRAY) {
            if (depth == S_DEPTH_MAX)
                return s_malformed (self);
            if (value.type == MESH_MP_MAP) {
                p = t->edge_count
                  ? s_walk_map (self, index, p, value.v.count, depth + 1, visit)
                  : s_skip (self, p, 2 * (uint64_t) value.v.count, depth + 1);
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
    }
    return p;
}

//  The value at trie node index, at level depth: a visit.
static const uint8_t *
s_walk_value (s_walk_t *self, uint32_t index, const uint8_t *p, int depth)
{
    const s_trie_t *t = &self->a->tries [index];
    s_visit_t visit = { s_epoch (self), S_NONE, 0, 0, false };
    mesh__mp_reader_t reader;
    mesh__mp_reader_init (&reader, p, (size_t) (self->end - p));
    mesh__mp_value_t value;
    if (mesh__mp_read (&reader, &value))
        return s_malformed (self);
    p = reader.pos;
    if (value.type == MESH_MP_MAP || value.type == MESH_MP_ARRAY) {
        if (depth == S_DEPTH_MAX)
            return s_malformed (self);
        if (value.type == MESH_MP_MAP) {
            p = t->edge_count
              ? s_walk_map (self, index, p, value.v.count, depth + 1, &visit)
              : s_skip (self, p, 2 * (uint64_t) value.v.count, depth + 1);
            visit.maps++;
        }
        else
        if (value.v.count == 0)
            visit.missing++;
        else
            p = s_walk_array (self, index, &visit, p, value.v.count, depth + 1);
    }
    else {
        s_leaf (self, t, &visit, &value);
        visit.missing++;
    }
    if (p && (t->joins || t->dt_count))
        s_close_visit (self, t, &visit);
    return p;
}

//  The child of trie node t whose key is these bytes, or S_NONE.
static inline uint32_t
s_child (const mesh__automaton_t *a, const s_trie_t *t, const char *key, uint32_t size)
{
    if (!(t->lengths >> (size < 63? size: 63) & 1))
        return S_NONE;
    if (t->edge_count <= S_LINEAR) {
        const s_edge_t *edge = &a->edges [t->edge_first];
        for (uint32_t i = 0; i < t->edge_count; i++, edge++)
            if (edge->size == size && memcmp (edge->key, key, size) == 0)
                return edge->trie;
        return S_NONE;
    }
    uint64_t hash = s_hash_bytes (key, size);
    for (uint32_t i = (uint32_t) hash & t->slot_mask; ; i = (i + 1) & t->slot_mask) {
        uint32_t slot = a->edge_slots [t->slot_first + i];
        if (!slot)
            return S_NONE;
        const s_edge_t *edge = &a->edges [slot - 1];
        if (edge->size == size && memcmp (edge->key, key, size) == 0)
            return edge->trie;
    }
}

//  True if a key that names no child of t reaches one through a dot
//  ("state.status" and the child "state") that had no plain key earlier
//  in this instance: the interpreter would read the dotted keys as an
//  object there (a view), which the automaton leaves to it.
static bool
s_dotted (const s_walk_t *self, const s_trie_t *t, const char *key, uint32_t size, uint32_t instance)
{
    uint64_t candidates = t->lengths & ~((uint64_t) 1 << 63);
    if (size < 63)
        candidates &= ((uint64_t) 1 << size) - 1;
    while (candidates) {
        uint32_t at = (uint32_t) __builtin_ctzll (candidates);
        candidates &= candidates - 1;
        if (key [at] == '.') {
            uint32_t child = s_child (self->a, t, key, at);
            if (child != S_NONE && self->s->tries [child].seen != instance)
                return true;
        }
    }
    if ((t->lengths >> 63) & 1)
        for (uint32_t at = 63; at < size; at++)
            if (key [at] == '.') {
                uint32_t child = s_child (self->a, t, key, at);
                if (child != S_NONE && self->s->tries [child].seen != instance)
                    return true;
            }
    return false;
}

//  The count key/value pairs of a map at trie node index, whose contents
//  are at level depth: an instance. visit is NULL at the root.
static const uint8_t *
s_walk_map (s_walk_t *self, uint32_t index, const uint8_t *p, uint32_t count, int depth,
            s_visit_t *visit)
{
    const mesh__automaton_t *a = self->a;
    const s_trie_t *t = &a->tries [index];
    const uint8_t *end = self->end;
    uint32_t instance = s_epoch (self);
    s_trie_slot_t *slot = &self->s->tries [index];
    slot->instance = instance;
    slot->head = S_NONE;
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
                p = s_skip (self, p, 2, depth);
                if (!p)
                    return NULL;
                continue;
            }
            key = value.v.s.ptr;
            size = value.v.s.size;
            p = reader.pos;
        }
        uint32_t child = s_child (a, t, key, size);
        if (child != S_NONE) {
            s_trie_slot_t *seen = &self->s->tries [child];
            if (seen->seen == instance)
                return s_fallback (self);       //  a repeated key: the last one counts
            seen->seen = instance;
            p = s_walk_value (self, child, p, depth);
        }
        else {
            if (s_dotted (self, t, key, size, instance))
                return s_fallback (self);
            p = s_skip (self, p, 1, depth);
        }
        if (!p)
            return NULL;
    }
    if (t->joins)
        s_close_instance (self, index, visit);
    return p;
}

//  Sort the hits ascending: insertion sort for the usual few, heapsort
//  beyond (no allocation, unlike qsort).
static void
s_sort (uint32_t *items, uint32_t count)
{
    if (count <= 32) {
        for (uint32_t i = 1; i < count; i++) {
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
//  take.
static int
s_match (const mesh__automaton_t *self, s_scratch_t *scratch, const void *event, size_t size,
         uint32_t *hits, mesh_error_t *err)
{
    if (!event || size == 0 || size > UINT32_MAX / 4)
        return s_interpret (self, event, size, hits, err);
    //  A walk takes at most an epoch per value and per map, and a value
    //  takes a byte at least
    s_scratch_reserve (scratch, 2 * (uint64_t) size + 4);

    s_walk_t walk = { self, scratch, (const uint8_t *) event + size, hits, 0, 0, S_WALK_OK };
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
    if (!p) {
        if (walk.status == S_WALK_MALFORMED) {
            //  The interpreter's check words the error; it must agree
            int rc = mesh__interp_check (event, size, err);
            assert (rc == -1);
            return rc;
        }
        return s_interpret (self, event, size, hits, err);
    }
    uint32_t root = scratch->tries [0].instance;
    for (uint32_t i = 0; i < self->default_root_count; i++) {
        const s_cnode_t *join = &self->nodes [self->default_roots [i]];
        if (scratch->joins [join->join].instance != root)
            s_hit (&walk, join->target & ~S_RULE);
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
    s_scratch_t *scratch = s_scratch (self);
    return scratch? s_match (self, scratch, event, size, hits, err)
                  : s_interpret (self, event, size, hits, err);
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

int
mesh__automaton_match_with (const mesh__automaton_t *self, mesh_matcher_t *scratch,
                            const void *event, size_t size, uint32_t *hits, mesh_error_t *err)
{
    assert (self);
    assert (scratch);
    return s_scratch_fit (scratch, self)
         ? s_match (self, scratch, event, size, hits, err)
         : s_interpret (self, event, size, hits, err);
}


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
    s_fire_t fire;
} s_keyed_t;

typedef struct {
    uint32_t tags;
    uint32_t fold_max;
} s_bvm_t;

typedef struct {                //  a range while building: its vm and side
    uint32_t vm;
    uint8_t side;
    s_range_t range;
} s_brange_t;

//  A sub-rule's node, with $or multiplied out: the pattern node it comes
//  from and the children chosen for it.
typedef struct s_xnode_s s_xnode_t;
struct s_xnode_s {
    const mesh__node_t *pattern;
    s_xnode_t **children;
    uint32_t child_count;
    uint32_t need;              //  positive children
    uint8_t tests;              //  s_tests_t
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
    S_VECTOR (s_cnode_t, nodes);
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
            return S_NONE;
        }
        for (size_t i = 0; i < self->trie_index_room; i++) {
            uint32_t entry = self->trie_index [i];
            if (entry) {
                const s_btrie_t *trie = &self->tries [entry - 1];
                size_t at = s_mix (s_hash_bytes (trie->key, trie->size) ^ trie->parent) & (room - 1);
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
    size_t at = s_mix (s_hash_bytes (key, size) ^ parent) & mask;
    for (; self->trie_index [at]; at = (at + 1) & mask) {
        const s_btrie_t *trie = &self->tries [self->trie_index [at] - 1];
        if (trie->parent == parent && trie->size == size && memcmp (trie->key, key, size) == 0)
            return self->trie_index [at] - 1;
    }
    s_btrie_t trie = { parent, key, size, S_NONE, 0, false };
    size_t before = self->tries_count;
    S_PUSH (self, tries, trie);
    if (self->tries_count == before)
        return S_NONE;
    self->tries [parent].child_count++;
    self->trie_index [at] = (uint32_t) self->tries_count;
    return (uint32_t) self->tries_count - 1;
}

static uint32_t
s_vm (s_builder_t *self, uint32_t trie)
{
    if (self->tries [trie].vm == S_NONE) {
        s_bvm_t vm = { 0, 0 };
        size_t before = self->vms_count;
        S_PUSH (self, vms, vm);
        if (self->vms_count == before)
            return S_NONE;
        self->tries [trie].vm = (uint32_t) before;
    }
    return self->tries [trie].vm;
}

static void
s_keyed (s_builder_t *self, uint32_t vm, s_tag_t tag, uint64_t key_hash, const void *key,
         uint32_t size, uint64_t bits, uint32_t node, const mesh__matcher_t *verify)
{
    s_keyed_t keyed = { key_hash, (const uint8_t *) key, bits, size, vm, (uint8_t) tag, { node, verify } };
    S_PUSH (self, keyed, keyed);
    self->vms [vm].tags |= S_BIT (tag);
}

static void
s_keyed_bytes (s_builder_t *self, uint32_t vm, s_tag_t tag, mesh__text_t text, uint32_t node,
               const mesh__matcher_t *verify)
{
    s_keyed (self, vm, tag, s_hash_bytes (text.ptr, text.size), text.ptr, (uint32_t) text.size, 0,
             node, verify);
    if (tag == S_TAG_PREFIX || tag == S_TAG_SUFFIX) {
        s_pair_t pair = { vm, (uint32_t) text.size, NULL };
        if (tag == S_TAG_PREFIX)
            S_PUSH (self, prefixes, pair);
        else
            S_PUSH (self, suffixes, pair);
    }
}

static void
s_keyed_bits (s_builder_t *self, uint32_t vm, s_tag_t tag, uint64_t bits, uint32_t node)
{
    s_keyed (self, vm, tag, s_mix (bits), NULL, 0, bits, node, NULL);
}

//  Register one test of node at value matcher vm.
static void
s_register (s_builder_t *self, uint32_t vm, uint32_t node, const mesh__matcher_t *matcher)
{
    s_pair_t generic = { vm, node, matcher };
    switch (matcher->kind) {
        case MESH__EXACT_STRING:
            s_keyed_bytes (self, vm, S_TAG_STRING, matcher->u.text, node, NULL);
            break;
        case MESH__EXACT_NUMBER:
            if (matcher->u.number.is_integer) {
                s_keyed_bits (self, vm, S_TAG_INT, (uint64_t) matcher->u.number.integer, node);
                s_keyed_bits (self, vm, S_TAG_INT_AS_DOUBLE, s_double_bits (matcher->u.number.value), node);
            }
            else
                s_keyed_bits (self, vm, S_TAG_FLOAT, s_double_bits (matcher->u.number.value), node);
            break;
        case MESH__EXACT_TRUE:
            s_keyed_bits (self, vm, S_TAG_TRUE, 0, node);
            break;
        case MESH__EXACT_FALSE:
            s_keyed_bits (self, vm, S_TAG_FALSE, 0, node);
            break;
        case MESH__EXACT_NULL:
            s_keyed_bits (self, vm, S_TAG_NULL, 0, node);
            break;
        case MESH__PREFIX:
            s_keyed_bytes (self, vm, S_TAG_PREFIX, matcher->u.text, node, NULL);
            break;
        case MESH__SUFFIX:
            s_keyed_bytes (self, vm, S_TAG_SUFFIX, matcher->u.text, node, NULL);
            break;
        case MESH__PREFIX_NOCASE:
        case MESH__EQUALS_NOCASE: {
            const char *s = matcher->u.text.ptr;
            const char *end = s + matcher->u.text.size;
            uint64_t hash = S_FOLD_SEED;
            uint32_t folded = 0;
            while (s < end) {
                hash = s_fold_step (hash, s_fold_next (&s, end));
                folded++;
            }
            if (matcher->kind == MESH__PREFIX_NOCASE) {
                s_keyed (self, vm, S_TAG_FOLD_PREFIX, hash, NULL, 0, 0, node, matcher);
                s_pair_t pair = { vm, folded, NULL };
                S_PUSH (self, folds, pair);
            }
            else {
                s_keyed (self, vm, S_TAG_FOLD, hash, NULL, 0, 0, node, matcher);
                if (folded > self->vms [vm].fold_max)
                    self->vms [vm].fold_max = folded;
            }
            break;
        }
        case MESH__WILDCARD: {
            const mesh__wildcard_t *wildcard = &matcher->u.wildcard;
            if (wildcard->count == 1)
                s_keyed_bytes (self, vm, S_TAG_STRING, wildcard->pieces [0], node, NULL);
            else
            if (wildcard->pieces [0].size > 0)
                s_keyed_bytes (self, vm, S_TAG_PREFIX, wildcard->pieces [0], node, matcher);
            else
            if (wildcard->pieces [wildcard->count - 1].size > 0)
                s_keyed_bytes (self, vm, S_TAG_SUFFIX, wildcard->pieces [wildcard->count - 1], node, matcher);
            else
                S_PUSH (self, generic, generic);
            break;
        }
        case MESH__NUMERIC:
            if (matcher->u.range.low == matcher->u.range.high
            &&  !matcher->u.range.low_open && !matcher->u.range.high_open)
                s_keyed_bits (self, vm, S_TAG_NUMERIC_EQ, s_double_bits (matcher->u.range.low), node);
            else {
                //  Only > and >= leave high at +inf, only < and <= leave
                //  low at -inf (a pattern number is never infinite)
                s_brange_t range = { vm, S_BETWEEN, { matcher->u.range.low, matcher->u.range.high, node,
                                                      matcher->u.range.low_open, matcher->u.range.high_open } };
                if (isinf (range.range.high))
                    range.side = S_ABOVE;
                else
                if (isinf (range.range.low))
                    range.side = S_BELOW;
                S_PUSH (self, ranges, range);
            }
            break;
        case MESH__EXISTS: {
            s_pair_t any = { vm, node, NULL };
            S_PUSH (self, any, any);
            break;
        }
        case MESH__ABSENT:
            break;                  //  not a test that fires: the node is S_LEAF_DT
        default:                    //  suffix-nocase, cidr, anything-but
            S_PUSH (self, generic, generic);
            break;
    }
}

static s_tests_t
s_tests_of (const mesh__node_t *pattern)
{
    if (!pattern->matchers)
        return S_TESTS_NONE;
    for (size_t i = 0; i < pattern->matcher_count; i++)
        if (pattern->matchers [i].kind == MESH__ABSENT)
            return S_TESTS_DT;
    return S_TESTS_POS;
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
    s_tests_t tests = s_tests_of (node);
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
        x->dflt = tests != S_TESTS_POS && x->need == 0;
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
s_add_node (s_builder_t *self, s_cnode_t node)
{
    size_t before = self->nodes_count;
    S_PUSH (self, nodes, node);
    return self->nodes_count == before? S_NONE: (uint32_t) before;
}

static void s_place (s_builder_t *self, const s_xnode_t *x, uint32_t trie, uint32_t target);

//  Place the children of x, each under its key below trie.
static void
s_place_children (s_builder_t *self, const s_xnode_t *x, uint32_t trie, uint32_t target)
{
    for (uint32_t i = 0; i < x->child_count && !self->failed; i++) {
        const mesh__node_t *child = x->children [i]->pattern;
        uint32_t child_trie = s_trie_child (self, trie,
                                            child->path + child->path_size - child->segment_size,
                                            (uint32_t) child->segment_size);
        if (child_trie != S_NONE)
            s_place (self, x->children [i], child_trie, target);
    }
}

static void
s_register_tests (s_builder_t *self, const mesh__node_t *pattern, uint32_t trie, uint32_t node)
{
    uint32_t vm = s_vm (self, trie);
    if (vm == S_NONE)
        return;
    for (size_t i = 0; i < pattern->matcher_count; i++)
        s_register (self, vm, node, &pattern->matchers [i]);
}

//  Compile x, which lives at trie node trie and reports to target.
static void
s_place (s_builder_t *self, const s_xnode_t *x, uint32_t trie, uint32_t target)
{
    if (x->child_count == 0) {
        s_cnode_t leaf = { x->tests == S_TESTS_DT? S_LEAF_DT: S_LEAF_POS, 0, 0, 0, 0, target, trie, 0, 0 };
        uint32_t id = s_add_node (self, leaf);
        if (id == S_NONE)
            return;
        s_register_tests (self, x->pattern, trie, id);
        if (x->tests == S_TESTS_DT) {
            s_pair_t pair = { trie, id, NULL };
            S_PUSH (self, dts, pair);
        }
        return;
    }
    if (x->tests == S_TESTS_NONE && x->child_count == 1 && x->need == 1) {
        //  One positive field and nothing else: report straight through
        s_place_children (self, x, trie, target);
        return;
    }
    s_quant_t quant = x->pattern->absence_only? S_ALL: x->need == 0? S_SOME_DT: S_SOME;
    s_cnode_t join = { S_JOIN, x->tests, (uint8_t) quant, x->dflt, 0, target, trie, x->need,
                       self->join_count };
    uint32_t id = s_add_node (self, join);
    if (id == S_NONE)
        return;
    self->join_count++;
    self->tries [trie].joins = true;
    if (x->tests != S_TESTS_NONE)
        s_register_tests (self, x->pattern, trie, id);
    if (x->tests == S_TESTS_DT) {
        s_pair_t pair = { trie, id, NULL };
        S_PUSH (self, dts, pair);
    }
    s_place_children (self, x, trie, id);
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
            s_place_children (self, root, 0, S_RULE | index);
        else {
            s_cnode_t join = { S_JOIN, S_TESTS_NONE, S_SOME, root->dflt, 1, S_RULE | index, 0,
                               root->need, self->join_count };
            uint32_t id = s_add_node (self, join);
            if (id == S_NONE)
                break;
            self->join_count++;
            self->tries [0].joins = true;
            if (root->need == 0)
                S_PUSH (self, default_roots, id);
            s_place_children (self, root, 0, id);
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
    if (S_BIT (x->tag) & S_BYTES_TAGS) {
        if (x->size != y->size)
            return x->size < y->size? -1: 1;
        return memcmp (x->key, y->key, x->size);
    }
    if (S_BIT (x->tag) & S_FOLD_TAGS)
        return 0;
    return x->bits < y->bits? -1: x->bits > y->bits? 1: 0;
}

//  Ranges by vm and side, then in the order that makes the ones that hold
//  for a number a prefix (see s_range_t).
static int
s_range_compare (const void *a, const void *b)
{
    const s_brange_t *x = (const s_brange_t *) a;
    const s_brange_t *y = (const s_brange_t *) b;
    if (x->vm != y->vm)
        return x->vm < y->vm? -1: 1;
    if (x->side != y->side)
        return x->side < y->side? -1: 1;
    double first = x->side == S_BELOW? -x->range.high: x->range.low;
    double second = y->side == S_BELOW? -y->range.high: y->range.low;
    if (first != second)
        return first < second? -1: 1;
    uint8_t x_open = x->side == S_BELOW? x->range.high_open: x->range.low_open;
    uint8_t y_open = y->side == S_BELOW? y->range.high_open: y->range.low_open;
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
    if (!firsts || !counts)
        goto done;

    //  Tries, with their edges grouped by parent
    self->trie_count = (uint32_t) tries;
    self->tries = (s_trie_t *) calloc (tries, sizeof (s_trie_t));
    self->edges = (s_edge_t *) calloc (tries, sizeof (s_edge_t));
    self->bytes += tries * (sizeof (s_trie_t) + sizeof (s_edge_t));
    if (!self->tries || !self->edges)
        goto done;
    uint32_t edge_at = 0;
    size_t slots = 0;
    for (size_t i = 0; i < tries; i++) {
        s_trie_t *trie = &self->tries [i];
        trie->edge_first = edge_at;
        edge_at += b->tries [i].child_count;
        trie->vm = b->tries [i].vm;
        trie->joins = b->tries [i].joins;
        if (b->tries [i].child_count > S_LINEAR) {
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
        s_trie_t *parent = &self->tries [built->parent];
        uint32_t edge = parent->edge_first + parent->edge_count++;
        self->edges [edge] = (s_edge_t) { built->key, built->size, (uint32_t) i };
        parent->lengths |= (uint64_t) 1 << (built->size < 63? built->size: 63);
        if (b->tries [built->parent].child_count > S_LINEAR) {
            uint32_t at = (uint32_t) s_hash_bytes (built->key, built->size) & parent->slot_mask;
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
    self->vms = (s_vm_t *) calloc (vms? vms: 1, sizeof (s_vm_t));
    self->bytes += vms * sizeof (s_vm_t);
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
    self->fires = (s_fire_t *) malloc ((fire_count? fire_count: 1) * sizeof (s_fire_t));
    self->bytes += fire_count * sizeof (s_fire_t);
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
        self->fires [fire_at++] = (s_fire_t) { b->any [i].value, NULL };
    //  Generic tests keep their order within a vm (qsort is not stable,
    //  but the order of tests does not change the answer)
    s_group (b->generic, b->generic_count, false, firsts, counts, vms, &generic_kept);
    for (size_t i = 0; i < vms; i++) {
        self->vms [i].generic_first = (uint32_t) fire_at + firsts [i];
        self->vms [i].generic_count = counts [i];
    }
    for (size_t i = 0; i < generic_kept; i++)
        self->fires [fire_at++] = (s_fire_t) { b->generic [i].value, b->generic [i].verify };

    //  Numeric ranges, sorted per vm and side
    if (b->ranges_count)
        qsort (b->ranges, b->ranges_count, sizeof (s_brange_t), s_range_compare);
    self->ranges = (s_range_t *) malloc ((b->ranges_count? b->ranges_count: 1) * sizeof (s_range_t));
    self->bytes += b->ranges_count * sizeof (s_range_t);
    if (!self->ranges)
        goto done;
    for (size_t i = b->ranges_count; i-- > 0; ) {
        const s_brange_t *range = &b->ranges [i];
        self->ranges [i] = range->range;
        self->vms [range->vm].range_first [range->side] = (uint32_t) i;
        self->vms [range->vm].range_count [range->side]++;
    }

    //  The table: equal keys become one entry with a list of fires
    if (b->keyed_count)
        qsort (b->keyed, b->keyed_count, sizeof (s_keyed_t), s_keyed_compare);
    size_t entry_count = 0;
    for (size_t i = 0; i < b->keyed_count; i++)
        if (i == 0 || s_keyed_compare (&b->keyed [i - 1], &b->keyed [i]) != 0)
            entry_count++;
    self->entries = (s_entry_t *) calloc (entry_count? entry_count: 1, sizeof (s_entry_t));
    uint32_t room = 16;
    while (room < 2 * entry_count)
        room *= 2;
    self->slots = (uint64_t *) calloc (room, sizeof (uint64_t));
    self->slot_mask = room - 1;
    self->bytes += entry_count * sizeof (s_entry_t) + room * sizeof (uint64_t);
    if (!self->entries || !self->slots)
        goto done;
    if (entry_count >= S_FILTER_MIN) {
        //  Eight bits per key: about 5% of absent keys get past it
        uint32_t words = 64;
        while (words * 64 < 8 * entry_count)
            words *= 2;
        self->filter = (uint64_t *) calloc (words, sizeof (uint64_t));
        self->filter_mask = words - 1;
        self->bytes += words * sizeof (uint64_t);
        if (!self->filter)
            goto done;
    }
    size_t entry = 0;
    for (size_t i = 0; i < b->keyed_count; i++) {
        const s_keyed_t *keyed = &b->keyed [i];
        if (i == 0 || s_keyed_compare (&b->keyed [i - 1], keyed) != 0) {
            s_entry_t *new_entry = &self->entries [entry++];
            new_entry->hash = s_entry_hash (keyed->key_hash, keyed->vm, keyed->tag);
            new_entry->key = keyed->key;
            new_entry->bits = keyed->bits;
            new_entry->size = keyed->size;
            new_entry->vm = keyed->vm;
            new_entry->tag = keyed->tag;
            new_entry->fire_first = (uint32_t) fire_at;
            if (self->filter)
                self->filter [(new_entry->hash >> 12) & self->filter_mask] |= s_filter_bits (new_entry->hash);
            uint32_t at = (uint32_t) new_entry->hash & self->slot_mask;
            while (self->slots [at])
                at = (at + 1) & self->slot_mask;
            self->slots [at] = (new_entry->hash >> 32) << 32 | (uint64_t) entry;
        }
        self->entries [entry - 1].fire_count++;
        self->fires [fire_at++] = keyed->fire;
    }

    self->nodes = (s_cnode_t *) s_final (self, b->nodes, b->nodes_count, sizeof (s_cnode_t));
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
    mesh__arena_init (&builder.expansion, 65536, 65536);
    if (!self)
        goto fail;
    self->rules = rules;
    self->rule_count = count;
    self->bytes = sizeof (mesh__automaton_t);

    s_btrie_t root = { S_NONE, "", 0, S_NONE, 0, false };
    S_PUSH (&builder, tries, root);
    for (size_t i = 0; i < count && !builder.failed; i++)
        s_compile_rule (&builder, rules [i], (uint32_t) i);
    if (builder.failed || builder.nodes_count >= S_RULE || !s_layout (self, &builder))
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
        free (self->vms);
        free (self->lengths);
        free (self->fires);
        free (self->ranges);
        free (self->entries);
        free (self->slots);
        free (self->filter);
        free (self->default_roots);
        free (self->fallback_rules);
        free (self);
        *self_p = NULL;
    }
}

size_t
mesh__automaton_memory (const mesh__automaton_t *self)
{
    return self? self->bytes: 0;
}
