/*  mesh_rule.c: EventBridge event patterns, compiled to a tree and interpreted

    A rule is one event pattern compiled into a tree of nodes, one node per
    key segment: a node's fields are ANDed, its list of tests (the pattern's
    array) is ORed, and `$or` groups hang off the node they appear in. Events
    are never decoded: the interpreter walks the pattern tree and reads the
    event's MessagePack bytes in place with mesh__mp_read, so matching
    allocates nothing. A rule set compiles all its rules into one automaton
    (mesh_automaton.c, which reads the same trees through mesh_pattern.h).

    This is the plain interpreter, written to be obviously right rather than
    fast. The compiled automaton that matches sets behind mesh_rule.h is
    tested against it, so every semantic choice is written down here:

    Pattern (JSON text, parsed with jansson)
    - A duplicated key: the last occurrence wins (jansson's behaviour).
    - A dotted key `"a.b": [...]` is the same field as `"a": {"b": [...]}`;
      both spellings merge into one tree, and when the same leaf is given
      twice, the later one wins, as for a duplicated key.
    - Numbers compare by value: 300, 300.0 and 3.0e2 are equal. Two integers
      compare exactly (so 9007199254740993 is not 9007199254740992); anything
      involving a float compares as doubles. `numeric` compares as doubles over
      the whole double range (event-ruler's current behaviour, not the older
      +-5e9 / six-decimal limit; mesh_rule.h has no knob for it yet) and
      refuses an integer operand that a double cannot hold exactly.
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

    Event (MessagePack)
    - Keys are matched as dotted paths, like Ruler's flattening: an event key
      "state.status" is reached by the pattern path state -> status. When a
      map holds both the key "state" and keys "state.<...>", the plain key is
      used and the dotted ones are ignored (Ruler would merge them). A key
      repeated in one map: the last occurrence counts, as in JSON.
    - A leaf is any value that is not a map or an array. A map or an empty
      array at a pattern leaf is no value at all: `exists: true` does not
      match it, `exists: false` does, and nothing else does. `null` is a value.
    - Arrays: a test matches an array when it matches one of its leaf
      elements (nested arrays are searched too). An array under a pattern
      object is matched element by element, and all fields of that object
      must match in the same element (array consistency, as Ruler's
      rulesForJSONEvent). One exception: when every test under that object is
      `exists: false`, the object asks for absence, and must hold for every
      element (the field is absent from the whole array).
    - `anything-but`: a missing field, a map, and an empty array never match;
      `null`, booleans and values of the other type (a number against a list
      of strings) do; an array matches when one of its leaf elements is not
      excluded.
    - Non-string map keys are skipped; bin and ext values are leaves that
      only `exists: true` and `anything-but` match.
    - The bytes must be one well-formed map, nested at most
      MESH_MAX_DEPTH_LIMIT levels (the deepest any configuration allows, so
      an event that passed mesh_event_check is never refused here); anything
      else is MESH_EMALFORMED. This is checked before matching, so a hostile
      event fails the same way whatever the pattern looks at.

    Usage: mesh_rule_new compiles a pattern (or says why it cannot, as
    "<path>: <reason>"; mesh_rule_new_with takes options and gives the path
    and the reason apart), mesh_rule_match answers for one event and
    mesh_rule_explain says why it does not match; a rule set
    takes rules with mesh_ruleset_add, is frozen by mesh_ruleset_compile and
    answers with the indexes of every matching rule. See mesh_rule.h.
*/
#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "mesh_private.h"
#include "mesh_pattern.h"

//  Pattern nesting we accept: JSON levels plus the segments of dotted keys.
#define S_PATTERN_DEPTH_MAX     1000
//  Event nesting the matcher accepts (containers; the top map is level 1).
#define S_EVENT_DEPTH_MAX       MESH_MAX_DEPTH_LIMIT
//  EventBridge's cap on the product of the lengths of all `$or` arrays.
#define S_OR_COMBINATIONS_MAX   1000


//  ---------------------------------------------------------------------
//  The compiled pattern

//  The types (mesh__matcher_t, mesh__node_t, mesh__or_t, the rule and the set) are in
//  mesh_pattern.h, which mesh_automaton.c shares.


//  ---------------------------------------------------------------------
//  Text: UTF-8 decoding, case folding, wildcards, IP addresses

//  Unicode's simple case folding from mesh_fold.c's table, not the C
//  library's locale, so that a rule folds the same on every machine.
static uint32_t
s_fold (uint32_t c)
{
    return mesh__fold (c);
}

//  True if a and b are equal ignoring case, code point by code point.
static bool
s_fold_equal (const char *a, size_t a_size, const char *b, size_t b_size)
{
    const char *a_end = a + a_size;
    const char *b_end = b + b_size;
    while (a < a_end && b < b_end)
        if (s_fold (mesh__utf8_next (&a, a_end)) != s_fold (mesh__utf8_next (&b, b_end)))
            return false;
    return a == a_end && b == b_end;
}

//  True if text starts with prefix, ignoring case.
static bool
s_fold_prefix (const char *text, size_t text_size, const char *prefix, size_t prefix_size)
{
    const char *text_end = text + text_size;
    const char *prefix_end = prefix + prefix_size;
    while (prefix < prefix_end) {
        if (text == text_end)
            return false;
        if (s_fold (mesh__utf8_next (&text, text_end)) != s_fold (mesh__utf8_next (&prefix, prefix_end)))
            return false;
    }
    return true;
}

