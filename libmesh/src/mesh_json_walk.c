/*  mesh_json_walk.c: a large JSON document read one value at a time

    See mesh_json_walk.h. The walker reads only what lies between values:
    whitespace (space, tab, newline, carriage return, as JSON has it) and
    { } [ ] , :. Every value is jansson's to read, so what a string may
    hold, how a number is written and how deep a value may nest
    (JSON_PARSER_MAX_DEPTH, counted from the value jansson is given) are
    jansson's rules; the two to four levels the walker reads itself are
    not counted. Two things are read here that are not punctuation:
    - a key of printable ASCII with no backslash, whose bytes are the key
      (every right key of a rule file is one, and jansson's json_loadb
      for each would cost a tenth of the loading): any other key is
      decoded by jansson;
    - a skipped object (mesh__jwalk_skip_object): strings and brackets
      are followed to find where it ends, and judging it is its reader's
      job.

    Line and column are counted only when an error is reported, from the
    start of the text up to the error, as jansson's stream counts them: a
    line ends at '\n', and a column is a character (a byte below 0x80 or
    the first byte of a UTF-8 sequence), the last one read.
*/
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "mesh_json_walk.h"

//  jansson's context for "near '...'" is at most this many bytes.
#define S_NEAR_MAX  20

static bool
s_is_space (char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
s_is_punctuation (char c)
{
    return c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':';
}

void
mesh__jwalk_init (mesh__jwalk_t *self, const char *text, size_t size, const char *origin,
                  mesh_error_t *err)
{
    assert (self && (text || size == 0) && origin);
    self->text = text? text: "";
    self->size = size;
    self->at = 0;
    self->origin = origin;
    self->err = err;
}

int
mesh__jwalk_peek (mesh__jwalk_t *self)
{
    while (self->at < self->size && s_is_space (self->text [self->at]))
        self->at++;
    return self->at < self->size? (unsigned char) self->text [self->at]: -1;
}

bool
mesh__jwalk_take (mesh__jwalk_t *self, char c)
{
    if (mesh__jwalk_peek (self) != (unsigned char) c)
        return false;
    self->at++;
    return true;
}

//  Line and column after reading the first end bytes of the text, as
//  jansson's stream counts them.
static void
s_position (const mesh__jwalk_t *self, size_t end, int *line, int *column)
{
    const char *text = self->text;
    int lines = 1;
    size_t line_start = 0;
    for (const char *newline = text; end > 0
         && (newline = memchr (newline, '\n', end - (size_t) (newline - text))); newline++) {
        lines++;
        line_start = (size_t) (newline - text) + 1;
    }
    int columns = 0;
    for (size_t i = line_start; i < end; i++) {
        unsigned char c = (unsigned char) text [i];
        if (c < 0x80 || (c >= 0xC2 && c <= 0xF4))
            columns++;
    }
    *line = lines;
    *column = columns;
}

//  Fail after reading end bytes: "ORIGIN:L:C: message".
static int
s_fail_after (mesh__jwalk_t *self, size_t end, int code, const char *message)
{
    int line, column;
    s_position (self, end <= self->size? end: self->size, &line, &column);
    return mesh_error_set (self->err, code, "%s:%d:%d: %s", self->origin, line, column, message);
}

int
mesh__jwalk_fail (mesh__jwalk_t *self, size_t at, int code, const char *format, ...)
{
    char message [MESH_ERROR_TEXT_MAX];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof (message), format, args);
    va_end (args);
    return s_fail_after (self, at + 1, code, message);
}

int
mesh__jwalk_expected (mesh__jwalk_t *self, const char *what)
{
    if (mesh__jwalk_peek (self) == -1)
        return mesh__jwalk_fail (self, self->size, MESH_EMALFORMED, "%s expected near end of file", what);
    //  The token as jansson would quote it (punctuation alone, a string to
    //  its closing quote, anything else up to the next space, quote or
    //  punctuation), and not at all past S_NEAR_MAX bytes; the error is at
    //  its last byte
    const char *token = self->text + self->at;
    size_t room = self->size - self->at, size = 1;
    if (token [0] == '"') {
        while (size < room && token [size] != '"')
            size += token [size] == '\\'? 2: 1;
        size = size < room? size + 1: room;
    }
    else
    if (!s_is_punctuation (token [0]))
        while (size < room && !s_is_space (token [size]) && !s_is_punctuation (token [size])
           &&  token [size] != '"')
            size++;
    if (size > S_NEAR_MAX)
        return mesh__jwalk_fail (self, self->at + size - 1, MESH_EMALFORMED, "%s expected", what);
    return mesh__jwalk_fail (self, self->at + size - 1, MESH_EMALFORMED, "%s expected near '%.*s'",
                             what, (int) size, token);
}

