/*  mesh_pattern_compile.c: an EventBridge event pattern, compiled to a tree

    The compiler turns a pattern's JSON text into the tree of mesh_pattern.h
    (one node per key segment: a node's fields are ANDed, its list of tests,
    the pattern's array, is ORed, and `$or` groups hang off the node they
    appear in), or says why it cannot, in AWS's words. Both matchers read
    that tree: the interpreter (mesh_interp.c) one rule at a time, the
    automaton (mesh_automaton_build.c) every rule of a set at once. The
    event side of the semantics is at the top of mesh_interp.c.

    Usage: mesh_rule_new_with (mesh_rule.c) calls mesh__pattern_compile with
    the rule's arena; nothing else does.

    Why one file past 800 lines: it is one recursive descent over one
    grammar, each operator's parser reporting through the same compiler
    state (its path, its error parts); split, the pieces would share that
    state through a header and read worse than they do in order here.

    Pattern (JSON text, parsed with jansson)
    - A duplicated key: the last occurrence wins (jansson's behaviour).
    - A dotted key `"a.b": [...]` is the same field as `"a": {"b": [...]}`;
      both spellings merge into one tree, and when the same leaf is given
      twice, the later one wins, as for a duplicated key.
    - Numbers compare by value: 300, 300.0 and 3.0e2 are equal. Two integers
      compare exactly (so 9007199254740993 is not 9007199254740992); anything
      involving a float compares as doubles. `numeric` compares as doubles over
      the whole double range (event-ruler's current behaviour, not the older
      +-5e9 / six-decimal limit; mesh_rule.h has no knob for it yet).
    - Numbers are read as written (jansson parses the text with each number
      replaced by its ordinal, mesh_number.h). A number of `numeric` or of
      `anything-but` that does not round-trip through a double is refused
      with Ruler's `Cannot compare number : <the number as written>`, in
      every spelling (9007199254740993, 9007199254740993.0, 9.007199254740993e15);
      -0 is zero, and 1e400 (an infinity) is refused the same way. A plain
      value [9007199254740993] is not (Ruler matches it as written): only one
      beyond int64 or beyond the range of doubles is, as a JSON error.
    - `prefix` / `suffix` / `equals-ignore-case` / `wildcard` / `cidr` only
      ever match strings. Case folding is per code point (Unicode's simple
      uppercase, then lowercase, from mesh_fold.c's table, whatever the
      locale), so ÄBC matches äbc and 𐐀 matches 𐐨; one-to-many foldings such
      as ß/SS are not applied.
    - Reasons are AWS's (or event-ruler's) text, e.g. `Unrecognized match
      type EXISTS`; `Only one key allowed in match expression` for any match
      expression with two keys, except `numeric`, which keeps Ruler's `Too
      many elements in numeric expression`. An empty anything-but list of
      prefixes/suffixes/... is refused (`Empty arrays are not allowed`).
    - Wildcards are matched in O(n*m) time without backtracking, so no
      pattern is dangerous here; AWS's complexity limit is applied anyway,
      so that what compiles here also compiles on AWS: each field's
      wildcards are scored as event-ruler's MachineComplexityEvaluator does
      (mesh_wildcard.c) and a score above mesh_rule_options_t's
      max_wildcard_complexity is refused with AWS's "Rule is too complex"
      (`*:*:*:*:*:event-bus/` + `*` scores 11).
    - JSON syntax errors are reworded as Jackson words them (mesh_jackson.c).
    - Known difference from AWS, deliberate for now: an exact string that
      looks like an IP address is compared as a string, not as an address
      (in Ruler, ["2001:db8::1"] also matches "2001:0db8:0:0:0:0:0:1").
    - `cidr` follows Ruler: the range runs from the address as written to
      that address with the host bits set, and /32 and /128 are refused.
    - `$or` is a group only when it is an array of two or more objects none
      of whose keys is an operator name; otherwise "$or" is an ordinary
      field name (Ruler's legacy rule), which is how `{"$or":[{"c":["x"]}]}`
      comes to be refused with "Unrecognized match type c". The product of
      the lengths of all `$or` arrays may not exceed 1000.

*/
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mesh_private.h"
#include "mesh_pattern.h"
#include "mesh_ip.h"
#include "mesh_number.h"

//  Pattern nesting we accept: JSON levels plus the segments of dotted keys.
#define S_PATTERN_DEPTH_MAX     1000
//  EventBridge's cap on the product of the lengths of all `$or` arrays.
#define S_OR_COMBINATIONS_MAX   1000

//  Operator names that make an object a match expression rather than an
//  alternative of `$or` (event-ruler's reserved names).
static const char *s_reserved_names [] = {
    "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but",
    "exists", "wildcard", "numeric", "cidr", "=", "<", "<=", ">", ">=",
    "regex", "not-wildcard", "not-equals-ignore-case", "date-after",
    "date-on-or-after", "date-before", "date-on-or-before", "in-date-range",
    "ip-address-in-range", "ip-address-not-in-range", NULL
};

