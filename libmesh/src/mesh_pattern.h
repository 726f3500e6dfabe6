/*  mesh_pattern.h: the compiled pattern tree, shared by the matchers

    Private to libmesh. mesh_pattern_compile.c compiles an EventBridge
    pattern into the tree below; mesh_interp.c interprets it (the reference
    engine, one rule at a time) and mesh_automaton_build.c builds one
    automaton from the trees of every rule of a set. The semantics of every
    field are described at the tops of mesh_pattern_compile.c (patterns)
    and mesh_interp.c (events).
*/
#ifndef MESH_PATTERN_H_INCLUDED
#define MESH_PATTERN_H_INCLUDED

#include "mesh_private.h"
#include "mesh_arena.h"

//  The compiled pattern

typedef enum {
    MESH__EXACT_STRING,             //  "text"
    MESH__EXACT_NUMBER,             //  300, 3.0e2
    MESH__EXACT_TRUE,
    MESH__EXACT_FALSE,
    MESH__EXACT_NULL,
    MESH__PREFIX,                   //  {"prefix": "text"}
    MESH__PREFIX_NOCASE,            //  {"prefix": {"equals-ignore-case": "text"}}
    MESH__SUFFIX,
    MESH__SUFFIX_NOCASE,
    MESH__EQUALS_NOCASE,            //  {"equals-ignore-case": "text"}
    MESH__WILDCARD,                 //  {"wildcard": "a*b"}
    MESH__NUMERIC,                  //  {"numeric": [">", 0, "<=", 5]}
    MESH__CIDR,                     //  {"cidr": "10.0.0.0/24"}
    MESH__EXISTS,                   //  {"exists": true}
    MESH__ABSENT,                   //  {"exists": false}
    MESH__BUT_STRINGS,              //  {"anything-but": "x" | ["x", "y"]}
    MESH__BUT_NUMBERS,              //  {"anything-but": 1 | [1, 2]}
    MESH__BUT_PREFIX,               //  {"anything-but": {"prefix": "x" | [...]}}
    MESH__BUT_SUFFIX,
    MESH__BUT_NOCASE,               //  {"anything-but": {"equals-ignore-case": ...}}
    MESH__BUT_WILDCARD              //  {"anything-but": {"wildcard": ...}}
} mesh__match_kind_t;

typedef struct {
    const char *ptr;
    size_t size;
} mesh__text_t;

typedef struct {                //  a number as the pattern wrote it
    double value;
    int64_t integer;            //  valid when is_integer
    bool is_integer;
} mesh__number_t;

typedef struct {                //  "a*b\*c" -> pieces "a", "b*c": the literal
    mesh__text_t *pieces;           //  text between unescaped stars, so there is
    size_t count;               //  always one piece more than stars
} mesh__wildcard_t;

typedef struct {
    mesh__match_kind_t kind;
    union {
        mesh__text_t text;          //  exact string, prefix, suffix, ignore-case
        mesh__number_t number;      //  exact number
        mesh__wildcard_t wildcard;
        struct {
            double low, high;
            bool low_open, high_open;
        } range;
        struct {
            uint8_t low [16], high [16];
            size_t size;        //  4 (IPv4) or 16 (IPv6)
        } cidr;
        struct {                //  anything-but: one array is set, by kind
            mesh__text_t *texts;
            mesh__number_t *numbers;
            mesh__wildcard_t *wildcards;
            size_t count;
        } set;
    } u;
} mesh__matcher_t;

typedef struct mesh__node_s mesh__node_t;
typedef struct mesh__or_s mesh__or_t;

//  One key segment of the pattern. A node may carry tests (it is a leaf),
//  fields (it is an object), or both, when the pattern says both "a": [..]
//  and "a.b": [..].
struct mesh__node_s {
    const char *path;           //  dotted path from the root, "" for the root
    size_t path_size;
    size_t segment_size;        //  this node's key is the path's last bytes
    int depth;                  //  segments from the root
    mesh__matcher_t *matchers;      //  the tests, ORed; NULL if not a leaf
    size_t matcher_count;
    mesh__node_t *children;         //  the fields, ANDed
    mesh__node_t *next;             //  next sibling
    mesh__or_t *ors;                //  `$or` groups, ANDed with the fields
    bool absence_only;          //  every test below is exists:false
};

//  A `$or` group: one alternative must hold. Alternatives are nodes at the
//  same path as the node that holds the group, and carry no tests.
struct mesh__or_s {
    mesh__node_t *alternatives;
    size_t count;
    mesh__or_t *next;
};

struct _mesh_rule_t {
    const char *name;           //  in the arena
    mesh__node_t *root;
    mesh__arena_t arena;        //  every piece of the rule lives here
};

//  ---------------------------------------------------------------------
//  Pieces the compiler and the matchers share, each in a file of its own

//  Fold one code point for equals-ignore-case: its simple lowercase of its
//  simple uppercase, from a Unicode table (mesh_fold.c), the same whatever
//  the locale. Values above U+10FFFF come back unchanged.
uint32_t
    mesh__fold (uint32_t c);

//  Event-ruler's complexity score of the wildcard patterns of one field
//  (mesh_wildcard.c): the most pattern prefixes one input matches at once.
//  Patterns as written (`\*`, `\\`), already valid; equal ones count once.
//  Returns the score if at most limit, a number above limit as soon as it
//  passes it, or -1 when out of memory.
int
    mesh__wildcard_complexity (const char *const *patterns, const size_t *sizes,
                               size_t count, int limit);

//  Reword jansson's JSON syntax error for a pattern (its message and byte
//  position) as Jackson, EventBridge's parser, words it (mesh_jackson.c).
//  Writes the reason and, if line and column are not NULL, where it points
//  (both from 1).
void
    mesh__jackson_reason (const char *text, size_t size, const char *message, size_t position,
                          char *reason, size_t reason_size, int *line, int *column);


//  ---------------------------------------------------------------------
//  The compiler

//  Compile pattern text (size bytes, within the caller's size limit) into
//  a tree whose every node lives in arena (mesh_pattern_compile.c).
//  Returns the root, or NULL with err (MESH_EINVAL: "<path>: <reason>";
//  MESH_ENOMEM) and, if problem is not NULL (cleared, its path "pattern"),
//  the path and the reason apart. The arena is the caller's to free, also
//  on failure.
mesh__node_t *
    mesh__pattern_compile (mesh__arena_t *arena, const char *pattern, size_t size,
                           const mesh_rule_options_t *options, mesh_pattern_error_t *problem,
                           mesh_error_t *err);

#endif
