/*  mesh_number.c: JSON numbers as written, and doubles as decimals

    A pattern's numbers are compared as doubles, and event-ruler refuses a
    pattern number that a double does not hold as written: `Cannot compare
    number : 9007199254740993`. Its test, which this module applies, is on
    the value, whatever the spelling: a number round-trips when the
    shortest decimal that reads back as its nearest double has the value
    the text has. So 0.1, 2.5e3, 300.0 and 1e22 round-trip, and
    9007199254740993, 9007199254740993.0, 9.007199254740993e15 and
    0.1000000000000000055511151231257827 (the double nearest 0.1, written
    out, whose shortest decimal is 0.1) do not. The comparison is exact:
    both decimals are brought to digits without leading or trailing zeros
    and a power of ten, and compared digit by digit; no floating-point
    arithmetic decides it. Where several decimals of the fewest digits read
    back, the shortest is the nearest of them, as Ryu and Java's
    Double.toString (JDK 19 on) choose. (Java also always writes a second
    digit, so for the few smallest subnormals, where 5e-324 and 4.9e-324
    read as one double, Ruler asks for 4.9e-324 and this module for 5e-324.)

    jansson keeps no number's text, so the compiler has this module replace
    each number token by its ordinal before jansson parses the pattern, and
    finds each token as written by the ordinal jansson hands back; the
    tokens are read here, not by jansson, so a number beyond int64 or
    beyond the range of doubles reaches the compiler too, which decides
    what to say about it. Reading never depends on the locale: text is
    handed to strtod as digits and an exponent, with no decimal point.

    See mesh_number.h. The codec writes doubles with mesh__number_format,
    so the one definition of "shortest" is this one.
*/
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mesh_number.h"

//  An exponent beyond any double's, where reading one stops growing it.
#define S_EXPONENT_CAP  1000000000000000LL

//  A decimal brought to its digits: the value is digits (count of them,
//  the first MESH__NUMBER_DIGITS_MAX kept) times ten to the exponent,
//  with no leading or trailing zero; count is 0 for zero.
typedef struct {
    char digits [MESH__NUMBER_DIGITS_MAX + 1];
    size_t count;
    int64_t exponent;
} s_decimal_t;

static bool
s_is_digit (char c)
{
    return c >= '0' && c <= '9';
}

static void
s_decimal_push (s_decimal_t *self, char digit)
{
    if (self->count < MESH__NUMBER_DIGITS_MAX)
        self->digits [self->count] = digit;
    self->count++;
}

//  The exponent of a token of JSON's number grammar, "e-5" at text + at
//  (0 when at is the token's end), capped far beyond any double's.
static int64_t
s_exponent (const char *text, size_t size, size_t at)
{
    if (at >= size)
        return 0;
    at++;                           //  the 'e'
    bool negative = false;
    if (text [at] == '+' || text [at] == '-')
        negative = text [at++] == '-';
    int64_t exponent = 0;
    for (; at < size; at++)
        if (exponent < S_EXPONENT_CAP)
            exponent = exponent * 10 + (text [at] - '0');
    return negative? -exponent: exponent;
}

//  The decimal of a token of JSON's number grammar (its sign aside).
static void
s_decimal_of_token (const char *text, size_t size, s_decimal_t *self)
{
    memset (self, 0, sizeof (*self));
    size_t at = text [0] == '-'? 1: 0;
    int64_t after_point = 0;        //  digits after the point
    int64_t zeros = 0;              //  zeros since the last other digit
    bool point = false;
    for (; at < size && text [at] != 'e' && text [at] != 'E'; at++) {
        if (text [at] == '.') {
            point = true;
            continue;
        }
        if (point)
            after_point++;
        if (text [at] == '0') {
            if (self->count > 0)
                zeros++;            //  leading zeros are not digits at all
            continue;
        }
        for (; zeros > 0; zeros--)
            s_decimal_push (self, '0');
        s_decimal_push (self, text [at]);
    }
    //  Trailing zeros move into the exponent
    self->exponent = s_exponent (text, size, at) + zeros - after_point;
    if (self->count == 0)
        self->exponent = 0;
}

//  The double nearest digits times ten to exponent. No decimal point, so
//  strtod reads it the same in every locale.
static double
s_read_back (const char *digits, int exponent)
{
    char text [MESH__NUMBER_DIGITS_MAX + 16];
    snprintf (text, sizeof (text), "%se%d", digits, exponent);
    return strtod (text, NULL);
}

