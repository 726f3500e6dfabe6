/*  test_automaton.c: the compiled rule set (mesh_automaton_build.c, mesh_automaton_run.c)

    mesh_ruleset_match runs one automaton built from every rule of a set;
    mesh_rule_match is the interpreter, one rule at a time. These tests hold
    the first to the second: on the conformance corpus (every pattern
    of a file in one set, against every event of the file), on
    event-ruler's array files, on rule sets that share paths, on `$or`,
    negative conditions and arrays of objects, on MessagePack the JSON
    converter never writes (repeated keys, float32, bin, non-string keys),
    and on malformed bytes. They also check what the automaton promises
    besides its answers: no allocation while matching (this runner is
    linked with -Wl,--wrap=malloc,calloc,realloc, see the Makefile), a
    matcher that owns its scratch, a memory report that grows with the
    rules, 100,000 rules, and several threads on one set.

    Patterns and events are written as JSON with single quotes; the
    conformance corpus is read from tests/conformance/ (the root is "." or
    $MESH_SOURCE_DIR), and its absence fails the test.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mesh.h"
#include "../libmesh/src/mesh_codec.h"
#include "support/testkit.h"

#define streq(a, b) (strcmp ((a), (b)) == 0)


//  ---------------------------------------------------------------------
//  Allocation counter: the linker sends libmesh's (and this file's) calls
//  of malloc, calloc and realloc here.

void *__real_malloc (size_t size);
void *__real_calloc (size_t count, size_t size);
void *__real_realloc (void *pointer, size_t size);
static volatile long s_allocations;

void *
__wrap_malloc (size_t size)
{
    s_allocations++;
    return __real_malloc (size);
}

void *
__wrap_calloc (size_t count, size_t size)
{
    s_allocations++;
    return __real_calloc (count, size);
}

void *
__wrap_realloc (void *pointer, size_t size)
{
    s_allocations++;
    return __real_realloc (pointer, size);
}


//  ---------------------------------------------------------------------
//  Helpers

//  Copy text with every ' turned into ", so 'a' reads as JSON "a".
static char *
s_json (const char *text)
{
    char *copy = strdup (text);
    assert_non_null (copy);
    for (char *c = copy; *c; c++)
        if (*c == '\'')
            *c = '"';
    return copy;
}

//  MessagePack of JSON text (real JSON); caller frees.
static void *
s_pack (const char *json, size_t *size)
{
    void *data = NULL;
    mesh_error_t err = { 0 };
    if (mesh_json_to_msgpack (json, strlen (json), NULL, &data, size, &err))
        fail_msg ("event %s: %s", json, err.text);
    return data;
}

//  A set of rules, each kept beside the set for the interpreter.
typedef struct {
    mesh_ruleset_t *set;
    const mesh_rule_t **rules;
    char **patterns;
    size_t count;
} s_rules_t;

static void
s_rules_init (s_rules_t *self)
{
    memset (self, 0, sizeof (*self));
    self->set = mesh_ruleset_new ();
    assert_non_null (self->set);
}

//  Add a pattern (real JSON); returns false if it does not compile.
static bool
s_rules_add (s_rules_t *self, const char *pattern)
{
    mesh_error_t err = { 0 };
    char name [32];
    snprintf (name, sizeof (name), "rule-%zu", self->count);
    mesh_rule_t *rule = mesh_rule_new (name, pattern, SIZE_MAX, &err);
    if (!rule)
        return false;
    self->rules = realloc (self->rules, (self->count + 1) * sizeof (self->rules [0]));
    self->patterns = realloc (self->patterns, (self->count + 1) * sizeof (self->patterns [0]));
    assert_non_null (self->rules);
    assert_non_null (self->patterns);
    self->rules [self->count] = rule;
    self->patterns [self->count] = strdup (pattern);
    assert_int_equal (mesh_ruleset_add (self->set, &rule), (int) self->count);
    self->count++;
    return true;
}

//  Add a single-quoted pattern, which must compile.
static void
s_rules_add_quoted (s_rules_t *self, const char *pattern)
{
    char *json = s_json (pattern);
    if (!s_rules_add (self, json))
        fail_msg ("pattern %s does not compile", json);
    free (json);
}

//  Add single-quoted patterns, which must compile.
static void
s_rules_add_all (s_rules_t *self, const char *const *patterns, size_t count)
{
    for (size_t i = 0; i < count; i++)
        s_rules_add_quoted (self, patterns [i]);
}

static void
s_rules_compile (s_rules_t *self)
{
    mesh_error_t err = { 0 };
    assert_int_equal (mesh_ruleset_compile (self->set, &err), 0);
}

static void
s_rules_fini (s_rules_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free (self->patterns [i]);
    free (self->patterns);
    free (self->rules);
    mesh_ruleset_destroy (&self->set);
}

//  The set and the interpreter on the same bytes must agree on every rule,
//  and on malformed bytes. Returns how many rules matched, or -1.
static int
s_agree (const s_rules_t *self, const void *data, size_t size, const char *what)
{
    uint32_t *hits = calloc (self->count + 1, sizeof (uint32_t));
    assert_non_null (hits);
    mesh_error_t set_err = { 0 };
    int count = mesh_ruleset_match (self->set, data, size, hits, &set_err);
    for (int i = 1; i < count; i++)
        assert_true (hits [i - 1] < hits [i]);
    int matched = 0;
    for (size_t r = 0; r < self->count; r++) {
        mesh_error_t err = { 0 };
        int one = mesh_rule_match (self->rules [r], data, size, &err);
        bool in_set = false;
        for (int h = 0; h < count; h++)
            in_set |= hits [h] == (uint32_t) r;
        if (one == -1 || count == -1) {
            if (one != count)
                fail_msg ("%s: malformed disagreement (interpreter %d, set %d) for %s", what, one,
                          count, self->patterns [r]);
            assert_int_equal (set_err.code, MESH_EMALFORMED);
            assert_string_equal (set_err.text, err.text);
        }
        else
        if ((one == 1) != in_set)
            fail_msg ("%s: interpreter says %s, set says %s, for %s", what, one? "match": "no match",
                      in_set? "match": "no match", self->patterns [r]);
        matched += one == 1;
    }
    free (hits);
    return count == -1? -1: matched;
}

//  The same for an event written as single-quoted JSON.
static int
s_agree_json (const s_rules_t *self, const char *event)
{
    char *json = s_json (event);
    size_t size;
    void *data = s_pack (json, &size);
    int matched = s_agree (self, data, size, json);
    free (data);
    free (json);
    return matched;
}

//  Every event against a set of patterns, all single-quoted.
static void
s_agree_all (const char *const *patterns, size_t pattern_count, const char *const *events,
             size_t event_count)
{
    s_rules_t rules;
    s_rules_init (&rules);
    s_rules_add_all (&rules, patterns, pattern_count);
    s_rules_compile (&rules);
    for (size_t i = 0; i < event_count; i++)
        s_agree_json (&rules, events [i]);
    s_rules_fini (&rules);
}

#define COUNT(array) (sizeof (array) / sizeof ((array) [0]))

static char *
s_read_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fseek (file, 0, SEEK_SET);
    char *text = malloc ((size_t) size + 1);
    assert_non_null (text);
    assert_int_equal (fread (text, 1, (size_t) size, file), (size_t) size);
    text [size] = '\0';
    fclose (file);
    return text;
}

//  The test data lives in the repository; runners start at its root
//  (tests/run.sh), and $MESH_SOURCE_DIR names the root from elsewhere.
static const char *
s_root (void)
{
    const char *root = getenv ("MESH_SOURCE_DIR");
    return root? root: ".";
}


//  ---------------------------------------------------------------------
//  The conformance corpus: every valid pattern of a file in one set,
//  against every event of the file (so each event meets every pattern, not
//  only its own), and each case's own outcome checked as well.

static void
s_conformance_file (const char *file, long *pairs)
{
    char path [1024];
    snprintf (path, sizeof (path), "%s/tests/conformance/%s", s_root (), file);
    FILE *handle = fopen (path, "r");
    if (!handle)
        fail_msg ("conformance corpus missing: %s (run from the repository root or set MESH_SOURCE_DIR)", path);

    s_rules_t rules;
    s_rules_init (&rules);
    char **events = NULL;
    size_t *sizes = NULL;
    long *own = NULL;           //  the rule of each event's case, or -1
    int *expect = NULL;
    size_t event_count = 0;
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    while ((length = getline (&line, &capacity, handle)) > 0) {
        if (length <= 1)
            continue;
        json_t *test = json_loadb (line, (size_t) length, 0, NULL);
        assert_non_null (test);
        const char *expected = json_string_value (json_object_get (test, "expect"));
        json_t *pattern = json_object_get (test, "pattern");
        json_t *event = json_object_get (test, "event");
        char *pattern_text = json_is_string (pattern)
            ? strdup (json_string_value (pattern))
            : mesh__json_emit (pattern, false);     //  shortest decimals: 301.8 stays 301.8
        bool compiled = s_rules_add (&rules, pattern_text);
        free (pattern_text);
        json_t *event_value = json_is_string (event)
            ? json_loadb (json_string_value (event), json_string_length (event), JSON_DECODE_ANY, NULL)
            : json_incref (event);
        if (json_is_object (event_value)) {
            char *event_text = json_dumps (event_value, JSON_COMPACT | JSON_REAL_PRECISION (17));
            events = realloc (events, (event_count + 1) * sizeof (char *));
            sizes = realloc (sizes, (event_count + 1) * sizeof (size_t));
            own = realloc (own, (event_count + 1) * sizeof (long));
            expect = realloc (expect, (event_count + 1) * sizeof (int));
            events [event_count] = s_pack (event_text, &sizes [event_count]);
            own [event_count] = compiled? (long) rules.count - 1: -1;
            expect [event_count] = streq (expected, "match")? 1: streq (expected, "nomatch")? 0: -1;
            event_count++;
            free (event_text);
        }
        json_decref (event_value);
        json_decref (test);
    }
    free (line);
    fclose (handle);
    s_rules_compile (&rules);

    uint32_t *hits = calloc (rules.count + 1, sizeof (uint32_t));
    for (size_t e = 0; e < event_count; e++) {
        char what [64];
        snprintf (what, sizeof (what), "%s event %zu", file, e);
        s_agree (&rules, events [e], sizes [e], what);
        *pairs += (long) rules.count;
        if (own [e] >= 0 && expect [e] >= 0) {
            mesh_error_t err = { 0 };
            int count = mesh_ruleset_match (rules.set, events [e], sizes [e], hits, &err);
            bool in_set = false;
            for (int h = 0; h < count; h++)
                in_set |= hits [h] == (uint32_t) own [e];
            if (in_set != (expect [e] == 1))
                fail_msg ("%s: the case's own outcome is %s", what, expect [e]? "match": "nomatch");
        }
        free (events [e]);
    }
    free (hits);
    free (events);
    free (sizes);
    free (own);
    free (expect);
    s_rules_fini (&rules);
}

static void
test_automaton_agrees_with_interpreter_on_conformance_corpus (void **state)
{
    (void) state;
    long pairs = 0;
    s_conformance_file ("eventbridge-patterns.jsonl", &pairs);
    s_conformance_file ("ruler-cases.jsonl", &pairs);
    print_message ("conformance: %ld (pattern, event) pairs agree\n", pairs);
    assert_true (pairs > 20000);
}


//  ---------------------------------------------------------------------
//  event-ruler's array files and its big event

static void
test_automaton_agrees_on_event_ruler_array_files (void **state)
{
    (void) state;
    s_rules_t rules;
    s_rules_init (&rules);
    char path [1024];
    for (int i = 1; i <= 4; i++) {
        snprintf (path, sizeof (path), "%s/tests/data/event-ruler/arrayRule%d.json", s_root (), i);
        char *text = s_read_file (path);
        if (!text)
            fail_msg ("missing %s", path);
        assert_true (s_rules_add (&rules, text));
        free (text);
    }
    snprintf (path, sizeof (path), "%s/tests/data/event-ruler/bigEventRule.json", s_root ());
    char *text = s_read_file (path);
    if (!text)
        fail_msg ("missing %s", path);
    assert_true (s_rules_add (&rules, text));
    free (text);
    s_rules_compile (&rules);

    //  GenericMachineTest (and ruler-cases.jsonl): rules 1 and 2 match
    //  event 1 only, rule 3 event 4 only (array consistency: event 3 has
    //  the name and the namespace in different elements), rule 4 events 3
    //  and 4; bigEventRule matches bigEvent
    const int expected [5][4] = {
        { 1, 0, 0, 0 }, { 1, 0, 0, 0 }, { 0, 0, 0, 1 }, { 0, 0, 1, 1 }, { 0, 0, 0, 0 }
    };
    for (int e = 1; e <= 5; e++) {
        if (e <= 4)
            snprintf (path, sizeof (path), "%s/tests/data/event-ruler/arrayEvent%d.json", s_root (), e);
        else
            snprintf (path, sizeof (path), "%s/tests/data/event-ruler/bigEvent.json", s_root ());
        char *event = s_read_file (path);
        if (!event)
            fail_msg ("missing %s", path);
        size_t size;
        void *data = s_pack (event, &size);
        s_agree (&rules, data, size, path);
        uint32_t hits [5];
        mesh_error_t err = { 0 };
        int count = mesh_ruleset_match (rules.set, data, size, hits, &err);
        for (int r = 0; r < 5; r++) {
            bool in_set = false;
            for (int h = 0; h < count; h++)
                in_set |= hits [h] == (uint32_t) r;
            bool want = e <= 4? expected [r][e - 1]: r == 4;
            if (in_set != want)
                fail_msg ("rule %d, event %d: got %d", r + 1, e, in_set);
        }
        free (data);
        free (event);
    }
    s_rules_fini (&rules);
}


//  ---------------------------------------------------------------------
//  Shapes

static void
test_automaton_rules_sharing_paths_answer_independently (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'detail':{'state':['running']}}",
        "{'detail':{'state':['running','stopped']}}",
        "{'detail':{'state':[{'prefix':'run'}]}}",
        "{'detail':{'state':[{'prefix':{'equals-ignore-case':'RUN'}}]}}",
        "{'detail':{'state':[{'suffix':'ing'}]}}",
        "{'detail':{'state':[{'equals-ignore-case':'RUNNING'}]}}",
        "{'detail':{'state':[{'wildcard':'r*n*g'}]}}",
        "{'detail':{'state':[{'wildcard':'*ing'}]}}",
        "{'detail':{'state':[{'wildcard':'*u*'}]}}",
        "{'detail':{'state':[{'anything-but':'running'}]}}",
        "{'detail':{'state':[{'anything-but':{'prefix':'st'}}]}}",
        "{'detail':{'state':[{'exists':true}]}}",
        "{'detail':{'state':[{'exists':false}]}}",
        "{'detail':{'state':['running'],'count':[{'numeric':['>',2]}]}}",
        "{'detail':{'count':[3]}}",
        "{'detail':{'count':[3.0]}}",
        "{'detail':{'count':[-1,-2.5]}}",
        "{'detail':{'count':[{'numeric':['=',3]}]}}",
        "{'detail':{'count':[{'numeric':['>=',0,'<',3]}]}}",
        "{'detail':{'count':[{'anything-but':[1,2]}]}}",
        "{'detail':{'ip':[{'cidr':'10.0.0.0/24'}]}}",
        "{'detail':{'flag':[true]}}",
        "{'detail':{'flag':[false,null]}}",
        "{'source':['a'],'detail':{'state':['running']}}",
        "{'detail.state':['running'],'detail':{'count':[3]}}",
        "{'detail':{'state':['stopped']}}",
    };
    const char *events [] = {
        "{'source':'a','detail':{'state':'running','count':3,'ip':'10.0.0.7','flag':true}}",
        "{'source':'b','detail':{'state':'stopped','count':3.0,'ip':'10.0.1.7','flag':false}}",
        "{'detail':{'state':'RUNNING','count':2.5,'flag':null}}",
        "{'detail':{'state':['stopped','running'],'count':[1,2]}}",
        "{'detail':{'count':'3','state':7}}",
        "{'detail':{}}",
        "{'detail':'running'}",
        "{'source':'a'}",
        "{'detail':{'state':{'x':1},'count':-0.0}}",
        "{'detail':{'state':[],'count':[]}}",
        "{'detail':{'state':[{'a':1}],'count':[3,[4]]}}",
        "{'detail':{'count':-1}}",
        "{'detail':{'count':[-2.5,-3]}}",
    };
    s_agree_all (patterns, COUNT (patterns), events, COUNT (events));
}

//  Rules whose fields are exact strings but one of broad tests (anything-
//  but, exists, numeric, cidr) are guarded: looked at only when their exact
//  fields all came, their last field tested on the leaves the walk kept
//  (mesh_automaton.h). Against the interpreter: leaves in arrays, leaves
//  at other paths, fields missing or of another type, nested paths, sets
//  of exact fields that are prefixes of others, `$or`, and an event with
//  more leaves than the walk keeps (the rules ask the interpreter then).
//  A wildcard "head*tail" is found by its head and confirmed by its tail:
//  the tail must not overlap the head, and nothing else may pass.
static void
test_automaton_head_and_tail_wildcards_answer_as_the_interpreter (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'a':[{'wildcard':'ab*ba'}]}",
        "{'a':[{'wildcard':'acct-1*-eu'}]}",
        "{'a':[{'wildcard':'acct-1*-us'}],'b':['x']}",
        "{'a':[{'wildcard':'acct-12*-eu'}, {'wildcard':'acct-1*'}]}",
        "{'a':[{'wildcard':'x*a-very-long-tail'}]}",
        "{'a':[{'wildcard':'x*\\\\*y'}]}",
        "{'a':[{'wildcard':'ab*b*ba'}]}"
    };
    const char *events [] = {
        "{'a':'aba'}", "{'a':'abba'}", "{'a':'abxba'}", "{'a':'abab'}", "{'a':'ab'}",
        "{'a':'acct-1-eu'}", "{'a':'acct-1-e'}", "{'a':'acct-1eu'}", "{'a':'acct-12-eu'}",
        "{'a':'acct-1-us','b':'x'}", "{'a':'acct-1-us'}", "{'a':'acct-2-eu'}", "{'a':['zz','acct-13-eu']}",
        "{'a':'xa-very-long-tail'}", "{'a':'x-a-very-long-tail'}", "{'a':'x*y'}", "{'a':'xy'}",
        "{'a':'abba'}", "{'a':'abbba'}", "{'a':'abbbba'}", "{'a':7}"
    };
    s_agree_all (patterns, COUNT (patterns), events, COUNT (events));
    s_rules_t rules;                //  and the answers are the ones a reader expects
    s_rules_init (&rules);
    s_rules_add_all (&rules, patterns, 2);
    s_rules_compile (&rules);
    assert_int_equal (s_agree_json (&rules, "{'a':'aba'}"), 0);
    assert_int_equal (s_agree_json (&rules, "{'a':'abba'}"), 1);
    assert_int_equal (s_agree_json (&rules, "{'a':'acct-1-eu'}"), 1);
    assert_int_equal (s_agree_json (&rules, "{'a':'acct-1-e'}"), 0);
    s_rules_fini (&rules);
}

//  The guard trie's nodes are looked up by the hash of their path, and the
//  sets an event reaches are tested after the rest, past a list's room at
//  once: an event whose arrays fire every STAMP of 5 x 5 pairs (and of
//  triples under them) reaches more sets than the list holds.
static void
test_automaton_many_guard_sets_answer_as_the_interpreter (void **state)
{
    (void) state;
    s_rules_t rules;
    s_rules_init (&rules);
    int count = 0;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            char pattern [256];
            snprintf (pattern, sizeof (pattern),
                      "{'a':['a%d'],'b':['b%d'],'detail':{'status':[{'anything-but':'bad'}]}}", i, j);
            s_rules_add_quoted (&rules, pattern);
            snprintf (pattern, sizeof (pattern),
                      "{'a':['a%d'],'b':['b%d'],'detail':{'coupon':[{'exists':true}]}}", i, j);
            s_rules_add_quoted (&rules, pattern);
            snprintf (pattern, sizeof (pattern),
                      "{'a':['a%d'],'b':['b%d'],'c':['c%d'],'detail':{'amount':[{'numeric':['>',%d]}]}}",
                      i, j, (i + j) % 2, i);
            s_rules_add_quoted (&rules, pattern);
            count += 3;
        }
    s_rules_compile (&rules);
    const char *all = "'a':['a0','a1','a2','a3','a4'],'b':['b4','b3','b2','b1','b0']";
    char event [512];
    snprintf (event, sizeof (event), "{%s,'c':['c0','c1'],'detail':{'status':'ok','coupon':1,'amount':9}}", all);
    assert_int_equal (s_agree_json (&rules, event), count);
    snprintf (event, sizeof (event), "{%s,'c':'c1','detail':{'status':'bad','amount':2}}", all);
    //  amount 2 > i for i < 2, with (i + j) odd: i = 0, j = 1 or 3; i = 1, j = 0, 2 or 4
    assert_int_equal (s_agree_json (&rules, event), 5);
    snprintf (event, sizeof (event), "{'detail':{'status':'ok','coupon':1},%s}", all);
    assert_int_equal (s_agree_json (&rules, event), 50);
    assert_int_equal (s_agree_json (&rules, "{'a':'a2','b':'b3','c':'c1','detail':{'amount':3,'status':'ok'}}"), 2);
    assert_int_equal (s_agree_json (&rules, "{'a':'a2','c':'c1','detail':{'amount':3,'status':'ok'}}"), 0);
    s_rules_fini (&rules);
}

//  {"source": s, key: value} packed by hand, for the values JSON cannot
//  write (NaN, the infinities).
static int
s_agree_double (const s_rules_t *rules, const char *key, double value)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "source", 6);
    msgpack_pack_str_with_body (&pk, "s", 1);
    msgpack_pack_str_with_body (&pk, key, strlen (key));
    msgpack_pack_double (&pk, value);
    int matched = s_agree (rules, buffer.data, buffer.size, key);
    msgpack_sbuffer_destroy (&buffer);
    return matched;
}

//  A guard whose field is one test of a common kind (exists, one range,
//  anything-but one string of 16 bytes at most) holds that test itself:
//  each against the interpreter at its edges, with NaN and the infinities,
//  which match no value test, and with leaves of every type.
static void
test_automaton_guards_that_hold_their_test_answer_as_the_interpreter (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'source':['s'],'amount':[{'numeric':['>',1,'<=',5]}]}",
        "{'source':['s'],'amount':[{'numeric':['>=',1,'<',5]}]}",
        "{'source':['s'],'amount':[{'numeric':['<',0]}]}",
        "{'source':['s'],'status':[{'anything-but':'ab'}]}",
        "{'source':['s'],'status':[{'anything-but':''}]}",
        "{'source':['s'],'status':[{'anything-but':'sixteen-bytes-ab'}]}",
        "{'source':['s'],'status':[{'anything-but':'seventeen-bytes-a'}]}",
        "{'source':['s'],'status':[{'anything-but':['ab','cd']}]}",
        "{'source':['s'],'coupon':[{'exists':true}]}",
        "{'source':['s'],'coupon':[{'exists':true},{'anything-but':'x'}]}",
    };
    s_rules_t rules;
    s_rules_init (&rules);
    s_rules_add_all (&rules, patterns, COUNT (patterns));
    s_rules_compile (&rules);
    const char *events [] = {
        "{'source':'s','amount':1}", "{'source':'s','amount':5}", "{'source':'s','amount':1.0000001}",
        "{'source':'s','amount':4.9999999}", "{'source':'s','amount':-1}", "{'source':'s','amount':-0.0}",
        "{'source':'s','amount':'3'}", "{'source':'s','amount':null}", "{'source':'s','amount':[9,3]}",
        "{'source':'s','amount':9223372036854775807}", "{'source':'s','amount':-9223372036854775808}",
        "{'source':'s','status':'ab'}", "{'source':'s','status':'aa'}", "{'source':'s','status':'a'}",
        "{'source':'s','status':''}", "{'source':'s','status':'abc'}", "{'source':'s','status':'cd'}",
        "{'source':'s','status':'sixteen-bytes-ab'}", "{'source':'s','status':'sixteen-bytes-aa'}",
        "{'source':'s','status':'seventeen-bytes-a'}", "{'source':'s','status':'seventeen-bytes-b'}",
        "{'source':'s','status':7}", "{'source':'s','status':null}", "{'source':'s','status':true}",
        "{'source':'s','status':['ab','']}", "{'source':'s','status':{'ab':1}}", "{'source':'s','status':[]}",
        "{'source':'s','coupon':null}", "{'source':'s','coupon':false}", "{'source':'s','coupon':'x'}",
        "{'source':'s','coupon':[]}", "{'source':'s','coupon':{}}", "{'source':'t','coupon':'y','status':'q'}",
    };
    for (size_t i = 0; i < COUNT (events); i++)
        s_agree_json (&rules, events [i]);
    //  The answers a reader expects, for a few
    assert_int_equal (s_agree_json (&rules, "{'source':'s','amount':5}"), 1);
    assert_int_equal (s_agree_json (&rules, "{'source':'s','status':'ab'}"), 3);
    assert_int_equal (s_agree_json (&rules, "{'source':'s','status':'aa'}"), 5);
    assert_int_equal (s_agree_json (&rules, "{'source':'s','status':''}"), 4);
    assert_int_equal (s_agree_json (&rules, "{'source':'s','status':'sixteen-bytes-ab'}"), 4);
    assert_int_equal (s_agree_json (&rules, "{'source':'s','coupon':null}"), 2);
    const double odd [] = { NAN, INFINITY, -INFINITY, 3.0, -2.5 };
    for (size_t i = 0; i < COUNT (odd); i++) {
        s_agree_double (&rules, "amount", odd [i]);
        s_agree_double (&rules, "status", odd [i]);
        s_agree_double (&rules, "coupon", odd [i]);
    }
    assert_int_equal (s_agree_double (&rules, "amount", NAN), 0);
    assert_int_equal (s_agree_double (&rules, "amount", -INFINITY), 0);
    assert_int_equal (s_agree_double (&rules, "status", NAN), 0);
    assert_int_equal (s_agree_double (&rules, "status", 2.0), 5);
    assert_int_equal (s_agree_double (&rules, "coupon", INFINITY), 2);
    s_rules_fini (&rules);
}

static void
test_automaton_guarded_rules_answer_as_the_interpreter (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'source':['a'],'detail':{'status':[{'anything-but':'bad'}]}}",
        "{'source':['a'],'detail-type':['t'],'detail':{'status':[{'anything-but':['bad','worse']}]}}",
        "{'source':['a'],'detail-type':['t'],'detail':{'coupon':[{'exists':true}]}}",
        "{'source':['b'],'detail-type':['t'],'detail':{'amount':[{'numeric':['>=',10,'<',20]}]}}",
        "{'source':['b'],'detail':{'amount':[{'numeric':['>',100]},{'anything-but':{'prefix':'x'}}]}}",
        "{'source':['a'],'detail':{'where':{'ip':[{'cidr':'10.0.0.0/24'}]}}}",
        "{'detail-type':['t'],'region':['eu'],'detail':{'status':[{'anything-but':{'suffix':'ing'}}]}}",
        "{'source':['a'],'$or':[{'detail':{'status':[{'anything-but':'ok'}]}},{'detail':{'code':[7]}}]}",
        "{'source':['c'],'detail':{'list':[{'anything-but':'z'}]}}",
        "{'detail':{'status':[{'anything-but':'bad'}]}}",
    };
    const char *events [] = {
        "{'source':'a','detail':{'status':'ok'}}",
        "{'source':'a','detail':{'status':'bad'}}",
        "{'source':'a','detail':{'status':['bad','ok']}}",
        "{'source':'a','detail':{'status':['bad','bad']}}",
        "{'source':'a','detail':{'status':7}}",
        "{'source':'a','detail':{'status':{'bad':1}}}",
        "{'source':'a','detail':{}}",
        "{'source':'a','detail-type':'t','detail':{'status':'worse','coupon':'c1'}}",
        "{'source':'a','detail-type':'t','detail':{'status':'fine','coupon':{'x':1}}}",
        "{'source':'a','detail-type':'t','detail':{'coupon':[]}}",
        "{'source':'a','detail-type':'u','detail':{'status':'fine','coupon':'c1'}}",
        "{'source':'b','detail-type':'t','detail':{'amount':15}}",
        "{'source':'b','detail-type':'t','detail':{'amount':[5,25,10]}}",
        "{'source':'b','detail':{'amount':'xy'}}",
        "{'source':'b','detail':{'amount':'yx'}}",
        "{'source':'b','detail':{'amount':150.5}}",
        "{'source':'a','detail':{'where':{'ip':'10.0.0.9'}}}",
        "{'source':'a','detail':{'where':[{'ip':'10.0.1.9'},{'ip':'10.0.0.1'}]}}",
        "{'source':'a','detail':[{'status':'bad'},{'status':'ok'}]}",
        "{'detail-type':'t','region':'eu','detail':{'status':'running'}}",
        "{'detail-type':'t','region':'eu','detail':{'status':'stopped'}}",
        "{'detail-type':'t','region':'us','detail':{'status':'stopped'}}",
        "{'source':'a','detail':{'code':7,'status':'ok'}}",
        "{'source':'a','detail':{'code':8,'status':'ok'}}",
        "{'source':'c','detail':{'status':'bad'}}",
        "{'source':'ca','detail':{'status':'ok'}}",
    };
    s_agree_all (patterns, COUNT (patterns), events, COUNT (events));

    //  The exact fields came, and the guarded one got more leaves than the
    //  walk keeps: the answer is still the interpreter's, whether the one
    //  leaf that holds comes first, last, or not at all
    s_rules_t rules;
    s_rules_init (&rules);
    s_rules_add_all (&rules, patterns, COUNT (patterns));
    s_rules_compile (&rules);
    for (int where = 0; where < 3; where++) {
        char event [4096] = "{'source':'c','detail':{'list':[";
        for (int i = 0; i < 100; i++) {
            bool odd = (where == 0 && i == 0) || (where == 1 && i == 99);
            strcat (event, odd? "'y'": "'z'");
            strcat (event, i < 99? ",": "]}}");
        }
        assert_int_equal (s_agree_json (&rules, event), where < 2? 1: 0);
    }
    //  ...and when the leaves that fill it are at another rule's path:
    //  of the rules of source a, only the `$or` one holds ('bad' is not 'ok')
    char event [4096] = "{'source':'a','detail':{'status':'bad','list':[";
    for (int i = 0; i < 100; i++)
        strcat (event, i < 99? "'z',": "'z']}}");
    assert_int_equal (s_agree_json (&rules, event), 1);
    s_rules_fini (&rules);
}

//  An event that many rules match, some of them more than once (a value
//  in an array that two of its tests name, `$or` branches that both hold,
//  JOINs of one sub-rule between them): each rule is in the list once,
//  in a small set (told apart by their slots) and in a large one (the
//  first few told apart by a look at the list, then by their slots).
static void
s_many_hits (int fillers)
{
    s_rules_t rules;
    s_rules_init (&rules);
    for (int i = 0; i < fillers; i++) {
        char pattern [64];
        snprintf (pattern, sizeof (pattern), "{\"source\":[\"filler-%d\"]}", i);
        assert_true (s_rules_add (&rules, pattern));
    }
    for (int i = 0; i < 60; i++) {
        char pattern [256];
        switch (i % 4) {
            case 0:
                snprintf (pattern, sizeof (pattern), "{'detail':{'v':['x','y','n%d']}}", i);
                break;
            case 1:
                snprintf (pattern, sizeof (pattern),
                          "{'$or':[{'detail':{'v':['x']}},{'detail':{'w':[{'prefix':'a'}]}}],'k':['n%d','k']}", i);
                break;
            case 2:
                snprintf (pattern, sizeof (pattern), "{'source':['s'],'detail':{'v':['y'],'w':['ab','n%d']}}", i);
                break;
            default:
                snprintf (pattern, sizeof (pattern), "{'detail':{'w':[{'prefix':'a'},{'prefix':'ab'},'n%d']}}", i);
                break;
        }
        s_rules_add_quoted (&rules, pattern);
    }
    s_rules_compile (&rules);
    assert_int_equal (s_agree_json (&rules, "{'source':'s','k':'k','detail':{'v':['x','y','x'],'w':['ab','abc']}}"), 60);
    assert_int_equal (s_agree_json (&rules, "{'source':'t','k':'k','detail':{'v':['y','x'],'w':'ab'}}"), 45);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'v':'q','w':'a'}}"), 15);
    s_rules_fini (&rules);
}

static void
test_automaton_many_hits_are_listed_once (void **state)
{
    (void) state;
    s_many_hits (0);
    s_many_hits (9000);         //  past S_SLOTS_CACHED rules
}

//  Team rules (exact fields all shared but one, looked up by key): the one
//  of its own decides the rule once the shared ones came, whichever comes
//  first in the event, however many of them come before the shared ones.
static void
test_automaton_team_rules_answer_in_any_order (void **state)
{
    (void) state;
    s_rules_t rules;
    s_rules_init (&rules);
    for (int i = 0; i < 100; i++) {
        char pattern [256];
        if (i % 5 == 4)
            snprintf (pattern, sizeof (pattern), "{'source':['a'],'detail-type':['t'],'detail':{'id':[{'prefix':'p%d-'}]}}", i);
        else
            snprintf (pattern, sizeof (pattern), "{'source':['a'],'detail-type':['t'],'detail':{'id':['i%d','i%d']}}", i, i % 3);
        s_rules_add_quoted (&rules, pattern);
    }
    s_rules_compile (&rules);
    //  The shared fields first, then after the rule's own, then one missing
    assert_int_equal (s_agree_json (&rules, "{'source':'a','detail-type':'t','detail':{'id':'i7'}}"), 1);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'id':'i7'},'source':'a','detail-type':'t'}"), 1);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'id':'i7'},'source':'a'}"), 0);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'id':['p9-x','i1']},'detail-type':'t','source':'a'}"), 27);
    //  Every rule's own value before the shared ones: more than the walk
    //  keeps waiting
    char event [8192] = "{'detail':{'id':[";
    for (int i = 0; i < 100; i++) {
        char value [16];
        snprintf (value, sizeof (value), i % 5 == 4? "'p%d-z'%s": "'i%d'%s", i, i < 99? ",": "");
        strcat (event, value);
    }
    strcat (event, "]},'source':'a','detail-type':'t'}");
    assert_int_equal (s_agree_json (&rules, event), 100);
    event [strlen (event) - 3] = 'u';       //  detail-type 'u'
    assert_int_equal (s_agree_json (&rules, event), 0);
    s_rules_fini (&rules);
}

//  In a large table, the probes of a field whose entries are all rules and
//  team rules wait to the end of the walk (a few at a time): the answers are
//  the interpreter's whatever the order, the number of values, the stamps.
static void
test_automaton_waiting_probes_answer_as_the_interpreter (void **state)
{
    (void) state;
    s_rules_t rules;
    s_rules_init (&rules);
    for (int i = 0; i < 6000; i++) {
        char pattern [256];
        if (i % 3 == 0)             //  a team rule: a cond on id
            snprintf (pattern, sizeof (pattern), "{'source':['a'],'detail-type':['t'],'detail':{'id':['i%d']}}", i);
        else
        if (i % 3 == 1)             //  a rule of one field
            snprintf (pattern, sizeof (pattern), "{'detail':{'id':['i%d']}}", i);
        else                        //  two fields of its own: not waited for
            snprintf (pattern, sizeof (pattern), "{'detail':{'other':['o%d'],'more':['m%d']}}", i, i);
        s_rules_add_quoted (&rules, pattern);
    }
    s_rules_compile (&rules);
    assert_int_equal (s_agree_json (&rules, "{'source':'a','detail-type':'t','detail':{'id':'i3'}}"), 1);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'id':'i3'},'source':'a','detail-type':'t'}"), 1);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'id':'i3'},'source':'a'}"), 0);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'id':'i4'}}"), 1);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'other':'o5','more':'m5'}}"), 1);
    //  More values than wait at once, before and after the stamps
    for (int stamps = 0; stamps < 3; stamps++) {
        char event [4096] = "";
        if (stamps == 1)
            strcat (event, "{'source':'a','detail-type':'t','detail':{'id':[");
        else
            strcat (event, "{'detail':{'id':[");
        for (int i = 0; i < 30; i++) {
            char value [16];
            snprintf (value, sizeof (value), "'i%d'%s", i * 7, i < 29? ",": "");
            strcat (event, value);
        }
        strcat (event, "],'other':'o8','more':'m8'}");
        strcat (event, stamps == 2? ",'source':'a','detail-type':'t'}": "}");
        //  i*7 for i < 30: 10 team rules (i*7 % 3 == 0), 10 of one field, and o8/m8
        assert_int_equal (s_agree_json (&rules, event), stamps? 21: 11);
    }
    s_rules_fini (&rules);
}

//  In a large table, nested prefixes and wildcards whose tail sits in the
//  slot ("p-12*-eu") wait to the end of the walk too, with the leaf's
//  string kept for the tail: the interpreter's answers for values that
//  meet several of them, values shorter than a head and its tail, values
//  that are not strings, more values than wait at once. A long tail ("*-europe")
//  is not in its slot, and keeps its field from waiting: answered alike.
static void
test_automaton_waiting_prefixes_and_tails_answer_as_the_interpreter (void **state)
{
    (void) state;
    s_rules_t rules;
    s_rules_init (&rules);
    for (int i = 0; i < 6000; i++) {
        char pattern [256];
        if (i % 4 == 0 || i % 4 == 2)
            snprintf (pattern, sizeof (pattern), "{'detail':{'acct':[{'prefix':'p-%d'}]}}", i);
        else
        if (i % 4 == 1)
            snprintf (pattern, sizeof (pattern), "{'detail':{'acct':[{'wildcard':'p-%d*-eu'}]}}", i);
        else
            snprintf (pattern, sizeof (pattern), "{'detail':{'acct':[{'wildcard':'p-%d*'}]}}", i);
        s_rules_add_quoted (&rules, pattern);
        if (i % 100 == 5) {         //  on another field, with long tails
            snprintf (pattern, sizeof (pattern), "{'detail':{'long':[{'wildcard':'q-%d*-europe'}]}}", i);
            s_rules_add_quoted (&rules, pattern);
        }
    }
    s_rules_compile (&rules);
    //  p-1, p-13, p-135, p-1357: prefixes 0 mod 2, tails 1 mod 4, stars 3 mod 4
    //  (1, 13 and 1357 want -eu; 135 takes anything)
    assert_int_equal (s_agree_json (&rules, "{'detail':{'acct':'p-1357-eu'}}"), 4);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'acct':'p-1357-us'}}"), 1);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'acct':'p-1357'}}"), 1);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'acct':'p-1-e'}}"), 0);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'acct':'p-2468-eu'}}"), 4);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'acct':'p-5-eu'}}"), 1);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'acct':'p-'}}"), 0);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'acct':13}}"), 0);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'long':'q-105-x-europe','acct':'p-105-eu'}}"), 4);
    assert_int_equal (s_agree_json (&rules, "{'detail':{'long':'q-105-europ'}}"), 0);
    //  Values of one event enough to fill the queue several times over
    char event [4096] = "{'detail':{'acct':[";
    for (int i = 0; i < 20; i++) {
        char value [32];
        snprintf (value, sizeof (value), "'p-%d%d-eu',%s", i % 9 + 1, i, i == 19? "7": "");
        strcat (event, value);
    }
    strcat (event, "]}}");
    assert_true (s_agree_json (&rules, event) > 20);
    s_rules_fini (&rules);
}

static void
test_automaton_or_expands_into_sub_rules (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'source':['s'],'detail':{'$or':[{'c':[{'numeric':['>',0,'<=',5]}]},{'d':[{'numeric':['<',10]}]}]}}",
        "{'$or':[{'a':['1']},{'$or':[{'b':['2']},{'c':['3']}]}]}",
        "{'d':{'k':['x'],'$or':[{'a':['1']},{'b':['2']}]}}",
        "{'$or':[{'a':[{'exists':false}]},{'b':[{'exists':false}]}]}",
        "{'$or':[{'a':['1'],'b':['2']},{'c':{'$or':[{'x':['1']},{'y':[{'exists':false}]}]}}]}",
        //  Inside an object that only asks for absence: left to the interpreter
        "{'d':{'$or':[{'a':[{'exists':false}]},{'b':[{'exists':false}]}]}}",
        //  A field named $or (not a group: a list of values)
        "{'$or':['x'],'a':['1']}",
    };
    const char *events [] = {
        "{'source':'s','detail':{'c':3}}",
        "{'source':'s','detail':{'d':-1}}",
        "{'source':'s','detail':{'c':6,'d':10}}",
        "{'c':'3'}",
        "{'a':'1','b':'2'}",
        "{'d':[{'k':'y','a':'1'},{'k':'x','b':'2'}]}",
        "{'d':[{'k':'x','a':'0'},{'k':'y','b':'2'}]}",
        "{'d':[{'a':1},{'b':1}]}",
        "{'d':[{'a':1,'b':1},{'c':1}]}",
        "{'d':[{'a':1,'b':1}]}",
        "{'d':{'a':1}}",
        "{'c':{'x':'1'}}",
        "{'c':[{'y':1},{'x':'0'}]}",
        "{'c':[{'y':1},{'x':'1'}]}",
        "{'$or':'x','a':'1'}",
        "{}",
    };
    s_agree_all (patterns, COUNT (patterns), events, COUNT (events));
}

static void
test_automaton_negative_conditions_hold_until_broken (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'a':[{'exists':false}]}",
        "{'a':{'b':[{'exists':false}]}}",
        "{'a':[{'anything-but':['x']},{'exists':false}]}",
        "{'a':[{'anything-but':'x'}]}",
        "{'a':[{'exists':false},{'prefix':'y'}],'b':['1']}",
        "{'d':{'a':[{'exists':true}],'b':[{'exists':false}]}}",
        "{'d':{'a':[{'exists':false}],'b':[{'exists':false}]}}",
        "{'d':{'a':[{'exists':false}]},'e':['1']}",
        "{'d':{'x':{'y':[{'exists':false}]}}}",
        "{'d':[{'exists':false}],'d.x':['1']}",
        "{'d':[{'prefix':'a'}],'d.x':[{'exists':false}]}",
        "{'replay-name':[{'exists':false}],'source':['s']}",
        //  Fields that may all be missing, but not only asking for absence:
        //  a scalar or [] element (which holds no fields) satisfies it
        "{'d':{'a':[{'exists':false}],'b':[{'anything-but':'x'},{'exists':false}]}}",
    };
    const char *events [] = {
        "{}",
        "{'a':'x'}",
        "{'a':'y'}",
        "{'a':null}",
        "{'a':{'b':1}}",
        "{'a':{'c':1}}",
        "{'a':[]}",
        "{'a':['x','y']}",
        "{'a':['x']}",
        "{'a':5,'b':'1'}",
        "{'a':'yes','b':'1'}",
        "{'d':[{'a':1,'b':1},{'a':2}]}",
        "{'d':[{'a':1,'b':1},{'b':2}]}",
        "{'d':[{'b':1},{'a':1}]}",
        "{'d':[{'b':1},{'c':1}],'e':'1'}",
        "{'d':[],'e':'1'}",
        "{'d':[1,2],'e':'1'}",
        "{'d':[{'x':{'y':1}},{'x':2}]}",
        "{'d':[{'x':[{'y':1}]}]}",
        "{'d':[[{'x':{'y':1}}],[]]}",
        "{'d':{'x':'1'}}",
        "{'d':'abc'}",
        "{'d':['abc',{'x':'1'}]}",
        "{'d':['zz',{'x':'2'}]}",
        "{'source':'s','replay-name':'r'}",
        "{'source':'s'}",
        "{'d':[1,{'a':1}]}",
        "{'d':[[],{'a':1}]}",
        "{'d':[[[]],{'a':1}]}",
        "{'d':[{'a':1},{'b':'x'}]}",
        "{'d':[{'a':1},{'b':'y'}]}",
    };
    s_agree_all (patterns, COUNT (patterns), events, COUNT (events));
}

static void
test_automaton_arrays_are_matched_element_by_element (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'d':{'name':['alice'],'status':['active']}}",
        "{'d':{'name':[{'exists':true}],'info':{'x':['1']}}}",
        "{'d':{'name':['alice']}}",
        "{'a':{'b':{'c':['x'],'e':['y']}}}",
        "{'a':{'b':{'c':['x']},'f':['z']}}",
        "{'detail':{'items':{'sku':['A1'],'qty':[{'numeric':['>',1]}]}}}",
        "{'m':{'metricName':['CPUUtilization','ReadLatency'],'namespace':['AWS/EC2','AWS/ES']}}",
    };
    const char *events [] = {
        "{'d':[{'name':'bob','status':'active'},{'name':'alice','status':'active'}]}",
        "{'d':[{'name':'alice','status':'idle'},{'name':'bob','status':'active'}]}",
        "{'d':[{'info':{'x':'1'}},{'name':'n','info':{'x':'1'}}]}",
        "{'d':[{'name':'n','info':{'x':'0'}},{'info':{'x':'1'}}]}",
        "{'d':[{'name':'n','info':[{'x':'0'},{'x':'1'}]}]}",
        "{'d':[[{'name':'alice'},{'status':'active'}],{'name':'alice','status':'active'}]}",
        "{'d':[[{'name':'alice'}],[{'status':'active'}]]}",
        "{'a':[{'b':[{'c':'x'},{'e':'y'}]}]}",
        "{'a':[{'b':[{'c':'x','e':'y'}]}]}",
        "{'a':[{'b':{'c':'x'}},{'f':'z'}]}",
        "{'a':[{'b':{'c':'x'},'f':'z'}]}",
        "{'detail':{'items':[{'sku':'A1','qty':1},{'sku':'B2','qty':2}]}}",
        "{'detail':{'items':[{'sku':'A1','qty':2}]}}",
        "{'m':[{'metricName':'CPUUtilization','namespace':'AWS/ES'}]}",
        "{'m':[{'metricName':'CPUUtilization','namespace':'AWS/X'},{'metricName':'Y','namespace':'AWS/ES'}]}",
    };
    s_agree_all (patterns, COUNT (patterns), events, COUNT (events));
}

//  Numeric ranges are kept sorted by bound: many of them on one field, with
//  shared bounds, against numbers on, beside and between the bounds, as
//  ints and as floats, and the doubles that compare oddly.
static void
test_automaton_numeric_ranges_on_one_field (void **state)
{
    (void) state;
    const char *bounds [] = { "-5", "-0.5", "0", "1", "1.5", "2", "300", "1e9" };
    const char *ops [] = { ">", ">=", "<", "<=" };
    s_rules_t rules;
    s_rules_init (&rules);
    for (size_t i = 0; i < COUNT (bounds); i++)
        for (size_t op = 0; op < COUNT (ops); op++) {
            char pattern [128];
            snprintf (pattern, sizeof (pattern), "{\"n\":[{\"numeric\":[\"%s\",%s]}]}", ops [op], bounds [i]);
            assert_true (s_rules_add (&rules, pattern));
            for (size_t j = i + 1; j < COUNT (bounds); j += 2) {
                snprintf (pattern, sizeof (pattern), "{\"n\":[{\"numeric\":[\"%s\",%s,\"%s\",%s]}]}",
                          op % 2? ">=": ">", bounds [i], op / 2? "<=": "<", bounds [j]);
                assert_true (s_rules_add (&rules, pattern));
            }
        }
    assert_true (s_rules_add (&rules, "{\"n\":[{\"numeric\":[\"=\",1.5]},{\"numeric\":[\"<\",-1]}]}"));
    assert_true (s_rules_add (&rules, "{\"n\":[{\"numeric\":[\">\",1]}],\"m\":[{\"numeric\":[\"<\",1]}]}"));
    s_rules_compile (&rules);
    const char *numbers [] = { "-6", "-5", "-5.0", "-4.9", "-0.5", "-0.0", "0", "0.0", "0.5", "1", "1.0",
                               "1.5", "2", "2.0", "299", "300", "300.5", "1000000000", "1e9", "2e9",
                               "9007199254740993", "-9223372036854775808", "[0, 5]", "[]", "\"1\"", "null" };
    for (size_t i = 0; i < COUNT (numbers); i++) {
        char json [128];
        snprintf (json, sizeof (json), "{\"n\":%s,\"m\":%s}", numbers [i], numbers [COUNT (numbers) - 1 - i]);
        size_t size;
        void *data = s_pack (json, &size);
        s_agree (&rules, data, size, json);
        free (data);
    }
    //  Doubles JSON cannot write: infinities and NaN (float64 and float32)
    const uint8_t specials [][9] = {
        { 0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0 }, { 0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0 },
        { 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0 }, { 0xca, 0x7f, 0x80, 0, 0 }, { 0xca, 0xff, 0xc0, 0, 0 },
    };
    for (size_t i = 0; i < COUNT (specials); i++) {
        uint8_t event [12] = { 0x81, 0xa1, 'n' };
        size_t size = specials [i][0] == 0xcb? 9: 5;
        memcpy (event + 3, specials [i], size);
        s_agree (&rules, event, 3 + size, "special double");
    }
    s_rules_fini (&rules);
}

static void
test_automaton_repeated_and_dotted_keys_answer_as_the_interpreter (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'a':{'b':['1']}}",
        "{'a':{'b':['1'],'c':['2']}}",
        "{'a':{'b':[{'exists':false}]}}",
        "{'state':{'status':['running']}}",
    };
    s_rules_t rules;
    s_rules_init (&rules);
    s_rules_add_all (&rules, patterns, COUNT (patterns));
    s_rules_compile (&rules);
    const char *events [] = {
        "{'a.b':'1'}",
        "{'a.b':'1','a.c':'2'}",
        "{'a':{'x':0},'a.b':'1'}",
        "{'a.b':'2','a':{'b':'1'}}",
        "{'a.c':'1'}",
        "{'state.status':'running'}",
        "{'a':{'b.x':'1','b':'1'}}",
    };
    for (size_t i = 0; i < COUNT (events); i++)
        s_agree_json (&rules, events [i]);

    //  Repeated keys: the last occurrence counts. {"a": {"b": "1", "b": "2"}}
    //  and {"a": {"b": "2"}, "a": {"b": "1", "c": "2"}}, written by hand
    const uint8_t repeated_inner [] = { 0x81, 0xa1, 'a', 0x82, 0xa1, 'b', 0xa1, '1', 0xa1, 'b', 0xa1, '2' };
    assert_int_equal (s_agree (&rules, repeated_inner, sizeof (repeated_inner), "repeated b"), 0);
    const uint8_t repeated_outer [] = { 0x82, 0xa1, 'a', 0x81, 0xa1, 'b', 0xa1, '2',
                                        0xa1, 'a', 0x82, 0xa1, 'b', 0xa1, '1', 0xa1, 'c', 0xa1, '2' };
    assert_int_equal (s_agree (&rules, repeated_outer, sizeof (repeated_outer), "repeated a"), 2);
    s_rules_fini (&rules);
}

//  NaN and the infinities (which JSON cannot write, so the broker refuses
//  them; through the library they can reach a matcher) match nothing but
//  exists, in both engines: not numeric (+inf is not > 200), not an exact
//  number or null, not anything-but. Both engines, and the rule alone.
static void
test_automaton_non_finite_floats_match_only_exists (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'n':[{'numeric':['>',200]}]}", "{'n':[{'numeric':['<',0]}]}",
        "{'n':[{'numeric':['>=',-1e308,'<=',1e308]}]}", "{'n':[300]}", "{'n':[300.5]}", "{'n':[null]}",
        "{'n':[{'anything-but':[1]}]}", "{'n':[{'anything-but':'x'}]}",
        "{'n':[{'anything-but':{'prefix':'x'}}]}", "{'n':[{'exists':false}]}",
        "{'n':[{'exists':true}]}",
    };
    s_rules_t rules;
    s_rules_init (&rules);
    s_rules_add_all (&rules, patterns, COUNT (patterns));
    s_rules_compile (&rules);
    const uint8_t specials [][9] = {
        { 0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0 },     //  +inf
        { 0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0 },     //  -inf
        { 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0 },     //  NaN
        { 0xca, 0x7f, 0x80, 0, 0 },                 //  +inf, float32
        { 0xca, 0xff, 0x80, 0, 0 },                 //  -inf, float32
        { 0xca, 0xff, 0xc0, 0, 0 },                 //  NaN, float32
    };
    for (size_t i = 0; i < COUNT (specials); i++) {
        uint8_t event [16] = { 0x81, 0xa1, 'n' };
        size_t size = specials [i][0] == 0xcb? 9: 5;
        memcpy (event + 3, specials [i], size);
        assert_int_equal (s_agree (&rules, event, 3 + size, "non-finite"), 1);
        mesh_error_t err = { 0 };
        assert_int_equal (mesh_rule_match (rules.rules [COUNT (patterns) - 1], event, 3 + size, &err), 1);
        //  In an array, beside a finite number, the finite one answers
        uint8_t array [24] = { 0x81, 0xa1, 'n', 0x92 };
        memcpy (array + 4, specials [i], size);
        array [4 + size] = 0xcd;                    //  uint16 300
        array [5 + size] = 0x01;
        array [6 + size] = 0x2c;
        //  > 200, the range, 300, anything-but 1, anything-but 'x' and its prefix, exists
        assert_int_equal (s_agree (&rules, array, 7 + size, "non-finite beside 300"), 7);
    }
    s_rules_fini (&rules);
}

//  MessagePack that the JSON converter never writes: float32, uint64
//  beyond int64, bin, ext, non-string keys, str8 keys.
static void
test_automaton_reads_every_messagepack_form (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'n':[300]}", "{'n':[300.0]}", "{'n':[{'numeric':['=',300]}]}", "{'n':[{'exists':true}]}",
        "{'n':[{'anything-but':[300]}]}", "{'n':[9223372036854775807]}", "{'n':[1.5]}",
        "{'k':['v']}", "{'b':[{'exists':true}]}", "{'b':[{'anything-but':'x'}]}", "{'b':['a']}",
    };
    s_rules_t rules;
    s_rules_init (&rules);
    s_rules_add_all (&rules, patterns, COUNT (patterns));
    s_rules_compile (&rules);
    const uint8_t float32 [] = { 0x81, 0xa1, 'n', 0xca, 0x43, 0x96, 0x00, 0x00 };       //  300.0f
    const uint8_t float32_half [] = { 0x81, 0xa1, 'n', 0xca, 0x3f, 0xc0, 0x00, 0x00 };  //  1.5f
    const uint8_t uint16 [] = { 0x81, 0xa1, 'n', 0xcd, 0x01, 0x2c };                    //  300
    const uint8_t int64 [] = { 0x81, 0xa1, 'n', 0xd3, 0, 0, 0, 0, 0, 0, 0x01, 0x2c };   //  300
    const uint8_t uint64_max [] = { 0x81, 0xa1, 'n', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    const uint8_t str8_key [] = { 0x81, 0xd9, 0x01, 'k', 0xd9, 0x01, 'v' };
    const uint8_t bin [] = { 0x81, 0xa1, 'b', 0xc4, 0x01, 'a' };
    const uint8_t ext [] = { 0x81, 0xa1, 'b', 0xd4, 0x01, 'a' };
    const uint8_t int_key [] = { 0x82, 0x01, 0xa1, 'x', 0xa1, 'k', 0xa1, 'v' };
    const uint8_t map_key [] = { 0x82, 0x81, 0xa1, 'k', 0xa1, 'v', 0xa1, 'x', 0xa1, 'k', 0xa1, 'v' };
    const struct { const uint8_t *data; size_t size; int matched; } cases [] = {
        { float32, sizeof (float32), 4 }, { float32_half, sizeof (float32_half), 3 },
        { uint16, sizeof (uint16), 4 }, { int64, sizeof (int64), 4 },
        { uint64_max, sizeof (uint64_max), 2 }, { str8_key, sizeof (str8_key), 1 },
        { bin, sizeof (bin), 2 }, { ext, sizeof (ext), 2 }, { int_key, sizeof (int_key), 1 },
        { map_key, sizeof (map_key), 1 },
    };
    for (size_t i = 0; i < COUNT (cases); i++) {
        char what [32];
        snprintf (what, sizeof (what), "case %zu", i);
        assert_int_equal (s_agree (&rules, cases [i].data, cases [i].size, what), cases [i].matched);
    }
    s_rules_fini (&rules);
}

//  Bytes the interpreter refuses are refused, with its words.
static void
test_automaton_refuses_exactly_what_the_interpreter_refuses (void **state)
{
    (void) state;
    const char *patterns [] = { "{'a':['1']}", "{'a':{'b':[{'exists':false}]}}", "{'z':[{'exists':false}]}" };
    s_rules_t rules;
    s_rules_init (&rules);
    s_rules_add_all (&rules, patterns, COUNT (patterns));
    s_rules_compile (&rules);

    const uint8_t good [] = { 0x82, 0xa1, 'a', 0xa1, '1', 0xa1, 'x', 0x92, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3 };
    assert_int_equal (s_agree (&rules, good, sizeof (good), "good"), 3);
    //  Every truncation, and every header replaced by 0xc1 (never used)
    for (size_t size = 0; size < sizeof (good); size++)
        assert_int_equal (s_agree (&rules, good, size, "truncated"), -1);
    const size_t headers [] = { 0, 1, 3, 5, 7, 8, 17 };
    for (size_t i = 0; i < COUNT (headers); i++) {
        uint8_t bad [sizeof (good)];
        memcpy (bad, good, sizeof (good));
        bad [headers [i]] = 0xc1;
        assert_int_equal (s_agree (&rules, bad, sizeof (bad), "0xc1"), -1);
    }
    const uint8_t trailing [] = { 0x81, 0xa1, 'a', 0xa1, '1', 0xc0 };
    assert_int_equal (s_agree (&rules, trailing, sizeof (trailing), "trailing"), -1);
    const uint8_t not_map [] = { 0x91, 0xc0 };
    assert_int_equal (s_agree (&rules, not_map, sizeof (not_map), "array"), -1);
    const uint8_t huge [] = { 0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0 };
    assert_int_equal (s_agree (&rules, huge, sizeof (huge), "huge count"), -1);
    const uint8_t huge_named [] = { 0x81, 0xa1, 'a', 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0 };
    assert_int_equal (s_agree (&rules, huge_named, sizeof (huge_named), "huge named"), -1);

    //  Nesting: containers may be MESH_MAX_DEPTH_LIMIT deep, not one more,
    //  whether the deep value is named by a rule ('a') or not ('x'),
    //  whether it nests maps and arrays in turn or arrays only (which the
    //  walk flattens), and whether the event is small or padded past the
    //  skip's fast path
    for (int named = 0; named < 4; named++)
        for (int padded = 0; padded < 2; padded++)
            for (int depth = MESH_MAX_DEPTH_LIMIT - 1; depth <= MESH_MAX_DEPTH_LIMIT + 1; depth++) {
                size_t size = 0;
                uint8_t *deep = malloc (2 * (size_t) depth + 70000);
                deep [size++] = padded? 0x82: 0x81;
                if (padded) {
                    //  'p': a 60000-byte string first
                    deep [size++] = 0xa1;
                    deep [size++] = 'p';
                    deep [size++] = 0xda;
                    deep [size++] = 0xea;
                    deep [size++] = 0x60;
                    memset (deep + size, 'p', 60000);
                    size += 60000;
                }
                deep [size++] = 0xa1;
                deep [size++] = named % 2? 'a': 'x';
                //  Levels 2..depth: maps {"b": ...} and arrays [...] in
                //  turn, or arrays only
                for (int level = 2; level <= depth; level++) {
                    if (level % 2 || named >= 2)
                        deep [size++] = 0x91;
                    else {
                        deep [size++] = 0x81;
                        deep [size++] = 0xa1;
                        deep [size++] = 'b';
                    }
                }
                deep [size++] = 0xc0;
                char what [64];
                snprintf (what, sizeof (what), "depth %d (named %d, padded %d)", depth, named, padded);
                int matched = s_agree (&rules, deep, size, what);
                assert_true ((matched == -1) == (depth > MESH_MAX_DEPTH_LIMIT));
                free (deep);
            }
    s_rules_fini (&rules);
}


//  ---------------------------------------------------------------------
//  Random rule sets over a small vocabulary, against raw MessagePack that
//  repeats keys, mixes arrays of maps and scalars, and is sometimes
//  damaged. A smaller cousin of test_differential, aimed at the places
//  where an automaton can go wrong: shared paths, arrays, negatives.

static uint64_t s_state = 0x9e3779b97f4a7c15;

static uint64_t
s_next (void)
{
    return tk_random (&s_state);
}

static int
s_pick (int n)
{
    return tk_pick (&s_state, n);
}

static const char *s_keys [] = { "a", "b", "c", "d" };
static const char *s_strings [] = { "", "a", "ab", "A", "b", "x", "10.0.0.1", "\xc3\x84" "b", "\xc3\xa4" "B" };
static const char *s_numbers [] = { "0", "1", "-1", "1.5", "300", "300.0", "-0.0" };

typedef struct {
    char text [4096];
    size_t size;
} s_text_t;

static void
s_put (s_text_t *self, const char *text)
{
    size_t size = strlen (text);
    if (self->size + size < sizeof (self->text)) {
        memcpy (self->text + self->size, text, size + 1);
        self->size += size;
    }
}

static void
s_put_string (s_text_t *self)
{
    s_put (self, "\"");
    s_put (self, s_strings [s_pick (COUNT (s_strings))]);
    s_put (self, "\"");
}

static void
s_random_matcher (s_text_t *self)
{
    switch (s_pick (16)) {
        case 0: case 1: s_put_string (self); break;
        case 2: s_put (self, s_numbers [s_pick (COUNT (s_numbers))]); break;
        case 3: s_put (self, s_pick (2)? "null": "true"); break;
        case 4: s_put (self, "{\"prefix\":"); s_put_string (self); s_put (self, "}"); break;
        case 5: s_put (self, "{\"suffix\":"); s_put_string (self); s_put (self, "}"); break;
        case 6: s_put (self, "{\"equals-ignore-case\":"); s_put_string (self); s_put (self, "}"); break;
        case 7: s_put (self, "{\"anything-but\":"); s_put_string (self); s_put (self, "}"); break;
        case 8: {                   //  "ab*b" must not match "ab": head and tail overlap
            static const char *wildcards [] = { "a*", "a*b", "ab*b", "*b", "a*b*" };
            s_put (self, "{\"wildcard\":\"");
            s_put (self, wildcards [s_pick (COUNT (wildcards))]);
            s_put (self, "\"}");
            break;
        }
        case 9: s_put (self, "{\"numeric\":[\">\",0,\"<=\",300]}"); break;
        case 10: case 11: case 12: s_put (self, "{\"exists\":false}"); break;
        case 13: case 14: s_put (self, "{\"exists\":true}"); break;
        default: s_put (self, "{\"cidr\":\"10.0.0.0/24\"}"); break;
    }
}

static void
s_random_pattern (s_text_t *self, int depth)
{
    s_put (self, "{");
    for (int i = 0, n = 1 + s_pick (3); i < n; i++) {
        if (i)
            s_put (self, ",");
        s_put (self, "\"");
        s_put (self, s_keys [s_pick (COUNT (s_keys))]);
        s_put (self, "\":");
        if (depth > 1 && s_pick (3) == 0)
            s_random_pattern (self, depth - 1);
        else {
            s_put (self, "[");
            for (int j = 0, m = 1 + s_pick (2); j < m; j++) {
                if (j)
                    s_put (self, ",");
                s_random_matcher (self);
            }
            s_put (self, "]");
        }
    }
    if (s_pick (6) == 0) {
        s_put (self, ",\"$or\":[");
        s_random_pattern (self, 1);
        s_put (self, ",");
        s_random_pattern (self, 1);
        s_put (self, "]");
    }
    s_put (self, "}");
}

typedef struct {
    uint8_t data [8192];
    size_t size;
} s_bytes_t;

static void
s_byte (s_bytes_t *self, uint8_t byte)
{
    if (self->size < sizeof (self->data))
        self->data [self->size++] = byte;
}

static void
s_random_string (s_bytes_t *self, const char *text)
{
    size_t size = strlen (text);
    s_byte (self, (uint8_t) (0xa0 | size));
    for (size_t i = 0; i < size; i++)
        s_byte (self, (uint8_t) text [i]);
}

static void s_random_map (s_bytes_t *self, int depth);

static void
s_random_value (s_bytes_t *self, int depth)
{
    switch (s_pick (depth > 0? 11: 6)) {
        case 0: case 1: s_random_string (self, s_strings [s_pick (COUNT (s_strings))]); break;
        case 2: s_byte (self, (uint8_t) s_pick (2)); break;                     //  0, 1
        case 3: s_byte (self, 0xcd); s_byte (self, 0x01); s_byte (self, 0x2c); break;   //  300
        case 4: s_byte (self, 0xca); s_byte (self, 0x3f); s_byte (self, 0xc0); s_byte (self, 0); s_byte (self, 0); break;
        case 5: s_byte (self, s_pick (2)? 0xc0: 0xc3); break;
        case 6: case 7: s_random_map (self, depth - 1); break;
        default: {
            int n = s_pick (4);
            s_byte (self, (uint8_t) (0x90 | n));
            for (int i = 0; i < n; i++) {
                if (s_pick (2))
                    s_random_map (self, depth - 1);
                else
                    s_random_value (self, depth - 1);
            }
        }
    }
}

static void
s_random_map (s_bytes_t *self, int depth)
{
    int n = s_pick (4);
    s_byte (self, (uint8_t) (0x80 | n));
    bool repeat = s_pick (20) == 0;
    int first = s_pick (4);
    for (int i = 0; i < n; i++) {
        s_random_string (self, s_keys [repeat? s_pick (4): (first + i) % 4]);
        s_random_value (self, depth);
    }
}

static void
test_automaton_agrees_with_interpreter_on_random_sets (void **state)
{
    (void) state;
    long pairs = 0;
    for (int round = 0; round < 150; round++) {
        s_rules_t rules;
        s_rules_init (&rules);
        for (int i = 0, want = 1 + s_pick (round % 5 == 0? 30: 5); i < want; i++) {
            s_text_t pattern = { { 0 }, 0 };
            s_random_pattern (&pattern, 1 + s_pick (3));
            s_rules_add (&rules, pattern.text);         //  some do not compile: fine
        }
        s_rules_compile (&rules);
        for (int e = 0; e < 40; e++) {
            s_bytes_t event = { { 0 }, 0 };
            s_random_map (&event, 3);
            if (s_pick (16) == 0)
                event.data [s_pick ((int) event.size)] = (uint8_t) s_next ();
            s_agree (&rules, event.data, event.size, "random");
            pairs += (long) rules.count;
        }
        s_rules_fini (&rules);
    }
    print_message ("random: %ld (pattern, event) pairs agree\n", pairs);
}


//  ---------------------------------------------------------------------
//  What the automaton promises besides its answers

static void
test_automaton_allocates_nothing_while_matching (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'detail':{'state':['running'],'count':[{'numeric':['>',2]}]}}",
        "{'detail':{'items':{'sku':['A1'],'qty':[{'exists':false}]}}}",
        "{'detail':{'state':[{'equals-ignore-case':'RUNNING'}]}}",
        "{'$or':[{'source':['a']},{'detail':{'state':[{'anything-but':'x'}]}}]}",
        "{'d':{'$or':[{'a':[{'exists':false}]},{'b':[{'exists':false}]}]}}",
    };
    const char *events [] = {
        "{'source':'a','detail':{'state':'running','count':3,'items':[{'sku':'A1'},{'sku':'B','qty':1}]}}",
        "{'source':'b','detail':{'state':'RUNNING','items':[]}}",
        "{'a.b':1,'detail':{'state':['x','y']},'d':[{'a':1},{'b':2}]}",
    };
    long at_start = s_allocations;
    s_rules_t rules;
    s_rules_init (&rules);
    s_rules_add_all (&rules, patterns, COUNT (patterns));
    s_rules_compile (&rules);
    assert_true (s_allocations > at_start);     //  the counter is wired in
    void *data [COUNT (events)];
    size_t sizes [COUNT (events)];
    for (size_t i = 0; i < COUNT (events); i++) {
        char *json = s_json (events [i]);
        data [i] = s_pack (json, &sizes [i]);
        free (json);
    }
    uint32_t hits [COUNT (patterns)];
    mesh_error_t err = { 0 };
    const uint8_t malformed [] = { 0x81, 0xa1, 'a' };
    //  The first match of a thread sets up its scratch; after that, nothing
    for (size_t i = 0; i < COUNT (events); i++)
        assert_true (mesh_ruleset_match (rules.set, data [i], sizes [i], hits, &err) >= 0);
    long before = s_allocations;
    int total = 0;
    for (int round = 0; round < 1000; round++) {
        for (size_t i = 0; i < COUNT (events); i++)
            total += mesh_ruleset_match (rules.set, data [i], sizes [i], hits, &err);
        assert_int_equal (mesh_ruleset_match (rules.set, malformed, sizeof (malformed), hits, &err), -1);
    }
    assert_int_equal (s_allocations - before, 0);
    assert_true (total > 0);
    for (size_t i = 0; i < COUNT (events); i++)
        free (data [i]);
    s_rules_fini (&rules);
}

static void
test_automaton_matcher_owns_its_scratch (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'d':{'a':['1'],'b':[{'exists':false}]}}",
        "{'d':{'a':[{'prefix':'1'}]},'e':[{'numeric':['>',1]}]}",
    };
    const char *events [] = {
        "{'d':[{'a':'1','b':1},{'a':'1'}],'e':2}",
        "{'d':{'a':'12','b':1},'e':0}",
    };
    s_rules_t rules;
    s_rules_init (&rules);
    s_rules_add_all (&rules, patterns, COUNT (patterns));
    mesh_error_t err = { 0 };
    mesh_matcher_t *matcher = mesh_matcher_new (rules.set);
    assert_non_null (matcher);
    uint32_t hits [2], expected [2];
    const uint8_t empty [] = { 0x80 };
    assert_int_equal (mesh_matcher_match (matcher, rules.set, empty, 1, hits, &err), -1);
    assert_int_equal (err.code, MESH_EINVAL);           //  not compiled yet
    mesh_matcher_destroy (&matcher);
    assert_null (matcher);
    mesh_matcher_destroy (&matcher);

    s_rules_compile (&rules);
    matcher = mesh_matcher_new (rules.set);
    assert_non_null (matcher);
    for (size_t i = 0; i < COUNT (events); i++) {
        char *json = s_json (events [i]);
        size_t size;
        void *data = s_pack (json, &size);
        free (json);
        int count = mesh_ruleset_match (rules.set, data, size, expected, &err);
        long before = s_allocations;
        assert_int_equal (mesh_matcher_match (matcher, rules.set, data, size, hits, &err), count);
        assert_int_equal (s_allocations, before);   //  made for this set: never grows
        assert_memory_equal (hits, expected, (size_t) count * sizeof (uint32_t));
        assert_int_equal (mesh_matcher_match (matcher, rules.set, data, size - 1, hits, &err), -1);
        assert_int_equal (err.code, MESH_EMALFORMED);
        free (data);
    }
    mesh_matcher_destroy (&matcher);
    s_rules_fini (&rules);
}

static void
test_automaton_memory_report_grows_with_rules (void **state)
{
    (void) state;
    size_t previous = 0;
    for (int count = 1; count <= 1000; count *= 10) {
        mesh_ruleset_t *set = mesh_ruleset_new ();
        mesh_error_t err = { 0 };
        for (int i = 0; i < count; i++) {
            char pattern [128];
            snprintf (pattern, sizeof (pattern), "{\"detail\":{\"id\":[\"%d\"],\"n\":[{\"numeric\":[\">\",%d]}]}}", i, i);
            mesh_rule_t *rule = mesh_rule_new ("r", pattern, SIZE_MAX, &err);
            assert_non_null (rule);
            mesh_ruleset_add (set, &rule);
        }
        size_t before = mesh_ruleset_memory (set);
        assert_int_equal (mesh_ruleset_compile (set, &err), 0);
        size_t after = mesh_ruleset_memory (set);
        assert_true (after > before);           //  the automaton is counted
        assert_true (after > previous);
        previous = after;
        mesh_ruleset_destroy (&set);
    }
}

static void
test_automaton_compiles_and_matches_100000_exact_rules (void **state)
{
    (void) state;
    enum { RULES = 100000 };
    mesh_ruleset_t *set = mesh_ruleset_new ();
    mesh_error_t err = { 0 };
    for (int i = 0; i < RULES; i++) {
        char pattern [96];
        snprintf (pattern, sizeof (pattern), "{\"properties\":{\"MAPBLKLOT\":[\"%07d\"]}}", i * 7);
        mesh_rule_t *rule = mesh_rule_new ("r", pattern, SIZE_MAX, &err);
        assert_non_null (rule);
        assert_int_equal (mesh_ruleset_add (set, &rule), i);
    }
    assert_int_equal (mesh_ruleset_compile (set, &err), 0);
    size_t memory = mesh_ruleset_memory (set);
    print_message ("100000 exact rules: %.1f MB\n", memory / 1e6);
    assert_true (memory < 500u * 1000 * 1000);
    uint32_t *hits = calloc (RULES, sizeof (uint32_t));
    for (int probe = 0; probe < 1000; probe++) {
        int value = probe * 97;
        char json [128];
        snprintf (json, sizeof (json), "{\"type\":\"Feature\",\"properties\":{\"MAPBLKLOT\":\"%07d\",\"BLKLOT\":\"x\"}}", value);
        size_t size;
        void *data = s_pack (json, &size);
        int count = mesh_ruleset_match (set, data, size, hits, &err);
        bool expected = value % 7 == 0 && value / 7 < RULES;
        assert_int_equal (count, expected? 1: 0);
        if (expected)
            assert_int_equal (hits [0], (uint32_t) (value / 7));
        free (data);
    }
    free (hits);
    mesh_ruleset_destroy (&set);
}

typedef struct {
    const mesh_ruleset_t *set;
    void **data;
    size_t *sizes;
    int *expected;
    size_t count;
    int failures;
} s_thread_job_t;

static void *
s_thread_match (void *argument)
{
    s_thread_job_t *job = (s_thread_job_t *) argument;
    uint32_t hits [16];
    for (int round = 0; round < 200; round++)
        for (size_t i = 0; i < job->count; i++) {
            mesh_error_t err = { 0 };
            if (mesh_ruleset_match (job->set, job->data [i], job->sizes [i], hits, &err) != job->expected [i])
                job->failures++;
        }
    return NULL;
}

static void
test_automaton_matches_from_several_threads_at_once (void **state)
{
    (void) state;
    const char *patterns [] = {
        "{'d':{'a':['1'],'b':[{'exists':false}]}}",
        "{'d':{'a':[{'prefix':'1'}]}}",
        "{'d':{'c':[{'numeric':['>',5]}]}}",
    };
    const char *events [] = {
        "{'d':[{'a':'1','b':1},{'a':'1'}]}",
        "{'d':[{'a':'1','b':1},{'a':'2','c':9}]}",
        "{'d':{'a':'12','c':1}}",
        "{'e':1}",
    };
    s_rules_t rules;
    s_rules_init (&rules);
    s_rules_add_all (&rules, patterns, COUNT (patterns));
    s_rules_compile (&rules);
    void *data [COUNT (events)];
    size_t sizes [COUNT (events)];
    int expected [COUNT (events)];
    for (size_t i = 0; i < COUNT (events); i++) {
        char *json = s_json (events [i]);
        data [i] = s_pack (json, &sizes [i]);
        free (json);
        expected [i] = s_agree (&rules, data [i], sizes [i], events [i]);
    }
    pthread_t threads [4];
    s_thread_job_t jobs [4];
    for (int t = 0; t < 4; t++) {
        jobs [t] = (s_thread_job_t) { rules.set, data, sizes, expected, COUNT (events), 0 };
        assert_int_equal (pthread_create (&threads [t], NULL, s_thread_match, &jobs [t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join (threads [t], NULL);
        assert_int_equal (jobs [t].failures, 0);
    }
    for (size_t i = 0; i < COUNT (events); i++)
        free (data [i]);
    s_rules_fini (&rules);
}


int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_automaton_agrees_with_interpreter_on_conformance_corpus),
        cmocka_unit_test (test_automaton_agrees_on_event_ruler_array_files),
        cmocka_unit_test (test_automaton_rules_sharing_paths_answer_independently),
        cmocka_unit_test (test_automaton_head_and_tail_wildcards_answer_as_the_interpreter),
        cmocka_unit_test (test_automaton_guarded_rules_answer_as_the_interpreter),
        cmocka_unit_test (test_automaton_many_guard_sets_answer_as_the_interpreter),
        cmocka_unit_test (test_automaton_guards_that_hold_their_test_answer_as_the_interpreter),
        cmocka_unit_test (test_automaton_many_hits_are_listed_once),
        cmocka_unit_test (test_automaton_team_rules_answer_in_any_order),
        cmocka_unit_test (test_automaton_waiting_probes_answer_as_the_interpreter),
        cmocka_unit_test (test_automaton_waiting_prefixes_and_tails_answer_as_the_interpreter),
        cmocka_unit_test (test_automaton_or_expands_into_sub_rules),
        cmocka_unit_test (test_automaton_negative_conditions_hold_until_broken),
        cmocka_unit_test (test_automaton_arrays_are_matched_element_by_element),
        cmocka_unit_test (test_automaton_numeric_ranges_on_one_field),
        cmocka_unit_test (test_automaton_repeated_and_dotted_keys_answer_as_the_interpreter),
        cmocka_unit_test (test_automaton_reads_every_messagepack_form),
        cmocka_unit_test (test_automaton_non_finite_floats_match_only_exists),
        cmocka_unit_test (test_automaton_refuses_exactly_what_the_interpreter_refuses),
        cmocka_unit_test (test_automaton_agrees_with_interpreter_on_random_sets),
        cmocka_unit_test (test_automaton_allocates_nothing_while_matching),
        cmocka_unit_test (test_automaton_matcher_owns_its_scratch),
        cmocka_unit_test (test_automaton_memory_report_grows_with_rules),
        cmocka_unit_test (test_automaton_compiles_and_matches_100000_exact_rules),
        cmocka_unit_test (test_automaton_matches_from_several_threads_at_once),
    };
    return cmocka_run_group_tests_name ("automaton", tests, NULL, NULL);
}
