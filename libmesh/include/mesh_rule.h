/*  mesh_rule.h: EventBridge event patterns, compiled and matched

    Pure code: no sockets, no logging, no allocation while matching. A rule is
    one compiled pattern with a name; a rule set gathers rules and matches an
    event's MessagePack bytes (as they arrived on the wire) against all of them
    at once. The broker only ever calls the functions below, so the engine
    behind them can change without touching it.

    Typical use:
        mesh_ruleset_t *set = mesh_ruleset_new ();
        mesh_rule_t *rule = mesh_rule_new ("big", "{\"detail\":{\"total\":[{\"numeric\":[\">\",200]}]}}", SIZE_MAX, &err);
        mesh_ruleset_add (set, &rule);                      //  set owns it now
        mesh_ruleset_compile (set, &err);                   //  freeze
        uint32_t hits [mesh_ruleset_size (set)];
        int n = mesh_ruleset_match (set, bytes, size, hits, &err);
*/
#ifndef MESH_RULE_H_INCLUDED
#define MESH_RULE_H_INCLUDED

#include "mesh_error.h"
#include "mesh_limits.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _mesh_rule_t mesh_rule_t;
typedef struct _mesh_ruleset_t mesh_ruleset_t;

#define MESH_PATTERN_MAX_SIZE_DEFAULT     4096  //  EventBridge API's EventPattern cap
#define MESH_WILDCARD_COMPLEXITY_DEFAULT  9     //  see mesh_rule_options_t

//  How patterns are compiled. Callers keep it in their own storage;
//  mesh_rule_options_init fills EventBridge's defaults.
//  max_wildcard_complexity bounds event-ruler's MachineComplexityEvaluator
//  score of each field's wildcards: the most wildcard-pattern prefixes one
//  value can match at once ("*a*a*a*a*" scores 9). AWS's threshold is not
//  public: it refuses a score of 11 and accepts 7. The default accepts up
//  to 9 and refuses 10 and more, in the middle of that gap. A pattern over
//  the bound is refused with AWS's "Rule is too complex - try using fewer
//  wildcard characters or fewer repeating character sequences after a
//  wildcard character".
typedef struct {
    size_t max_pattern_size;        //  bytes of pattern text; more is MESH_ETOOBIG
    int max_wildcard_complexity;    //  highest score accepted; 0: no limit
} mesh_rule_options_t;

void
    mesh_rule_options_init (mesh_rule_options_t *self);

//  Why a pattern was refused, in parts, for callers that present AWS's
//  message ("Event pattern is not valid. Reason: <reason>") with the place.
typedef struct {
    char path [MESH_ERROR_TEXT_MAX];    //  "pattern", "pattern.detail.total_cost"
    char reason [MESH_ERROR_TEXT_MAX];  //  the reason alone, AWS's text where AWS has
                                        //  one: "Value of numeric must be an array."
    int line, column;                   //  of a JSON syntax error, from 1; else 0
} mesh_pattern_error_t;

//  Compile an EventBridge event pattern given as JSON text of `size` bytes
//  (SIZE_MAX: NUL-terminated), with the default options. Returns NULL with
//  err on an invalid pattern: code MESH_EINVAL (MESH_ETOOBIG for a pattern
//  over MESH_PATTERN_MAX_SIZE_DEFAULT bytes) and text "<path>: <reason>",
//  where path is the JSON path of the problem ("pattern",
//  "pattern.detail.total_cost") and reason is AWS's reason text where AWS
//  has one, e.g. "pattern.detail.total_cost: Value of numeric must be an
//  array."; JSON syntax errors are worded as Jackson (AWS's parser) words
//  them and end with "(line L, column C)". Caller owns the rule.
mesh_rule_t *
    mesh_rule_new (const char *name, const char *pattern, size_t size, mesh_error_t *err);

//  The same with options (NULL: the defaults) and, if problem is not NULL,
//  the parts of the error when the pattern is refused.
mesh_rule_t *
    mesh_rule_new_with (const char *name, const char *pattern, size_t size,
                        const mesh_rule_options_t *options, mesh_pattern_error_t *problem,
                        mesh_error_t *err);

//  Destroy the rule; accepts NULL and nullifies the caller's reference.
void
    mesh_rule_destroy (mesh_rule_t **self_p);

