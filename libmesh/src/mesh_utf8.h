/*  mesh_utf8.h: strict UTF-8, checked and decoded

    Private to libmesh (mesh__ names); mesh_private.h includes it.

    One definition of valid UTF-8 for the whole library (RFC 3629, table
    3-7 of the Unicode standard: no overlong forms, no surrogates, nothing
    above U+10FFFF, no stray or missing continuation bytes), used by the
    codecs, the broker's check, the pattern compiler, the matchers and the
    Jackson wording. The decoder is static inline because the matchers fold
    text code point by code point on their hot path.
*/
#ifndef MESH_UTF8_H_INCLUDED
#define MESH_UTF8_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  True if the size bytes at s are valid UTF-8.
bool
    mesh__utf8_valid (const char *s, size_t size);

//  Offset of the first byte at s that is not part of valid UTF-8, or size
//  if there is none.
size_t
    mesh__utf8_bad_offset (const char *s, size_t size);

//  Code points in the size bytes at s, a bad byte counting as one.
size_t
    mesh__utf8_count (const char *s, size_t size);

//  Decode the code point at *s (before end) and advance *s past it. A byte
//  that does not start a valid sequence decodes, alone, to 0x110000 + the
//  byte: a value above U+10FFFF that equals only itself, so invalid text
//  still compares sanely.
static inline uint32_t
mesh__utf8_next (const char **s, const char *end)
{
    const uint8_t *p = (const uint8_t *) *s;
    size_t left = (size_t) (end - *s);
    uint32_t c = p [0];
    size_t size = 1;
    uint32_t min = 0;
    if (c < 0x80) {
        *s += 1;
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        size = 2; c &= 0x1f; min = 0x80;
    }
    else
    if (c >= 0xe0 && c <= 0xef) {
        size = 3; c &= 0x0f; min = 0x800;
    }
    else
    if (c >= 0xf0 && c <= 0xf4) {
        size = 4; c &= 0x07; min = 0x10000;
    }
    else
        size = 0;
    if (size == 0 || left < size)
        goto invalid;
    for (size_t i = 1; i < size; i++) {
        if ((p [i] & 0xc0) != 0x80)
            goto invalid;
        c = (c << 6) | (p [i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        goto invalid;
    *s += size;
    return c;
invalid:
    *s += 1;
    return 0x110000 + p [0];
}

#endif