//  True if text ends with suffix, ignoring case: the last code points of
//  text, as many as the suffix has, must fold to the suffix's.
static bool
s_fold_suffix (const char *text, size_t text_size, const char *suffix, size_t suffix_size)
{
    size_t text_count = mesh__utf8_count (text, text_size);
    size_t suffix_count = mesh__utf8_count (suffix, suffix_size);
    if (text_count < suffix_count)
        return false;
    const char *start = text;
    const char *end = text + text_size;
    for (size_t skip = text_count - suffix_count; skip > 0; skip--)
        mesh__utf8_next (&start, end);
    return s_fold_equal (start, (size_t) (end - start), suffix, suffix_size);
}

static bool
s_text_equal (const char *s, size_t size, mesh__text_t text)
{
    return size == text.size && memcmp (s, text.ptr, size) == 0;
}

static bool
s_text_prefix (const char *s, size_t size, mesh__text_t text)
{
    return size >= text.size && memcmp (s, text.ptr, text.size) == 0;
}

static bool
s_text_suffix (const char *s, size_t size, mesh__text_t text)
{
    return size >= text.size && memcmp (s + size - text.size, text.ptr, text.size) == 0;
}

//  Match s against a wildcard. With stars only (no `?`, no classes), taking
//  the leftmost occurrence of each middle piece is always right, so this
//  never backtracks: O(size * pattern) at worst, whatever the pattern.
static bool
s_wildcard_match (const mesh__wildcard_t *wildcard, const char *s, size_t size)
{
    const mesh__text_t *pieces = wildcard->pieces;
    size_t count = wildcard->count;
    if (count == 1)
        return s_text_equal (s, size, pieces [0]);
    mesh__text_t first = pieces [0];
    mesh__text_t last = pieces [count - 1];
    if (size < first.size + last.size
    || !s_text_prefix (s, size, first)
    || !s_text_suffix (s, size, last))
        return false;
    const char *at = s + first.size;
    const char *stop = s + size - last.size;
    for (size_t i = 1; i + 1 < count; i++) {
        const char *found = (const char *) memmem (at, (size_t) (stop - at), pieces [i].ptr, pieces [i].size);
        if (!found)
            return false;
        at = found + pieces [i].size;
    }
    return true;
}

//  Parse an IP address literal into bytes (4 or 16). Returns 0, -1 if the
//  text does not even look like one ("Nonstandard IP address"), or -2 if it
//  looks like one but is not valid ("Invalid IP address"). The "looks like"
//  test is Ruler's: four dot-separated digit runs, or hex digits and colons
//  with at least one colon, so host names are never resolved.
static int
s_ip_parse (const char *text, size_t size, uint8_t bytes [16], size_t *bytes_size)
{
    bool v4 = size > 0;
    int dots = 0;
    size_t digits = 0;
    for (size_t i = 0; i < size && v4; i++) {
        if (text [i] >= '0' && text [i] <= '9')
            digits++;
        else
        if (text [i] == '.' && digits > 0 && dots < 3) {
            dots++;
            digits = 0;
        }
        else
            v4 = false;
    }
    v4 = v4 && dots == 3 && digits > 0;

    bool v6 = !v4;
    bool colon = false;
    for (size_t i = 0; i < size && v6; i++) {
        char c = text [i];
        if (c == ':')
            colon = true;
        else
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            v6 = false;
    }
    v6 = v6 && colon;
    if (!v4 && !v6)
        return -1;

    char copy [INET6_ADDRSTRLEN + 1];
    if (size >= sizeof (copy))
        return -2;
    memcpy (copy, text, size);
    copy [size] = '\0';
    if (inet_pton (v4? AF_INET: AF_INET6, copy, bytes) != 1)
        return -2;
    *bytes_size = v4? 4: 16;
    return 0;
}


//  ---------------------------------------------------------------------
//  Compiling a pattern

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
    mesh_rule_t *rule;
    mesh_error_t *err;
    mesh_pattern_error_t *problem;      //  the parts of err, if wanted
    const mesh_rule_options_t *options;
    char path [MESH_ERROR_TEXT_MAX];    //  where we are: "pattern.detail.x"
    size_t path_size;
    uint64_t or_combinations;           //  product of all `$or` lengths
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
    return mesh__arena_alloc (&self->rule->arena, size);
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

static mesh__number_t
s_number_of (json_t *number)
{
    mesh__number_t result = { 0 };
    if (json_is_integer (number)) {
        result.is_integer = true;
        result.integer = json_integer_value (number);
        result.value = (double) result.integer;
    }
    else
        result.value = json_real_value (number);
    return result;
}

//  How Jackson would print the token we found instead of the one expected,
//  for reasons such as "Invalid member in numeric match: 5". NULL means the
//  array ended, which Jackson prints as "]".
static const char *
s_token_text (json_t *value, char *buffer, size_t size)
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
        case JSON_INTEGER:
            snprintf (buffer, size, "%" JSON_INTEGER_FORMAT, json_integer_value (value));
            return buffer;
        default:
            snprintf (buffer, size, "%.17g", json_real_value (value));
            return buffer;
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
    int rc = s_ip_parse (text, ip_size, matcher->u.cidr.low, &bytes_size);
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

