/*  mesh_jackson.c: JSON syntax errors of a pattern, in Jackson's words

    EventBridge parses event patterns with Jackson (through event-ruler), and
    its InvalidEventPatternException quotes Jackson's message, e.g.
    `Unrecognized token 'this': was expecting (JSON String, Number, Array,
    Object or token 'null', 'true' or 'false')`. mesh parses with jansson,
    whose messages read differently ("invalid token near 'this'"). This
    module rewords them: it takes what jansson reported (its message, which
    names what it expected and the token it found, and the byte position),
    looks at the pattern text around that position, and writes the message
    Jackson gives for the same input. It reads the text but never parses it:
    the only scanning is of the prefix jansson already accepted, to find the
    innermost open '{' or '[' (skipping strings), which Jackson's messages
    name ("Object entries", "start marker at ...").

    Jackson's messages are those of jackson-core 2.x's ReaderBasedJsonParser
    (a pattern reaches it as a Java String) with its default features: no
    comments, no single quotes, no NaN, no leading zeroes. Event-ruler reads
    the first token before anything else and refuses a pattern that does not
    start with '{' as "Filter is not an object" without looking further;
    that is reproduced too. Known, deliberate differences:
    - Text after the pattern's closing '}' is refused here ("expected end of
      input after the pattern"); Jackson stops reading at the '}', so AWS
      ignores it. A pattern with trailing garbage is more likely a mistake
      than an intent.
    - jansson refuses what Jackson accepts in a Java String: "\u0000" in a
      key, a lone UTF-16 surrogate escape. Those get messages in Jackson's
      style. An integer beyond int64 or a number beyond double range is
      read by the compiler (mesh_number.c), which refuses one as a plain
      value with jansson's complaint in Jackson's words, here, and one of
      `numeric` or `anything-but` as Ruler does ("Cannot compare number").
    - Locations say "line: L, column: C" without Jackson's "[Source: ...]";
      and a non-ASCII character is shown whole, with its code point, where
      Java would show a UTF-16 unit.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "mesh_private.h"
#include "mesh_pattern.h"

//  Jackson's list of what may start a value
#define S_VALUE_LIST "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
//  The longest token Jackson quotes in "Unrecognized token" before "..."
#define S_TOKEN_MAX 256

typedef struct {
    const char *text;           //  the pattern
    size_t size;
    char *reason;               //  output
    size_t reason_size;
    size_t where;               //  offset the error is reported at
} s_job_t;

static void
s_say (s_job_t *job, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_say (s_job_t *job, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (job->reason, job->reason_size, format, args);
    va_end (args);
}

static bool
s_is_space (char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

//  The code point at offset (one byte, as is, if the UTF-8 there is bad);
//  sets *length to its size in bytes.
static uint32_t
s_code_point (const s_job_t *job, size_t offset, size_t *length)
{
    if (offset >= job->size) {
        *length = 0;
        return 0;                   //  callers check for the end first
    }
    const char *at = job->text + offset;
    const char *next = at;
    uint32_t c = mesh__utf8_next (&next, job->text + job->size);
    *length = (size_t) (next - at);
    return c >= 0x110000? c - 0x110000: c;     //  a bad byte, as is
}

//  Jackson's _getCharDesc: "'x' (code 120)", "(CTRL-CHAR, code 10)",
//  "'中' (code 20013 / 0x4e2d)", for the character at offset.
static const char *
s_char_desc (const s_job_t *job, size_t offset, char *buffer, size_t size)
{
    size_t length;
    uint32_t c = s_code_point (job, offset, &length);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        snprintf (buffer, size, "(CTRL-CHAR, code %u)", c);
    else
    if (c > 0xff)
        snprintf (buffer, size, "'%.*s' (code %u / 0x%x)", (int) length, job->text + offset, c, c);
    else
    if (c >= 0x80)      //  Latin-1 shown as the character it is
        snprintf (buffer, size, "'%c%c' (code %u)", 0xc0 | (c >> 6), 0x80 | (c & 0x3f), c);
    else
        snprintf (buffer, size, "'%c' (code %u)", (char) c, c);
    return buffer;
}

//  Java's Character.isJavaIdentifierStart / Part, for what patterns hold:
//  exact for ASCII; any non-ASCII character outside Latin-1's symbols and
//  the General Punctuation block counts as a letter.
static bool
s_identifier_part (uint32_t c, bool start)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$')
        return true;
    if (c < 0x80)
        return !start && ((c >= '0' && c <= '9') || c <= 0x08 || (c >= 0x0e && c <= 0x1b) || c == 0x7f);
    if (c < 0xc0)
        return c == 0xaa || c == 0xb5 || c == 0xba;
    return c != 0xd7 && c != 0xf7 && !(c >= 0x2000 && c <= 0x206f);
}

//  What precedes offset in the text jansson accepted: the innermost open
//  '{' or '[' (*open, or SIZE_MAX at the top level) and the last character
//  outside white space (*last, or SIZE_MAX).
static void
s_context (const s_job_t *job, size_t offset, size_t *open, size_t *last)
{
    size_t stack [64];          //  deeper nesting only loses the marker's place
    size_t depth = 0;
    bool in_string = false;
    *last = SIZE_MAX;
    for (size_t i = 0; i < offset && i < job->size; i++) {
        char c = job->text [i];
        if (in_string) {
            if (c == '\\' && i + 1 < job->size)
                i++;            //  the escaped character, if the input has one
            else
            if (c == '"')
                in_string = false;
            *last = i;
            continue;
        }
        if (c == '"')
            in_string = true;
        else
        if (c == '{' || c == '[') {
            if (depth < 64)
                stack [depth] = i;
            depth++;
        }
        else
        if ((c == '}' || c == ']') && depth > 0)
            depth--;
        if (!s_is_space (c))
            *last = i;
    }
    *open = depth == 0? SIZE_MAX: depth <= 64? stack [depth - 1]: stack [63];
}

//  Line and column (both from 1, the column in characters) of offset.
static void
s_location (const s_job_t *job, size_t offset, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset && i < job->size; i++) {
        unsigned char c = (unsigned char) job->text [i];
        if (c == '\n') {
            (*line)++;
            *column = 1;
        }
        else
        if ((c & 0xc0) != 0x80)
            (*column)++;
    }
}

static const char *
s_container (const s_job_t *job, size_t open)
{
    return open != SIZE_MAX && job->text [open] == '['? "Array": "Object";
}

//  "Unexpected end-of-input" in Jackson's words, for an input that stops
//  where a token was expected.
static void
s_end_of_input (s_job_t *job)
{
    size_t open, last;
    s_context (job, job->size, &open, &last);
    char c = last == SIZE_MAX? 0: job->text [last];
    job->where = job->size;
    if (c == ',' || c == ':')
        s_say (job, "Unexpected end-of-input within/between %s entries", s_container (job, open));
    else
    if (open == SIZE_MAX)
        s_say (job, "Unexpected end-of-input");
    else {
        int line, column;
        s_location (job, open, &line, &column);
        s_say (job, "Unexpected end-of-input: expected close marker for %s (start marker at line: %d, column: %d)",
               s_container (job, open), line, column);
    }
}

//  A number Jackson would refuse, starting at offset.
static void
s_bad_number (s_job_t *job, size_t offset)
{
    const char *t = job->text;
    size_t p = offset;
    char desc [64];
    if (t [p] == '-' || t [p] == '+') {
        //  Jackson takes '+' for a sign it does not allow, whatever follows
        bool plus = t [p] == '+';
        p++;
        if (p == job->size) {
            s_say (job, "Unexpected end-of-input in a Number value");
            return;
        }
        if (plus || t [p] < '0' || t [p] > '9') {
            job->where = p;
            s_say (job, "Unexpected character (%s) in numeric value: expected digit (0-9) to follow minus sign, "
                        "for valid numeric value", s_char_desc (job, p, desc, sizeof (desc)));
            return;
        }
    }
    if (t [p] == '0' && p + 1 < job->size && t [p + 1] >= '0' && t [p + 1] <= '9') {
        s_say (job, "Invalid numeric value: Leading zeroes not allowed");
        return;
    }
    while (p < job->size && t [p] >= '0' && t [p] <= '9')
        p++;
    const char *missing = NULL;
    if (p < job->size && t [p] == '.') {
        p++;
        if (p == job->size || t [p] < '0' || t [p] > '9')
            missing = "Decimal point not followed by a digit";
        while (!missing && p < job->size && t [p] >= '0' && t [p] <= '9')
            p++;
    }
    if (!missing && p < job->size && (t [p] == 'e' || t [p] == 'E')) {
        p++;
        if (p < job->size && (t [p] == '+' || t [p] == '-'))
            p++;
        if (p == job->size || t [p] < '0' || t [p] > '9')
            missing = "Exponent indicator not followed by a digit";
    }
    if (missing && p == job->size)
        s_say (job, "Unexpected end-of-input in a Number value");
    else
    if (missing) {
        job->where = p;
        s_say (job, "Unexpected character (%s) in numeric value: %s", s_char_desc (job, p, desc, sizeof (desc)), missing);
    }
    else {
        //  The number is fine: what follows it is not
        size_t open, last;
        s_context (job, p, &open, &last);
        job->where = p;
        s_say (job, "Unexpected character (%s): was expecting comma to separate %s entries",
               s_char_desc (job, p, desc, sizeof (desc)), s_container (job, open));
    }
}

//  A value was expected at offset and the text there cannot start one.
static void
s_bad_value (s_job_t *job, size_t offset)
{
    char desc [64];
    size_t length;
    uint32_t c = s_code_point (job, offset, &length);
    if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
        s_bad_number (job, offset);
        return;
    }
    if (c == '}') {
        s_say (job, "Unexpected character (%s): expected a value", s_char_desc (job, offset, desc, sizeof (desc)));
        return;
    }
    if (c == '/') {
        s_say (job, "Unexpected character (%s): maybe a (non-standard) comment? (not recognized as one since "
                    "Feature 'ALLOW_COMMENTS' not enabled for parser)", s_char_desc (job, offset, desc, sizeof (desc)));
        return;
    }
    if (c < 0x20 && !s_is_space ((char) c)) {
        s_say (job, "Illegal character (%s): only regular white space (\\r, \\n, \\t) is allowed between tokens",
               s_char_desc (job, offset, desc, sizeof (desc)));
        return;
    }
    if (s_identifier_part (c, true)) {
        //  Jackson reads on while the characters can be part of a Java
        //  identifier, and quotes what it read
        size_t end = offset;
        size_t count = 0;
        while (end < job->size && count < S_TOKEN_MAX) {
            uint32_t next = s_code_point (job, end, &length);
            if (!s_identifier_part (next, false))
                break;
            end += length;
            count++;
        }
        int token_size = (int) (end - offset);
        const char *more = count == S_TOKEN_MAX && end < job->size? "...": "";
        if ((token_size == 3 && memcmp (job->text + offset, "NaN", 3) == 0)
        ||  (token_size == 8 && memcmp (job->text + offset, "Infinity", 8) == 0))
            s_say (job, "Non-standard token '%.*s': enable JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS to allow",
                   token_size, job->text + offset);
        else
            s_say (job, "Unrecognized token '%.*s%s': was expecting " S_VALUE_LIST, token_size, job->text + offset, more);
        return;
    }
    s_say (job, "Unexpected character (%s): expected a valid value " S_VALUE_LIST,
           s_char_desc (job, offset, desc, sizeof (desc)));
}

//  Where jansson's token starts: jansson reports the byte position just
//  after the token and quotes the token ("near 'tru'"), cut short when it
//  is long; the token is the last place before the position where the
//  quoted text appears. Without a quote, step back over the characters a
//  bare token is made of.
static size_t
s_token_start (const s_job_t *job, const char *message, size_t position)
{
    if (position > job->size)
        position = job->size;
    const char *near = strstr (message, " near '");
    if (near) {
        near += 7;
        size_t length = strlen (near);
        if (length > 0 && near [length - 1] == '\'')
            length--;
        for (size_t start = position >= length? position - length + 1: 0; start-- > 0; )
            if (start + length <= job->size && memcmp (job->text + start, near, length) == 0)
                return start;
    }
    size_t start = position;
    while (start > 0 && !s_is_space (job->text [start - 1])
           && !strchr ("{}[],:\"", job->text [start - 1]))
        start--;
    return start;
}

//  Translate jansson's error (message and byte position) for text into
//  Jackson's reason and the line and column it points at.

void
mesh__jackson_reason (const char *text, size_t size, const char *message, size_t position,
                      char *reason, size_t reason_size, int *line, int *column)
{
    assert (text || size == 0);
    assert (message && reason && reason_size > 0);
    if (position > size)
        position = size;
    s_job_t job = { text, size, reason, reason_size, position };
    char desc [64];
    bool at_end = strstr (message, "near end of file") != NULL;
    size_t token = at_end? size: s_token_start (&job, message, position);
    if (token >= size)
        at_end = true;              //  whatever jansson said, nothing is there
    size_t open, last;

    //  Ruler reads one token and wants '{'; it never looks further
    size_t first = 0;
    while (first < size && s_is_space (text [first]))
        first++;
    if (first == size || (text [first] != '{' && (text [first] == '[' || text [first] == '"' || token > first))) {
        job.where = first;
        s_say (&job, "Filter is not an object");
        goto done;
    }
    job.where = token;

    if (strncmp (message, "string or '}' expected", 22) == 0) {
        //  A field name was expected
        if (at_end)
            s_end_of_input (&job);
        else
        if (text [token] == '/')
            s_bad_value (&job, token);
        else
            s_say (&job, "Unexpected character (%s): was expecting double-quote to start field name",
                   s_char_desc (&job, token, desc, sizeof (desc)));
    }
    else
    if (strncmp (message, "':' expected", 12) == 0) {
        s_context (&job, token, &open, &last);
        if (at_end)
            s_say (&job, "Unexpected end-of-input within/between Object entries");
        else
            s_say (&job, "Unexpected character (%s): was expecting a colon to separate field name and value",
                   s_char_desc (&job, token, desc, sizeof (desc)));
    }
    else
    if (strncmp (message, "'}' expected", 12) == 0 || strncmp (message, "']' expected", 12) == 0) {
        //  After a value: a comma or the closer was expected
        s_context (&job, token, &open, &last);
        char closer = message [1];
        char other = closer == '}'? ']': '}';
        if (at_end)
            s_end_of_input (&job);
        else
        if (text [token] == other) {
            int open_line, open_column;
            s_location (&job, open, &open_line, &open_column);
            s_say (&job, "Unexpected close marker '%c': expected '%c' (for %s starting at line: %d, column: %d)",
                   other, closer, s_container (&job, open), open_line, open_column);
        }
        else
        if (last != SIZE_MAX && text [last] == ',')
            s_bad_value (&job, token);      //  jansson's "']' expected" after "[1,"
        else
            s_say (&job, "Unexpected character (%s): was expecting comma to separate %s entries",
                   s_char_desc (&job, token, desc, sizeof (desc)), s_container (&job, open));
    }
    else
    if (strncmp (message, "unexpected token", 16) == 0 || strncmp (message, "invalid token", 13) == 0) {
        //  A value was expected
        if (at_end)
            s_end_of_input (&job);
        else
        if (token == first && (text [token] == '}' || text [token] == ']'))
            s_say (&job, "Unexpected close marker '%c': expected '%c' (for ROOT starting at line: 1, column: 0)",
                   text [token], text [token] == '}'? ']': '}');
        else
            s_bad_value (&job, token);
    }
    else
    if (strncmp (message, "premature end of input", 22) == 0) {
        //  A string ran to the end: a field name or a value?
        size_t start = token < size && text [token] == '"'? token: size;
        s_context (&job, start, &open, &last);
        bool name = open != SIZE_MAX && text [open] == '{'
                 && last != SIZE_MAX && (text [last] == '{' || text [last] == ',');
        job.where = size;
        if (name)
            s_say (&job, "Unexpected end-of-input in field name");
        else
            s_say (&job, "Unexpected end-of-input: was expecting closing quote for a string value");
    }
    else
    if (strncmp (message, "unexpected newline", 18) == 0 || strncmp (message, "control character", 17) == 0) {
        size_t at = token;
        while (at < size && (unsigned char) text [at] >= 0x20)
            at++;
        s_context (&job, token, &open, &last);
        bool name = open != SIZE_MAX && text [open] == '{'
                 && last != SIZE_MAX && (text [last] == '{' || text [last] == ',');
        job.where = at;
        s_say (&job, "Illegal unquoted character (%s): has to be escaped using backslash to be included in %s",
               s_char_desc (&job, at < size? at: token, desc, sizeof (desc)), name? "name": "string value");
    }
    else
    if (strncmp (message, "invalid escape", 14) == 0) {
        //  jansson stops just after the character that is wrong
        job.where = position > 0? position - 1: 0;
        if (position >= size && (size == 0 || text [size - 1] == '\\'))
            s_say (&job, "Unexpected end-of-input in character escape sequence");
        else
        if (position >= 2 && text [position - 2] == '\\')
            s_say (&job, "Unrecognized character escape %s", s_char_desc (&job, position - 1, desc, sizeof (desc)));
        else
            s_say (&job, "Unexpected character (%s): expected a hex-digit for character escape sequence",
                   s_char_desc (&job, position - 1, desc, sizeof (desc)));
    }
    else
    if (strncmp (message, "unable to decode byte", 21) == 0) {
        unsigned int byte = (unsigned int) strtoul (message + 22, NULL, 16);
        size_t at = position < size? position: token;
        while (at < size && (uint8_t) text [at] != byte)
            at++;
        job.where = at;
        if (byte < 0xc2 || byte > 0xf4 || at >= size)
            s_say (&job, "Invalid UTF-8 start byte 0x%x", byte);
        else {
            size_t next = at + 1;
            while (next < size && ((uint8_t) text [next] & 0xc0) == 0x80)
                next++;
            if (next < size)
                s_say (&job, "Invalid UTF-8 middle byte 0x%x", (uint8_t) text [next]);
            else
                s_say (&job, "Unexpected end-of-input in a UTF-8 character");
        }
    }
    else
    if (strncmp (message, "too big", 7) == 0 || strncmp (message, "real number overflow", 20) == 0) {
        bool real = message [0] == 'r';
        size_t end = position;
        size_t start = end;
        while (start > 0 && strchr ("0123456789+-.eE", text [start - 1]))
            start--;
        job.where = start;
        s_say (&job, real? "Numeric value (%.*s) out of range of double"
                         : "Numeric value (%.*s) out of range of long (-9223372036854775808 - 9223372036854775807)",
               (int) (end - start), text + start);
    }
    else
    if (strncmp (message, "end of file expected", 20) == 0)
        s_say (&job, "Unexpected character (%s): expected end of input after the pattern",
               s_char_desc (&job, token, desc, sizeof (desc)));
    else
    if (strncmp (message, "maximum parsing depth", 21) == 0)
        s_say (&job, "Document nesting depth exceeds the maximum allowed (%d)", 2048);
    else
    if (strncmp (message, "NUL byte in object key", 22) == 0)
        s_say (&job, "Field name with a NUL character (\\u0000) is not supported");
    else
    if (strncmp (message, "invalid Unicode", 15) == 0)
        s_say (&job, "Invalid Unicode escape: a lone UTF-16 surrogate is not supported (%s)", message);
    else
        s_say (&job, "%s", message);        //  nothing better to say than jansson

done:
    if (line && column)
        s_location (&job, job.where, line, column);
}
