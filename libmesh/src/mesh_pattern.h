/*  mesh_pattern.h: the compiled pattern tree, shared by the matchers

    Private to libmesh. mesh_rule.c compiles an EventBridge pattern into the
    tree below and interprets it (the reference engine, one rule at a time);
    mesh_automaton.c builds one automaton from the trees of every rule of a
    set. The types keep the interpreter's names (s_node_t, s_matcher_t...)
    because they are the interpreter's, only made visible to its sibling.
    The semantics of every field are described at the top of mesh_rule.c.
*/
#ifndef MESH_PATTERN_H_INCLUDED
#define MESH_PATTERN_H_INCLUDED

#include "mesh_private.h"

//  Arena: every piece of a compiled rule lives in its rule's arena, so a
//  rule is freed in one sweep and its memory is simply the sum of chunks.

typedef struct s_chunk_s {
    struct s_chunk_s *next;
    size_t capacity;            //  bytes of data
    size_t used;
    max_align_t data [];
} s_chunk_t;

typedef struct {
    s_chunk_t *head;
    size_t bytes;               //  everything malloc'd for the chunks
} s_arena_t;


//  The compiled pattern

typedef enum {
    S_EXACT_STRING,             //  "text"
    S_EXACT_NUMBER,             //  300, 3.0e2
    S_EXACT_TRUE,
    S_EXACT_FALSE,
    S_EXACT_NULL,
    S_PREFIX,                   //  {"prefix": "text"}
    S_PREFIX_NOCASE,            //  {"prefix": {"equals-ignore-case": "text"}}
    S_SUFFIX,
    S_SUFFIX_NOCASE,
    S_EQUALS_NOCASE,            //  {"equals-ignore-case": "text"}
    S_WILDCARD,                 //  {"wildcard": "a*b"}
    S_NUMERIC,                  //  {"numeric": [">", 0, "<=", 5]}
    S_CIDR,                     //  {"cidr": "10.0.0.0/24"}
    S_EXISTS,                   //  {"exists": true}
    S_ABSENT,                   //  {"exists": false}
    S_BUT_STRINGS,              //  {"anything-but": "x" | ["x", "y"]}
    S_BUT_NUMBERS,              //  {"anything-but": 1 | [1, 2]}
    S_BUT_PREFIX,               //  {"anything-but": {"prefix": "x" | [...]}}
    S_BUT_SUFFIX,
    S_BUT_NOCASE,               //  {"anything-but": {"equals-ignore-case": ...}}
    S_BUT_WILDCARD              //  {"anything-but": {"wildcard": ...}}
} s_kind_t;

typedef struct {
    const char *ptr;
    size_t size;
} s_text_t;

typedef struct {                //  a number as the pattern wrote it
    double value;
    int64_t integer;            //  valid when is_integer
    bool is_integer;
} s_number_t;

typedef struct {                //  "a*b\*c" -> pieces "a", "b*c": the literal
    s_text_t *pieces;           //  text between unescaped stars, so there is
    size_t count;               //  always one piece more than stars
} s_wildcard_t;

typedef struct {
    s_kind_t kind;
    union {
        s_text_t text;          //  exact string, prefix, suffix, ignore-case
        s_number_t number;      //  exact number
        s_wildcard_t wildcard;
        struct {
            double low, high;
            bool low_open, high_open;
        } range;
        struct {
            uint8_t low [16], high [16];
            size_t size;        //  4 (IPv4) or 16 (IPv6)
        } cidr;
        struct {                //  anything-but: one array is set, by kind
            s_text_t *texts;
            s_number_t *numbers;
            s_wildcard_t *wildcards;
            size_t count;
        } set;
    } u;
} s_matcher_t;

typedef struct s_node_s s_node_t;
typedef struct s_or_s s_or_t;

//  One key segment of the pattern. A node may carry tests (it is a leaf),
//  fields (it is an object), or both, when the pattern says both "a": [..]
//  and "a.b": [..].
struct s_node_s {
    const char *path;           //  dotted path from the root, "" for the root
    size_t path_size;
    size_t segment_size;        //  this node's key is the path's last bytes
    int depth;                  //  segments from the root
    s_matcher_t *matchers;      //  the tests, ORed; NULL if not a leaf
    size_t matcher_count;
    s_node_t *children;         //  the fields, ANDed
    s_node_t *next;             //  next sibling
    s_or_t *ors;                //  `$or` groups, ANDed with the fields
    bool absence_only;          //  every test below is exists:false
};

//  A `$or` group: one alternative must hold. Alternatives are nodes at the
//  same path as the node that holds the group, and carry no tests.
struct s_or_s {
    s_node_t *alternatives;
    size_t count;
    s_or_t *next;
};

struct _mesh_rule_t {
    const char *name;           //  in the arena
    s_node_t *root;
    s_arena_t arena;
};

struct _mesh_ruleset_t {
    mesh_rule_t **rules;
    size_t size;
    size_t capacity;
    bool compiled;
    struct _mesh_automaton_t *automaton;    //  built by mesh_ruleset_compile
};


//  ---------------------------------------------------------------------
//  What mesh_rule.c lends mesh_automaton.c

//  The interpreter's check of an event's bytes: one well-formed map, nested
//  at most MESH_MAX_DEPTH_LIMIT levels, nothing after it. 0, or -1 with err
//  (MESH_EMALFORMED).
int
    mesh__event_check (const void *event, size_t size, mesh_error_t *err);

//  The interpreter's answer for one rule, on bytes that passed the check.
bool
    mesh__rule_match_checked (const mesh_rule_t *self, const void *event, size_t size);

//  One matcher against one leaf (not a map or an array), as the
//  interpreter tests it.
bool
    mesh__matcher_test (const s_matcher_t *matcher, const mesh__mp_value_t *leaf);

//  Decode the code point at *s (before end) and advance past it; a byte
//  that starts no valid sequence decodes alone to 0x110000 + the byte.
uint32_t
    mesh__utf8_next (const char **s, const char *end);


//  ---------------------------------------------------------------------
//  The compiled set (mesh_automaton.c), which mesh_ruleset_* drive

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
//  exactly when the interpreter refuses the bytes.
int
    mesh__automaton_match (const mesh__automaton_t *self, const void *event, size_t size,
                           uint32_t *hits, mesh_error_t *err);

//  Bytes the automaton holds (not the rules it was built from).
size_t
    mesh__automaton_memory (const mesh__automaton_t *self);

#endif