typedef struct {
    mesh__arena_t *arena;
    mesh_error_t *err;
    mesh_pattern_error_t *problem;      //  the parts of err, if wanted
    const mesh_rule_options_t *options;
    char path [MESH_ERROR_TEXT_MAX];    //  where we are: "pattern.detail.x"
    size_t path_size;
    uint64_t or_combinations;           //  product of all `$or` lengths
    const char *pattern;                //  the text, as written
    size_t pattern_size;
    const mesh__token_t *numbers;       //  its number tokens: jansson holds
    size_t number_count;                //  each number as its ordinal here
} s_compiler_t;

//  Fail at the current path with MESH_EINVAL and the reason. Returns -1.
static int
s_fail (s_compiler_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
s_fail (s_compiler_t *self, const char *format, ...)
{
    char reason [MESH_ERROR_TEXT_MAX];
    va_list args;
    va_start (args, format);
    vsnprintf (reason, sizeof (reason), format, args);
    va_end (args);
    mesh_error_set (self->err, MESH_EINVAL, "%s: %s", self->path, reason);
    if (self->problem) {
        snprintf (self->problem->path, sizeof (self->problem->path), "%s", self->path);
        snprintf (self->problem->reason, sizeof (self->problem->reason), "%s", reason);
    }
    return -1;
}

static int
s_fail_memory (s_compiler_t *self)
{
    mesh_error_set (self->err, MESH_ENOMEM, "%s: out of memory", self->path);
    return -1;
}

//  Fail as a JSON syntax error does: MESH_EINVAL with "pattern: <reason>
//  (line L, column C)", jansson's message (and the byte position it gives
//  in the pattern as written) reworded as Jackson words it. Returns -1.
static int
s_fail_json (s_compiler_t *self, const char *message, size_t position)
{
    char reason [MESH_ERROR_TEXT_MAX];
    int line = 0, column = 0;
    mesh__jackson_reason (self->pattern, self->pattern_size, message, position,
                          reason, sizeof (reason), &line, &column);
    mesh_error_set (self->err, MESH_EINVAL, "pattern: %s (line %d, column %d)", reason, line, column);
    if (self->problem) {
        snprintf (self->problem->path, sizeof (self->problem->path), "pattern");
        snprintf (self->problem->reason, sizeof (self->problem->reason), "%s", reason);
        self->problem->line = line;
        self->problem->column = column;
    }
    return -1;
}

//  Append text to the error path (truncating quietly: the path only ever
//  ends up in a message of limited size). Returns the old length for
//  s_path_pop.
static size_t
s_path_push (s_compiler_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static size_t
s_path_push (s_compiler_t *self, const char *format, ...)
{
    size_t old = self->path_size;
    size_t room = sizeof (self->path) - old;
    va_list args;
    va_start (args, format);
    int written = vsnprintf (self->path + old, room, format, args);
    va_end (args);
    if (written > 0)
        self->path_size += (size_t) written < room? (size_t) written: room - 1;
    return old;
}

static void
s_path_pop (s_compiler_t *self, size_t old)
{
    self->path_size = old;
    self->path [old] = '\0';
}

static void *
s_alloc (s_compiler_t *self, size_t size)
{
    return mesh__arena_alloc (self->arena, size);
}

//  Copy a jansson string into the arena.
static int
s_copy_text (s_compiler_t *self, json_t *string, mesh__text_t *text)
{
    text->size = json_string_length (string);
    char *copy = (char *) s_alloc (self, text->size + 1);
    if (!copy)
        return s_fail_memory (self);
    memcpy (copy, json_string_value (string), text->size);
    text->ptr = copy;
    return 0;
}

//  The token a number of the parsed pattern stands for: jansson was given
//  the text with each number replaced by its ordinal (mesh_number.h), so
//  every number it hands back is one, and the token is the text as written.
static const mesh__token_t *
s_token_of (s_compiler_t *self, json_t *number)
{
    json_int_t ordinal = json_is_integer (number)? json_integer_value (number): -1;
    if (ordinal < 0 || (uint64_t) ordinal >= self->number_count)
        return NULL;                //  cannot happen: every token is indexed
    return &self->numbers [ordinal];
}

//  Read a number of the pattern from its token. 0, or -1 with the error.
static int
s_read_number (s_compiler_t *self, json_t *value, mesh__number_read_t *number,
               const mesh__token_t **token_p)
{
    const mesh__token_t *token = s_token_of (self, value);
    if (!token)
        return s_fail (self, "number not found in the pattern's text");
    if (mesh__number_read (token->ptr, token->size, number))
        return s_fail_memory (self);
    *token_p = token;
    return 0;
}

//  A number of a value list, [5] or [0.5]: an integer compares exactly and
//  anything else as a double, whether or not it round-trips (Ruler matches
//  such a number as written; an event holds doubles, so 0.1 and its exact
//  value 0.1000000000000000055511151231257827 are one value here). An
//  integer beyond int64 or a number beyond the range of doubles is refused
//  as jansson used to refuse it while parsing, in Jackson's words.
static int
s_exact_number (s_compiler_t *self, json_t *value, mesh__number_t *result)
{
    mesh__number_read_t number;
    const mesh__token_t *token;
    if (s_read_number (self, value, &number, &token))
        return -1;
    size_t end = (size_t) (token->ptr - self->pattern) + token->size;
    if (number.integral && !number.is_integer)
        return s_fail_json (self, "too big integer", end);
    if (!number.integral && isinf (number.value))
        return s_fail_json (self, "real number overflow", end);
    result->is_integer = number.is_integer;
    result->integer = number.integer;
    result->value = number.value;
    return 0;
}

//  A number that must compare as a double, numeric's operands and
//  anything-but's numbers: one that a double does not hold as written is
//  refused, as Ruler refuses it, whatever the spelling: 9007199254740993,
//  9007199254740993.0, 9.007199254740993e15 and 0.30000000000000001 alike
//  (mesh_number.c says exactly when a number round-trips). Zero written
//  with a sign, -0 or -0.0, is accepted and is zero (Ruler's BigDecimal
//  has no negative zero, and -0.0 == 0.0 as doubles). A number beyond the
//  range of doubles (1e400, -1e400) reads as an infinity, which does not
//  round-trip, so it is refused the same way, as Ruler refuses it; an
//  integer beyond int64 is refused unless a double holds it
//  (100000000000000000000 is 1e20 and compares as one).
static int
s_comparable_number (s_compiler_t *self, json_t *value, mesh__number_t *result)
{
    mesh__number_read_t number;
    const mesh__token_t *token;
    if (s_read_number (self, value, &number, &token))
        return -1;
    if (!number.round_trips)
        return s_fail (self, "Cannot compare number : %.*s", (int) token->size, token->ptr);
    result->is_integer = number.is_integer;
    result->integer = number.integer;
    result->value = number.value;
    return 0;
}

//  How Jackson would print the token we found instead of the one expected,
//  for reasons such as "Invalid member in numeric match: 5". NULL means the
//  array ended, which Jackson prints as "]"; a number is printed as written.
static const char *
s_token_text (s_compiler_t *self, json_t *value, char *buffer, size_t size)
{
    if (!value)
        return "]";
    switch (json_typeof (value)) {
        case JSON_STRING:  return json_string_value (value);
        case JSON_OBJECT:  return "{";
        case JSON_ARRAY:   return "[";
        case JSON_TRUE:    return "true";
        case JSON_FALSE:   return "false";
        case JSON_NULL:    return "null";
        default: {
            const mesh__token_t *token = s_token_of (self, value);
            snprintf (buffer, size, "%.*s", token? (int) token->size: 0, token? token->ptr: "");
            return buffer;
        }
    }
}

//  Parse a wildcard: `*` is any run of bytes, `\*` a star, `\\` a backslash.
//  Positions in reasons count the opening quote, as Ruler's do.
static int
s_compile_wildcard (s_compiler_t *self, json_t *string, mesh__wildcard_t *wildcard)
{
    const char *text = json_string_value (string);
    size_t size = json_string_length (string);
    size_t stars = 0;
    for (size_t i = 0; i < size; i++) {
        if (text [i] == '*') {
            if (i + 1 < size && text [i + 1] == '*')
                return s_fail (self, "Consecutive wildcard characters at pos %zu", i + 1);
            stars++;
        }
        else
        if (text [i] == '\\') {
            if (i + 1 < size && (text [i + 1] == '*' || text [i + 1] == '\\'))
                i++;
            else
                return s_fail (self, "Invalid escape character at pos %zu", i + 1);
        }
    }
    char *literal = (char *) s_alloc (self, size + 1);
    wildcard->pieces = (mesh__text_t *) s_alloc (self, (stars + 1) * sizeof (mesh__text_t));
    if (!literal || !wildcard->pieces)
        return s_fail_memory (self);
    wildcard->count = 0;
    size_t length = 0;
    const char *start = literal;
    for (size_t i = 0; i < size; i++) {
        if (text [i] == '*') {
            wildcard->pieces [wildcard->count++] = (mesh__text_t) { start, (size_t) (literal + length - start) };
            start = literal + length;
        }
        else
        if (text [i] == '\\')
            literal [length++] = text [++i];
        else
            literal [length++] = text [i];
    }
    wildcard->pieces [wildcard->count++] = (mesh__text_t) { start, (size_t) (literal + length - start) };
    return 0;
}

//  Parse "10.0.0.0/24" as Ruler does: the range runs from the address as
//  written to that address with all host bits set; /32 (IPv4) and /128
//  (IPv6) are refused.
static int
s_compile_cidr (s_compiler_t *self, json_t *string, mesh__matcher_t *matcher)
{
    const char *text = json_string_value (string);
    size_t size = json_string_length (string);
    const char *slash = (const char *) memchr (text, '/', size);
    if (!slash || memchr (slash + 1, '/', size - (size_t) (slash + 1 - text)) || slash + 1 == text + size)
        return s_fail (self, "Malformed CIDR, one '/' required");

    //  The mask, read as Java's Integer.parseInt would
    const char *mask_text = slash + 1;
    const char *end = text + size;
    bool negative = *mask_text == '-';
    if (*mask_text == '-' || *mask_text == '+')
        mask_text++;
    long mask = 0;
    if (mask_text == end)
        return s_fail (self, "Malformed CIDR, mask bits must be an integer");
    for (const char *p = mask_text; p < end; p++) {
        if (*p < '0' || *p > '9' || mask > INT_MAX / 10)
            return s_fail (self, "Malformed CIDR, mask bits must be an integer");
        mask = mask * 10 + (*p - '0');
    }
    if (negative && mask > 0)
        return s_fail (self, "Malformed CIDR, mask bits must not be negative");

    size_t ip_size = (size_t) (slash - text);
    size_t bytes_size = 0;
    int rc = mesh__ip_parse (text, ip_size, matcher->u.cidr.low, &bytes_size);
    if (rc == -1)
        return s_fail (self, "Nonstandard IP address: %.*s", (int) ip_size, text);
    if (rc == -2)
        return s_fail (self, "Invalid IP address: %.*s", (int) ip_size, text);
    if (bytes_size == 4 && mask > 31)
        return s_fail (self, "IPv4 mask bits must be < 32");
    if (bytes_size == 16 && mask > 127)
        return s_fail (self, "IPv6 mask bits must be < 128");

    matcher->kind = MESH__CIDR;
    matcher->u.cidr.size = bytes_size;
    size_t host_bits = bytes_size * 8 - (size_t) mask;
    for (size_t i = bytes_size; i-- > 0; ) {
        uint8_t byte = matcher->u.cidr.low [i];
        if (host_bits >= 8)
            byte = 0xff;
        else
        if (host_bits > 0)
            byte |= (uint8_t) ((1u << host_bits) - 1);
        matcher->u.cidr.high [i] = byte;
        host_bits = host_bits >= 8? host_bits - 8: 0;
    }
    return 0;
}

static bool
s_is_number (json_t *value)
{
    return value && json_is_number (value);
}

//  An operand of numeric, as a double: refused unless it round-trips.
static int
s_numeric_operand (s_compiler_t *self, json_t *value, double *result)
{
    mesh__number_t number = { 0 };
    if (s_comparable_number (self, value, &number))
        return -1;
    *result = number.value;
    return 0;
}

//  {"numeric": ["=", 5]}, [">", 0], [">=", 0, "<", 10], ["<=", 5] ...,
//  validated in Ruler's order so the first problem gets Ruler's reason:
//  the shape of the whole expression first, then its numbers (the lower
//  bound first), then whether the range is empty.
static int
s_compile_numeric (s_compiler_t *self, json_t *array, mesh__matcher_t *matcher)
{
    if (!json_is_array (array))
        return s_fail (self, "Value of numeric must be an array.");
    size_t size = json_array_size (array);
    json_t *first = json_array_get (array, 0);
    json_t *second = json_array_get (array, 1);
    char buffer [64];
    if (!first || !json_is_string (first))
        return s_fail (self, "Invalid member in numeric match: %s",
                       s_token_text (self, first, buffer, sizeof (buffer)));
    const char *op = json_string_value (first);

    matcher->kind = MESH__NUMERIC;
    matcher->u.range.low = -INFINITY;
    matcher->u.range.high = INFINITY;
    if (streq (op, "=")) {
        if (!s_is_number (second))
            return s_fail (self, "Value of equals must be numeric");
        if (size > 2)
            return s_fail (self, "Too many elements in numeric expression");
        if (s_numeric_operand (self, second, &matcher->u.range.low))
            return -1;
        matcher->u.range.high = matcher->u.range.low;
        return 0;
    }
    if (streq (op, "<") || streq (op, "<=")) {
        if (!s_is_number (second))
            return s_fail (self, "Value of %s must be numeric", op);
        if (size > 2)
            return s_fail (self, "Too many elements in numeric expression");
        matcher->u.range.high_open = streq (op, "<");
        return s_numeric_operand (self, second, &matcher->u.range.high);
    }
    if (!streq (op, ">") && !streq (op, ">="))
        return s_fail (self, "Unrecognized numeric range operator: %s", op);

    if (!s_is_number (second))
        return s_fail (self, "Value of %s must be numeric", op);
    matcher->u.range.low_open = streq (op, ">");
    if (size == 2)
        return s_numeric_operand (self, second, &matcher->u.range.low);

    json_t *third = json_array_get (array, 2);
    json_t *fourth = json_array_get (array, 3);
    if (!json_is_string (third))
        return s_fail (self, "Bad value in numeric range: %s",
                       s_token_text (self, third, buffer, sizeof (buffer)));
    const char *top_op = json_string_value (third);
    if (!streq (top_op, "<") && !streq (top_op, "<="))
        return s_fail (self, "Bad numeric range operator: %s", top_op);
    if (!s_is_number (fourth))
        return s_fail (self, "Value of %s must be numeric", top_op);
    if (size > 4)
        return s_fail (self, "Too many terms in numeric range expression");
    matcher->u.range.high_open = streq (top_op, "<");
    if (s_numeric_operand (self, second, &matcher->u.range.low)
    ||  s_numeric_operand (self, fourth, &matcher->u.range.high))
        return -1;
    if (!(matcher->u.range.low < matcher->u.range.high))
        return s_fail (self, "Bottom must be less than top");
    return 0;
}

//  {"prefix": "x"} or {"prefix": {"equals-ignore-case": "x"}}, and suffix.
static int
s_compile_affix (s_compiler_t *self, const char *op, json_t *value, mesh__matcher_t *matcher)
{
    bool prefix = streq (op, "prefix");
    if (json_is_string (value)) {
        matcher->kind = prefix? MESH__PREFIX: MESH__SUFFIX;
        return s_copy_text (self, value, &matcher->u.text);
    }
    if (!json_is_object (value))
        return s_fail (self, "%s match pattern must be a string", op);
    if (json_object_size (value) == 0)
        return s_fail (self, "%s expression name not found", prefix? "Prefix": "Suffix");
    void *iter = json_object_iter (value);
    const char *inner_op = json_object_iter_key (iter);
    json_t *inner = json_object_iter_value (iter);
    if (!streq (inner_op, "equals-ignore-case"))
        return s_fail (self, "Unsupported %s pattern: %s", op, inner_op);
    if (!json_is_string (inner))
        return s_fail (self, "equals-ignore-case match pattern must be a string");
    if (json_object_size (value) > 1)
        return s_fail (self, "Only one key allowed in match expression");
    matcher->kind = prefix? MESH__PREFIX_NOCASE: MESH__SUFFIX_NOCASE;
    return s_copy_text (self, inner, &matcher->u.text);
}

//  {"anything-but": {"prefix" | "suffix" | "equals-ignore-case" | "wildcard":
//  "x" | ["x", ...]}}
static int
s_compile_anything_but_of (s_compiler_t *self, json_t *object, mesh__matcher_t *matcher)
{
    if (json_object_size (object) == 0)
        return s_fail (self, "Anything-But expression name not found");
    void *iter = json_object_iter (object);
    const char *op = json_object_iter_key (iter);
    json_t *value = json_object_iter_value (iter);

    const char *type_reason;
    if (streq (op, "prefix") || streq (op, "suffix")) {
        matcher->kind = streq (op, "prefix")? MESH__BUT_PREFIX: MESH__BUT_SUFFIX;
        type_reason = "prefix/suffix match pattern must be a string";
    }
    else
    if (streq (op, "equals-ignore-case")) {
        matcher->kind = MESH__BUT_NOCASE;
        type_reason = "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.";
    }
    else
    if (streq (op, "wildcard")) {
        matcher->kind = MESH__BUT_WILDCARD;
        type_reason = "wildcard match pattern must be a string";
    }
    else
        return s_fail (self, "Unsupported anything-but pattern: %s", op);

    if (json_is_number (value))
        return s_fail (self, "%s", type_reason);
    if (!json_is_string (value) && !json_is_array (value))
        return s_fail (self, "Value of anything-but must be an array or single string/number value.");
    size_t count = json_is_array (value)? json_array_size (value): 1;
    if (count == 0)
        return s_fail (self, "Empty arrays are not allowed");

    matcher->u.set.count = count;
    if (matcher->kind == MESH__BUT_WILDCARD)
        matcher->u.set.wildcards = (mesh__wildcard_t *) s_alloc (self, count * sizeof (mesh__wildcard_t));
    else
        matcher->u.set.texts = (mesh__text_t *) s_alloc (self, count * sizeof (mesh__text_t));
    if (!matcher->u.set.wildcards && !matcher->u.set.texts)
        return s_fail_memory (self);
    for (size_t i = 0; i < count; i++) {
        json_t *element = json_is_array (value)? json_array_get (value, i): value;
        if (!json_is_string (element))
            return s_fail (self, "%s", type_reason);
        if ((matcher->kind == MESH__BUT_PREFIX || matcher->kind == MESH__BUT_SUFFIX)
        &&  json_string_length (element) == 0)
            return s_fail (self, "Null prefix/suffix not allowed");
        int rc = matcher->kind == MESH__BUT_WILDCARD
               ? s_compile_wildcard (self, element, &matcher->u.set.wildcards [i])
               : s_copy_text (self, element, &matcher->u.set.texts [i]);
        if (rc)
            return -1;
    }
    if (json_object_size (object) > 1)
        return s_fail (self, "Only one key allowed in match expression");
    return 0;
}

//  {"anything-but": "x" | 5 | ["x", "y"] | [1, 2] | {...}}. A list is read
//  in order, as Ruler reads it: a number that does not round-trip, or an
//  element of the wrong type, is refused where it comes, and a list that
//  mixes strings and numbers only once all of it has been read.
static int
s_compile_anything_but (s_compiler_t *self, json_t *value, mesh__matcher_t *matcher)
{
    if (json_is_object (value))
        return s_compile_anything_but_of (self, value, matcher);

    size_t count;
    bool numbers;
    if (json_is_string (value) || json_is_number (value)) {
        count = 1;
        numbers = json_is_number (value);
    }
    else
    if (json_is_array (value)) {
        count = json_array_size (value);
        size_t strings = 0;
        for (size_t i = 0; i < count; i++) {
            json_t *element = json_array_get (value, i);
            mesh__number_t number = { 0 };
            if (json_is_string (element))
                strings++;
            else
            if (!json_is_number (element))
                return s_fail (self, "Inside anything but list, start|null|boolean is not supported.");
            else
            if (s_comparable_number (self, element, &number))
                return -1;
        }
        if (count == 0 || (strings > 0 && strings < count))
            return s_fail (self, "Inside anything but list, either all values are number or string, "
                                 "mixed type is not supported");
        numbers = strings == 0;
    }
    else
        return s_fail (self, "Value of anything-but must be an array or single string/number value.");

    matcher->kind = numbers? MESH__BUT_NUMBERS: MESH__BUT_STRINGS;
    matcher->u.set.count = count;
    if (numbers)
        matcher->u.set.numbers = (mesh__number_t *) s_alloc (self, count * sizeof (mesh__number_t));
    else
        matcher->u.set.texts = (mesh__text_t *) s_alloc (self, count * sizeof (mesh__text_t));
    if (!matcher->u.set.numbers && !matcher->u.set.texts)
        return s_fail_memory (self);
    for (size_t i = 0; i < count; i++) {
        json_t *element = json_is_array (value)? json_array_get (value, i): value;
        int rc = numbers
               ? s_comparable_number (self, element, &matcher->u.set.numbers [i])
               : s_copy_text (self, element, &matcher->u.set.texts [i]);
        if (rc)
            return -1;
    }
    return 0;
}

//  One object of a value list: {"<operator>": <operand>}.
static int
s_compile_expression (s_compiler_t *self, json_t *object, mesh__matcher_t *matcher)
{
    if (json_object_size (object) == 0)
        return s_fail (self, "Match expression name not found");
    void *iter = json_object_iter (object);
    const char *op = json_object_iter_key (iter);
    json_t *value = json_object_iter_value (iter);
    int rc;
    const char *too_many = "Only one key allowed in match expression";

    if (streq (op, "prefix") || streq (op, "suffix"))
        rc = s_compile_affix (self, op, value, matcher);
    else
    if (streq (op, "equals-ignore-case")) {
        if (!json_is_string (value))
            return s_fail (self, "equals-ignore-case match pattern must be a string");
        matcher->kind = MESH__EQUALS_NOCASE;
        rc = s_copy_text (self, value, &matcher->u.text);
    }
    else
    if (streq (op, "wildcard")) {
        if (!json_is_string (value))
            return s_fail (self, "wildcard match pattern must be a string");
        matcher->kind = MESH__WILDCARD;
        rc = s_compile_wildcard (self, value, &matcher->u.wildcard);
    }
    else
    if (streq (op, "numeric")) {
        rc = s_compile_numeric (self, value, matcher);
        too_many = "Too many elements in numeric expression";
    }
    else
    if (streq (op, "exists")) {
        if (!json_is_boolean (value))
            return s_fail (self, "exists match pattern must be either true or false.");
        matcher->kind = json_is_true (value)? MESH__EXISTS: MESH__ABSENT;
        rc = 0;
    }
    else
    if (streq (op, "cidr")) {
        if (!json_is_string (value))
            return s_fail (self, "prefix match pattern must be a string");
        rc = s_compile_cidr (self, value, matcher);
    }
    else
    if (streq (op, "anything-but"))
        rc = s_compile_anything_but (self, value, matcher);
    else
        return s_fail (self, "Unrecognized match type %s", op);

    if (rc == 0 && json_object_size (object) > 1)
        return s_fail (self, "%s", too_many);
    return rc;
}

//  AWS's limit on the wildcards of one field (see mesh_wildcard.c): the
//  wildcard tests of the list (not anything-but's, which Ruler does not
//  count), as written, scored together.
static int
s_check_complexity (s_compiler_t *self, const mesh__matcher_t *matchers, json_t *array)
{
    int limit = self->options->max_wildcard_complexity;
    size_t count = json_array_size (array);
    size_t wildcards = 0;
    for (size_t i = 0; i < count; i++)
        if (matchers [i].kind == MESH__WILDCARD)
            wildcards++;
    if (limit <= 0 || wildcards == 0)
        return 0;
    const char **texts = (const char **) malloc (wildcards * sizeof (char *));
    size_t *sizes = (size_t *) malloc (wildcards * sizeof (size_t));
    int score = -1;
    if (texts && sizes) {
        size_t n = 0;
        for (size_t i = 0; i < count; i++)
            if (matchers [i].kind == MESH__WILDCARD) {
                json_t *text = json_object_get (json_array_get (array, i), "wildcard");
                texts [n] = json_string_value (text);
                sizes [n++] = json_string_length (text);
            }
        score = mesh__wildcard_complexity (texts, sizes, n, limit);
    }
    free (texts);
    free (sizes);
    if (score < 0)
        return s_fail_memory (self);
    if (score > limit)
        return s_fail (self, "Rule is too complex - try using fewer wildcard characters or fewer "
                             "repeating character sequences after a wildcard character");
    return 0;
}

//  A field's value list: ["a", 5, null, {"prefix": "x"}, ...]. A list given
//  again for the same path replaces the earlier one.
static int
s_compile_list (s_compiler_t *self, mesh__node_t *node, json_t *array)
{
    size_t count = json_array_size (array);
    if (count == 0)
        return s_fail (self, "Empty arrays are not allowed");
    mesh__matcher_t *matchers = (mesh__matcher_t *) s_alloc (self, count * sizeof (mesh__matcher_t));
    if (!matchers)
        return s_fail_memory (self);
    for (size_t i = 0; i < count; i++) {
        json_t *value = json_array_get (array, i);
        mesh__matcher_t *matcher = &matchers [i];
        int rc = 0;
        switch (json_typeof (value)) {
            case JSON_STRING:
                matcher->kind = MESH__EXACT_STRING;
                rc = s_copy_text (self, value, &matcher->u.text);
                break;
            case JSON_INTEGER:
            case JSON_REAL:
                matcher->kind = MESH__EXACT_NUMBER;
                rc = s_exact_number (self, value, &matcher->u.number);
                break;
            case JSON_TRUE:
                matcher->kind = MESH__EXACT_TRUE;
                break;
            case JSON_FALSE:
                matcher->kind = MESH__EXACT_FALSE;
                break;
            case JSON_NULL:
                matcher->kind = MESH__EXACT_NULL;
                break;
            case JSON_OBJECT:
                rc = s_compile_expression (self, value, matcher);
                break;
            default:
                rc = s_fail (self, "Match value must be String, number, true, false, or null");
                break;
        }
        if (rc)
            return -1;
    }
    if (s_check_complexity (self, matchers, array))
        return -1;
    node->matchers = matchers;
    node->matcher_count = count;
    return 0;
}

//  The child of node for one key segment, created if it does not exist yet.
static mesh__node_t *
s_child (s_compiler_t *self, mesh__node_t *node, const char *segment, size_t segment_size)
{
    mesh__node_t **last = &node->children;
    for (mesh__node_t *child = node->children; child; child = child->next) {
        if (child->segment_size == segment_size
        &&  memcmp (child->path + child->path_size - segment_size, segment, segment_size) == 0)
            return child;
        last = &child->next;
    }
    mesh__node_t *child = (mesh__node_t *) s_alloc (self, sizeof (mesh__node_t));
    size_t separator = node->path_size > 0? 1: 0;
    char *path = (char *) s_alloc (self, node->path_size + separator + segment_size + 1);
    if (!child || !path)
        return NULL;
    memcpy (path, node->path, node->path_size);
    if (separator)
        path [node->path_size] = '.';
    memcpy (path + node->path_size + separator, segment, segment_size);
    child->path = path;
    child->path_size = node->path_size + separator + segment_size;
    child->segment_size = segment_size;
    child->depth = node->depth + 1;
    *last = child;
    return child;
}

static int
s_compile_object (s_compiler_t *self, mesh__node_t *node, json_t *object);

//  "key": [...] or "key": {...}, where key may be dotted.
static int
s_compile_field (s_compiler_t *self, mesh__node_t *node, const char *key, json_t *value)
{
    if (!json_is_object (value) && !json_is_array (value))
        return s_fail (self, "\"%s\" must be an object or an array", key);

    //  Walk (creating) one node per segment of the dotted key
    const char *segment = key;
    while (true) {
        const char *dot = strchr (segment, '.');
        size_t segment_size = dot? (size_t) (dot - segment): strlen (segment);
        node = s_child (self, node, segment, segment_size);
        if (!node)
            return s_fail_memory (self);
        if (node->depth > S_PATTERN_DEPTH_MAX)
            return s_fail (self, "pattern nested deeper than %d levels", S_PATTERN_DEPTH_MAX);
        if (!dot)
            break;
        segment = dot + 1;
    }
    return json_is_array (value)
         ? s_compile_list (self, node, value)
         : s_compile_object (self, node, value);
}

//  True if "$or": value is an `$or` group: an array of at least two
//  objects, none of which names an operator. Anything else makes "$or" an
//  ordinary field name, as in Ruler (whose legacy syntax allowed it).
static bool
s_is_or (json_t *value)
{
    if (!json_is_array (value) || json_array_size (value) < 2)
        return false;
    size_t index;
    json_t *element;
    json_array_foreach (value, index, element) {
        if (!json_is_object (element))
            return false;
        const char *key;
        json_t *unused;
        json_object_foreach (element, key, unused)
            for (const char **name = s_reserved_names; *name; name++)
                if (streq (key, *name))
                    return false;
    }
    return true;
}

static int
s_compile_or (s_compiler_t *self, mesh__node_t *node, json_t *array)
{
    size_t count = json_array_size (array);
    self->or_combinations *= count;
    if (self->or_combinations > S_OR_COMBINATIONS_MAX)
        return s_fail (self, "$or expands to more than %d combinations", S_OR_COMBINATIONS_MAX);

    mesh__or_t *group = (mesh__or_t *) s_alloc (self, sizeof (mesh__or_t));
    mesh__node_t *alternatives = (mesh__node_t *) s_alloc (self, count * sizeof (mesh__node_t));
    if (!group || !alternatives)
        return s_fail_memory (self);
    group->alternatives = alternatives;
    group->count = count;
    for (size_t i = 0; i < count; i++) {
        mesh__node_t *alternative = &alternatives [i];
        alternative->path = node->path;
        alternative->path_size = node->path_size;
        alternative->segment_size = node->segment_size;
        alternative->depth = node->depth;
        size_t saved = s_path_push (self, "[%zu]", i);
        int rc = s_compile_object (self, alternative, json_array_get (array, i));
        s_path_pop (self, saved);
        if (rc)
            return -1;
    }
    mesh__or_t **last = &node->ors;
    while (*last)
        last = &(*last)->next;
    *last = group;
    return 0;
}

//  The fields of a pattern object, into node.
static int
s_compile_object (s_compiler_t *self, mesh__node_t *node, json_t *object)
{
    if (json_object_size (object) == 0)
        return s_fail (self, "Empty objects are not allowed");
    const char *key;
    json_t *value;
    json_object_foreach (object, key, value) {
        size_t saved = s_path_push (self, ".%s", key);
        int rc = streq (key, "$or") && s_is_or (value)
               ? s_compile_or (self, node, value)
               : s_compile_field (self, node, key, value);
        s_path_pop (self, saved);
        if (rc)
            return -1;
    }
    return 0;
}

//  Set absence_only on node and everything below; return whether node as a
//  whole (its own tests too) asks only for absence.
static bool
s_finish (mesh__node_t *node)
{
    bool absence_only = true;
    for (mesh__node_t *child = node->children; child; child = child->next)
        if (!s_finish (child))
            absence_only = false;
    for (mesh__or_t *group = node->ors; group; group = group->next)
        for (size_t i = 0; i < group->count; i++)
            if (!s_finish (&group->alternatives [i]))
                absence_only = false;
    node->absence_only = absence_only;

    bool whole = absence_only;
    for (size_t i = 0; i < node->matcher_count; i++)
        if (node->matchers [i].kind != MESH__ABSENT)
            whole = false;
    return whole;
}

//  ---------------------------------------------------------------------
//  The compiler's entry

//  The text must be JSON (else Jackson's reason, line and column) and an
//  object (AWS: "Filter is not an object"); every other problem is
//  MESH_EINVAL with "<path>: <reason>", and problem, if given (already
//  cleared, with the path "pattern"), receives the path and the reason
//  apart. Every node lives in arena, also on failure: the caller frees it.

mesh__node_t *
mesh__pattern_compile (mesh__arena_t *arena, const char *pattern, size_t size,
                       const mesh_rule_options_t *options, mesh_pattern_error_t *problem,
                       mesh_error_t *err)
{
    s_compiler_t compiler = { .arena = arena, .err = err, .problem = problem,
                              .options = options, .or_combinations = 1 };
    s_path_push (&compiler, "pattern");
    mesh__node_t *root = (mesh__node_t *) s_alloc (&compiler, sizeof (mesh__node_t));
    if (!root) {
        s_fail_memory (&compiler);
        return NULL;
    }
    root->path = "";

    //  jansson keeps no number's text: it parses the text with each number
    //  replaced by its ordinal, and the compiler reads the numbers as
    //  written. If that copy is not JSON, neither is the pattern, and the
    //  error is jansson's for the pattern as written.
    mesh__numbered_t numbered;
    if (mesh__numbered_init (&numbered, pattern, size)) {
        s_fail_memory (&compiler);
        return NULL;
    }
    compiler.pattern = pattern;
    compiler.pattern_size = size;
    compiler.numbers = numbered.tokens;
    compiler.number_count = numbered.count;
    json_error_t json_error;
    json_t *json = numbered.text
                 ? json_loadb (numbered.text, numbered.size, JSON_DECODE_ANY, &json_error)
                 : json_loadb (pattern, size, JSON_DECODE_ANY, &json_error);
    int rc;
    if (!json && numbered.text) {
        json = json_loadb (pattern, size, JSON_DECODE_ANY, &json_error);
        rc = json
           ? s_fail (&compiler, "the pattern's numbers could not be read")   //  cannot happen
           : s_fail_json (&compiler, json_error.text, (size_t) json_error.position);
    }
    else
    if (!json)
        rc = s_fail_json (&compiler, json_error.text, (size_t) json_error.position);
    else
        rc = json_is_object (json)
           ? s_compile_object (&compiler, root, json)
           : s_fail (&compiler, "Filter is not an object");
    json_decref (json);
    mesh__numbered_fini (&numbered);
    if (rc)
        return NULL;
    s_finish (root);
    return root;
}