//  An operand of numeric must be one a double holds exactly: an integer
//  beyond 2^53 that would round is refused rather than compared wrongly.
static int
s_numeric_operand (s_compiler_t *self, json_t *value, double *result)
{
    *result = json_number_value (value);
    if (json_is_integer (value)) {
        json_int_t integer = json_integer_value (value);
        double rounded = (double) integer;
        if (rounded >= 9223372036854775808.0 || (json_int_t) rounded != integer)
            return s_fail (self, "Cannot compare number : %" JSON_INTEGER_FORMAT, integer);
    }
    return 0;
}

//  {"numeric": ["=", 5]}, [">", 0], [">=", 0, "<", 10], ["<=", 5] ...,
//  validated in Ruler's order so the first problem gets Ruler's reason.
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
                       s_token_text (first, buffer, sizeof (buffer)));
    const char *op = json_string_value (first);

    matcher->kind = MESH__NUMERIC;
    matcher->u.range.low = -INFINITY;
    matcher->u.range.high = INFINITY;
    double value;
    if (streq (op, "=")) {
        if (!s_is_number (second))
            return s_fail (self, "Value of equals must be numeric");
        if (s_numeric_operand (self, second, &value))
            return -1;
        if (size > 2)
            return s_fail (self, "Too many elements in numeric expression");
        matcher->u.range.low = matcher->u.range.high = value;
        return 0;
    }
    if (streq (op, "<") || streq (op, "<=")) {
        if (!s_is_number (second))
            return s_fail (self, "Value of %s must be numeric", op);
        if (s_numeric_operand (self, second, &value))
            return -1;
        if (size > 2)
            return s_fail (self, "Too many elements in numeric expression");
        matcher->u.range.high = value;
        matcher->u.range.high_open = streq (op, "<");
        return 0;
    }
    if (!streq (op, ">") && !streq (op, ">="))
        return s_fail (self, "Unrecognized numeric range operator: %s", op);

    if (!s_is_number (second))
        return s_fail (self, "Value of %s must be numeric", op);
    if (s_numeric_operand (self, second, &value))
        return -1;
    matcher->u.range.low = value;
    matcher->u.range.low_open = streq (op, ">");
    if (size == 2)
        return 0;

    json_t *third = json_array_get (array, 2);
    json_t *fourth = json_array_get (array, 3);
    if (!json_is_string (third))
        return s_fail (self, "Bad value in numeric range: %s", s_token_text (third, buffer, sizeof (buffer)));
    const char *top_op = json_string_value (third);
    if (!streq (top_op, "<") && !streq (top_op, "<="))
        return s_fail (self, "Bad numeric range operator: %s", top_op);
    if (!s_is_number (fourth))
        return s_fail (self, "Value of %s must be numeric", top_op);
    if (s_numeric_operand (self, fourth, &value))
        return -1;
    if (size > 4)
        return s_fail (self, "Too many terms in numeric range expression");
    matcher->u.range.high = value;
    matcher->u.range.high_open = streq (top_op, "<");
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

//  {"anything-but": "x" | 5 | ["x", "y"] | [1, 2] | {...}}
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
            if (json_is_string (element))
                strings++;
            else
            if (!json_is_number (element))
                return s_fail (self, "Inside anything but list, start|null|boolean is not supported.");
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
        if (numbers)
            matcher->u.set.numbers [i] = s_number_of (element);
        else
        if (s_copy_text (self, element, &matcher->u.set.texts [i]))
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
                matcher->u.number = s_number_of (value);
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
//  Matching

//  Where a pattern node finds its value in the event: nowhere, at a real
//  value, or in a "view": the keys of one map that start with a dotted
//  prefix ("state.status" seen from the node "state"), which together act
//  as an object.
typedef enum { S_MISSING, S_REAL, S_VIEW } s_where_t;

typedef struct {
    s_where_t where;
    const uint8_t *pos;         //  REAL: the value; VIEW: the map holding the keys
    const char *prefix;         //  VIEW: the keys' dotted prefix, without the dot
    size_t prefix_size;
} s_value_t;

typedef struct {
    const uint8_t *end;         //  end of the event's bytes
} s_context_t;

static const s_value_t s_missing = { S_MISSING, NULL, NULL, 0 };

//  Read the header of the value at pos. The event was checked whole before
//  matching began, so this cannot fail; a failure is still answered safely
//  (as a nil that matches nothing structural).
static mesh__mp_value_t
s_read (const s_context_t *context, const uint8_t *pos, mesh__mp_reader_t *reader)
{
    mesh__mp_value_t value;
    mesh__mp_reader_init (reader, pos, (size_t) (context->end - pos));
    if (mesh__mp_read (reader, &value))
        value.type = MESH_MP_NIL;
    return value;
}

//  Advance reader past one value; false if the bytes were bad (they are not:
//  the event was checked).
static bool
s_skip (mesh__mp_reader_t *reader)
{
    return mesh__mp_skip (reader) == 0;
}

