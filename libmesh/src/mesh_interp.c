/*  mesh_interp.c: the reference matcher, one rule at a time

    The interpreter walks a rule's pattern tree (mesh_pattern.h) and reads
    the event's MessagePack bytes in place with mesh__mp_read: events are
    never decoded, so matching allocates nothing. It is written to be
    obviously right rather than fast; the automaton that matches sets is
    tested against it (tests/test_differential.c), so the event side of
    every semantic choice is written down here (the pattern side is at the
    top of mesh_pattern_compile.c):

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

    Usage: mesh_rule_match (mesh_rule.c) checks and interprets; the
    explainer and the automaton use the pieces in mesh_interp.h.
*/
#include <math.h>
#include <string.h>
#include "mesh_private.h"
#include "mesh_interp.h"
#include "mesh_ip.h"

//  Event nesting the matcher accepts (containers; the top map is level 1).
#define S_EVENT_DEPTH_MAX       MESH_MAX_DEPTH_LIMIT


//  ---------------------------------------------------------------------
//  Text: case folding, affixes, wildcards

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

//  How common a byte is in the strings events hold, roughly (0 rare, 3
//  common): letters, digits and the space are everywhere, punctuation
//  less so, control bytes and the rest rarely.
static int
s_byte_rank (unsigned char byte)
{
    if ((byte >= 'a' && byte <= 'z') || (byte >= '0' && byte <= '9') || byte == ' ')
        return 3;
    if (byte >= 'A' && byte <= 'Z')
        return 2;
    if (byte == '-' || byte == '.' || byte == '_' || byte == '/' || byte == ',')
        return 1;
    return 0;
}

//  The first occurrence of needle in text. glibc's memmem sets up a table
//  on every call, which costs more than the search in the short strings
//  events hold; under S_SHORT_TEXT bytes, a memchr for the needle's
//  rarest byte (s_byte_rank) and a memcmp at each place it is found is
//  faster from three bytes on, and its worst case (S_SHORT_TEXT times the
//  needle's size) stays small. Longer texts keep memmem, linear at worst.
#define S_SHORT_TEXT 256

static const char *
s_find (const char *text, size_t size, const char *needle, size_t needle_size)
{
    //  memmem is quick for one and two bytes (a memchr, a 16-bit compare)
    if (size > S_SHORT_TEXT || needle_size < 3)
        return (const char *) memmem (text, size, needle, needle_size);
    if (needle_size > size)
        return NULL;
    size_t pick = 0;
    for (size_t i = 1; i < needle_size && s_byte_rank ((unsigned char) needle [pick]) > 0; i++)
        if (s_byte_rank ((unsigned char) needle [i]) < s_byte_rank ((unsigned char) needle [pick]))
            pick = i;
    //  needle [pick] at text [at] puts the needle at at - pick
    const char *from = text + pick;
    const char *last = text + (size - needle_size) + pick;     //  the last place it may be
    while (from <= last) {
        const char *at = (const char *) memchr (from, needle [pick], (size_t) (last - from) + 1);
        if (!at)
            return NULL;
        if (memcmp (at - pick, needle, needle_size) == 0)
            return at - pick;
        from = at + 1;
    }
    return NULL;
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
        const char *found = s_find (at, (size_t) (stop - at), pieces [i].ptr, pieces [i].size);
        if (!found)
            return false;
        at = found + pieces [i].size;
    }
    return true;
}


//  ---------------------------------------------------------------------
//  Matching

const mesh__found_t mesh__missing = { MESH__MISSING, NULL, NULL, 0 };

