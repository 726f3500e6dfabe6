/*  mesh_automaton.h: every rule of a set compiled into one automaton

    Private to libmesh. mesh_ruleset_compile (mesh_ruleset.c) turns the
    pattern trees of all the rules of a set into one automaton
    (mesh_automaton_build.c), and mesh_ruleset_match runs it
    (mesh_automaton_run.c): one walk over the event's MessagePack bytes
    answers for every rule at once. What a walk costs grows with the
    event's fields, not with the number of rules; it reads the bytes in
    place and allocates nothing. The interpreter stays the reference: for
    every pattern it accepts and every byte string, the automaton returns
    the rules that mesh_rule_match would, and refuses the same bytes with
    the same words. This header holds the layout the builder writes and the
    walk reads, and the hashing both must do alike; neither file calls the
    other, and neither calls back up into the rule set.

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
      Each key sits in its slot (32 bytes) with its first 16 bytes, and,
      when one test hangs on it, with that test's node, or with its rule
      when the test is the rule's only field: a value a rule names costs
      one line of the table. A wildcard "head*tail" found by its head keeps
      a tail of up to 8 bytes in its fire, confirmed without reading the
      rule; when it is a rule's only field and its tail has 3 bytes or
      fewer ("*-eu", "*.gz"), the tail is in the slot itself. In a
      large table (which starts on a cache line), that line is a cache
      miss: the probes of a value matcher whose entries are all rules,
      conds and inline tails (whose answer needs neither the visit nor
      more of the leaf than its string, which the event holds, so the same
      at any time of the walk) wait, eight at most, to the walk's end,
      their slots (and the next ones) asked for when the value is read, so
      that an event's misses overlap: nested prefixes, one probe a length,
      wait the same way; another vm's lengths are asked for together.
      Numeric ranges are kept sorted by their bounds: a number walks the
      one-sided ranges (> 5, <= 7) only as far as those that hold, and the
      two-sided ones as far as those that start below it. The rest (cidr,
      anything-but, ignore-case suffixes, wildcards with a star at both
      ends) is tested one by one with the interpreter's own leaf test
      (mesh__interp_test_leaf): linear in the number of such tests on that one
      field. Anything-but holds for nearly every value anyway; the broad
      tests of rules that also name exact values are not tested here at
      all but behind those values (guarded JOINs, below), which leaves
      this list to rules with no exact field to guard them.
    - Rules become AND-counts (as in event-ruler and quamina). `$or` is
      multiplied out at compile time: a rule becomes one sub-rule per way of
      choosing in its groups (at most 1000, EventBridge's cap), each a tree
      of AND nodes, and the rule matches when one of them does. A chain of
      objects with one positive field each ({"detail": {"state": [...]}})
      is collapsed: the test at its end reports straight to the first node
      above that has more to decide, or to the rule itself. A one-field rule
      (the common case, and every rule of the 100,000-rule benchmark) costs
      nothing while matching but its key in the table.
    - Rules that share a field's exact value share its test. Most rules of
      a bus name the same source and detail-type and then one condition of
      their own: the test of a value that 4 or more rules name at one path
      is one STAMP node, which notes the instance where it fired instead of
      reporting to each rule. A join reaches its instance's list only
      through its other fields, its access: the field with the fewest rules
      behind it (counted over the whole set at build time; a test of
      another kind, a nested object, anything-but and exists count as many),
      which is never a stamp. When the instance closes, each join on the
      list adds its stamps that fired in that instance. So a value that
      100,000 rules name costs one stamp, and only the rules whose own
      condition held are looked at. Invariant: a join with a stamp has a
      positive field that is not one, so a join that could hold is always
      on the list. Worst case: rules whose every field is shared by many
      (100,000 copies of one pattern) keep their least shared field as
      access, and an event that matches it touches all of them, as before.
    - Conditional leaves. A root JOIN whose fields are STAMPs but its
      access, which is a test looked up by key (the team's rule: source,
      detail-type, one customer id), needs no counting: its access is a
      COND leaf that, when it fires, finds the rule holding if the STAMPs
      of its set all fired already, and otherwise waits on a list
      (MESH__SCRATCH_PENDING an event) that the end of the walk looks at
      again. A table entry with one COND behind it holds the rule and the
      set itself, so a value that a team's rule names costs the entry and
      the set's STAMPs (in the cache: every team shares them). Past the
      list's room (an event that names many such values before its source),
      each further COND asks the interpreter for its rule.
    - Guarded JOINs. A root JOIN whose fields are exact strings but one, and
      that one's tests hold for most values (anything-but, exists, numeric
      ranges, cidr: the tests not looked up by key), would be touched by
      nearly every event through that field, only to find its exact fields
      did not come. Its exact fields become STAMPs that guard (1 to
      MESH__AM_GUARD_STAMPS of them), and its broad field is not tested in
      the walk: the walk keeps the leaves that come at that field's trie
      node (MESH__SCRATCH_RECORDS an event), and puts each guarding STAMP
      that fires on a list. After the walk, a trie of the guarded JOINs'
      STAMP sets (ascending) is walked with the sorted list: every node it
      reaches is a set whose STAMPs all came, and only its JOINs test
      their field on the kept leaves. 100 sources x 50 detail-types with
      one anything-but each: an event looks at the 20 rules of its source
      and detail-type, not at the 100,000. In a large set those 20 are
      cache misses, so the trie is laid out for them: an edge sits at the
      hash of its child's path of STAMPs, which the STAMPs alone give, so
      the edges from the root and of each pair are asked for as the
      STAMPs fire; the sets reached have their guards asked for before
      the deferred probes and the pending CONDs are decided, and tested
      after; and a guard of one common test (exists, one numeric range,
      anything-but one string of 16 bytes at most) holds that test in its
      32 bytes, so a set's guards are one stream with nothing behind it
      (other tests are copies, with the interpreter's leaf test).
      Invariants: a guarded JOIN is never touched by the walk (no field
      reports to it); a trie node is reached once at most. Worst
      case: an event with more leaves at such fields than are kept; each
      JOIN its STAMPs reach then asks the interpreter for its rule (which
      holds if this sub-rule does, and only matters then).
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

*/
#ifndef MESH_AUTOMATON_H_INCLUDED
#define MESH_AUTOMATON_H_INCLUDED

