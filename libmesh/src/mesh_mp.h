/*  mesh_mp.h: MessagePack read in place, and the one validating skip

    Private to libmesh (mesh__ names); mesh_private.h includes it.

    A pull reader over a byte buffer that decodes one value header at a time
    and allocates nothing. It exists because msgpack-c's unpacker builds a
    whole object tree in a zone for every message (an allocation per event)
    and cannot skip a value without decoding it; the matchers and the broker
    need both. Encoding uses msgpack-c's packer.

    The skip (mesh__mp_skip_values) is the one place that decides whether
    bytes are well-formed MessagePack nested within a depth: the
    interpreter's check of an event, the automaton's walk, mesh__mp_skip and
    (strict, which also checks what an event may hold) the broker's check
    and the codec all step over values with it. Its fast part is
    static inline here because the automaton's walk calls it for nearly
    every value it does not look at, and a call into another file would
    cost that walk its inlining.
*/
#ifndef MESH_MP_H_INCLUDED
#define MESH_MP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mesh_utf8.h"

typedef enum {
    MESH_MP_NIL, MESH_MP_BOOL, MESH_MP_INT, MESH_MP_UINT, MESH_MP_FLOAT,
    MESH_MP_STR, MESH_MP_BIN, MESH_MP_EXT, MESH_MP_ARRAY, MESH_MP_MAP
} mesh__mp_type_t;

typedef struct {
    mesh__mp_type_t type;
    union {
        bool b;                 //  BOOL
        int64_t i;              //  INT: negative integers only (and any int8..int64 < 0)
        uint64_t u;             //  UINT: every integer >= 0, whatever its encoding
        double f;               //  FLOAT: float32 widened, or float64
        struct {                //  STR, BIN, EXT: payload in place
            const char *ptr;
            uint32_t size;
            int8_t ext_type;
        } s;
        uint32_t count;         //  ARRAY: elements; MAP: key/value pairs
    } v;
} mesh__mp_value_t;

typedef struct {
    const uint8_t *pos;
    const uint8_t *end;
} mesh__mp_reader_t;

//  Start reading size bytes at data.
void
    mesh__mp_reader_init (mesh__mp_reader_t *r, const void *data, size_t size);

//  Decode the value at r->pos into v and advance past its header; for STR,
//  BIN and EXT also past the payload. For ARRAY and MAP only the header is
//  consumed: the elements (or key, value, key, value...) follow. Returns 0,
//  or -1 if the bytes are truncated or hold the never-used byte 0xc1.
int
    mesh__mp_read (mesh__mp_reader_t *r, mesh__mp_value_t *v);

//  Skip one whole value, containers included, without recursion and at
//  any depth. Returns 0, or -1 on truncated or invalid bytes (r->pos is
//  then left where it was).
int
    mesh__mp_skip (mesh__mp_reader_t *r);


//  ---------------------------------------------------------------------
//  The validating skip

//  How strict a skip is. Without flags it checks the bytes: well-formed,
//  not truncated, nested within max_depth. MESH__MP_STRICT also refuses
//  what has no place in an event (mesh__mp_check_value): invalid UTF-8,
//  bin and ext values, integers above INT64_MAX, containers that claim
//  more values than bytes remain; and, with MESH__MP_IN_MAP (the pending
//  values are a map's keys and values), map keys that are not strings.
//  MESH__MP_FINITE (with MESH__MP_STRICT) also refuses a float that is NaN
//  or infinite, which no JSON event can hold (the one-pass check of
//  mesh_automaton_run.c).
#define MESH__MP_STRICT     1
#define MESH__MP_IN_MAP     2
#define MESH__MP_FINITE     4

typedef enum {
    MESH__MP_BAD_BYTES,         //  truncated, or the never-used byte 0xc1
    MESH__MP_TOO_DEEP,          //  a container past max_depth
    MESH__MP_TOO_MANY,          //  strict: a container claims more values than bytes left
    MESH__MP_BAD_VALUE,         //  strict: invalid UTF-8, bin, ext, or an integer over INT64_MAX
    MESH__MP_BAD_KEY,           //  strict: a map key that is not a string
    MESH__MP_NON_FINITE         //  finite: a float that is NaN or infinite
} mesh__mp_why_t;

//  Why a skip failed, and where: the first bad value, in the order of the
//  bytes.
typedef struct {
    const uint8_t *at;          //  the bad value
    mesh__mp_why_t why;
    mesh__mp_value_t value;     //  its header (unless BAD_BYTES)
    int level;                  //  its level: the containers around it, plus one
} mesh__mp_fail_t;

