/*  mesh_config.c: rule files, one event bus each

    Reads a rule file one rule at a time, checks every key against the
    tables below (unknown keys are errors, with a did-you-mean; so is a key
    given twice), compiles the enabled rules' patterns into one
    mesh_ruleset_t, and keeps each rule's targets beside it. Nothing here
    touches a socket: the broker, the CLI and the tests load files the
    same way.

    How a file is read, and why: the file's object, its `rules` array and
    each rule object are walked (mesh_json_walk.h), and jansson parses
    every key and every other value. A rule's members are read, checked,
    its pattern compiled and its values freed before the next rule is
    read, so loading holds one rule's JSON at a time: a file of 100,000
    rules is 20 MB of text, which jansson made into a tree several times
    that size when it was parsed whole. A pattern given as an object is
    not parsed here at all: the walker steps over it, and its own bytes in
    the file (less the whitespace between tokens) are the text the pattern
    compiler parses, once, reading every number as it is written, as it
    does for a pattern given as JSON text.

    What a bus keeps is small and allocated in bulk: rule names, pattern
    texts and the bus's names are copied end to end into one pool of
    strings (mesh_strings.h), and target names are interned in it, so
    100,000 rules naming three targets hold three target strings, and
    every rule that names a target holds the same pointer.

    Errors name the file, then the rule (by name when it has one, else by
    position), then the key or the pattern path, then the reason; JSON
    that is not JSON, and a key given twice, are named by the file's line
    and column. A file is refused at its first error, read in file order:
    a bad rule 5 is reported before bad JSON in rule 10, which is not read.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include "mesh_private.h"
#include "mesh_config.h"
#include "mesh_name.h"
#include "mesh_json_walk.h"
#include "mesh_strings.h"

//  The keys of a rule file: name, the JSON types allowed, required or not.
//  This table is the reference; docs/rules.md repeats it for users.
typedef struct {
    const char *name;
    int types;                  //  bit mask of 1 << json_type
    bool required;
    const char *type_text;      //  for messages: "a string", ...
} s_key_t;

#define T_STRING (1 << JSON_STRING)
#define T_ARRAY  (1 << JSON_ARRAY)
#define T_OBJECT (1 << JSON_OBJECT)

enum { S_FILE_BUS, S_FILE_DESCRIPTION, S_FILE_RULES };
static const s_key_t s_file_keys [] = {
    { "bus",          T_STRING,            true,  "a string" },
    { "description",  T_STRING,            false, "a string" },
    { "rules",        T_ARRAY,             true,  "an array" },
    { NULL, 0, false, NULL }
};

enum { S_RULE_NAME, S_RULE_DESCRIPTION, S_RULE_STATE, S_RULE_PATTERN, S_RULE_TARGETS };
static const s_key_t s_rule_keys [] = {
    { "name",          T_STRING,            true,  "a string" },
    { "description",   T_STRING,            false, "a string" },
    { "state",         T_STRING,            false, "a string" },
    { "event_pattern", T_OBJECT | T_STRING, true,  "an object (or its JSON text)" },
    { "targets",       T_ARRAY,             true,  "an array" },
    { NULL, 0, false, NULL }
};

static const s_key_t s_target_keys [] = {
    { "name",              T_STRING,            true,  "a string" },
    { "input",             T_OBJECT | T_STRING, false, "an object or a string" },
    { "input_path",        T_STRING,            false, "a string" },
    { "input_transformer", T_OBJECT,            false, "an object" },
    { NULL, 0, false, NULL }
};

typedef struct {                //  any rule of the file, for mesh_bus_rule_info
    const char *name;           //  in the bus's pool
    const char *pattern;        //  JSON text, as compiled, in the pool
    int index;                  //  in the ruleset, -1 if DISABLED
} s_rule_info_t;

typedef struct {                //  an enabled rule, in ruleset order
    uint32_t info;              //  its index in the file
    uint32_t first_target;      //  its targets are targets [first_target ...]
    uint32_t target_count;
} s_rule_entry_t;

struct _mesh_bus_t {
    const char *name;
    const char *origin;
    mesh_ruleset_t *ruleset;
    mesh_rule_options_t options;    //  how patterns are compiled
    s_rule_info_t *infos;       //  rule_total of them, file order
    size_t rule_total;          //  in the file
    size_t info_capacity;
    s_rule_entry_t *rules;      //  one per enabled rule, ruleset order
    size_t rule_count;          //  enabled
    size_t rule_capacity;
    const char **targets;       //  every enabled rule's target names, rule after
    size_t target_refs;         //  rule, each interned in the pool
    size_t target_capacity;
    mesh__strings_t strings;    //  every string the bus holds
};

//  While a file is read: the bus being filled, and the names seen so far
typedef struct {
    mesh_bus_t *bus;
    mesh__jwalk_t walk;
    mesh_error_t *err;          //  never NULL
    mesh__intern_t rule_names;  //  for "already defined"
    mesh__intern_t target_names;
    unsigned seen;              //  the file's keys read so far, a bit each
    char *scratch;              //  an object pattern's compact copy, before
    size_t scratch_size;        //  it goes into the pool
} s_loader_t;

//  One rule object, read: its values, for the checks that follow
typedef struct {
    s_loader_t *loader;
    size_t index;               //  in the file
    unsigned seen;              //  its keys, a bit per s_rule_keys entry
    json_t *name;               //  each NULL when absent or of a wrong type
    json_t *state;
    json_t *targets;
    const char *pattern;        //  its JSON text, in the bus's pool; NULL if
    size_t pattern_size;        //  absent or of a wrong type
    size_t pattern_at;          //  where an object pattern starts in the file,
                                //  SIZE_MAX for a pattern given as text
    //  The first key that is unknown or of a wrong type: its message, said
    //  once the rule's name (which may come later) is known
    char problem [MESH_ERROR_TEXT_MAX];
} s_rule_t;

//  Edit distance, for "did you mean". Keys are short, so the plain
//  two-row dynamic programme is plenty.
static size_t
s_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    if (la > 64 || lb > 64)
        return 99;
    size_t row [65], prev [65];
    for (size_t j = 0; j <= lb; j++)
        prev [j] = j;
    for (size_t i = 1; i <= la; i++) {
        row [0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a [i - 1] == b [j - 1]? 0: 1;
            size_t best = prev [j - 1] + cost;
            if (prev [j] + 1 < best)
                best = prev [j] + 1;
            if (row [j - 1] + 1 < best)
                best = row [j - 1] + 1;
            row [j] = best;
        }
        memcpy (prev, row, (lb + 1) * sizeof (size_t));
    }
    return prev [lb];
}

//  The entry of table named key (size bytes), or -1.
static int
s_key_index (const s_key_t *table, const char *key, size_t size)
{
    for (int i = 0; table [i].name; i++)
        if (strncmp (table [i].name, key, size) == 0 && table [i].name [size] == '\0')
            return i;
    return -1;
}

//  "unknown key 'x'", with the nearest known key when it is close. Only a
//  key that is wrong pays for the suggestion (a file of 100,000 rules has
//  half a million right ones).
static void
s_unknown_key (const s_key_t *table, const char *key, size_t size, char *text, size_t text_size)
{
    char copy [MESH_ERROR_TEXT_MAX];
    snprintf (copy, sizeof (copy), "%.*s", (int) size, key);
    const char *nearest = NULL;
    size_t nearest_distance = 3;        //  suggest only close misspellings
    for (const s_key_t *k = table; k->name; k++) {
        size_t d = s_distance (k->name, copy);
        if (d < nearest_distance) {
            nearest_distance = d;
            nearest = k->name;
        }
    }
    if (nearest)
        snprintf (text, text_size, "unknown key '%s' (did you mean '%s'?)", copy, nearest);
    else
        snprintf (text, text_size, "unknown key '%s'", copy);
}

//  Check object's keys against table: no unknown key, every required key
//  present, every value of an allowed type. where prefixes the message.
//  (For targets, which jansson parses whole; rule and file objects are
//  checked as they are walked.)
static int
s_check_keys (const json_t *object, const s_key_t *table, const char *where, mesh_error_t *err)
{
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *) object, key, value) {
        int entry = s_key_index (table, key, strlen (key));
        if (entry < 0) {
            char text [MESH_ERROR_TEXT_MAX];
            s_unknown_key (table, key, strlen (key), text, sizeof (text));
            return mesh_error_set (err, MESH_EINVAL, "%s%s", where, text);
        }
        if (!(table [entry].types & (1 << json_typeof (value))))
            return mesh_error_set (err, MESH_EINVAL, "%s'%s' must be %s, got %s",
                                   where, key, table [entry].type_text, mesh__json_type_name (value));
    }
    for (const s_key_t *k = table; k->name; k++)
        if (k->required && !json_object_get (object, k->name))
            return mesh_error_set (err, MESH_EINVAL, "%smissing key '%s'", where, k->name);
    return MESH_OK;
}

//  Room for count + 1 items of item_size in *array; -1 if out of memory.
static int
s_grow (void **array, size_t *capacity, size_t count, size_t item_size)
{
    if (count < *capacity)
        return 0;
    size_t grown = *capacity? *capacity * 2: 64;
    void *bigger = realloc (*array, grown * item_size);
    if (!bigger)
        return -1;
    *array = bigger;
    *capacity = grown;
    return 0;
}

void
mesh_bus_destroy (mesh_bus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mesh_bus_t *self = *self_p;
    mesh_ruleset_destroy (&self->ruleset);
    free (self->infos);
    free (self->rules);
    free ((void *) self->targets);
    mesh__strings_fini (&self->strings);
    free (self);
    *self_p = NULL;
}

static int
s_no_memory (s_loader_t *self)
{
    return mesh_error_set (self->err, MESH_ENOMEM, "%s: out of memory", self->bus->origin);
}

//  Where a rule's errors start: "file: rule 'name': ", or "file:
//  rules[i]: " until it has a valid name. Written into where (of
//  MESH_ERROR_TEXT_MAX bytes) only when there is an error to say.
static const char *
s_where (const s_loader_t *self, const s_rule_t *rule, char *where)
{
    const char *name = json_string_value (rule->name);
    if (name && mesh_name_valid (name))
        snprintf (where, MESH_ERROR_TEXT_MAX, "%s: rule '%s': ", self->bus->origin, name);
    else
        snprintf (where, MESH_ERROR_TEXT_MAX, "%s: rules[%zu]: ", self->bus->origin, rule->index);
    return where;
}

//  Check target index of rule and append its interned name to the bus's
//  targets (the rule's start at first).
static int
s_parse_target (s_loader_t *self, const s_rule_t *rule, size_t index, size_t first)
{
    mesh_bus_t *bus = self->bus;
    const json_t *target = json_array_get (rule->targets, index);
    char where [MESH_ERROR_TEXT_MAX], here [MESH_ERROR_TEXT_MAX];
    const char *name = json_string_value (json_object_get (target, "name"));
    bool valid = json_is_object (target) && json_object_size (target) == 1 && mesh_name_valid (name);
    if (!valid) {
        //  The checks in the order they are documented, for the message
        snprintf (here, sizeof (here), "%stargets[%zu]: ", s_where (self, rule, where), index);
        if (!json_is_object (target))
            return mesh_error_set (self->err, MESH_EINVAL, "%smust be an object, got %s",
                                   here, mesh__json_type_name (target));
        if (s_check_keys (target, s_target_keys, here, self->err))
            return -1;
        if (!mesh_name_valid (name))
            return mesh_error_set (self->err, MESH_EINVAL,
                                   "%sinvalid target name '%s': use 1 to %d of A-Z a-z 0-9 . _ -",
                                   here, name, MESH_NAME_MAX);
        //  Input shaping changes what a target receives; refusing it beats
        //  silently delivering the whole event instead.
        static const char *unsupported [] = { "input", "input_path", "input_transformer", NULL };
        for (const char **key = unsupported; *key; key++)
            if (json_object_get (target, *key))
                return mesh_error_set (self->err, MESH_EINVAL,
                                       "%starget '%s': '%s' is not supported yet: targets receive the whole event",
                                       here, name, *key);
        //  (Cannot happen: a target with a valid name and another key
        //  fails one of the checks above)
        return mesh_error_set (self->err, MESH_EINVAL, "%sinvalid target", here);
    }
    const char *interned = mesh__intern (&self->target_names, &bus->strings, name, strlen (name), NULL);
    if (!interned)
        return s_no_memory (self);
    for (size_t i = first; i < bus->target_refs; i++)
        if (bus->targets [i] == interned)
            return mesh_error_set (self->err, MESH_EINVAL, "%stargets[%zu]: target '%s' is listed twice",
                                   s_where (self, rule, where), index, name);
    bus->targets [bus->target_refs++] = interned;
    return MESH_OK;
}

//  The checks of a rule that has been read, in the order they have always
//  been made, then its compiled pattern and its targets into the bus.
static int
s_add_rule (s_loader_t *self, s_rule_t *rule)
{
    mesh_bus_t *bus = self->bus;
    mesh_error_t *err = self->err;
    char where [MESH_ERROR_TEXT_MAX];
    const char *name = json_string_value (rule->name);
    if (name && !mesh_name_valid (name))
        return mesh_error_set (err, MESH_EINVAL,
                               "%s: rules[%zu]: invalid rule name '%s': use 1 to %d of A-Z a-z 0-9 . _ -",
                               bus->origin, rule->index, name, MESH_NAME_MAX);

    //  The pattern is compiled first, because its compiler is the first to
    //  parse an object pattern: if it finds no JSON there, the file is not
    //  JSON, an error that has always come before any rule's. Any other
    //  refusal is said where it always was, after the rule's other checks.
    mesh_rule_t *compiled = NULL;
    mesh_error_t compile_err = { 0 };
    if (rule->pattern) {
        compiled = mesh_rule_new_with (name, rule->pattern, rule->pattern_size, &bus->options,
                                       NULL, &compile_err);
        if (!compiled && compile_err.code == MESH_ENOMEM)
            return mesh_error_set (err, MESH_ENOMEM, "%sout of memory", s_where (self, rule, where));
        if (!compiled && rule->pattern_at != SIZE_MAX) {
            //  A JSON error (the compiler gives it a line), or a size refused
            //  before parsing: jansson reads the bytes in the file, to say
            //  where in the file they go wrong, if they do
            mesh_pattern_error_t problem;
            mesh_rule_t *again = mesh_rule_new_with (name, rule->pattern, rule->pattern_size, &bus->options,
                                                     &problem, &compile_err);
            assert (!again);
            if ((problem.line || compile_err.code == MESH_ETOOBIG)
            &&  mesh__jwalk_check (&self->walk, rule->pattern_at))
                return -1;
        }
    }
    int rc = -1;
    if (rule->problem [0]) {
        mesh_error_set (err, MESH_EINVAL, "%s%s", s_where (self, rule, where), rule->problem);
        goto done;
    }
    for (int k = 0; s_rule_keys [k].name; k++)
        if (s_rule_keys [k].required && !(rule->seen & (1u << k))) {
            mesh_error_set (err, MESH_EINVAL, "%smissing key '%s'", s_where (self, rule, where),
                            s_rule_keys [k].name);
            goto done;
        }
    assert (name);              //  a name that is not a string is a problem
    bool added;
    const char *interned = mesh__intern (&self->rule_names, &bus->strings, name, strlen (name), &added);
    if (!interned) {
        s_no_memory (self);
        goto done;
    }
    if (!added) {
        mesh_error_set (err, MESH_EINVAL, "%sa rule of this name is already defined", s_where (self, rule, where));
        goto done;
    }
    const char *state = json_string_value (rule->state);
    if (state && !streq (state, "ENABLED") && !streq (state, "DISABLED")) {
        mesh_error_set (err, MESH_EINVAL, "%s'state' must be \"ENABLED\" or \"DISABLED\", got \"%s\"",
                        s_where (self, rule, where), state);
        goto done;
    }
    size_t target_count = json_array_size (rule->targets);
    if (target_count == 0 || target_count > MESH_MAX_TARGETS_PER_RULE) {
        mesh_error_set (err, MESH_EINVAL, "%s'targets' must hold 1 to %d targets, got %zu",
                        s_where (self, rule, where), MESH_MAX_TARGETS_PER_RULE, target_count);
        goto done;
    }
    size_t first = bus->target_refs;
    for (size_t i = 0; i < target_count; i++) {
        if (s_grow ((void **) &bus->targets, &bus->target_capacity, bus->target_refs, sizeof (char *))) {
            s_no_memory (self);
            goto done;
        }
        if (s_parse_target (self, rule, i, first))
            goto done;
    }
    if (!compiled) {
        mesh_error_set (err, compile_err.code, "%s%s", s_where (self, rule, where), compile_err.text);
        goto done;
    }
    bool disabled = state && streq (state, "DISABLED");
    if (s_grow ((void **) &bus->infos, &bus->info_capacity, bus->rule_total, sizeof (s_rule_info_t))
    ||  s_grow ((void **) &bus->rules, &bus->rule_capacity, bus->rule_count, sizeof (s_rule_entry_t))) {
        s_no_memory (self);
        goto done;
    }
    assert (bus->rule_total == rule->index);
    bus->infos [bus->rule_total++] = (s_rule_info_t) {
        interned, rule->pattern, disabled? -1: (int) bus->rule_count
    };
    if (disabled) {
        //  Checked like any rule, so that enabling it later cannot fail.
        bus->target_refs = first;
        rc = 0;
        goto done;
    }
    if (mesh_ruleset_add (bus->ruleset, &compiled) < 0) {
        s_no_memory (self);
        goto done;
    }
    bus->rules [bus->rule_count++] = (s_rule_entry_t) {
        (uint32_t) rule->index, (uint32_t) first, (uint32_t) target_count
    };
    rc = 0;
done:
    mesh_rule_destroy (&compiled);
    return rc;
}

//  The event_pattern of a rule, given as an object: stepped over unparsed,
//  and its bytes, without the whitespace between tokens, copied into the
//  pool for the compiler. (Without the whitespace so that a pattern is
//  measured against max_pattern_size as compact JSON, as it always was,
//  however the file is indented, and so that the text mesh_bus_pattern
//  gives compiles again under the same limit.)
static int
s_pattern_object (s_rule_t *rule, mesh__jwalk_t *walk)
{
    s_loader_t *self = rule->loader;
    size_t start, size, compact;
    if (mesh__jwalk_skip_object (walk, &start, &size, self->scratch, self->scratch_size, &compact))
        return -1;
    if (compact > self->scratch_size) {
        //  Made again, into room enough (the first time, or a large one)
        size_t scratch_size = compact > 4096? compact: 4096;
        char *scratch = (char *) realloc (self->scratch, scratch_size);
        if (!scratch)
            return s_no_memory (self);
        self->scratch = scratch;
        self->scratch_size = scratch_size;
        mesh__jwalk_compact (walk, start, size, self->scratch);
    }
    rule->pattern = mesh__strings_copy (&self->bus->strings, self->scratch, compact);
    if (!rule->pattern)
        return s_no_memory (self);
    rule->pattern_size = compact;
    rule->pattern_at = start;
    return 0;
}

//  One member of a rule object: its value read and kept for s_add_rule,
//  or its problem noted (only the first key that is unknown or of a wrong
//  type is reported, as when the rule's keys were checked in order).
static int
s_rule_member (mesh__jwalk_t *walk, const char *key, size_t size, size_t key_at, void *arg)
{
    s_rule_t *rule = (s_rule_t *) arg;
    int entry = s_key_index (s_rule_keys, key, size);
    if (entry >= 0) {
        if (rule->seen & (1u << entry))
            return mesh__jwalk_duplicate (walk, key, size, key_at);
        rule->seen |= 1u << entry;
    }
    if (entry == S_RULE_PATTERN && mesh__jwalk_peek (walk) == '{')
        return s_pattern_object (rule, walk);

    //  Targets are parsed whole, with their keys given twice refused
    json_t *value = mesh__jwalk_value (walk, entry == S_RULE_TARGETS? JSON_REJECT_DUPLICATES: 0);
    if (!value)
        return -1;
    if (entry < 0 || !(s_rule_keys [entry].types & (1 << json_typeof (value)))) {
        if (!rule->problem [0] && entry < 0)
            s_unknown_key (s_rule_keys, key, size, rule->problem, sizeof (rule->problem));
        else
        if (!rule->problem [0])
            snprintf (rule->problem, sizeof (rule->problem), "'%s' must be %s, got %s",
                      s_rule_keys [entry].name, s_rule_keys [entry].type_text, mesh__json_type_name (value));
        json_decref (value);
        return 0;
    }
    switch (entry) {
        case S_RULE_NAME:
            rule->name = value;
            return 0;
        case S_RULE_STATE:
            rule->state = value;
            return 0;
        case S_RULE_TARGETS:
            rule->targets = value;
            return 0;
        case S_RULE_PATTERN: {
            //  Its JSON text, as Terraform's jsonencode gives it
            mesh_bus_t *bus = rule->loader->bus;
            rule->pattern = mesh__strings_copy (&bus->strings, json_string_value (value),
                                                json_string_length (value));
            rule->pattern_size = json_string_length (value);
            json_decref (value);
            return rule->pattern? 0: s_no_memory (rule->loader);
        }
        default:
            json_decref (value);
            return 0;
    }
}

//  One item of the rules array: read the rule, check it, compile it, and
//  free its JSON before the next.
static int
s_rule_item (mesh__jwalk_t *walk, size_t index, void *arg)
{
    s_loader_t *self = (s_loader_t *) arg;
    //  Refused as soon as there is one too many: the rest is not read
    if (index >= MESH_MAX_RULES_PER_BUS)
        return mesh_error_set (self->err, MESH_EINVAL, "%s: too many rules: more than %d (at most %d per bus)",
                               self->bus->origin, MESH_MAX_RULES_PER_BUS, MESH_MAX_RULES_PER_BUS);
    if (mesh__jwalk_peek (walk) != '{') {
        json_t *value = mesh__jwalk_value (walk, 0);
        if (value)
            mesh_error_set (self->err, MESH_EINVAL, "%s: rules[%zu]: must be an object, got %s",
                            self->bus->origin, index, mesh__json_type_name (value));
        json_decref (value);
        return -1;
    }
    s_rule_t rule = { .loader = self, .index = index, .pattern_at = SIZE_MAX };
    int rc = mesh__jwalk_object (walk, s_rule_member, &rule);
    //  Bad JSON after an object pattern that was stepped over: if the
    //  pattern is not JSON either, its end was not where it was taken to
    //  be, and its error is the first in the file
    if (rc && rule.pattern_at != SIZE_MAX && self->err->code != MESH_ENOMEM) {
        mesh_error_t later = *self->err;
        if (mesh__jwalk_check (walk, rule.pattern_at) == 0)
            *self->err = later;
    }
    if (!rc)
        rc = s_add_rule (self, &rule);
    json_decref (rule.name);
    json_decref (rule.state);
    json_decref (rule.targets);
    return rc;
}

//  One member of the file's object.
static int
s_file_member (mesh__jwalk_t *walk, const char *key, size_t size, size_t key_at, void *arg)
{
    s_loader_t *self = (s_loader_t *) arg;
    mesh_bus_t *bus = self->bus;
    int entry = s_key_index (s_file_keys, key, size);
    if (entry < 0) {
        char text [MESH_ERROR_TEXT_MAX];
        s_unknown_key (s_file_keys, key, size, text, sizeof (text));
        return mesh_error_set (self->err, MESH_EINVAL, "%s: %s", bus->origin, text);
    }
    if (self->seen & (1u << entry))
        return mesh__jwalk_duplicate (walk, key, size, key_at);
    self->seen |= 1u << entry;
    if (entry == S_FILE_RULES && mesh__jwalk_peek (walk) == '[')
        return mesh__jwalk_array (walk, s_rule_item, self);

    json_t *value = mesh__jwalk_value (walk, 0);
    if (!value)
        return -1;
    int rc = 0;
    if (!(s_file_keys [entry].types & (1 << json_typeof (value))))
        rc = mesh_error_set (self->err, MESH_EINVAL, "%s: '%s' must be %s, got %s", bus->origin,
                             s_file_keys [entry].name, s_file_keys [entry].type_text,
                             mesh__json_type_name (value));
    else
    if (entry == S_FILE_BUS) {
        const char *name = json_string_value (value);
        if (!mesh_bus_name_valid (name))
            rc = mesh_error_set (self->err, MESH_EINVAL,
                                 "%s: invalid bus name '%s': use 1 to %d of A-Z a-z 0-9 . _ / -",
                                 bus->origin, name, MESH_BUS_NAME_MAX);
        else
        if (!(bus->name = mesh__strings_copy (&bus->strings, name, strlen (name))))
            rc = s_no_memory (self);
    }
    json_decref (value);
    return rc;
}

//  The whole file: one object, nothing after it.
static int
s_load (s_loader_t *self)
{
    mesh__jwalk_t *walk = &self->walk;
    if (mesh__jwalk_peek (walk) == -1)
        return mesh__jwalk_expected (walk, "'{'");
    if (mesh__jwalk_peek (walk) != '{') {
        json_t *value = mesh__jwalk_value (walk, 0);
        if (value)
            mesh_error_set (self->err, MESH_EINVAL, "%s: a rule file must be a JSON object, got %s",
                            self->bus->origin, mesh__json_type_name (value));
        json_decref (value);
        return -1;
    }
    if (mesh__jwalk_object (walk, s_file_member, self))
        return -1;
    if (mesh__jwalk_peek (walk) != -1)
        return mesh__jwalk_expected (walk, "end of file");
    for (int k = 0; s_file_keys [k].name; k++)
        if (s_file_keys [k].required && !(self->seen & (1u << k)))
            return mesh_error_set (self->err, MESH_EINVAL, "%s: missing key '%s'",
                                   self->bus->origin, s_file_keys [k].name);
    return 0;
}

mesh_bus_t *
mesh_bus_parse (const char *text, size_t size, const char *origin, mesh_error_t *err)
{
    return mesh_bus_parse_with (text, size, origin, NULL, err);
}

//  Read and check the file, compiling each rule, but not the set: the
//  loader frees the file's text before the set is compiled, so that the
//  automaton is built in its pages. NULL with err.
static mesh_bus_t *
s_parse (const char *text, size_t size, const char *origin, const mesh_rule_options_t *options,
         mesh_error_t *err)
{
    assert ((text || size == 0) && origin);
    mesh_error_t error = { 0 };
    s_loader_t loader = { .err = &error };
    mesh_bus_t *self = (mesh_bus_t *) calloc (1, sizeof (mesh_bus_t));
    if (!self) {
        mesh_error_set (err, MESH_ENOMEM, "%s: out of memory", origin);
        return NULL;
    }
    loader.bus = self;
    if (options)
        self->options = *options;
    else
        mesh_rule_options_init (&self->options);
    self->ruleset = mesh_ruleset_new ();
    self->origin = mesh__strings_copy (&self->strings, origin, strlen (origin));
    if (!self->ruleset || !self->origin)
        mesh_error_set (&error, MESH_ENOMEM, "%s: out of memory", origin);
    else {
        mesh__jwalk_init (&loader.walk, text, size, self->origin, &error);
        if (s_load (&loader) && !error.code)      //  (every failure says why)
            mesh_error_set (&error, MESH_EINVAL, "%s: refused", origin);
    }
    mesh__intern_fini (&loader.rule_names);
    mesh__intern_fini (&loader.target_names);
    free (loader.scratch);
    if (error.code) {
        if (err)
            *err = error;
        mesh_bus_destroy (&self);
    }
    return self;
}

//  Compile the set of a parsed bus; on failure, destroy it and fill err.
static mesh_bus_t *
s_compile (mesh_bus_t *self, mesh_error_t *err)
{
    mesh_error_t compile_err = { 0 };
    if (self && mesh_ruleset_compile (self->ruleset, &compile_err)) {
        mesh_error_set (err, compile_err.code, "%s: %s", self->origin, compile_err.text);
        mesh_bus_destroy (&self);
    }
    return self;
}

mesh_bus_t *
mesh_bus_parse_with (const char *text, size_t size, const char *origin,
                     const mesh_rule_options_t *options, mesh_error_t *err)
{
    return s_compile (s_parse (text, size, origin, options, err), err);
}

mesh_bus_t *
mesh_bus_load (const char *path, mesh_error_t *err)
{
    return mesh_bus_load_with (path, NULL, err);
}

//  The whole of file in one buffer, read at once when the file says its
//  size (a rule file of 100,000 rules is 20 MB: one allocation, not one
//  grown through copies). NULL with errno on failure.
static char *
s_read_file (FILE *file, size_t *size_p)
{
    struct stat info;
    size_t capacity = 65536;
    if (fstat (fileno (file), &info) == 0 && S_ISREG (info.st_mode) && info.st_size > 0)
        capacity = (size_t) info.st_size + 1;       //  + 1: the end is seen in one read
    char *text = (char *) malloc (capacity);
    size_t size = 0;
    while (text) {
        size += fread (text + size, 1, capacity - size, file);
        if (size < capacity)
            break;
        char *bigger = (char *) realloc (text, capacity * 2);
        if (!bigger) {
            free (text);
            return NULL;
        }
        text = bigger;
        capacity *= 2;
    }
    if (text && ferror (file)) {
        free (text);
        return NULL;
    }
    *size_p = size;
    return text;
}

mesh_bus_t *
mesh_bus_load_with (const char *path, const mesh_rule_options_t *options, mesh_error_t *err)
{
    assert (path);
    FILE *file = fopen (path, "rb");
    if (!file) {
        mesh_error_set (err, MESH_EIO, "%s: cannot open: %s", path, strerror (errno));
        return NULL;
    }
    size_t size = 0;
    char *text = s_read_file (file, &size);
    int error = errno;
    fclose (file);
    if (!text) {
        mesh_error_set (err, MESH_EIO, "%s: cannot read: %s", path, strerror (error));
        return NULL;
    }
    mesh_bus_t *self = s_parse (text, size, path, options, err);
    free (text);
    return s_compile (self, err);
}

const char *
mesh_bus_name (const mesh_bus_t *self)
{
    assert (self);
    return self->name;
}

const char *
mesh_bus_origin (const mesh_bus_t *self)
{
    assert (self);
    return self->origin;
}

const mesh_ruleset_t *
mesh_bus_ruleset (const mesh_bus_t *self)
{
    assert (self);
    return self->ruleset;
}

size_t
mesh_bus_rule_total (const mesh_bus_t *self)
{
    assert (self);
    return self->rule_total;
}

const char *const *
mesh_bus_targets (const mesh_bus_t *self, size_t index, size_t *count)
{
    assert (self);
    assert (index < self->rule_count);
    *count = self->rules [index].target_count;
    return (const char *const *) self->targets + self->rules [index].first_target;
}

const char *
mesh_bus_rule_info (const mesh_bus_t *self, size_t i, const char **pattern, int *index)
{
    assert (self);
    assert (i < self->rule_total);
    if (pattern)
        *pattern = self->infos [i].pattern;
    if (index)
        *index = self->infos [i].index;
    return self->infos [i].name;
}

const char *
mesh_bus_pattern (const mesh_bus_t *self, size_t index)
{
    assert (self);
    assert (index < self->rule_count);
    return self->infos [self->rules [index].info].pattern;
}
