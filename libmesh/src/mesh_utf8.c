/*  mesh_utf8.c: strict UTF-8, checked, located and counted

    The one definition of valid UTF-8 in libmesh (see mesh_utf8.h; the
    decoder is inline there). mesh__utf8_valid is on the codecs' and the
    broker's hot path, so ASCII runs, by far the common case in events, are
    checked eight bytes at a time.
*/
#include <string.h>
#include "mesh_utf8.h"

//  Strict UTF-8 (RFC 3629, table 3-7 of the Unicode standard): no overlong
//  forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no stray
//  continuation bytes, no truncated sequences. ASCII runs, by far the common
//  case in events, are checked eight bytes at a time.

bool
mesh__utf8_valid (const char *str, size_t size)
{
    const uint8_t *s = (const uint8_t *) str;
    const uint8_t *end = s + size;
    while (s < end) {
        //  Fast path: eight ASCII bytes at once
        while ((size_t) (end - s) >= 8) {
            uint64_t chunk;
            memcpy (&chunk, s, 8);
            if (chunk & UINT64_C (0x8080808080808080))
                break;
            s += 8;
        }
        //  Then the short tail, or up to the first non-ASCII byte
        while (s < end && *s < 0x80)
            s++;
        if (s >= end)
            break;
        uint8_t c = *s;
        size_t left = (size_t) (end - s);
        if (c >= 0xc2 && c <= 0xdf) {
            if (left < 2 || (s [1] & 0xc0) != 0x80)
                return false;
            s += 2;
        }
        else
        if (c >= 0xe0 && c <= 0xef) {
            if (left < 3)
                return false;
            uint8_t lo = c == 0xe0? 0xa0: 0x80;     //  no overlongs
            uint8_t hi = c == 0xed? 0x9f: 0xbf;     //  no surrogates
            if (s [1] < lo || s [1] > hi || (s [2] & 0xc0) != 0x80)
                return false;
            s += 3;
        }
        else
        if (c >= 0xf0 && c <= 0xf4) {
            if (left < 4)
                return false;
            uint8_t lo = c == 0xf0? 0x90: 0x80;     //  no overlongs
            uint8_t hi = c == 0xf4? 0x8f: 0xbf;     //  nothing above U+10FFFF
            if (s [1] < lo || s [1] > hi
            || (s [2] & 0xc0) != 0x80 || (s [3] & 0xc0) != 0x80)
                return false;
            s += 4;
        }
        else
            return false;                           //  0x80..0xc1, 0xf5..0xff
    }
    return true;
}


//  Where valid UTF-8 stops: decode until the first byte that starts no
//  valid sequence (mesh__utf8_next marks it above U+10FFFF plus a byte).

size_t
mesh__utf8_bad_offset (const char *str, size_t size)
{
    const char *s = str;
    const char *end = str + size;
    while (s < end) {
        const char *at = s;
        if (mesh__utf8_next (&s, end) >= 0x110000)
            return (size_t) (at - str);
    }
    return size;
}

size_t
mesh__utf8_count (const char *s, size_t size)
{
    const char *end = s + size;
    size_t count = 0;
    while (s < end) {
        mesh__utf8_next (&s, end);
        count++;
    }
    return count;
}