int
mesh__jwalk_duplicate (mesh__jwalk_t *self, const char *key, size_t key_size, size_t key_at)
{
    return mesh__jwalk_fail (self, key_at, MESH_EINVAL, "duplicate key '%.*s'", (int) key_size, key);
}

//  The key jansson refused as a duplicate: its token ends just before
//  end (jansson stops right after it), and starts at the first quote
//  before that that no backslash escapes. Decoded into buffer; false if it
//  cannot be found.
static bool
s_duplicate_key (const mesh__jwalk_t *self, size_t start, size_t end, char *buffer, size_t size)
{
    const char *text = self->text;
    if (end < start + 2 || text [end - 1] != '"')
        return false;
    for (size_t quote = end - 1; quote-- > start; ) {
        if (text [quote] != '"')
            continue;
        size_t backslashes = 0;
        while (quote - backslashes > start && text [quote - backslashes - 1] == '\\')
            backslashes++;
        if (backslashes % 2)
            continue;
        json_t *key = json_loadb (text + quote, end - quote, JSON_DECODE_ANY, NULL);
        bool found = json_is_string (key);
        if (found)
            snprintf (buffer, size, "%s", json_string_value (key));
        json_decref (key);
        return found;
    }
    return false;
}

//  Fail with jansson's error for the value that starts at start.
static int
s_fail_jansson (mesh__jwalk_t *self, size_t start, const json_error_t *error)
{
    size_t end = start + (error->position > 0? (size_t) error->position: 0);
    char key [MESH_ERROR_TEXT_MAX];
    switch (json_error_code (error)) {
        case json_error_duplicate_key:
            if (s_duplicate_key (self, start, end, key, sizeof (key))) {
                char message [MESH_ERROR_TEXT_MAX];
                snprintf (message, sizeof (message), "duplicate key '%s'", key);
                return s_fail_after (self, end, MESH_EINVAL, message);
            }
            return s_fail_after (self, end, MESH_EINVAL, error->text);
        case json_error_out_of_memory:
            return mesh_error_set (self->err, MESH_ENOMEM, "%s: out of memory", self->origin);
        default:
            return s_fail_after (self, end, MESH_EMALFORMED, error->text);
    }
}

json_t *
mesh__jwalk_value (mesh__jwalk_t *self, size_t flags)
{
    mesh__jwalk_peek (self);
    size_t start = self->at;
    json_error_t error;
    json_t *value = json_loadb (self->text + start, self->size - start,
                                flags | JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &error);
    if (!value) {
        s_fail_jansson (self, start, &error);
        return NULL;
    }
    //  On success jansson's position is the bytes it took: one value, and
    //  no byte after it (it puts back what ends a number or a literal)
    assert (error.position > 0 && (size_t) error.position <= self->size - start);
    self->at = start + (size_t) error.position;
    return value;
}

int
mesh__jwalk_check (mesh__jwalk_t *self, size_t start)
{
    size_t at = self->at;
    self->at = start;
    json_t *value = mesh__jwalk_value (self, 0);
    self->at = at;
    json_decref (value);
    return value? 0: -1;
}

//  If a string that needs no decoding starts at the next byte, one of
//  printable ASCII other than a quote or a backslash: its length (between
//  the quotes), else 0 (an empty string is decoded too: it is rare).
static size_t
s_plain_string (const mesh__jwalk_t *self)
{
    const char *text = self->text + self->at;
    size_t room = self->size - self->at;
    size_t at = 1;
    while (at < room && text [at] >= 0x20 && text [at] < 0x7F && text [at] != '"' && text [at] != '\\')
        at++;
    return at < room && at > 1 && text [at] == '"'? at - 1: 0;
}

int
mesh__jwalk_object (mesh__jwalk_t *self, mesh__jwalk_member_fn *member, void *arg)
{
    if (!mesh__jwalk_take (self, '{'))
        return mesh__jwalk_expected (self, "'{'");
    if (mesh__jwalk_take (self, '}'))
        return 0;
    while (true) {
        if (mesh__jwalk_peek (self) != '"')
            return mesh__jwalk_expected (self, "string or '}'");
        //  A key of printable ASCII without escapes is its own bytes (all
        //  of a rule file's right keys are): only another needs decoding
        const char *plain = self->text + self->at + 1;
        size_t plain_size = s_plain_string (self);
        json_t *key = NULL;
        if (plain_size)
            self->at += plain_size + 2;
        else
        if (!(key = mesh__jwalk_value (self, 0)))
            return -1;
        assert (!key || json_is_string (key));      //  a value that starts with a quote
        size_t key_at = self->at - 1;               //  its closing quote
        int rc = 0;
        if (!mesh__jwalk_take (self, ':'))
            rc = mesh__jwalk_expected (self, "':'");
        else
        if (key? member (self, json_string_value (key), json_string_length (key), key_at, arg)
               : member (self, plain, plain_size, key_at, arg))
            rc = -1;
        json_decref (key);
        if (rc)
            return rc;
        if (mesh__jwalk_take (self, '}'))
            return 0;
        if (!mesh__jwalk_take (self, ','))
            return mesh__jwalk_expected (self, "'}'");
    }
}