#include <string.h>
#include "mesh_private.h"
#include "mesh_pattern.h"

#define MESH__AM_NONE          UINT32_MAX
#define MESH__AM_RULE          0x80000000u     //  a target that is a rule: MESH__AM_RULE | index
#define MESH__AM_LINEAR        8               //  children looked up by compare, not hash


//  ---------------------------------------------------------------------
//  The compiled automaton

typedef enum {
    MESH__AM_LEAF_POS,         //  tests without exists:false: holds once one fires
    MESH__AM_LEAF_DT,          //  tests with exists:false: holds unless a leaf came and none fired
    MESH__AM_JOIN,             //  an object node that counts its fields
    MESH__AM_LEAF_STAMP,       //  a positive exact test many JOINs share: it notes the
                               //  instance it fired in, and each JOIN looks when it closes
    MESH__AM_LEAF_COND         //  the last field of a rule whose others are STAMPs: it
                               //  decides the rule once they all came (see the top)
} mesh__am_kind_t;

#define MESH__AM_SOLE          2       //  mesh__am_node_t.root
#define MESH__AM_NO_BIT        UINT8_MAX

typedef enum { MESH__AM_TESTS_NONE, MESH__AM_TESTS_POS, MESH__AM_TESTS_DT } mesh__am_tests_t;

typedef enum {
    MESH__AM_SOME,             //  some instance must hold; a missing object fails
    MESH__AM_SOME_DT,          //  some instance must hold; every field may be missing
    MESH__AM_ALL               //  every instance must hold (the object asks for absence only)
} mesh__am_quant_t;