//  The shortest decimal of a double: the fewest digits that read back,
//  found by printing with one digit, then two, and so on (printf rounds
//  exactly, so each try is the nearest decimal of that many digits).
int
mesh__number_shortest (double value, char digits [MESH__NUMBER_DIGITS_MAX + 1], int *exponent)
{
    value = fabs (value);
    if (value == 0 || !isfinite (value)) {     //  (infinity is the caller's mistake)
        strcpy (digits, "0");
        *exponent = 0;
        return 1;
    }
    int count = 1;
    int power = 0;
    for (; count <= MESH__NUMBER_DIGITS_MAX; count++) {
        char printed [64];
        snprintf (printed, sizeof (printed), "%.*e", count - 1, value);
        const char *c = printed;
        int n = 0;
        for (; *c && *c != 'e'; c++)
            if (s_is_digit (*c))
                digits [n++] = *c;
        digits [n] = '\0';
        power = atoi (c + (*c? 1: 0)) - (count - 1);
        double back = s_read_back (digits, power);
        if (back == value || count == MESH__NUMBER_DIGITS_MAX)
            break;
        //  Just above a power of two, doubles are twice as far apart as
        //  just below it, so the nearest decimal can fall short below while
        //  the next one up reads back: for 2^976, 6.386688990511103e293 is
        //  another double and 6.386688990511104e293 is this one.
        if (back < value) {
            char up [MESH__NUMBER_DIGITS_MAX + 1];
            memcpy (up, digits, (size_t) n + 1);
            int i = n - 1;
            for (; i >= 0 && up [i] == '9'; i--)
                up [i] = '0';
            int up_power = power;
            if (i >= 0)
                up [i]++;
            else {                  //  9.99 up is 10.0: one digit, a power higher
                up [0] = '1';
                up [1] = '\0';
                up_power = power + n;
            }
            if (s_read_back (up, up_power) == value) {
                strcpy (digits, up);
                power = up_power;
                break;
            }
        }
    }
    count = (int) strlen (digits);
    while (count > 1 && digits [count - 1] == '0') {
        digits [--count] = '\0';
        power++;
    }
    *exponent = power;
    return count;
}

int
mesh__number_read (const char *text, size_t size, mesh__number_read_t *number)
{
    memset (number, 0, sizeof (*number));
    bool negative = text [0] == '-';
    number->integral = !memchr (text, '.', size) && !memchr (text, 'e', size) && !memchr (text, 'E', size);

    //  An integer jansson would hold: within int64, read exactly
    if (number->integral) {
        uint64_t limit = negative? (uint64_t) INT64_MAX + 1: (uint64_t) INT64_MAX;
        uint64_t magnitude = 0;
        bool fits = true;
        for (size_t at = negative? 1: 0; at < size && fits; at++) {
            uint64_t digit = (uint64_t) (text [at] - '0');
            if (magnitude > (limit - digit) / 10)
                fits = false;
            else
                magnitude = magnitude * 10 + digit;
        }
        if (fits) {
            number->is_integer = true;
            number->integer = negative? (int64_t) (0 - magnitude): (int64_t) magnitude;
            number->value = (double) number->integer;
        }
    }

    //  Else the nearest double, from the mantissa's digits and the
    //  exponent that puts its point back
    s_decimal_t decimal;
    s_decimal_of_token (text, size, &decimal);
    if (!number->is_integer) {
        char small [128];
        size_t room = size + 32;
        char *buffer = room <= sizeof (small)? small: (char *) malloc (room);
        if (!buffer)
            return -1;
        size_t length = 0;
        int64_t after_point = 0;
        bool point = false;
        size_t at = 0;
        if (negative)
            buffer [length++] = text [at++];
        for (; at < size && text [at] != 'e' && text [at] != 'E'; at++)
            if (text [at] == '.')
                point = true;
            else {
                buffer [length++] = text [at];
                after_point += point;
            }
        snprintf (buffer + length, room - length, "e%" PRId64, s_exponent (text, size, at) - after_point);
        number->value = strtod (buffer, NULL);
        if (buffer != small)
            free (buffer);
    }

    //  Round-trips: the text's decimal is the value's shortest one. Zero
    //  written any way (0, -0, 0.0e5) is the double zero's; a number that
    //  reads as zero or infinity but is not zero does not round-trip.
    if (decimal.count == 0)
        number->round_trips = true;
    else
    if (decimal.count <= MESH__NUMBER_DIGITS_MAX && isfinite (number->value) && number->value != 0) {
        char digits [MESH__NUMBER_DIGITS_MAX + 1];
        int exponent;
        int count = mesh__number_shortest (number->value, digits, &exponent);
        number->round_trips = (size_t) count == decimal.count
                           && memcmp (digits, decimal.digits, decimal.count) == 0
                           && exponent == decimal.exponent;
    }
    return 0;
}