int
mesh__jwalk_array (mesh__jwalk_t *self, mesh__jwalk_item_fn *item, void *arg)
{
    if (!mesh__jwalk_take (self, '['))
        return mesh__jwalk_expected (self, "'['");
    if (mesh__jwalk_take (self, ']'))
        return 0;
    for (size_t index = 0; ; index++) {
        if (item (self, index, arg))
            return -1;
        if (mesh__jwalk_take (self, ']'))
            return 0;
        if (!mesh__jwalk_take (self, ','))
            return mesh__jwalk_expected (self, "']'");
    }
}

//  The bytes that matter to a skipped object's reader, by class
#define S_SPACE     1
#define S_PUNCT     2           //  { } [ ] , :
#define S_OPEN      4           //  { [
#define S_CLOSE     8           //  } ]
#define S_QUOTE     16

static const unsigned char s_class [256] = {
    [' '] = S_SPACE, ['\t'] = S_SPACE, ['\n'] = S_SPACE, ['\r'] = S_SPACE,
    ['{'] = S_PUNCT | S_OPEN, ['['] = S_PUNCT | S_OPEN,
    ['}'] = S_PUNCT | S_CLOSE, [']'] = S_PUNCT | S_CLOSE,
    [','] = S_PUNCT, [':'] = S_PUNCT, ['"'] = S_QUOTE,
};

//  The end of the string whose opening quote is at text [at]: just past
//  its closing quote, or size if it has none.
static size_t
s_string_end (const char *text, size_t at, size_t size)
{
    for (at++; at < size && text [at] != '"'; )
        at += text [at] == '\\'? 2: 1;
    return at < size? at + 1: size;
}

int
mesh__jwalk_skip_object (mesh__jwalk_t *self, size_t *start_p, size_t *size_p,
                         char *out, size_t room, size_t *compact_p)
{
    int first = mesh__jwalk_peek (self);
    assert (first == '{');
    const char *text = self->text;
    size_t start = self->at, at = start, size = self->size, depth = 0, written = 0;
    unsigned char last = S_PUNCT;       //  the class of the last byte kept
    //  One pass finds the end and writes the compact copy (the same bytes
    //  as mesh__jwalk_compact's, which says what is kept)
    while (at < size) {
        unsigned char c = (unsigned char) text [at], class = s_class [c];
        if (class & S_SPACE) {
            size_t end = at;
            while (end < size && (s_class [(unsigned char) text [end]] & S_SPACE))
                end++;
            if (end < size && !(last & S_PUNCT) && !(s_class [(unsigned char) text [end]] & S_PUNCT)) {
                if (written + (end - at) <= room)
                    memcpy (out + written, text + at, end - at);
                written += end - at;
            }
            at = end;
            continue;
        }
        size_t end = class & S_QUOTE? s_string_end (text, at, size): at + 1;
        if (written + (end - at) <= room)
            memcpy (out + written, text + at, end - at);
        written += end - at;
        last = class;
        at = end;
        if (class & S_OPEN)
            depth++;
        else
        if ((class & S_CLOSE) && --depth == 0) {
            *start_p = start;
            *size_p = at - start;
            *compact_p = written;
            self->at = at;
            return 0;
        }
    }
    //  The object does not end: jansson says where it goes wrong
    if (mesh__jwalk_check (self, start) == 0)       //  cannot happen: it would end
        return mesh__jwalk_fail (self, size, MESH_EMALFORMED, "'}' expected near end of file");
    return -1;
}

size_t
mesh__jwalk_compact (const mesh__jwalk_t *self, size_t start, size_t size, char *out)
{
    assert (start + size <= self->size);
    const char *text = self->text + start;
    size_t written = 0;
    char last = '{';                    //  the last byte kept
    for (size_t at = 0; at < size; ) {
        size_t end = at;
        if (s_is_space (text [at])) {
            while (end < size && s_is_space (text [end]))
                end++;
            bool keep = end < size && !s_is_punctuation (last) && !s_is_punctuation (text [end]);
            if (keep) {
                if (out)
                    memcpy (out + written, text + at, end - at);
                written += end - at;
            }
            at = end;
            continue;
        }
        //  Kept: everything up to the next space outside a string
        while (end < size && !s_is_space (text [end]))
            end = text [end] == '"'? s_string_end (text, end, size): end + 1;
        if (out)
            memcpy (out + written, text + at, end - at);
        written += end - at;
        last = text [end - 1];
        at = end;
    }
    return written;
}