//  The value that child finds in parent (a map, or a view of one). A key
//  equal to the child's segment gives a real value (the last one, if the map
//  repeats the key); failing that, keys that start with "segment." give a
//  view; failing that, the field is missing.
static s_value_t
s_lookup (const s_context_t *context, s_value_t parent, const mesh__node_t *child)
{
    if (parent.where == S_MISSING)
        return s_missing;
    mesh__mp_reader_t reader;
    mesh__mp_value_t map = s_read (context, parent.pos, &reader);
    if (map.type != MESH_MP_MAP)
        return s_missing;

    const char *segment = child->path + child->path_size - child->segment_size;
    size_t segment_size = child->segment_size;
    const uint8_t *found = NULL;
    bool dotted = false;
    for (uint32_t i = 0; i < map.v.count; i++) {
        const uint8_t *key_pos = reader.pos;
        mesh__mp_value_t key;
        if (mesh__mp_read (&reader, &key))
            return s_missing;
        if (key.type != MESH_MP_STR) {
            reader.pos = key_pos;       //  a container key: skip it whole
            if (!s_skip (&reader) || !s_skip (&reader))
                return s_missing;
            continue;
        }
        const char *name = key.v.s.ptr;
        size_t name_size = key.v.s.size;
        bool relevant = true;
        if (parent.where == S_VIEW) {
            //  In a view, only "prefix.<rest>" keys exist, as <rest>
            if (name_size > parent.prefix_size
            &&  name [parent.prefix_size] == '.'
            &&  memcmp (name, parent.prefix, parent.prefix_size) == 0) {
                name += parent.prefix_size + 1;
                name_size -= parent.prefix_size + 1;
            }
            else
                relevant = false;
        }
        if (relevant && name_size >= segment_size && memcmp (name, segment, segment_size) == 0) {
            if (name_size == segment_size)
                found = reader.pos;
            else
            if (name [segment_size] == '.')
                dotted = true;
        }
        if (!s_skip (&reader))
            return s_missing;
    }
    if (found)
        return (s_value_t) { S_REAL, found, NULL, 0 };
    if (dotted) {
        //  The view's prefix is the child's path relative to the map: its
        //  segment, after the parent view's prefix if there was one.
        size_t prefix_size = parent.where == S_VIEW
                           ? parent.prefix_size + 1 + segment_size
                           : segment_size;
        return (s_value_t) { S_VIEW, parent.pos, child->path + child->path_size - prefix_size, prefix_size };
    }
    return s_missing;
}

//  An event number, as exactly as the bytes carry it.
typedef struct {
    double value;
    int64_t integer;            //  INT (negative)
    uint64_t unsigned_integer;  //  UINT
    mesh__mp_type_t type;
} s_event_number_t;

static bool
s_event_number (const mesh__mp_value_t *value, s_event_number_t *number)
{
    number->type = value->type;
    switch (value->type) {
        case MESH_MP_UINT:
            number->unsigned_integer = value->v.u;
            number->value = (double) value->v.u;
            return true;
        case MESH_MP_INT:
            number->integer = value->v.i;
            number->value = (double) value->v.i;
            return true;
        case MESH_MP_FLOAT:
            number->value = value->v.f;
            return true;
        default:
            return false;
    }
}

//  Numbers are equal by value; two integers are compared exactly.
static bool
s_number_equal (const s_event_number_t *event, const mesh__number_t *pattern)
{
    if (pattern->is_integer && event->type == MESH_MP_UINT)
        return pattern->integer >= 0 && (uint64_t) pattern->integer == event->unsigned_integer;
    if (pattern->is_integer && event->type == MESH_MP_INT)
        return pattern->integer == event->integer;
    return pattern->value == event->value;
}

//  The test of one matcher against one leaf (a scalar: not a map or array).
static bool
s_test_leaf (const mesh__matcher_t *matcher, const mesh__mp_value_t *leaf)
{
    bool is_string = leaf->type == MESH_MP_STR;
    const char *s = is_string? leaf->v.s.ptr: NULL;
    size_t size = is_string? leaf->v.s.size: 0;
    s_event_number_t number;
    bool is_number = s_event_number (leaf, &number);

    switch (matcher->kind) {
        case MESH__EXACT_STRING:
            return is_string && s_text_equal (s, size, matcher->u.text);
        case MESH__EXACT_NUMBER:
            return is_number && s_number_equal (&number, &matcher->u.number);
        case MESH__EXACT_TRUE:
            return leaf->type == MESH_MP_BOOL && leaf->v.b;
        case MESH__EXACT_FALSE:
            return leaf->type == MESH_MP_BOOL && !leaf->v.b;
        case MESH__EXACT_NULL:
            return leaf->type == MESH_MP_NIL;
        case MESH__PREFIX:
            return is_string && s_text_prefix (s, size, matcher->u.text);
        case MESH__PREFIX_NOCASE:
            return is_string && s_fold_prefix (s, size, matcher->u.text.ptr, matcher->u.text.size);
        case MESH__SUFFIX:
            return is_string && s_text_suffix (s, size, matcher->u.text);
        case MESH__SUFFIX_NOCASE:
            return is_string && s_fold_suffix (s, size, matcher->u.text.ptr, matcher->u.text.size);
        case MESH__EQUALS_NOCASE:
            return is_string && s_fold_equal (s, size, matcher->u.text.ptr, matcher->u.text.size);
        case MESH__WILDCARD:
            return is_string && s_wildcard_match (&matcher->u.wildcard, s, size);
        case MESH__NUMERIC: {
            if (!is_number)
                return false;
            double d = number.value;
            double low = matcher->u.range.low;
            double high = matcher->u.range.high;
            return (matcher->u.range.low_open? d > low: d >= low)
                && (matcher->u.range.high_open? d < high: d <= high);
        }
        case MESH__CIDR: {
            uint8_t bytes [16];
            size_t bytes_size = 0;
            return is_string
                && s_ip_parse (s, size, bytes, &bytes_size) == 0
                && bytes_size == matcher->u.cidr.size
                && memcmp (bytes, matcher->u.cidr.low, bytes_size) >= 0
                && memcmp (bytes, matcher->u.cidr.high, bytes_size) <= 0;
        }
        case MESH__EXISTS:
        case MESH__ABSENT:
            return false;           //  not leaf tests: see s_matcher_match
        default:
            break;
    }

    //  anything-but: the leaf matches unless one of the values excludes it
    for (size_t i = 0; i < matcher->u.set.count; i++) {
        bool excluded;
        switch (matcher->kind) {
            case MESH__BUT_STRINGS:
                excluded = is_string && s_text_equal (s, size, matcher->u.set.texts [i]);
                break;
            case MESH__BUT_NUMBERS:
                excluded = is_number && s_number_equal (&number, &matcher->u.set.numbers [i]);
                break;
            case MESH__BUT_PREFIX:
                excluded = is_string && s_text_prefix (s, size, matcher->u.set.texts [i]);
                break;
            case MESH__BUT_SUFFIX:
                excluded = is_string && s_text_suffix (s, size, matcher->u.set.texts [i]);
                break;
            case MESH__BUT_NOCASE:
                excluded = is_string && s_fold_equal (s, size, matcher->u.set.texts [i].ptr,
                                                      matcher->u.set.texts [i].size);
                break;
            case MESH__BUT_WILDCARD:
                excluded = is_string && s_wildcard_match (&matcher->u.set.wildcards [i], s, size);
                break;
            default:
                excluded = true;
                break;
        }
        if (excluded)
            return false;
    }
    return true;
}

