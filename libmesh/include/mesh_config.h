/*  mesh_config.h: rule files, one event bus each

    A rule file reads like what an EventBridge user already writes:

        { "bus": "eda_bus",
          "rules": [
            { "name": "payment-processed", "state": "ENABLED",
              "event_pattern": { "source": ["demo.payments"] },
              "targets": [ { "name": "rewards" } ] } ] }

    mesh_bus_load reads and checks one such file and compiles its enabled
    rules into a mesh_ruleset_t. A bad file is refused whole, with one line
    that says where: `config/eda_bus.json: rule 'payment-processed':
    pattern.detail.total_cost: Value of numeric must be an array.`, or for
    bad JSON and keys given twice the file's line and column. The keys,
    their types and bounds are the table in mesh_config.c (and docs/rules.md).
    The file is read one rule at a time: loading holds one rule's JSON, not
    the file's.
*/
#ifndef MESH_CONFIG_H_INCLUDED
#define MESH_CONFIG_H_INCLUDED

#include "mesh_error.h"
#include "mesh_rule.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _mesh_bus_t mesh_bus_t;

#define MESH_MAX_TARGETS_PER_RULE  5        //  EventBridge's limit
#define MESH_MAX_RULES_PER_BUS     100000

//  Load and check a rule file. Returns NULL with err (MESH_EIO when the file
//  cannot be read, MESH_EINVAL or MESH_EMALFORMED for its content), the text
//  starting with the path. Caller owns the bus.
mesh_bus_t *
    mesh_bus_load (const char *path, mesh_error_t *err);

//  The same from size bytes of text in memory (need not end in a NUL);
//  origin names it in errors.
mesh_bus_t *
    mesh_bus_parse (const char *text, size_t size, const char *origin, mesh_error_t *err);

//  The same with the options patterns are compiled with (pattern size and
//  wildcard complexity limits; NULL: EventBridge's defaults).
mesh_bus_t *
    mesh_bus_load_with (const char *path, const mesh_rule_options_t *options, mesh_error_t *err);
mesh_bus_t *
    mesh_bus_parse_with (const char *text, size_t size, const char *origin,
                         const mesh_rule_options_t *options, mesh_error_t *err);

void
    mesh_bus_destroy (mesh_bus_t **self_p);

//  The bus name and the file (or origin) it came from (borrowed).
const char *
    mesh_bus_name (const mesh_bus_t *self);
const char *
    mesh_bus_origin (const mesh_bus_t *self);

//  The compiled set of the bus's ENABLED rules (borrowed). Rule index i of
//  the set is the i-th enabled rule of the file.
const mesh_ruleset_t *
    mesh_bus_ruleset (const mesh_bus_t *self);

//  How many rules the file holds, enabled or not.
size_t
    mesh_bus_rule_total (const mesh_bus_t *self);

//  Rule i of the file, enabled or not, in file order (i below
//  mesh_bus_rule_total): returns its name and gives its pattern as JSON
//  text and its index in mesh_bus_ruleset, or -1 when it is DISABLED (both
//  borrowed; pattern and index may be NULL). A pattern given as an object
//  is its text in the file less the whitespace between tokens; one given
//  as text is that text.
const char *
    mesh_bus_rule_info (const mesh_bus_t *self, size_t i, const char **pattern, int *index);

//  The targets of enabled rule index (an index of mesh_bus_ruleset): sets
//  *count and returns the target names (borrowed). Names are interned: in
//  one bus, every rule that names a target gives the same pointer for it.
const char *const *
    mesh_bus_targets (const mesh_bus_t *self, size_t index, size_t *count);

//  The pattern of enabled rule index as JSON text (borrowed).
const char *
    mesh_bus_pattern (const mesh_bus_t *self, size_t index);

#ifdef __cplusplus
}
#endif

#endif