//  The rule's name (borrowed).
const char *
    mesh_rule_name (const mesh_rule_t *self);

//  Match one rule against an event's MessagePack bytes. Returns 1 on match,
//  0 on no match, -1 with err (MESH_EMALFORMED) if the bytes are not one
//  well-formed MessagePack map.
int
    mesh_rule_match (const mesh_rule_t *self, const void *event, size_t size, mesh_error_t *err);

//  Match as mesh_rule_match does (same answer, same errors) and say why:
//  "matched", or the first test that failed and how, e.g.
//  "detail.total_cost is 99, not > 200", "detail.total_cost is missing",
//  "source is \"x\", which anything-but excludes". Writes at most why_size
//  bytes, always NUL-terminated. Slower than mesh_rule_match: for people,
//  not for the broker's hot path.
int
    mesh_rule_explain (const mesh_rule_t *self, const void *event, size_t size,
                       char *why, size_t why_size, mesh_error_t *err);

//  Create an empty rule set.
mesh_ruleset_t *
    mesh_ruleset_new (void);

//  Destroy the set and every rule it owns; accepts NULL.
void
    mesh_ruleset_destroy (mesh_ruleset_t **self_p);

//  Add a rule, taking ownership (*rule_p becomes NULL). Returns the rule's
//  index in the set (0, 1, ... in order of adding), or -1 if the set is
//  already compiled.
int
    mesh_ruleset_add (mesh_ruleset_t *self, mesh_rule_t **rule_p);

//  Number of rules in the set.
size_t
    mesh_ruleset_size (const mesh_ruleset_t *self);

//  The rule at index (borrowed), or NULL past the end.
const mesh_rule_t *
    mesh_ruleset_rule (const mesh_ruleset_t *self, size_t index);

//  Freeze the set and build its matching structures. Must be called once
//  before mesh_ruleset_match; returns 0, or -1 with err.
int
    mesh_ruleset_compile (mesh_ruleset_t *self, mesh_error_t *err);

//  Match an event's MessagePack bytes against every rule of a compiled set.
//  Writes the indexes of the matching rules, ascending, into hits (room for
//  mesh_ruleset_size entries) and returns how many; returns -1 with err
//  (MESH_EMALFORMED) if the bytes are not one well-formed MessagePack map.
//  Allocates nothing per event: a thread's first match (or its first with
//  a set larger than any before) sets up that thread's scratch, freed when
//  the thread exits (a mesh_matcher_t owns it instead). Safe to call from
//  several threads at once.
int
    mesh_ruleset_match (const mesh_ruleset_t *self, const void *event, size_t size,
                        uint32_t *hits, mesh_error_t *err);

//  The broker's read of an event: mesh_event_check (mesh_event.h) with
//  limits, then mesh_ruleset_match, with the answers of the two, in one
//  walk over the bytes for an event that passes. Returns the number of
//  matching rules (hits as mesh_ruleset_match writes them), or the
//  negative code mesh_event_check returns for the event (MESH_EVENT_*,
//  with its err). Same threading and scratch as mesh_ruleset_match.
int
    mesh_ruleset_match_event (const mesh_ruleset_t *self, const void *event, size_t size,
                              const mesh_limits_t *limits, uint32_t *hits, mesh_error_t *err);

//  Bytes of memory the compiled set holds (rules and matching structures).
size_t
    mesh_ruleset_memory (const mesh_ruleset_t *self);

//  Matching scratch that the caller owns, for one thread at a time: the
//  counters mesh_ruleset_match otherwise keeps per thread. Made for set
//  (compiled, or NULL), it never allocates while matching that set or a
//  smaller one. NULL when out of memory.
typedef struct _mesh_matcher_t mesh_matcher_t;

mesh_matcher_t *
    mesh_matcher_new (const mesh_ruleset_t *set);

//  Destroy the matcher; accepts NULL and nullifies the caller's reference.
void
    mesh_matcher_destroy (mesh_matcher_t **self_p);

//  mesh_ruleset_match with self's scratch: the same answers and errors.
int
    mesh_matcher_match (mesh_matcher_t *self, const mesh_ruleset_t *set, const void *event,
                        size_t size, uint32_t *hits, mesh_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