//  True if value is, or (as an array, at any depth) holds, a leaf.
static bool
s_has_leaf (const s_context_t *context, s_value_t value)
{
    if (value.where != S_REAL)
        return false;
    mesh__mp_reader_t reader;
    mesh__mp_value_t header = s_read (context, value.pos, &reader);
    if (header.type == MESH_MP_MAP)
        return false;
    if (header.type != MESH_MP_ARRAY)
        return true;
    for (uint32_t i = 0; i < header.v.count; i++) {
        s_value_t element = { S_REAL, reader.pos, NULL, 0 };
        if (s_has_leaf (context, element))
            return true;
        if (!s_skip (&reader))
            return false;
    }
    return false;
}

//  True if value is a leaf that passes matcher, or an array (at any depth)
//  holding one.
static bool
s_some_leaf (const s_context_t *context, const mesh__matcher_t *matcher, s_value_t value)
{
    if (value.where != S_REAL)
        return false;
    mesh__mp_reader_t reader;
    mesh__mp_value_t header = s_read (context, value.pos, &reader);
    if (header.type == MESH_MP_MAP)
        return false;
    if (header.type != MESH_MP_ARRAY)
        return s_test_leaf (matcher, &header);
    for (uint32_t i = 0; i < header.v.count; i++) {
        s_value_t element = { S_REAL, reader.pos, NULL, 0 };
        if (s_some_leaf (context, matcher, element))
            return true;
        if (!s_skip (&reader))
            return false;
    }
    return false;
}

static bool
s_matcher_match (const s_context_t *context, const mesh__matcher_t *matcher, s_value_t value)
{
    if (matcher->kind == MESH__EXISTS)
        return s_has_leaf (context, value);
    if (matcher->kind == MESH__ABSENT)
        return !s_has_leaf (context, value);
    return s_some_leaf (context, matcher, value);
}

static bool
s_node_match (const s_context_t *context, const mesh__node_t *node, s_value_t value);

//  The object part of node (its fields and $or groups) against value. An
//  array is matched element by element, so that every field comes from the
//  same element (array consistency); an object that only asks for absence
//  must hold for every element instead. Anything that is not a map holds no
//  fields: they are all missing.
static bool
s_fields_match (const s_context_t *context, const mesh__node_t *node, s_value_t value)
{
    if (!node->children && !node->ors)
        return true;
    if (value.where == S_REAL) {
        mesh__mp_reader_t reader;
        mesh__mp_value_t header = s_read (context, value.pos, &reader);
        if (header.type == MESH_MP_ARRAY) {
            if (header.v.count == 0)
                return s_fields_match (context, node, s_missing);
            for (uint32_t i = 0; i < header.v.count; i++) {
                s_value_t element = { S_REAL, reader.pos, NULL, 0 };
                bool match = s_fields_match (context, node, element);
                if (match != node->absence_only)
                    return match;
                if (!s_skip (&reader))
                    return false;
            }
            return node->absence_only;
        }
        if (header.type != MESH_MP_MAP)
            value = s_missing;
    }
    for (const mesh__node_t *child = node->children; child; child = child->next)
        if (!s_node_match (context, child, s_lookup (context, value, child)))
            return false;
    for (const mesh__or_t *group = node->ors; group; group = group->next) {
        bool any = false;
        for (size_t i = 0; i < group->count && !any; i++)
            any = s_fields_match (context, &group->alternatives [i], value);
        if (!any)
            return false;
    }
    return true;
}

//  A pattern node against the value it found in the event: its tests (ORed)
//  if it is a leaf, and its fields if it is an object.
static bool
s_node_match (const s_context_t *context, const mesh__node_t *node, s_value_t value)
{
    if (node->matchers) {
        bool any = false;
        for (size_t i = 0; i < node->matcher_count && !any; i++)
            any = s_matcher_match (context, &node->matchers [i], value);
        if (!any)
            return false;
    }
    return s_fields_match (context, node, value);
}