typedef struct {
    uint8_t kind;               //  mesh__am_kind_t
    uint8_t tests;              //  JOIN: its own tests, mesh__am_tests_t
    uint8_t quant;              //  JOIN: mesh__am_quant_t
    uint8_t dflt;               //  JOIN: its answer when its field is missing
    uint8_t root;               //  JOIN at the root: decides a sub-rule (MESH__AM_SOLE:
                                //  its rule's only one, so it hits at most once an event);
                                //  STAMP: it guards JOINs, and goes on the event's list
    uint8_t bit;                //  LEAF that reports to a JOIN: its bit in the JOIN's
                                //  counters (MESH__AM_NO_BIT: past 64, it counts alone)
    uint32_t target;            //  the JOIN it reports to, or MESH__AM_RULE | rule
    uint32_t trie;              //  where it lives (a JOIN: where its instances are)
    uint32_t need;              //  JOIN: positive fields (its shared ones included);
                                //  LEAF with a bit: its JOIN's trie
    uint32_t join;              //  JOIN: its counters in the scratch; STAMP: the trie of
                                //  the JOINs' instances; LEAF with a bit: its JOIN's counters;
                                //  COND: its STAMP set in a->sets
    uint32_t shared_first;      //  JOIN: its positive fields that are STAMPs, in
    uint32_t shared_count;      //  a->shared; they count when it closes
} mesh__am_node_t;

typedef struct {
    const char *key;            //  in the rules' arenas
    uint32_t size;
    uint32_t trie;
} mesh__am_edge_t;

typedef struct {
    uint32_t edge_first, edge_count;
    uint32_t slot_first, slot_mask;     //  hash of the edges when edge_count > MESH__AM_LINEAR
    uint64_t lengths;           //  bit n: a child's key has n bytes (bit 63: 63 or more)
    uint32_t vm;                //  its value matcher, or MESH__AM_NONE
    uint32_t dt_first, dt_count;        //  nodes to check when a visit saw a leaf
    uint8_t joins;              //  JOINs live here
    uint8_t records;            //  its leaves are kept for guarded JOINs
} mesh__am_trie_t;

//  The kinds of keys in the table. Bytes: the key is the value's bytes (or
//  its first or last bytes). Bits: the key is a 64-bit number. Folded: the
//  key is the hash of folded code points, and every hit is confirmed.
typedef enum {
    MESH__AM_TAG_STRING, MESH__AM_TAG_PREFIX, MESH__AM_TAG_SUFFIX,                       //  bytes
    MESH__AM_TAG_INT, MESH__AM_TAG_FLOAT, MESH__AM_TAG_INT_AS_DOUBLE, MESH__AM_TAG_NUMERIC_EQ,  //  bits
    MESH__AM_TAG_TRUE, MESH__AM_TAG_FALSE, MESH__AM_TAG_NULL,                            //  bits (0)
    MESH__AM_TAG_FOLD, MESH__AM_TAG_FOLD_PREFIX                                   //  folded
} mesh__am_tag_t;

#define MESH__AM_BIT(tag)      (1u << (tag))
#define MESH__AM_BYTES_TAGS    (MESH__AM_BIT (MESH__AM_TAG_STRING) | MESH__AM_BIT (MESH__AM_TAG_PREFIX) | MESH__AM_BIT (MESH__AM_TAG_SUFFIX))
#define MESH__AM_FOLD_TAGS     (MESH__AM_BIT (MESH__AM_TAG_FOLD) | MESH__AM_BIT (MESH__AM_TAG_FOLD_PREFIX))

//  What a table entry fires, and what the leaf must pass first: nothing
//  (tail_size 0, verify NULL), the pattern's matcher (verify), or, for a
//  wildcard "head*tail" keyed by its head with a tail of at most 8 bytes,
//  the tail kept here (tail_size, least = head + tail bytes), so that the
//  check reads no memory of the rule's.
typedef struct {
    uint32_t node;                  //  or, when rule is set, the rule whose only field it is
    uint16_t least;                 //  tail check: the string's least size
    uint8_t tail_size;              //  1..8: the string must end with tail
    uint8_t rule;                   //  1: node is a rule's index, hit without reading a node
    union {
        const mesh__matcher_t *verify;  //  tail_size 0: test the leaf with it; NULL: no need
        uint64_t tail;              //  tail_size > 0: the tail's bytes
    } u;
} mesh__am_fire_t;