//  Read the header of the value at pos. The event was checked whole before
//  matching began, so this cannot fail; a failure is still answered safely
//  (as a nil that matches nothing structural).
mesh__mp_value_t
mesh__interp_read (const mesh__context_t *context, const uint8_t *pos, mesh__mp_reader_t *reader)
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
mesh__found_t
mesh__interp_lookup (const mesh__context_t *context, mesh__found_t parent, const mesh__node_t *child)
{
    if (parent.where == MESH__MISSING)
        return mesh__missing;
    mesh__mp_reader_t reader;
    mesh__mp_value_t map = mesh__interp_read (context, parent.pos, &reader);
    if (map.type != MESH_MP_MAP)
        return mesh__missing;

    const char *segment = child->path + child->path_size - child->segment_size;
    size_t segment_size = child->segment_size;
    const uint8_t *found = NULL;
    bool dotted = false;
    for (uint32_t i = 0; i < map.v.count; i++) {
        const uint8_t *key_pos = reader.pos;
        mesh__mp_value_t key;
        if (mesh__mp_read (&reader, &key))
            return mesh__missing;
        if (key.type != MESH_MP_STR) {
            reader.pos = key_pos;       //  a container key: skip it whole
            if (!s_skip (&reader) || !s_skip (&reader))
                return mesh__missing;
            continue;
        }
        const char *name = key.v.s.ptr;
        size_t name_size = key.v.s.size;
        bool relevant = true;
        if (parent.where == MESH__VIEW) {
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
            return mesh__missing;
    }
    if (found)
        return (mesh__found_t) { MESH__REAL, found, NULL, 0 };
    if (dotted) {
        //  The view's prefix is the child's path relative to the map: its
        //  segment, after the parent view's prefix if there was one.
        size_t prefix_size = parent.where == MESH__VIEW
                           ? parent.prefix_size + 1 + segment_size
                           : segment_size;
        return (mesh__found_t) { MESH__VIEW, parent.pos, child->path + child->path_size - prefix_size, prefix_size };
    }
    return mesh__missing;
}

bool
mesh__interp_number (const mesh__mp_value_t *value, mesh__event_number_t *number)
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
s_number_equal (const mesh__event_number_t *event, const mesh__number_t *pattern)
{
    if (pattern->is_integer && event->type == MESH_MP_UINT)
        return pattern->integer >= 0 && (uint64_t) pattern->integer == event->unsigned_integer;
    if (pattern->is_integer && event->type == MESH_MP_INT)
        return pattern->integer == event->integer;
    return pattern->value == event->value;
}

//  The test of one matcher against one leaf (a scalar: not a map or array).
bool
mesh__interp_test_leaf (const mesh__matcher_t *matcher, const mesh__mp_value_t *leaf)
{
    bool is_string = leaf->type == MESH_MP_STR;
    const char *s = is_string? leaf->v.s.ptr: NULL;
    size_t size = is_string? leaf->v.s.size: 0;
    mesh__event_number_t number;
    bool is_number = mesh__interp_number (leaf, &number);
    //  NaN and the infinities have no JSON form: they match no value test,
    //  anything-but included; only exists sees them (docs/rules.md)
    if (leaf->type == MESH_MP_FLOAT && !isfinite (leaf->v.f))
        return false;

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
                && mesh__ip_parse (s, size, bytes, &bytes_size) == 0
                && bytes_size == matcher->u.cidr.size
                && memcmp (bytes, matcher->u.cidr.low, bytes_size) >= 0
                && memcmp (bytes, matcher->u.cidr.high, bytes_size) <= 0;
        }
        case MESH__EXISTS:
        case MESH__ABSENT:
            return false;           //  not leaf tests: see mesh__interp_matcher_match
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
bool
mesh__interp_has_leaf (const mesh__context_t *context, mesh__found_t value)
{
    if (value.where != MESH__REAL)
        return false;
    mesh__mp_reader_t reader;
    mesh__mp_value_t header = mesh__interp_read (context, value.pos, &reader);
    if (header.type == MESH_MP_MAP)
        return false;
    if (header.type != MESH_MP_ARRAY)
        return true;
    for (uint32_t i = 0; i < header.v.count; i++) {
        mesh__found_t element = { MESH__REAL, reader.pos, NULL, 0 };
        if (mesh__interp_has_leaf (context, element))
            return true;
        if (!s_skip (&reader))
            return false;
    }
    return false;
}

//  True if value is a leaf that passes matcher, or an array (at any depth)
//  holding one.
static bool
s_some_leaf (const mesh__context_t *context, const mesh__matcher_t *matcher, mesh__found_t value)
{
    if (value.where != MESH__REAL)
        return false;
    mesh__mp_reader_t reader;
    mesh__mp_value_t header = mesh__interp_read (context, value.pos, &reader);
    if (header.type == MESH_MP_MAP)
        return false;
    if (header.type != MESH_MP_ARRAY)
        return mesh__interp_test_leaf (matcher, &header);
    for (uint32_t i = 0; i < header.v.count; i++) {
        mesh__found_t element = { MESH__REAL, reader.pos, NULL, 0 };
        if (s_some_leaf (context, matcher, element))
            return true;
        if (!s_skip (&reader))
            return false;
    }
    return false;
}

bool
mesh__interp_matcher_match (const mesh__context_t *context, const mesh__matcher_t *matcher, mesh__found_t value)
{
    if (matcher->kind == MESH__EXISTS)
        return mesh__interp_has_leaf (context, value);
    if (matcher->kind == MESH__ABSENT)
        return !mesh__interp_has_leaf (context, value);
    return s_some_leaf (context, matcher, value);
}

//  The object part of node (its fields and $or groups) against value. An
//  array is matched element by element, so that every field comes from the
//  same element (array consistency); an object that only asks for absence
//  must hold for every element instead. Anything that is not a map holds no
//  fields: they are all missing.
bool
mesh__interp_fields_match (const mesh__context_t *context, const mesh__node_t *node, mesh__found_t value)
{
    if (!node->children && !node->ors)
        return true;
    if (value.where == MESH__REAL) {
        mesh__mp_reader_t reader;
        mesh__mp_value_t header = mesh__interp_read (context, value.pos, &reader);
        if (header.type == MESH_MP_ARRAY) {
            if (header.v.count == 0)
                return mesh__interp_fields_match (context, node, mesh__missing);
            for (uint32_t i = 0; i < header.v.count; i++) {
                mesh__found_t element = { MESH__REAL, reader.pos, NULL, 0 };
                bool match = mesh__interp_fields_match (context, node, element);
                if (match != node->absence_only)
                    return match;
                if (!s_skip (&reader))
                    return false;
            }
            return node->absence_only;
        }
        if (header.type != MESH_MP_MAP)
            value = mesh__missing;
    }
    for (const mesh__node_t *child = node->children; child; child = child->next)
        if (!mesh__interp_node_match (context, child, mesh__interp_lookup (context, value, child)))
            return false;
    for (const mesh__or_t *group = node->ors; group; group = group->next) {
        bool any = false;
        for (size_t i = 0; i < group->count && !any; i++)
            any = mesh__interp_fields_match (context, &group->alternatives [i], value);
        if (!any)
            return false;
    }
    return true;
}

//  A pattern node against the value it found in the event: its tests (ORed)
//  if it is a leaf, and its fields if it is an object.
bool
mesh__interp_node_match (const mesh__context_t *context, const mesh__node_t *node, mesh__found_t value)
{
    if (node->matchers) {
        bool any = false;
        for (size_t i = 0; i < node->matcher_count && !any; i++)
            any = mesh__interp_matcher_match (context, &node->matchers [i], value);
        if (!any)
            return false;
    }
    return mesh__interp_fields_match (context, node, value);
}

//  Check that the bytes are one MessagePack map, whole, with nothing after
//  it and no container deeper than S_EVENT_DEPTH_MAX, with the one
//  validating skip (mesh_mp.h): iterative, so a hostile event cannot
//  exhaust the stack, and a header that claims more values than bytes
//  remain is refused at once instead of looped over.
int
mesh__interp_check (const void *data, size_t size, mesh_error_t *err)
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
                                                 1, S_EVENT_DEPTH_MAX, 0, &fail);
    if (!after && fail.why == MESH__MP_TOO_DEEP)
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

bool
mesh__interp_match (const mesh_rule_t *self, const void *event, size_t size)
{
    mesh__context_t context = { (const uint8_t *) event + size };
    mesh__found_t root = { MESH__REAL, (const uint8_t *) event, NULL, 0 };
    return mesh__interp_node_match (&context, self->root, root);
}