//  Check that the bytes are one MessagePack map, whole, with nothing after
//  it and no container deeper than S_EVENT_DEPTH_MAX, with the one
//  validating skip (mesh_mp.h): iterative, so a hostile event cannot
//  exhaust the stack, and a header that claims more values than bytes
//  remain is refused at once instead of looped over.
static int
s_check_event (const void *data, size_t size, mesh_error_t *err)
{
    if (!data || size == 0)
        return mesh_error_set (err, MESH_EMALFORMED, "event: no bytes");
    mesh__mp_reader_t reader;
    mesh__mp_reader_init (&reader, data, size);
    mesh__mp_value_t value;
    if (mesh__mp_read (&reader, &value))
        return mesh_error_set (err, MESH_EMALFORMED, "event: not MessagePack");
    if (value.type != MESH_MP_MAP)
        return mesh_error_set (err, MESH_EMALFORMED, "event: not a MessagePack map");
    mesh__mp_fail_t fail;
    const uint8_t *after = mesh__mp_skip_values (reader.pos, reader.end, 2 * (uint64_t) value.v.count,
                                                 1, S_EVENT_DEPTH_MAX, &fail);
    if (!after && fail.too_deep)
        return mesh_error_set (err, MESH_EMALFORMED,
                               "event: nested deeper than %d levels", S_EVENT_DEPTH_MAX);
    if (!after)
        return mesh_error_set (err, MESH_EMALFORMED,
                               "event: truncated or invalid MessagePack at byte %zu",
                               (size_t) (fail.at - (const uint8_t *) data));
    if (after != reader.end)
        return mesh_error_set (err, MESH_EMALFORMED, "event: %zu bytes after the map",
                               (size_t) (reader.end - after));
    return 0;
}

static bool
s_rule_match (const mesh_rule_t *self, const void *event, size_t size)
{
    s_context_t context = { (const uint8_t *) event + size };
    s_value_t root = { S_REAL, (const uint8_t *) event, NULL, 0 };
    return s_node_match (&context, self->root, root);
}