//  A numeric range, for the three sorted lists of a value matcher: above
//  (no upper bound, sorted by low, closed first), below (no lower bound,
//  sorted by high, descending, closed first) and between (sorted by low).
//  In the first two, the ranges that hold for a number are a prefix.
typedef struct {
    double low, high;
    uint32_t node;
    uint8_t low_open, high_open;
} mesh__am_range_t;

typedef enum { MESH__AM_ABOVE, MESH__AM_BELOW, MESH__AM_BETWEEN } mesh__am_side_t;

typedef struct {
    uint32_t tags;              //  MESH__AM_BIT of each tag it has in the table
    uint32_t any_first, any_count;          //  fire on every leaf (exists: true)
    uint32_t generic_first, generic_count;  //  test on every leaf
    uint32_t prefix_first, prefix_count;    //  lengths, ascending, in a->lengths
    uint32_t suffix_first, suffix_count;
    uint32_t fold_first, fold_count;        //  ignore-case prefixes: code points
    uint32_t fold_max;          //  longest equals-ignore-case, code points
    uint32_t deferred;          //  a large table's entries of this vm are all rules, conds
                                //  and inline tails: its probes may wait to the walk's end (1),
                                //  or not (0)
    uint32_t range_first [3], range_count [3];      //  by mesh__am_side_t, in a->ranges
} mesh__am_vm_t;

//  One key of the table, in its slot (open addressing, linear probing):
//  32 bytes, so that a probe that finds its key reads one line and, for a
//  key of 16 bytes or less with one test behind it, nothing else.
#define MESH__AM_VM_MAX        (UINT32_MAX >> 4)   //  vm << 4 | tag fits 32 bits
#define MESH__AM_FIRE_NODE     0x80000000u         //  fire_count: fire_first is the node
#define MESH__AM_FIRE_RULE     0x40000000u         //  fire_count: fire_first is the rule
#define MESH__AM_FIRE_COND     0x20000000u         //  fire_count: fire_first is the rule, the
#define MESH__AM_SET_MAX       0x1fffffffu         //  low bits its COND's set in a->sets
#define MESH__AM_FIRE_TAIL     (MESH__AM_FIRE_RULE | MESH__AM_FIRE_COND)  //  both: fire_first is the
                                                   //  rule of a wildcard head*tail keyed by its head,
                                                   //  the tail's size (1 to 3) in bits 24-25, its bytes
                                                   //  below: a string of at least size + tail that ends
                                                   //  with it hits, reading nothing but the slot
#define MESH__AM_TAIL_INLINE   3

typedef struct {
    uint32_t vm_tag;            //  vm << 4 | tag
    uint32_t size;              //  bytes tags: the key's size
    uint32_t fire_first;        //  in a->fires, or the node itself (MESH__AM_FIRE_NODE), or
                                //  the rule it decides alone (MESH__AM_FIRE_RULE)
    uint32_t fire_count;        //  0: the slot is empty
    uint64_t head;              //  bytes tags: the key's first 8 bytes, zero past its end;
                                //  bits tags: the bits; folded: the hash of the text
    union {
        uint64_t tail;          //  bytes tags, 16 bytes or less: bytes 8 to 15, zero past the end
        const uint8_t *key;     //  bytes tags, longer: the key, in the rules' arenas
    } rest;
} mesh__am_entry_t;

#define MESH__AM_INLINE_KEY    16      //  keys this long live in their entry

