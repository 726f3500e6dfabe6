/*  mesh_number.h: JSON numbers as written, and doubles as decimals

    Private to libmesh. The pattern compiler indexes a pattern's number
    tokens before jansson (which keeps no number's text) parses it, reads
    each token as written, and refuses one a double cannot compare (Ruler's
    rule); the codec writes a double in its shortest decimal. Both use the
    one definition of "shortest" here, so a pattern written back by the
    codec (as the tests write their cases) reads as it was parsed.
*/
#ifndef MESH_NUMBER_H_INCLUDED
#define MESH_NUMBER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  A double's shortest decimal never needs more significant digits.
#define MESH__NUMBER_DIGITS_MAX  17

//  One number token of a JSON text, where it is in that text.
typedef struct {
    const char *ptr;
    size_t size;
} mesh__token_t;

//  A JSON text whose number tokens are replaced by their ordinals.
typedef struct {
    char *text;                 //  the indexed copy; NULL if text had no number
    size_t size;
    mesh__token_t *tokens;      //  the tokens as written, in text order
    size_t count;
} mesh__numbered_t;

//  A number token, read.
typedef struct {
    double value;               //  the nearest double; +-inf beyond the range
    int64_t integer;            //  the value, when is_integer
    bool integral;              //  written without a fraction or an exponent
    bool is_integer;            //  integral and within int64 (a jansson integer)
    bool round_trips;           //  the shortest decimal of value has the token's value
} mesh__number_read_t;

//  Copy text with each number token replaced by its ordinal (0, 1, ...),
//  keeping where each token was. Only tokens of JSON's number grammar are
//  replaced; anything else stays for the parser to refuse. Text with no
//  number is not copied. Returns 0, or -1 when out of memory. The tokens
//  point into text, which must outlive self; free with mesh__numbered_fini.
int
    mesh__numbered_init (mesh__numbered_t *self, const char *text, size_t size);

void
    mesh__numbered_fini (mesh__numbered_t *self);

//  Read a token of JSON's number grammar (as mesh__numbered_init found
//  one). Returns 0, or -1 when out of memory.
int
    mesh__number_read (const char *text, size_t size, mesh__number_read_t *number);

//  The shortest decimal that reads back as value (finite; its sign is
//  ignored), and of those the nearest: digits (NUL-terminated, no trailing
//  zero, "0" for zero) times ten to the power exponent. Returns the count
//  of digits.
int
    mesh__number_shortest (double value, char digits [MESH__NUMBER_DIGITS_MAX + 1], int *exponent);

//  Value (finite) in its shortest decimal, as printf's "%.15g" writes a
//  number (or "%.16g", "%.17g" when more digits are needed), with '.' as the
//  decimal point whatever the locale. Returns the length written (buffer
//  of at least 32 bytes).
size_t
    mesh__number_format (double value, char *buffer, size_t size);

#endif
