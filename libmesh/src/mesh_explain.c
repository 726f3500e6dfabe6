/*  mesh_explain.c: why an event does not match a rule, in words

    mesh_rule_explain answers as mesh_rule_match does and, for a no-match,
    says which test failed and how: "detail.total_cost is 99, not > 200".
    For people (the CLI's explain), not for the hot path. The explanation
    follows the interpreter rather than repeating it: at each step it asks
    the interpreter's own functions (mesh_interp.h) which part failed, in
    the order they test, and describes that part only, so it cannot
    disagree with the answer.

    Usage: see mesh_rule.h.
*/
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "mesh_private.h"
#include "mesh_interp.h"
#include "mesh_ip.h"

typedef struct {
    char *text;
    size_t size;                //  room, NUL included
    size_t used;
} s_why_t;

static void
s_why (s_why_t *why, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_why (s_why_t *why, const char *format, ...)
{
    if (why->used + 1 >= why->size)
        return;
    va_list args;
    va_start (args, format);
    int written = vsnprintf (why->text + why->used, why->size - why->used, format, args);
    va_end (args);
    if (written > 0)
        why->used += (size_t) written < why->size - why->used? (size_t) written: why->size - why->used - 1;
}

//  A path for people: "detail.total_cost", or "the event" for the root.
static const char *
s_why_path (const mesh__node_t *node)
{
    return node->path_size > 0? node->path: "the event";
}

//  A double in its shortest form that reads back the same.
static void
s_why_double (s_why_t *why, double value)
{
    char buffer [40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf (buffer, sizeof (buffer), "%.*g", digits, value);
        if (strtod (buffer, NULL) == value)
            break;
    }
    s_why (why, "%s", buffer);
}

//  A string as JSON would quote it, cut after about 60 bytes.
static void
s_why_quoted (s_why_t *why, const char *s, size_t size)
{
    const size_t max = 60;
    size_t shown = size;
    if (shown > max) {
        shown = max;
        while (shown > 0 && ((uint8_t) s [shown] & 0xc0) == 0x80)
            shown--;                //  never cut a character in two
    }
    s_why (why, "\"");
    for (size_t i = 0; i < shown; i++) {
        uint8_t c = (uint8_t) s [i];
        if (c == '"' || c == '\\')
            s_why (why, "\\%c", c);
        else
        if (c == '\n')
            s_why (why, "\\n");
        else
        if (c == '\t')
            s_why (why, "\\t");
        else
        if (c < 0x20)
            s_why (why, "\\u%04x", c);
        else
            s_why (why, "%c", c);
    }
    s_why (why, shown < size? "...\"": "\"");
}

//  A leaf of the event: "300", "\"300\"", "true", "null"; with typed set,
//  its type too: "the number 300", "the string \"300\"".
static void
s_why_leaf (s_why_t *why, const mesh__mp_value_t *leaf, bool typed)
{
    switch (leaf->type) {
        case MESH_MP_STR:
            s_why (why, typed? "the string ": "");
            s_why_quoted (why, leaf->v.s.ptr, leaf->v.s.size);
            break;
        case MESH_MP_UINT:
            s_why (why, "%s%" PRIu64, typed? "the number ": "", leaf->v.u);
            break;
        case MESH_MP_INT:
            s_why (why, "%s%" PRId64, typed? "the number ": "", leaf->v.i);
            break;
        case MESH_MP_FLOAT: {
            s_why (why, typed? "the number ": "");
            size_t before = why->used;
            s_why_double (why, leaf->v.f);
            //  300.0 stays a float to the reader
            if (isfinite (leaf->v.f) && !strpbrk (why->text + before, ".e"))
                s_why (why, ".0");
            break;
        }
        case MESH_MP_BOOL:
            s_why (why, "%s%s", typed? "the boolean ": "", leaf->v.b? "true": "false");
            break;
        case MESH_MP_NIL:
            s_why (why, "null");
            break;
        default:
            s_why (why, "binary data");
            break;
    }
}

//  Up to three elements of an array holding leaves: ["a", "b", ...].
static void
s_why_array (s_why_t *why, const mesh__context_t *context, const uint8_t *pos)
{
    mesh__mp_reader_t reader;
    mesh__mp_value_t header = mesh__interp_read (context, pos, &reader);
    s_why (why, "[");
    for (uint32_t i = 0; i < header.v.count; i++) {
        if (i == 3) {
            s_why (why, ", ... %" PRIu32 " in all", header.v.count);
            break;
        }
        const uint8_t *element = reader.pos;
        mesh__mp_reader_t inner;
        mesh__mp_value_t value = mesh__interp_read (context, element, &inner);
        s_why (why, i? ", ": "");
        if (value.type == MESH_MP_ARRAY)
            s_why (why, "[...]");
        else
        if (value.type == MESH_MP_MAP)
            s_why (why, "{...}");
        else
            s_why_leaf (why, &value, false);
        if (mesh__mp_skip (&reader))
            break;
    }
    s_why (why, "]");
}

static void
s_why_wildcard (s_why_t *why, const mesh__wildcard_t *wildcard)
{
    s_why (why, "\"");
    for (size_t i = 0; i < wildcard->count; i++) {
        s_why (why, i? "*": "");
        for (size_t j = 0; j < wildcard->pieces [i].size; j++) {
            char c = wildcard->pieces [i].ptr [j];
            s_why (why, c == '*' || c == '\\'? "\\%c": "%c", c);
        }
    }
    s_why (why, "\"");
}

static void
s_why_number (s_why_t *why, const mesh__number_t *number)
{
    if (number->is_integer)
        s_why (why, "%" PRId64, number->integer);
    else
        s_why_double (why, number->value);
}

static void
s_why_address (s_why_t *why, const uint8_t *bytes, size_t size)
{
    char text [INET6_ADDRSTRLEN];
    if (inet_ntop (size == 4? AF_INET: AF_INET6, bytes, text, sizeof (text)))
        s_why (why, "%s", text);
}

//  The numeric test's bound that value fails, as "> 200", "<= 5", "= 3".
static void
s_why_bound (s_why_t *why, const mesh__matcher_t *matcher, double value)
{
    double low = matcher->u.range.low, high = matcher->u.range.high;
    if (low == high && !matcher->u.range.low_open && !matcher->u.range.high_open) {
        s_why (why, "= ");
        s_why_double (why, low);
    }
    else
    if (matcher->u.range.low_open? !(value > low): !(value >= low)) {
        s_why (why, "%s ", matcher->u.range.low_open? ">": ">=");
        s_why_double (why, low);
    }
    else {
        s_why (why, "%s ", matcher->u.range.high_open? "<": "<=");
        s_why_double (why, high);
    }
}

//  What an anything-but excludes: "\"a\", \"b\"", "prefix \"init\"".
static void
s_why_excluded (s_why_t *why, const mesh__matcher_t *matcher)
{
    size_t count = matcher->u.set.count;
    switch (matcher->kind) {
        case MESH__BUT_PREFIX:  s_why (why, "prefix "); break;
        case MESH__BUT_SUFFIX:  s_why (why, "suffix "); break;
        case MESH__BUT_NOCASE:  s_why (why, "equals-ignore-case "); break;
        case MESH__BUT_WILDCARD: s_why (why, "wildcard "); break;
        default: break;
    }
    for (size_t i = 0; i < count && i < 3; i++) {
        s_why (why, i? ", ": "");
        if (matcher->kind == MESH__BUT_NUMBERS)
            s_why_number (why, &matcher->u.set.numbers [i]);
        else
        if (matcher->kind == MESH__BUT_WILDCARD)
            s_why_wildcard (why, &matcher->u.set.wildcards [i]);
        else
            s_why_quoted (why, matcher->u.set.texts [i].ptr, matcher->u.set.texts [i].size);
    }
    s_why (why, count > 3? ", ...": "");
}

//  One test as the pattern said it: "\"a\"", "prefix \"x\"", "> 0 and <= 5".
static void
s_why_test (s_why_t *why, const mesh__matcher_t *matcher)
{
    const char *nocase = "";
    switch (matcher->kind) {
        case MESH__EXACT_STRING:
            s_why_quoted (why, matcher->u.text.ptr, matcher->u.text.size);
            break;
        case MESH__EXACT_NUMBER:
            s_why_number (why, &matcher->u.number);
            break;
        case MESH__EXACT_TRUE:  s_why (why, "true"); break;
        case MESH__EXACT_FALSE: s_why (why, "false"); break;
        case MESH__EXACT_NULL:  s_why (why, "null"); break;
        case MESH__PREFIX_NOCASE:
            nocase = " (ignoring case)";
            //  fall through
        case MESH__PREFIX:
            s_why (why, "prefix ");
            s_why_quoted (why, matcher->u.text.ptr, matcher->u.text.size);
            s_why (why, "%s", nocase);
            break;
        case MESH__SUFFIX_NOCASE:
            nocase = " (ignoring case)";
            //  fall through
        case MESH__SUFFIX:
            s_why (why, "suffix ");
            s_why_quoted (why, matcher->u.text.ptr, matcher->u.text.size);
            s_why (why, "%s", nocase);
            break;
        case MESH__EQUALS_NOCASE:
            s_why (why, "equals-ignore-case ");
            s_why_quoted (why, matcher->u.text.ptr, matcher->u.text.size);
            break;
        case MESH__WILDCARD:
            s_why (why, "wildcard ");
            s_why_wildcard (why, &matcher->u.wildcard);
            break;
        case MESH__NUMERIC: {
            bool low = isfinite (matcher->u.range.low), high = isfinite (matcher->u.range.high);
            if (low && high && matcher->u.range.low == matcher->u.range.high) {
                s_why (why, "= ");
                s_why_double (why, matcher->u.range.low);
                break;
            }
            if (low) {
                s_why (why, "%s ", matcher->u.range.low_open? ">": ">=");
                s_why_double (why, matcher->u.range.low);
            }
            if (high) {
                s_why (why, "%s%s ", low? " and ": "", matcher->u.range.high_open? "<": "<=");
                s_why_double (why, matcher->u.range.high);
            }
            break;
        }
        case MESH__CIDR:
            s_why (why, "cidr ");
            s_why_address (why, matcher->u.cidr.low, matcher->u.cidr.size);
            s_why (why, " to ");
            s_why_address (why, matcher->u.cidr.high, matcher->u.cidr.size);
            break;
        case MESH__EXISTS: s_why (why, "exists: true"); break;
        case MESH__ABSENT: s_why (why, "exists: false"); break;
        default:
            s_why (why, "anything-but ");
            s_why_excluded (why, matcher);
            break;
    }
}

//  The type a test needs ("a number", "a string"...), or NULL if it takes
//  values of any type (anything-but, exists).
static const char *
s_why_needs (const mesh__matcher_t *matcher)
{
    switch (matcher->kind) {
        case MESH__EXACT_NUMBER:
        case MESH__NUMERIC:
            return "a number";
        case MESH__EXACT_STRING: case MESH__PREFIX: case MESH__PREFIX_NOCASE: case MESH__SUFFIX:
        case MESH__SUFFIX_NOCASE: case MESH__EQUALS_NOCASE: case MESH__WILDCARD: case MESH__CIDR:
            return "a string";
        case MESH__EXACT_TRUE:  return "true";
        case MESH__EXACT_FALSE: return "false";
        case MESH__EXACT_NULL:  return "null";
        default:            return NULL;
    }
}

static bool
s_why_type_fits (const char *needs, const mesh__mp_value_t *leaf)
{
    if (streq (needs, "a number"))
        return leaf->type == MESH_MP_UINT || leaf->type == MESH_MP_INT || leaf->type == MESH_MP_FLOAT;
    if (streq (needs, "a string"))
        return leaf->type == MESH_MP_STR;
    if (streq (needs, "null"))
        return leaf->type == MESH_MP_NIL;
    return leaf->type == MESH_MP_BOOL;
}

//  Why one test fails on a scalar leaf whose type fits it, after
//  "<path> is <leaf>": ", not > 200", ", which does not start with ...".
static void
s_why_fails (s_why_t *why, const mesh__matcher_t *matcher, const mesh__mp_value_t *leaf)
{
    const char *s = leaf->v.s.ptr;
    size_t size = leaf->v.s.size;
    switch (matcher->kind) {
        case MESH__PREFIX:
        case MESH__PREFIX_NOCASE:
            s_why (why, ", which does not start with ");
            s_why_quoted (why, matcher->u.text.ptr, matcher->u.text.size);
            s_why (why, matcher->kind == MESH__PREFIX_NOCASE? ", even ignoring case": "");
            return;
        case MESH__SUFFIX:
        case MESH__SUFFIX_NOCASE:
            s_why (why, ", which does not end with ");
            s_why_quoted (why, matcher->u.text.ptr, matcher->u.text.size);
            s_why (why, matcher->kind == MESH__SUFFIX_NOCASE? ", even ignoring case": "");
            return;
        case MESH__EQUALS_NOCASE:
            s_why (why, ", not ");
            s_why_quoted (why, matcher->u.text.ptr, matcher->u.text.size);
            s_why (why, ", even ignoring case");
            return;
        case MESH__WILDCARD:
            s_why (why, ", which does not match the wildcard ");
            s_why_wildcard (why, &matcher->u.wildcard);
            return;
        case MESH__NUMERIC: {
            mesh__event_number_t number = { 0 };
            mesh__interp_number (leaf, &number);
            s_why (why, ", not ");
            s_why_bound (why, matcher, number.value);
            return;
        }
        case MESH__CIDR: {
            uint8_t bytes [16];
            size_t bytes_size = 0;
            if (mesh__ip_parse (s, size, bytes, &bytes_size))
                s_why (why, ", which is not an IP address");
            else {
                s_why (why, ", not between ");
                s_why_address (why, matcher->u.cidr.low, matcher->u.cidr.size);
                s_why (why, " and ");
                s_why_address (why, matcher->u.cidr.high, matcher->u.cidr.size);
            }
            return;
        }
        case MESH__ABSENT:
            s_why (why, ", but exists: false wants no value there");
            return;
        case MESH__EXISTS:
            return;                 //  a leaf always passes exists: true
        case MESH__BUT_STRINGS:
        case MESH__BUT_NUMBERS:
            s_why (why, ", which anything-but excludes");
            return;
        case MESH__BUT_PREFIX:
        case MESH__BUT_SUFFIX:
        case MESH__BUT_NOCASE:
        case MESH__BUT_WILDCARD:
            s_why (why, ", which anything-but excludes (");
            s_why_excluded (why, matcher);
            s_why (why, ")");
            return;
        default:
            s_why (why, ", not ");
            s_why_test (why, matcher);
            return;
    }
}

//  The tests of node all failed on value; say how.
static void
s_why_tests (s_why_t *why, const mesh__context_t *context, const mesh__node_t *node, mesh__found_t value)
{
    const char *path = s_why_path (node);
    size_t count = node->matcher_count;
    bool all_but = true;            //  every test an anything-but
    for (size_t i = 0; i < count; i++)
        if (node->matchers [i].kind < MESH__BUT_STRINGS)
            all_but = false;

    if (value.where == MESH__MISSING) {
        s_why (why, "%s is missing%s", path, all_but? " (anything-but never matches a missing field)": "");
        return;
    }
    if (value.where == MESH__VIEW) {
        s_why (why, "%s is an object (its keys are dotted), not a value", path);
        return;
    }
    mesh__mp_reader_t reader;
    mesh__mp_value_t leaf = mesh__interp_read (context, value.pos, &reader);
    if (leaf.type == MESH_MP_MAP) {
        s_why (why, "%s is an object, not a value", path);
        return;
    }
    if (leaf.type == MESH_MP_ARRAY) {
        if (!mesh__interp_has_leaf (context, value)) {
            s_why (why, "%s is %s", path, leaf.v.count == 0? "an empty array": "an array without values");
            return;
        }
        s_why (why, "%s is ", path);
        s_why_array (why, context, value.pos);
        if (count == 1 && node->matchers [0].kind == MESH__ABSENT)
            s_why (why, ", but exists: false wants no value there");
        else
        if (count == 1 && all_but) {
            s_why (why, " and anything-but excludes every element (");
            s_why_excluded (why, &node->matchers [0]);
            s_why (why, ")");
        }
        else {
            s_why (why, " and no element matches ");
            for (size_t i = 0; i < count; i++) {
                s_why (why, i == 0? "": i + 1 == count? " or ": ", ");
                s_why_test (why, &node->matchers [i]);
            }
        }
        return;
    }

    //  A scalar: first, is it of a type any test can take?
    s_why (why, "%s is ", path);
    const char *needs = s_why_needs (&node->matchers [0]);
    for (size_t i = 1; i < count && needs; i++) {
        const char *other = s_why_needs (&node->matchers [i]);
        if (!other || !streq (other, needs))
            needs = NULL;
    }
    if (needs && !s_why_type_fits (needs, &leaf)) {
        s_why_leaf (why, &leaf, strncmp (needs, "a ", 2) == 0);
        s_why (why, ", not %s", needs);
        return;
    }
    s_why_leaf (why, &leaf, false);
    if (count == 1) {
        s_why_fails (why, &node->matchers [0], &leaf);
        return;
    }
    s_why (why, ", which matches none of ");
    for (size_t i = 0; i < count; i++) {
        s_why (why, i == 0? "": ", ");
        s_why_test (why, &node->matchers [i]);
    }
}

static void
s_why_node (s_why_t *why, const mesh__context_t *context, const mesh__node_t *node, mesh__found_t value);

//  The fields or `$or` groups of node failed on value; say which.
static void
s_why_fields (s_why_t *why, const mesh__context_t *context, const mesh__node_t *node, mesh__found_t value)
{
    const char *path = s_why_path (node);
    if (value.where == MESH__REAL) {
        mesh__mp_reader_t reader;
        mesh__mp_value_t header = mesh__interp_read (context, value.pos, &reader);
        if (header.type == MESH_MP_ARRAY) {
            if (header.v.count == 0) {
                s_why (why, "%s is an empty array, so: ", path);
                s_why_fields (why, context, node, mesh__missing);
                return;
            }
            for (uint32_t i = 0; i < header.v.count; i++) {
                mesh__found_t element = { MESH__REAL, reader.pos, NULL, 0 };
                if (node->absence_only && !mesh__interp_fields_match (context, node, element)) {
                    s_why (why, "in element %" PRIu32 " of %s, ", i, path);
                    s_why_fields (why, context, node, element);
                    return;
                }
                if (!node->absence_only) {
                    //  Array consistency: no one element had every field
                    s_why (why, "no element of %s matches every field; element 0: ", path);
                    s_why_fields (why, context, node, element);
                    return;
                }
                if (mesh__mp_skip (&reader))
                    break;
            }
            return;
        }
        if (header.type != MESH_MP_MAP) {
            s_why (why, "%s is ", path);
            s_why_leaf (why, &header, true);
            s_why (why, ", not an object, so: ");
            value = mesh__missing;
        }
    }
    for (const mesh__node_t *child = node->children; child; child = child->next) {
        mesh__found_t found = mesh__interp_lookup (context, value, child);
        if (!mesh__interp_node_match (context, child, found)) {
            s_why_node (why, context, child, found);
            return;
        }
    }
    for (const mesh__or_t *group = node->ors; group; group = group->next) {
        bool any = false;
        for (size_t i = 0; i < group->count && !any; i++)
            any = mesh__interp_fields_match (context, &group->alternatives [i], value);
        if (any)
            continue;
        s_why (why, "no alternative of %s%s$or matches: ", node->path, node->path_size? ".": "");
        for (size_t i = 0; i < group->count; i++) {
            s_why (why, "%s[%zu] ", i? "; ": "", i);
            s_why_fields (why, context, &group->alternatives [i], value);
        }
        return;
    }
}

//  node failed on value: its tests, or else its fields.
static void
s_why_node (s_why_t *why, const mesh__context_t *context, const mesh__node_t *node, mesh__found_t value)
{
    if (node->matchers) {
        bool any = false;
        for (size_t i = 0; i < node->matcher_count && !any; i++)
            any = mesh__interp_matcher_match (context, &node->matchers [i], value);
        if (!any) {
            s_why_tests (why, context, node, value);
            return;
        }
    }
    s_why_fields (why, context, node, value);
}


//  ---------------------------------------------------------------------
//  The API

//  mesh_rule_match's answer, then, for a no-match, the first failing test
//  found the way the matcher looks for it (see "Explaining a no-match").

int
mesh_rule_explain (const mesh_rule_t *self, const void *event, size_t size,
                   char *why, size_t why_size, mesh_error_t *err)
{
    assert (self);
    assert (why && why_size > 0);
    why [0] = '\0';
    mesh_error_t check_err = { 0 };
    if (mesh__interp_check (event, size, &check_err)) {
        snprintf (why, why_size, "%s", check_err.text);
        if (err)
            *err = check_err;
        return -1;
    }
    if (mesh__interp_match (self, event, size)) {
        snprintf (why, why_size, "matched");
        return 1;
    }
    mesh__context_t context = { (const uint8_t *) event + size };
    mesh__found_t root = { MESH__REAL, (const uint8_t *) event, NULL, 0 };
    s_why_t out = { why, why_size, 0 };
    s_why_node (&out, &context, self->root, root);
    if (out.used == 0)
        snprintf (why, why_size, "no match");
    return 0;
}