//  Step over pending values at p (before end), which sit inside `depth`
//  open containers; a container may open only while depth < max_depth
//  (levels counted as the interpreter counts them: the top map's contents
//  are at depth 1). Returns the byte after the last value, or NULL when
//  the bytes are refused; fail, if not NULL, then says why and where.
//  Allocates nothing and never reads outside [p, end).
static inline const uint8_t *
    mesh__mp_skip_values (const uint8_t *p, const uint8_t *end, uint64_t pending,
                          int depth, int max_depth, int flags, mesh__mp_fail_t *fail);

//  The slow, exact part of the skip (mesh_mp.c): one counter per level, so
//  it knows how deep it is, and it stops at the first bad value. The fast
//  part hands over to it when it cannot tell (very nested values), to say
//  where bytes went wrong, and for strict skips. Without MESH__MP_STRICT,
//  the values still pending may never outnumber the bytes left (each takes
//  one at least), so a hostile count fails at once; with it, each
//  container's count is compared with the bytes after its header, as a
//  reader does (mesh__mp_check_value).
const uint8_t *
    mesh__mp_skip_deep (const uint8_t *p, const uint8_t *end, uint64_t pending,
                        int depth, int max_depth, int flags, mesh__mp_fail_t *fail);

//  The strict checks of one value whose header was just read (before
//  end), at level (the containers around it, plus one): 0 if it passes,
//  else why not. A reader that builds from the values it reads applies
//  the same checks as a strict skip through this.
static inline int
mesh__mp_check_value (const mesh__mp_value_t *value, const uint8_t *after, const uint8_t *end,
                      int level, int max_depth)
{
    switch (value->type) {
        case MESH_MP_STR:
            return mesh__utf8_valid (value->v.s.ptr, value->v.s.size)? 0: MESH__MP_BAD_VALUE;
        case MESH_MP_BIN:
        case MESH_MP_EXT:
            return MESH__MP_BAD_VALUE;
        case MESH_MP_UINT:
            return value->v.u > INT64_MAX? MESH__MP_BAD_VALUE: 0;
        case MESH_MP_ARRAY:
        case MESH_MP_MAP: {
            uint64_t items = value->v.count;
            if (value->type == MESH_MP_MAP)
                items *= 2;
            if (level > max_depth)
                return MESH__MP_TOO_DEEP;
            return items > (uint64_t) (end - after)? MESH__MP_TOO_MANY: 0;
        }
        default:
            return 0;
    }
}

//  The fast part. It counts the values still to step over, decoding the
//  common headers inline with constant steps, so the processor runs ahead
//  of its loads (2.2x faster than a mesh__mp_read per value on citylots).
//  It cannot tell how deep it is, so it hands over (MESH__MP_HAND_OVER) once
//  it has opened more containers than budget, the levels left; only very
//  nested or very large values do. Every value takes a byte at least, so
//  more pending values than bytes left is truncation, caught before the
//  next load: a hostile count fails at once, and pending stays below
//  (bytes left + 2^33), far from overflow.
extern const uint8_t mesh__mp_hand_over_mark;
#define MESH__MP_HAND_OVER  (&mesh__mp_hand_over_mark)

static inline uint32_t
mesh__mp_be16 (const uint8_t *p)
{
    return (uint32_t) p [0] << 8 | p [1];
}

static inline uint32_t
mesh__mp_be32 (const uint8_t *p)
{
    return (uint32_t) p [0] << 24 | (uint32_t) p [1] << 16 | (uint32_t) p [2] << 8 | p [3];
}