//  A guarded JOIN (see the top of this file): a root JOIN whose fields are
//  STAMPs but one, whose tests hold for most values. It is looked at only
//  when all its STAMPs fired, through the guard trie; its last field is
//  then tested on the leaves the walk kept at that field's trie node.
//  A field of one test of a common kind keeps it in the guard itself, so
//  that a set's guards are one stream of 32-byte records with nothing
//  behind them; any other field's tests are copies in a->guard_matchers.
typedef enum {
    MESH__AM_GUARD_MATCHERS,    //  its tests, in a->guard_matchers
    MESH__AM_GUARD_EXISTS,      //  exists: true: any leaf
    MESH__AM_GUARD_RANGE,       //  one numeric range
    MESH__AM_GUARD_BUT_TEXT     //  anything-but one string of MESH__AM_GUARD_TEXT bytes at most
} mesh__am_guard_test_t;

#define MESH__AM_GUARD_TEXT    16

typedef struct {
    uint32_t rule;              //  the JOIN's rule
    uint32_t trie;              //  where its field's leaves are
    uint8_t test;               //  mesh__am_guard_test_t
    uint8_t low_open, high_open;        //  RANGE
    uint8_t text_size;          //  BUT_TEXT
    uint32_t unused;
    union {
        struct {
            uint32_t first;     //  MATCHERS: in a->guard_matchers (while built: the
            uint32_t count;     //  guard's place in the builder's guard_leaves)
        } matchers;
        struct {
            double low, high;
        } range;
        char text [MESH__AM_GUARD_TEXT];
    } u;
} mesh__am_guard_t;

//  The guard trie: a path per set of STAMPs of guarded JOINs, in ascending
//  order of STAMP, the set's JOINs at its end; node 0 is the root. Only its
//  edges are kept, in a table at the hash of the child's path
//  (mesh__am_gpath), each with its parent and STAMP (which decide, hashes
//  only place) and what its child holds; child 0 (the root, never a
//  child) marks an empty slot.
typedef struct {
    uint32_t parent, stamp, child;
    uint32_t guard_first, guard_count;  //  the child's JOINs, in a->guards
    uint32_t matcher_first, matcher_count;      //  their tests in a->guard_matchers (MATCHERS)
} mesh__am_gedge_t;

#define MESH__AM_GUARD_STAMPS  16      //  at most this many STAMPs in a guarded JOIN

struct _mesh_automaton_t {
    mesh_rule_t *const *rules;
    size_t rule_count;
    mesh__am_trie_t *tries;
    uint32_t trie_count;
    mesh__am_edge_t *edges;
    uint32_t *edge_slots;
    mesh__am_node_t *nodes;
    uint32_t node_count;
    uint32_t join_count;
    uint32_t *dt_nodes;
    uint32_t *shared;           //  the STAMPs of each JOIN (shared_first, shared_count)
    uint32_t *sets;             //  the STAMP sets of COND nodes: count, then the STAMPs
    mesh__am_vm_t *vms;
    uint32_t *lengths;
    mesh__am_fire_t *fires;
    mesh__am_range_t *ranges;
    mesh__am_entry_t *entries;  //  the table's slots: slot_mask + 1 of them
    uint32_t slot_mask;
    uint64_t *filter;           //  large tables: two bits per key, one word
    uint32_t filter_mask;       //  per probe (a blocked Bloom filter)
    mesh__am_guard_t *guards;   //  grouped by guard trie node
    uint32_t guard_count;
    mesh__matcher_t *guard_matchers;    //  copies, their anything-but lists in guard_bytes
    uint8_t *guard_bytes;               //  (other texts are the rules')