//  ---------------------------------------------------------------------
//  Explaining a no-match
//
//  For people (the CLI's explain), not for the hot path. The explanation
//  follows the matcher rather than repeating it: at each step it asks the
//  matcher's own functions which part failed, in the order they test, and
//  describes that part only, so it cannot disagree with the answer.

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
s_why_array (s_why_t *why, const s_context_t *context, const uint8_t *pos)
{
    mesh__mp_reader_t reader;
    mesh__mp_value_t header = s_read (context, pos, &reader);
    s_why (why, "[");
    for (uint32_t i = 0; i < header.v.count; i++) {
        if (i == 3) {
            s_why (why, ", ... %" PRIu32 " in all", header.v.count);
            break;
        }
        const uint8_t *element = reader.pos;
        mesh__mp_reader_t inner;
        mesh__mp_value_t value = s_read (context, element, &inner);
        s_why (why, i? ", ": "");
        if (value.type == MESH_MP_ARRAY)
            s_why (why, "[...]");
        else
        if (value.type == MESH_MP_MAP)
            s_why (why, "{...}");
        else
            s_why_leaf (why, &value, false);
        if (!s_skip (&reader))
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
            s_event_number_t number = { 0 };
            s_event_number (leaf, &number);
            s_why (why, ", not ");
            s_why_bound (why, matcher, number.value);
            return;
        }
        case MESH__CIDR: {
            uint8_t bytes [16];
            size_t bytes_size = 0;
            if (s_ip_parse (s, size, bytes, &bytes_size))
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
s_why_tests (s_why_t *why, const s_context_t *context, const mesh__node_t *node, s_value_t value)
{
    const char *path = s_why_path (node);
    size_t count = node->matcher_count;
    bool all_but = true;            //  every test an anything-but
    for (size_t i = 0; i < count; i++)
        if (node->matchers [i].kind < MESH__BUT_STRINGS)
            all_but = false;

    if (value.where == S_MISSING) {
        s_why (why, "%s is missing%s", path, all_but? " (anything-but never matches a missing field)": "");
        return;
    }
    if (value.where == S_VIEW) {
        s_why (why, "%s is an object (its keys are dotted), not a value", path);
        return;
    }
    mesh__mp_reader_t reader;
    mesh__mp_value_t leaf = s_read (context, value.pos, &reader);
    if (leaf.type == MESH_MP_MAP) {
        s_why (why, "%s is an object, not a value", path);
        return;
    }
    if (leaf.type == MESH_MP_ARRAY) {
        if (!s_has_leaf (context, value)) {
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
s_why_node (s_why_t *why, const s_context_t *context, const mesh__node_t *node, s_value_t value);

//  The fields or `$or` groups of node failed on value; say which.
static void
s_why_fields (s_why_t *why, const s_context_t *context, const mesh__node_t *node, s_value_t value)
{
    const char *path = s_why_path (node);
    if (value.where == S_REAL) {
        mesh__mp_reader_t reader;
        mesh__mp_value_t header = s_read (context, value.pos, &reader);
        if (header.type == MESH_MP_ARRAY) {
            if (header.v.count == 0) {
                s_why (why, "%s is an empty array, so: ", path);
                s_why_fields (why, context, node, s_missing);
                return;
            }
            for (uint32_t i = 0; i < header.v.count; i++) {
                s_value_t element = { S_REAL, reader.pos, NULL, 0 };
                if (node->absence_only && !s_fields_match (context, node, element)) {
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
                if (!s_skip (&reader))
                    break;
            }
            return;
        }
        if (header.type != MESH_MP_MAP) {
            s_why (why, "%s is ", path);
            s_why_leaf (why, &header, true);
            s_why (why, ", not an object, so: ");
            value = s_missing;
        }
    }
    for (const mesh__node_t *child = node->children; child; child = child->next) {
        s_value_t found = s_lookup (context, value, child);
        if (!s_node_match (context, child, found)) {
            s_why_node (why, context, child, found);
            return;
        }
    }
    for (const mesh__or_t *group = node->ors; group; group = group->next) {
        bool any = false;
        for (size_t i = 0; i < group->count && !any; i++)
            any = s_fields_match (context, &group->alternatives [i], value);
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
s_why_node (s_why_t *why, const s_context_t *context, const mesh__node_t *node, s_value_t value)
{
    if (node->matchers) {
        bool any = false;
        for (size_t i = 0; i < node->matcher_count && !any; i++)
            any = s_matcher_match (context, &node->matchers [i], value);
        if (!any) {
            s_why_tests (why, context, node, value);
            return;
        }
    }
    s_why_fields (why, context, node, value);
}


//  ---------------------------------------------------------------------
//  Rules

void
mesh_rule_options_init (mesh_rule_options_t *self)
{
    assert (self);
    self->max_pattern_size = MESH_PATTERN_MAX_SIZE_DEFAULT;
    self->max_wildcard_complexity = MESH_WILDCARD_COMPLEXITY_DEFAULT;
}

mesh_rule_t *
mesh_rule_new (const char *name, const char *pattern, size_t size, mesh_error_t *err)
{
    return mesh_rule_new_with (name, pattern, size, NULL, NULL, err);
}

//  Compile a pattern. The text is at most options->max_pattern_size bytes
//  (EventBridge's API cap by default; more is MESH_ETOOBIG, because a caller
//  may want to tell "too long" from "wrong"), must be JSON (else Jackson's
//  reason, line and column), and must be an object (AWS: "Filter is not an
//  object"). Every other problem is MESH_EINVAL with "<path>: <reason>";
//  problem, if given, receives the path and the reason apart.

mesh_rule_t *
mesh_rule_new_with (const char *name, const char *pattern, size_t size,
                    const mesh_rule_options_t *options, mesh_pattern_error_t *problem,
                    mesh_error_t *err)
{
    mesh_rule_options_t defaults;
    if (!options) {
        mesh_rule_options_init (&defaults);
        options = &defaults;
    }
    if (problem) {
        memset (problem, 0, sizeof (*problem));
        snprintf (problem->path, sizeof (problem->path), "pattern");
    }
    if (!pattern) {
        mesh_error_set (err, MESH_EINVAL, "pattern: missing");
        if (problem)
            snprintf (problem->reason, sizeof (problem->reason), "missing");
        return NULL;
    }
    size_t max_size = options->max_pattern_size;
    if (size == SIZE_MAX)
        size = strnlen (pattern, max_size < SIZE_MAX? max_size + 1: SIZE_MAX);
    if (size > max_size) {
        mesh_error_set (err, MESH_ETOOBIG, "pattern: longer than %zu bytes", max_size);
        if (problem)
            snprintf (problem->reason, sizeof (problem->reason), "longer than %zu bytes", max_size);
        return NULL;
    }

    mesh_rule_t *self = (mesh_rule_t *) calloc (1, sizeof (mesh_rule_t));
    json_t *json = NULL;
    if (!self) {
        mesh_error_set (err, MESH_ENOMEM, "pattern: out of memory");
        return NULL;
    }
    mesh__arena_init (&self->arena, 256, 16 * 1024);
    s_compiler_t compiler = { .rule = self, .err = err, .problem = problem,
                              .options = options, .or_combinations = 1 };
    s_path_push (&compiler, "pattern");

    if (!name)
        name = "";
    size_t name_size = strlen (name);
    char *name_copy = (char *) s_alloc (&compiler, name_size + 1);
    self->root = (mesh__node_t *) s_alloc (&compiler, sizeof (mesh__node_t));
    if (!name_copy || !self->root) {
        s_fail_memory (&compiler);
        goto fail;
    }
    memcpy (name_copy, name, name_size + 1);
    self->name = name_copy;
    self->root->path = "";

    json_error_t json_error;
    json = json_loadb (pattern, size, JSON_DECODE_ANY, &json_error);
    if (!json) {
        char reason [MESH_ERROR_TEXT_MAX];
        int line = 0, column = 0;
        mesh__jackson_reason (pattern, size, json_error.text, (size_t) json_error.position,
                              reason, sizeof (reason), &line, &column);
        mesh_error_set (err, MESH_EINVAL, "pattern: %s (line %d, column %d)", reason, line, column);
        if (problem) {
            snprintf (problem->reason, sizeof (problem->reason), "%s", reason);
            problem->line = line;
            problem->column = column;
        }
        goto fail;
    }
    if (!json_is_object (json)) {
        s_fail (&compiler, "Filter is not an object");
        goto fail;
    }
    if (s_compile_object (&compiler, self->root, json))
        goto fail;
    s_finish (self->root);
    json_decref (json);
    return self;

fail:
    json_decref (json);
    mesh_rule_destroy (&self);
    return NULL;
}

void
mesh_rule_destroy (mesh_rule_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        mesh_rule_t *self = *self_p;
        mesh__arena_fini (&self->arena);
        free (self);
        *self_p = NULL;
    }
}

const char *
mesh_rule_name (const mesh_rule_t *self)
{
    assert (self);
    return self->name;
}

//  Check the event's bytes whole (they may come from a hostile peer), then
//  interpret the pattern tree over them. Allocates nothing; the recursion is
//  bounded by the pattern's depth plus the event's array nesting, both
//  capped.

int
mesh_rule_match (const mesh_rule_t *self, const void *event, size_t size, mesh_error_t *err)
{
    assert (self);
    if (s_check_event (event, size, err))
        return -1;
    return s_rule_match (self, event, size)? 1: 0;
}

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
    if (s_check_event (event, size, &check_err)) {
        snprintf (why, why_size, "%s", check_err.text);
        if (err)
            *err = check_err;
        return -1;
    }
    if (s_rule_match (self, event, size)) {
        snprintf (why, why_size, "matched");
        return 1;
    }
    s_context_t context = { (const uint8_t *) event + size };
    s_value_t root = { S_REAL, (const uint8_t *) event, NULL, 0 };
    s_why_t out = { why, why_size, 0 };
    s_why_node (&out, &context, self->root, root);
    if (out.used == 0)
        snprintf (why, why_size, "no match");
    return 0;
}


//  ---------------------------------------------------------------------
//  Rule sets

mesh_ruleset_t *
mesh_ruleset_new (void)
{
    return (mesh_ruleset_t *) calloc (1, sizeof (mesh_ruleset_t));
}

void
mesh_ruleset_destroy (mesh_ruleset_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        mesh_ruleset_t *self = *self_p;
        mesh__automaton_destroy (&self->automaton);     //  it points into the rules
        for (size_t i = 0; i < self->size; i++)
            mesh_rule_destroy (&self->rules [i]);
        free (self->rules);
        free (self);
        *self_p = NULL;
    }
}

//  Take the rule into the set. On failure (set compiled, out of memory, or
//  INT_MAX rules already) the caller keeps the rule and *rule_p is left as
//  it was.

int
mesh_ruleset_add (mesh_ruleset_t *self, mesh_rule_t **rule_p)
{
    assert (self);
    assert (rule_p && *rule_p);
    if (self->compiled || self->size >= INT_MAX)
        return -1;
    if (self->size == self->capacity) {
        size_t capacity = self->capacity? self->capacity * 2: 8;
        mesh_rule_t **rules = (mesh_rule_t **) realloc (self->rules, capacity * sizeof (mesh_rule_t *));
        if (!rules)
            return -1;
        self->rules = rules;
        self->capacity = capacity;
    }
    self->rules [self->size] = *rule_p;
    *rule_p = NULL;
    return (int) self->size++;
}

size_t
mesh_ruleset_size (const mesh_ruleset_t *self)
{
    assert (self);
    return self->size;
}

const mesh_rule_t *
mesh_ruleset_rule (const mesh_ruleset_t *self, size_t index)
{
    assert (self);
    return index < self->size? self->rules [index]: NULL;
}

//  Freeze the set and build the automaton that matches all its rules at
//  once (mesh_automaton.c). Fails only when out of memory, and then the set
//  stays open; calling it again once compiled is harmless.

int
mesh_ruleset_compile (mesh_ruleset_t *self, mesh_error_t *err)
{
    assert (self);
    if (self->compiled)
        return 0;
    self->automaton = mesh__automaton_new (self->rules, self->size, err);
    if (!self->automaton)
        return -1;
    self->compiled = true;
    return 0;
}

//  The automaton answers for every rule in one walk over the event (see
//  mesh_automaton.c); it agrees with mesh_rule_match on every rule, and
//  refuses exactly the bytes that mesh_rule_match refuses.

int
mesh_ruleset_match (const mesh_ruleset_t *self, const void *event, size_t size,
                    uint32_t *hits, mesh_error_t *err)
{
    assert (self);
    if (!self->compiled) {
        mesh_error_set (err, MESH_EINVAL, "ruleset: not compiled");
        return -1;
    }
    return mesh__automaton_match (self->automaton, event, size, hits, err);
}

size_t
mesh_ruleset_memory (const mesh_ruleset_t *self)
{
    assert (self);
    size_t bytes = sizeof (mesh_ruleset_t) + self->capacity * sizeof (mesh_rule_t *);
    for (size_t i = 0; i < self->size; i++)
        bytes += sizeof (mesh_rule_t) + self->rules [i]->arena.bytes;
    return bytes + mesh__automaton_memory (self->automaton);
}


//  ---------------------------------------------------------------------
//  For mesh_automaton.c (declared in mesh_pattern.h). The compiled set
//  shares the interpreter's event check, leaf tests and UTF-8 decoding, so
//  the two engines cannot drift apart on them, and it falls back on the
//  interpreter for the rare shapes it does not compile.

int
mesh__event_check (const void *event, size_t size, mesh_error_t *err)
{
    return s_check_event (event, size, err);
}

bool
mesh__rule_match_checked (const mesh_rule_t *self, const void *event, size_t size)
{
    return s_rule_match (self, event, size);
}

bool
mesh__matcher_test (const mesh__matcher_t *matcher, const mesh__mp_value_t *leaf)
{
    return s_test_leaf (matcher, leaf);
}