//  Out of line (one copy per file that uses it) but in the same unit as
//  its callers, as it was measured fastest: inlined into every call site
//  of the walk it bloats the walk, and across files it could not be
//  specialised. mesh__mp_skip_values, small, inlines into the callers.
__attribute__ ((noinline, unused)) static const uint8_t *
mesh__mp_skip_flat (const uint8_t *base, const uint8_t *end, uint64_t pending, uint64_t budget)
{
    const size_t size = (size_t) (end - base);
    size_t at = 0;
    uint64_t containers = 0;
    while (pending > 0) {
        //  Every value takes a byte at least: this also makes base [at] safe
        if ((int64_t) size - (int64_t) at < (int64_t) pending)
            return NULL;
        uint8_t b = base [at];
        pending--;
        if (b == 0xcb) {                        //  float64
            at += 9;
            continue;
        }
        if ((b & 0xe0) == 0xa0) {               //  fixstr
            at += 1 + (b & 0x1f);
            continue;
        }
        if (b <= 0x7f || b >= 0xe0) {           //  fixints
            at += 1;
            continue;
        }
        if ((b & 0xe0) == 0x80) {               //  fixmap, fixarray
            if (++containers > budget)
                return MESH__MP_HAND_OVER;
            at += 1;
            pending += (b & 0x10)? (uint64_t) (b & 0x0f): 2 * (uint64_t) (b & 0x0f);
            continue;
        }
        size_t left = size - at;
        switch (b) {
            case 0xc0: case 0xc2: case 0xc3:            at += 1;  break;
            case 0xcc: case 0xd0:                       at += 2;  break;
            case 0xcd: case 0xd1:                       at += 3;  break;
            case 0xca: case 0xce: case 0xd2:            at += 5;  break;
            case 0xcf: case 0xd3:                       at += 9;  break;
            case 0xd4:                                  at += 3;  break;
            case 0xd5:                                  at += 4;  break;
            case 0xd6:                                  at += 6;  break;
            case 0xd7:                                  at += 10; break;
            case 0xd8:                                  at += 18; break;
            case 0xc4: case 0xd9:
                if (left < 2)
                    return NULL;
                at += 2 + (size_t) base [at + 1];
                break;
            case 0xc5: case 0xda:
                if (left < 3)
                    return NULL;
                at += 3 + (size_t) mesh__mp_be16 (base + at + 1);
                break;
            case 0xc6: case 0xdb:
                if (left < 5)
                    return NULL;
                at += 5 + (size_t) mesh__mp_be32 (base + at + 1);
                break;
            case 0xc7:
                if (left < 2)
                    return NULL;
                at += 3 + (size_t) base [at + 1];
                break;
            case 0xc8:
                if (left < 3)
                    return NULL;
                at += 4 + (size_t) mesh__mp_be16 (base + at + 1);
                break;
            case 0xc9:
                if (left < 5)
                    return NULL;
                at += 6 + (size_t) mesh__mp_be32 (base + at + 1);
                break;
            case 0xdc: case 0xdd: case 0xde: case 0xdf: {
                size_t header = (b & 1)? 5: 3;
                if (left < header)
                    return NULL;
                if (++containers > budget)
                    return MESH__MP_HAND_OVER;
                uint64_t count = (b & 1)? mesh__mp_be32 (base + at + 1): mesh__mp_be16 (base + at + 1);
                pending += b >= 0xde? 2 * count: count;
                at += header;
                break;
            }
            default:                                    //  0xc1: never used
                return NULL;
        }
    }
    return at <= size? base + at: NULL;
}

//  The strict skip's fast part (mesh_mp.c): it steps over what is plainly
//  acceptable (ASCII strings, finite floats, integers within int64, nil,
//  booleans, containers within a few dozen levels, string keys), decoding
//  headers inline and keeping a small stack of levels so that it knows
//  which values are keys. On anything else, even a value that would pass
//  (a string that is not ASCII, say), it hands over (MESH__MP_HAND_OVER)
//  and the exact skip decides from the start: so it never refuses, and it
//  accepts only what the exact skip accepts.
const uint8_t *
    mesh__mp_skip_strict_fast (const uint8_t *p, const uint8_t *end, uint64_t pending,
                               int depth, int max_depth, int flags);

//  The fast part first; the exact one when it cannot tell how deep the
//  bytes go, or (when fail is wanted) to find the first bad value. A
//  strict skip has a fast part of its own.
static inline __attribute__ ((always_inline)) const uint8_t *
mesh__mp_skip_values (const uint8_t *p, const uint8_t *end, uint64_t pending,
                      int depth, int max_depth, int flags, mesh__mp_fail_t *fail)
{
    if (flags & MESH__MP_STRICT) {
        if (!fail) {
            const uint8_t *after = mesh__mp_skip_strict_fast (p, end, pending, depth, max_depth, flags);
            if (after != MESH__MP_HAND_OVER)
                return after;
        }
        return mesh__mp_skip_deep (p, end, pending, depth, max_depth, flags, fail);
    }
    const uint8_t *after = mesh__mp_skip_flat (p, end, pending, (uint64_t) (max_depth - depth));
    if (after == MESH__MP_HAND_OVER || (!after && fail))
        after = mesh__mp_skip_deep (p, end, pending, depth, max_depth, flags, fail);
    return after;
}

#endif
