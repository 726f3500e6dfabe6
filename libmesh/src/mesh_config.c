/*  mesh_config.c: rule files, one event bus each

    Reads a rule file with jansson, checks every key against the tables
    below (unknown keys are errors, with a did-you-mean), compiles the
    enabled rules' patterns into one mesh_ruleset_t, and keeps each rule's
    targets beside it. Nothing here touches a socket: the broker, the CLI
    and the tests load files the same way.

    Errors name the file, then the rule (by name when it has one, else by
    position), then the key or the pattern path, then the reason.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "mesh_private.h"
#include "mesh_config.h"
#include "mesh_codec.h"
#include "mesh_name.h"

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

static const s_key_t s_file_keys [] = {
    { "bus",          T_STRING,            true,  "a string" },
    { "description",  T_STRING,            false, "a string" },
    { "rules",        T_ARRAY,             true,  "an array" },
    { NULL, 0, false, NULL }
};

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

typedef struct {
    char **targets;
    size_t target_count;
    char *pattern;              //  JSON text, as compiled
} s_rule_entry_t;

typedef struct {                //  any rule of the file, for mesh_bus_rule_info
    char *name;
    char *pattern;              //  JSON text
    int index;                  //  in the ruleset, -1 if DISABLED
} s_rule_info_t;

struct _mesh_bus_t {
    char *name;
    char *origin;
    mesh_ruleset_t *ruleset;
    s_rule_entry_t *rules;      //  one per enabled rule, ruleset order
    size_t rule_count;          //  enabled
    size_t rule_total;          //  in the file
    mesh_rule_options_t options;    //  how patterns are compiled
    s_rule_info_t *infos;       //  rule_total of them, file order
};

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

//  Check object's keys against table: no unknown key, every required key
//  present, every value of an allowed type. where prefixes the message.
static int
s_check_keys (const json_t *object, const s_key_t *table, const char *where, mesh_error_t *err)
{
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *) object, key, value) {
        const s_key_t *entry = NULL;
        for (const s_key_t *k = table; k->name && !entry; k++)
            if (streq (k->name, key))
                entry = k;
        if (!entry) {
            //  Only a key that is wrong pays for the suggestion (a file of
            //  100,000 rules has half a million right ones)
            const char *nearest = NULL;
            size_t nearest_distance = 3;        //  suggest only close misspellings
            for (const s_key_t *k = table; k->name; k++) {
                size_t d = s_distance (k->name, key);
                if (d < nearest_distance) {
                    nearest_distance = d;
                    nearest = k->name;
                }
            }
            if (nearest)
                return mesh_error_set (err, MESH_EINVAL, "%sunknown key '%s' (did you mean '%s'?)",
                                       where, key, nearest);
            return mesh_error_set (err, MESH_EINVAL, "%sunknown key '%s'", where, key);
        }
        if (!(entry->types & (1 << json_typeof (value))))
            return mesh_error_set (err, MESH_EINVAL, "%s'%s' must be %s, got %s",
                                   where, key, entry->type_text, mesh__json_type_name (value));
    }
    for (const s_key_t *k = table; k->name; k++)
        if (k->required && !json_object_get (object, k->name))
            return mesh_error_set (err, MESH_EINVAL, "%smissing key '%s'", where, k->name);
    return MESH_OK;
}

static void
s_rule_entry_fini (s_rule_entry_t *entry)
{
    for (size_t i = 0; i < entry->target_count; i++)
        free (entry->targets [i]);
    free (entry->targets);
    free (entry->pattern);
}

void
mesh_bus_destroy (mesh_bus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mesh_bus_t *self = *self_p;
    for (size_t i = 0; i < self->rule_count; i++)
        s_rule_entry_fini (&self->rules [i]);
    free (self->rules);
    for (size_t i = 0; self->infos && i < self->rule_total; i++) {
        free (self->infos [i].name);
        free (self->infos [i].pattern);
    }
    free (self->infos);
    mesh_ruleset_destroy (&self->ruleset);
    free (self->name);
    free (self->origin);
    free (self);
    *self_p = NULL;
}

//  Check one target object and append its name to entry. where names the
//  rule ("file: rule 'x': ").
static int
s_parse_target (const json_t *target, size_t index, s_rule_entry_t *entry,
                const char *where, mesh_error_t *err)
{
    char here [MESH_ERROR_TEXT_MAX];
    snprintf (here, sizeof (here), "%stargets[%zu]: ", where, index);
    if (!json_is_object (target))
        return mesh_error_set (err, MESH_EINVAL, "%smust be an object, got %s",
                               here, mesh__json_type_name (target));
    if (s_check_keys (target, s_target_keys, here, err))
        return err? err->code: MESH_EINVAL;
    const char *name = json_string_value (json_object_get (target, "name"));
    if (!mesh_name_valid (name))
        return mesh_error_set (err, MESH_EINVAL,
                               "%sinvalid target name '%s': use 1 to %d of A-Z a-z 0-9 . _ -",
                               here, name, MESH_NAME_MAX);
    //  Input shaping changes what a target receives; refusing it beats
    //  silently delivering the whole event instead.
    static const char *unsupported [] = { "input", "input_path", "input_transformer", NULL };
    for (const char **key = unsupported; *key; key++)
        if (json_object_get (target, *key))
            return mesh_error_set (err, MESH_EINVAL,
                                   "%starget '%s': '%s' is not supported yet: targets receive the whole event",
                                   here, name, *key);
    for (size_t i = 0; i < entry->target_count; i++)
        if (streq (entry->targets [i], name))
            return mesh_error_set (err, MESH_EINVAL, "%starget '%s' is listed twice", here, name);
    entry->targets [entry->target_count++] = strdup (name);
    return MESH_OK;
}

//  Check one rule; if it is enabled, compile it into self->ruleset and keep
//  its targets. Names seen so far are in self for the duplicate check.
static int
s_parse_rule (mesh_bus_t *self, const json_t *rule, size_t index, json_t *names, mesh_error_t *err)
{
    char where [MESH_ERROR_TEXT_MAX];
    snprintf (where, sizeof (where), "%s: rules[%zu]: ", self->origin, index);
    if (!json_is_object (rule))
        return mesh_error_set (err, MESH_EINVAL, "%smust be an object, got %s",
                               where, mesh__json_type_name (rule));
    const char *name = json_string_value (json_object_get (rule, "name"));
    if (name) {
        if (!mesh_name_valid (name))
            return mesh_error_set (err, MESH_EINVAL,
                                   "%sinvalid rule name '%s': use 1 to %d of A-Z a-z 0-9 . _ -",
                                   where, name, MESH_NAME_MAX);
        snprintf (where, sizeof (where), "%s: rule '%s': ", self->origin, name);
    }
    if (s_check_keys (rule, s_rule_keys, where, err))
        return err? err->code: MESH_EINVAL;
    if (json_object_get (names, name))
        return mesh_error_set (err, MESH_EINVAL, "%sa rule of this name is already defined", where);
    json_object_set_new (names, name, json_true ());

    const char *state = json_string_value (json_object_get (rule, "state"));
    if (state && !streq (state, "ENABLED") && !streq (state, "DISABLED"))
        return mesh_error_set (err, MESH_EINVAL,
                               "%s'state' must be \"ENABLED\" or \"DISABLED\", got \"%s\"", where, state);

    const json_t *targets = json_object_get (rule, "targets");
    size_t target_count = json_array_size (targets);
    if (target_count == 0 || target_count > MESH_MAX_TARGETS_PER_RULE)
        return mesh_error_set (err, MESH_EINVAL, "%s'targets' must hold 1 to %d targets, got %zu",
                               where, MESH_MAX_TARGETS_PER_RULE, target_count);

    //  The pattern: an object (serialised back to text for the compiler) or
    //  its JSON text, as Terraform's jsonencode gives it. An object's numbers
    //  went through jansson, so they are written back in their shortest
    //  decimals (0.1, not json_dumps's 0.10000000000000001, which the
    //  compiler would refuse as a number no double holds): a decimal that
    //  does not round-trip is refused in a pattern given as text, and
    //  silently rounded in one given as an object.
    const json_t *pattern = json_object_get (rule, "event_pattern");
    char *pattern_text = json_is_string (pattern)
                       ? strdup (json_string_value (pattern))
                       : mesh__json_emit (pattern, false);
    s_rule_entry_t entry = { .targets = calloc (target_count, sizeof (char *)),
                             .pattern = pattern_text };
    if (!entry.targets || !pattern_text) {
        s_rule_entry_fini (&entry);
        return mesh_error_set (err, MESH_ENOMEM, "%sout of memory", where);
    }
    for (size_t i = 0; i < target_count; i++)
        if (s_parse_target (json_array_get (targets, i), i, &entry, where, err)) {
            s_rule_entry_fini (&entry);
            return err? err->code: MESH_EINVAL;
        }

    mesh_error_t rule_err = { 0 };
    mesh_rule_t *compiled = mesh_rule_new_with (name, pattern_text, SIZE_MAX, &self->options, NULL, &rule_err);
    if (!compiled) {
        s_rule_entry_fini (&entry);
        return mesh_error_set (err, rule_err.code, "%s%s", where, rule_err.text);
    }
    bool disabled = state && streq (state, "DISABLED");
    s_rule_info_t *info = &self->infos [index];
    info->name = strdup (name);
    info->pattern = strdup (pattern_text);
    info->index = disabled? -1: (int) self->rule_count;
    if (!info->name || !info->pattern) {
        mesh_rule_destroy (&compiled);
        s_rule_entry_fini (&entry);
        return mesh_error_set (err, MESH_ENOMEM, "%sout of memory", where);
    }
    if (disabled) {
        //  Checked like any rule, so that enabling it later cannot fail.
        mesh_rule_destroy (&compiled);
        s_rule_entry_fini (&entry);
        return MESH_OK;
    }
    s_rule_entry_t *rules = realloc (self->rules, (self->rule_count + 1) * sizeof (s_rule_entry_t));
    if (!rules) {
        mesh_rule_destroy (&compiled);
        s_rule_entry_fini (&entry);
        return mesh_error_set (err, MESH_ENOMEM, "%sout of memory", where);
    }
    self->rules = rules;
    self->rules [self->rule_count++] = entry;
    mesh_ruleset_add (self->ruleset, &compiled);
    return MESH_OK;
}

mesh_bus_t *
mesh_bus_parse (const char *text, size_t size, const char *origin, mesh_error_t *err)
{
    return mesh_bus_parse_with (text, size, origin, NULL, err);
}

mesh_bus_t *
mesh_bus_parse_with (const char *text, size_t size, const char *origin,
                     const mesh_rule_options_t *options, mesh_error_t *err)
{
    assert (text);
    json_error_t jerr;
    json_t *root = json_loadb (text, size, 0, &jerr);
    if (!root) {
        mesh_error_set (err, MESH_EMALFORMED, "%s:%d:%d: %s", origin, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    json_t *names = json_object ();
    mesh_bus_t *self = calloc (1, sizeof (mesh_bus_t));
    if (!self || !names)
        goto nomem;
    self->origin = strdup (origin);
    if (options)
        self->options = *options;
    else
        mesh_rule_options_init (&self->options);
    self->ruleset = mesh_ruleset_new ();
    if (!self->origin || !self->ruleset)
        goto nomem;

    char where [MESH_ERROR_TEXT_MAX];
    snprintf (where, sizeof (where), "%s: ", origin);
    if (!json_is_object (root)) {
        mesh_error_set (err, MESH_EINVAL, "%sa rule file must be a JSON object, got %s",
                        where, mesh__json_type_name (root));
        goto fail;
    }
    if (s_check_keys (root, s_file_keys, where, err))
        goto fail;
    const char *bus = json_string_value (json_object_get (root, "bus"));
    if (!mesh_bus_name_valid (bus)) {
        mesh_error_set (err, MESH_EINVAL,
                        "%sinvalid bus name '%s': use 1 to %d of A-Z a-z 0-9 . _ / -",
                        where, bus, MESH_BUS_NAME_MAX);
        goto fail;
    }
    self->name = strdup (bus);
    const json_t *rules = json_object_get (root, "rules");
    self->rule_total = json_array_size (rules);
    if (self->rule_total > MESH_MAX_RULES_PER_BUS) {
        mesh_error_set (err, MESH_EINVAL, "%stoo many rules: %zu (at most %d)",
                        where, self->rule_total, MESH_MAX_RULES_PER_BUS);
        goto fail;
    }
    self->infos = calloc (self->rule_total + 1, sizeof (s_rule_info_t));
    if (!self->infos)
        goto nomem;
    for (size_t i = 0; i < self->rule_total; i++)
        if (s_parse_rule (self, json_array_get (rules, i), i, names, err))
            goto fail;
    mesh_error_t compile_err = { 0 };
    if (mesh_ruleset_compile (self->ruleset, &compile_err)) {
        mesh_error_set (err, compile_err.code, "%s%s", where, compile_err.text);
        goto fail;
    }
    json_decref (names);
    json_decref (root);
    return self;

nomem:
    mesh_error_set (err, MESH_ENOMEM, "%s: out of memory", origin);
fail:
    json_decref (names);
    json_decref (root);
    mesh_bus_destroy (&self);
    return NULL;
}

mesh_bus_t *
mesh_bus_load (const char *path, mesh_error_t *err)
{
    return mesh_bus_load_with (path, NULL, err);
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
    char *text = NULL;
    size_t size = 0;
    FILE *memory = open_memstream (&text, &size);
    char buffer [65536];
    size_t got;
    while (memory && (got = fread (buffer, 1, sizeof (buffer), file)) > 0)
        fwrite (buffer, 1, got, memory);
    bool failed = ferror (file) || !memory;
    fclose (file);
    if (memory)
        fclose (memory);
    if (failed) {
        free (text);
        mesh_error_set (err, MESH_EIO, "%s: cannot read: %s", path, strerror (errno));
        return NULL;
    }
    mesh_bus_t *self = mesh_bus_parse_with (text, size, path, options, err);
    free (text);
    return self;
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
    return (const char *const *) self->rules [index].targets;
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
    return self->rules [index].pattern;
}