size_t
mesh__number_format (double value, char *buffer, size_t size)
{
    char digits [MESH__NUMBER_DIGITS_MAX + 1];
    int exponent;
    int count = mesh__number_shortest (value, digits, &exponent);
    int point = exponent + count - 1;           //  value is d.ddd times ten to point
    int precision = count > 15? count: 15;
    size_t length = 0;
    char text [64];                             //  a sign, "0.0000" and 17 digits at most
    if (signbit (value))
        text [length++] = '-';
    if (point < -4 || point >= precision) {
        //  d.ddde+XX, as %g writes it
        text [length++] = digits [0];
        if (count > 1) {
            text [length++] = '.';
            memcpy (text + length, digits + 1, (size_t) count - 1);
            length += (size_t) count - 1;
        }
        length += (size_t) snprintf (text + length, sizeof (text) - length, "e%c%02d",
                                     point < 0? '-': '+', abs (point));
    }
    else
    if (point >= 0) {
        //  ddd or ddd.ddd
        for (int i = 0; i <= point; i++)
            text [length++] = i < count? digits [i]: '0';
        if (count > point + 1) {
            text [length++] = '.';
            memcpy (text + length, digits + point + 1, (size_t) (count - point - 1));
            length += (size_t) (count - point - 1);
        }
    }
    else {
        //  0.000ddd
        text [length++] = '0';
        text [length++] = '.';
        for (int i = -1; i > point; i--)
            text [length++] = '0';
        memcpy (text + length, digits, (size_t) count);
        length += (size_t) count;
    }
    text [length] = '\0';
    snprintf (buffer, size, "%s", text);
    return length < size? length: size - 1;
}


//  ---------------------------------------------------------------------
//  Number tokens of a JSON text

//  True if all of text (size bytes) is one token of JSON's number grammar:
//  "-0", "1.5", "2E+3" are; "01", "1.", "-", "1e", "1-2" are not.
static bool
s_is_number_token (const char *text, size_t size)
{
    size_t at = 0;
    if (at < size && text [at] == '-')
        at++;
    if (at >= size || !s_is_digit (text [at]))
        return false;
    if (text [at] == '0')
        at++;
    else
        while (at < size && s_is_digit (text [at]))
            at++;
    if (at < size && text [at] == '.') {
        if (++at >= size || !s_is_digit (text [at]))
            return false;
        while (at < size && s_is_digit (text [at]))
            at++;
    }
    if (at < size && (text [at] == 'e' || text [at] == 'E')) {
        at++;
        if (at < size && (text [at] == '+' || text [at] == '-'))
            at++;
        if (at >= size || !s_is_digit (text [at]))
            return false;
        while (at < size && s_is_digit (text [at]))
            at++;
    }
    return at == size;
}

//  Outside strings, a run of these characters that starts with '-' or a
//  digit is where JSON text can hold a number.
static bool
s_is_number_char (char c)
{
    return s_is_digit (c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

int
mesh__numbered_init (mesh__numbered_t *self, const char *text, size_t size)
{
    memset (self, 0, sizeof (*self));
    size_t capacity = 0;
    size_t ordinals = 0;            //  bytes the ordinals take
    size_t replaced = 0;            //  bytes the tokens took
    size_t at = 0;
    while (at < size) {
        char c = text [at];
        if (c == '"') {
            //  Skip the string (to the end of text if it is not closed)
            for (at++; at < size && text [at] != '"'; at++)
                if (text [at] == '\\')
                    at++;
            at++;
            continue;
        }
        if (c != '-' && !s_is_digit (c)) {
            at++;
            continue;
        }
        size_t end = at;
        while (end < size && s_is_number_char (text [end]))
            end++;
        if (s_is_number_token (text + at, end - at)) {
            if (self->count == capacity) {
                capacity = capacity? capacity * 2: 16;
                mesh__token_t *tokens = (mesh__token_t *) realloc (self->tokens, capacity * sizeof (mesh__token_t));
                if (!tokens)
                    goto fail;
                self->tokens = tokens;
            }
            self->tokens [self->count].ptr = text + at;
            self->tokens [self->count].size = end - at;
            char ordinal [24];
            ordinals += (size_t) snprintf (ordinal, sizeof (ordinal), "%zu", self->count);
            replaced += end - at;
            self->count++;
        }
        at = end;
    }
    if (self->count == 0)
        return 0;

    self->size = size - replaced + ordinals;
    self->text = (char *) malloc (self->size + 1);
    if (!self->text)
        goto fail;
    const char *from = text;
    char *to = self->text;
    for (size_t i = 0; i < self->count; i++) {
        const mesh__token_t *token = &self->tokens [i];
        memcpy (to, from, (size_t) (token->ptr - from));
        to += token->ptr - from;
        to += snprintf (to, self->size + 1 - (size_t) (to - self->text), "%zu", i);
        from = token->ptr + token->size;
    }
    memcpy (to, from, (size_t) (text + size - from));
    self->text [self->size] = '\0';
    return 0;

fail:
    mesh__numbered_fini (self);
    return -1;
}

void
mesh__numbered_fini (mesh__numbered_t *self)
{
    free (self->text);
    free (self->tokens);
    memset (self, 0, sizeof (*self));
}