    mesh__am_gedge_t *gedges;
    uint32_t gedge_mask;
    uint32_t guard_stamps;      //  STAMPs that guard (the most one event can fire)
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
mesh__am_mix (uint64_t x)
{
    x ^= x >> 32;
    x *= UINT64_C (0xd6e8feb86659fd93);
    x ^= x >> 32;
    x *= UINT64_C (0xd6e8feb86659fd93);
    x ^= x >> 32;
    return x;
}

static inline uint64_t
mesh__am_hash_bytes (const void *data, size_t size)
{
    const uint8_t *p = (const uint8_t *) data;
    uint64_t hash = UINT64_C (0x9e3779b97f4a7c15) ^ (size * UINT64_C (0xff51afd7ed558ccd));
    while (size >= 8) {
        uint64_t word;
        memcpy (&word, p, 8);
        hash = mesh__am_mix (hash ^ word);
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
    return mesh__am_mix (hash ^ tail);
}

static inline uint64_t
mesh__am_entry_hash (uint64_t key_hash, uint32_t vm, int tag)
{
    return mesh__am_mix (key_hash ^ ((uint64_t) vm << 8 | (uint64_t) tag) * UINT64_C (0x9e3779b97f4a7c15));
}

//  Folded text is hashed code point by code point (FNV-1a over 32-bit
//  units); the same steps at compile time and at match time.
#define MESH__AM_FOLD_SEED     UINT64_C (0xcbf29ce484222325)

static inline uint64_t
mesh__am_fold_step (uint64_t hash, uint32_t c)
{
    return (hash ^ c) * UINT64_C (0x100000001b3);
}

static inline uint32_t
mesh__am_fold_next (const char **s, const char *end)
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
mesh__am_double_bits (double value)
{
    if (value == 0)
        value = 0;
    uint64_t bits;
    memcpy (&bits, &value, sizeof (bits));
    return bits;
}

//  A key's first 8 bytes, zero past its end: the head an entry keeps.
static inline uint64_t
mesh__am_head (const void *key, size_t size)
{
    const uint8_t *p = (const uint8_t *) key;
    if (size >= 8) {
        uint64_t head;
        memcpy (&head, p, 8);
        return head;
    }
    if (size >= 4) {            //  two loads that overlap, bytes in place
        uint32_t low, high;
        memcpy (&low, p, 4);
        memcpy (&high, p + size - 4, 4);
        return (uint64_t) low | (uint64_t) high << ((size - 4) * 8);
    }
    if (size == 0)
        return 0;
    return (uint64_t) p [0] | (uint64_t) p [size / 2] << (size / 2 * 8)
         | (uint64_t) p [size - 1] << ((size - 1) * 8);
}

//  The hash of a guard trie node: of the STAMPs on its path, so that the
//  slot of any path an event's STAMPs could take is known from them alone,
//  before the edges above it are read (and can be asked for together).
#define MESH__AM_GPATH_ROOT    UINT64_C (0x9e3779b97f4a7c15)

static inline uint64_t
mesh__am_gpath (uint64_t parent, uint32_t stamp)
{
    return mesh__am_mix (parent ^ ((uint64_t) stamp << 16 | stamp));
}

//  The two bits of a key's word in the filter.
static inline uint64_t
mesh__am_filter_bits (uint64_t hash)
{
    return (uint64_t) 1 << (hash & 63) | (uint64_t) 1 << ((hash >> 6) & 63);
}


//  ---------------------------------------------------------------------
//  The automaton's API, for mesh_ruleset.c

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

//  The same walk doing mesh_event_check's work too, in the same pass (the
//  broker's one read of an event): the strict skip's tests on every value,
//  keys that are strings, no NaN or infinity, the envelope's keys, types
//  and EventBridge's limits (mesh__envelope_passes). Returns the hits as
//  mesh__automaton_match does for an event mesh_event_check accepts;
//  MESH__AM_REFUSED when the walk refuses the bytes; MESH__AM_NOT_TAKEN for
//  an event it hands over (the shapes the interpreter takes, a thread
//  without scratch). Sets no error: on either, the caller runs
//  mesh_event_check (which words the refusal) and then, if the event
//  passes, mesh__automaton_match (see mesh_ruleset_match_event).
#define MESH__AM_REFUSED    -2
#define MESH__AM_NOT_TAKEN  -3
int
    mesh__automaton_match_checked (const mesh__automaton_t *self, const void *event, size_t size,
                                   const mesh_limits_t *limits, uint32_t *hits);

//  A compiled set's automaton (borrowed), NULL before mesh_ruleset_compile:
//  for tests that look at the walk itself (mesh_ruleset.c).
const mesh__automaton_t *
    mesh__ruleset_automaton (const mesh_ruleset_t *self);

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
