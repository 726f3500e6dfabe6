/*  mesh_mp.c: MessagePack read in place, and the one validating skip

    A pull reader over a byte buffer: mesh__mp_read decodes one value header
    (and, for str, bin and ext, steps over the payload, which it points at in
    place); mesh__mp_skip_values steps over whole values, containers
    included, and is the one check of well-formed bytes in libmesh (its
    fast part is inline in mesh_mp.h; the exact part is here). It
    allocates nothing and never reads outside [pos, end), whatever the bytes
    claim: every length is compared against the bytes that remain before any
    pointer is moved, so hostile lengths can neither read out of bounds nor
    overflow pointer arithmetic.

    Usage:
        mesh__mp_reader_t r;
        mesh__mp_reader_init (&r, data, size);
        mesh__mp_value_t v;
        if (mesh__mp_read (&r, &v) == 0 && v.type == MESH_MP_MAP)
            ...read v.v.count keys and values...

    The format is the MessagePack specification in full (2017 edition: str8,
    bin, ext and the timestamp type, which is an ext like any other here).
*/
#include <assert.h>
#include <math.h>
#include <string.h>
#include "mesh_limits.h"
#include "mesh_mp.h"

//  Big-endian loads (16 and 32 bits are in mesh_mp.h, for the fast skip).
static inline uint64_t
s_be64 (const uint8_t *p)
{
    return (uint64_t) mesh__mp_be32 (p) << 32 | mesh__mp_be32 (p + 4);
}

void
mesh__mp_reader_init (mesh__mp_reader_t *r, const void *data, size_t size)
{
    r->pos = (const uint8_t *) data;
    r->end = size? r->pos + size: r->pos;  //  NULL + 0 is undefined in C
}


//  Decode the value header at r->pos. On success r->pos moves past the header
//  (and past the payload of str, bin and ext) and 0 is returned. On failure
//  (truncated bytes, or the never-used 0xc1) r->pos is left where it was and
//  -1 is returned, so the caller can report the offset of the bad value.
//
//  Integer convention: any encoding of a value >= 0 yields MESH_MP_UINT in
//  v.u, any negative value MESH_MP_INT in v.i, so callers never have to care
//  whether a producer packed 5 as int8 or uint64.

static inline __attribute__ ((always_inline)) int
s_read (mesh__mp_reader_t *r, mesh__mp_value_t *v)
{
    const uint8_t *p = r->pos;
    if (p >= r->end)
        return -1;
    size_t avail = (size_t) (r->end - p) - 1;     //  bytes after the type byte
    uint8_t b = *p++;

    //  Fixed formats: everything is in the type byte
    if (b <= 0x7f) {
        v->type = MESH_MP_UINT;
        v->v.u = b;
        r->pos = p;
        return 0;
    }
    if (b >= 0xe0) {
        v->type = MESH_MP_INT;
        v->v.i = (int8_t) b;
        r->pos = p;
        return 0;
    }
    if (b <= 0x8f || (b >= 0x90 && b <= 0x9f)) {
        v->type = b <= 0x8f? MESH_MP_MAP: MESH_MP_ARRAY;
        v->v.count = b & 0x0f;
        r->pos = p;
        return 0;
    }

    //  From here on: how many header bytes follow the type byte, then the
    //  payload length for str, bin and ext.
    size_t payload = 0;             //  bytes of str/bin/ext payload after header
    size_t header = 0;              //  header bytes after the type byte
    int8_t ext_type = 0;

    if (b >= 0xa0 && b <= 0xbf) {   //  fixstr
        v->type = MESH_MP_STR;
        payload = b & 0x1f;
    }
    else
    switch (b) {
        case 0xc0:
            v->type = MESH_MP_NIL;
            break;
        case 0xc2:
        case 0xc3:
            v->type = MESH_MP_BOOL;
            v->v.b = b == 0xc3;
            break;
        case 0xcc: case 0xcd: case 0xce: case 0xcf: {     //  uint 8..64
            header = (size_t) 1 << (b - 0xcc);
            if (avail < header)
                return -1;
            v->type = MESH_MP_UINT;
            v->v.u = header == 1? p [0]
                   : header == 2? mesh__mp_be16 (p)
                   : header == 4? mesh__mp_be32 (p)
                   :              s_be64 (p);
            break;
        }
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {     //  int 8..64
            header = (size_t) 1 << (b - 0xd0);
            if (avail < header)
                return -1;
            int64_t i = header == 1? (int8_t) p [0]
                      : header == 2? (int16_t) mesh__mp_be16 (p)
                      : header == 4? (int32_t) mesh__mp_be32 (p)
                      :              (int64_t) s_be64 (p);
            if (i >= 0) {
                v->type = MESH_MP_UINT;
                v->v.u = (uint64_t) i;
            }
            else {
                v->type = MESH_MP_INT;
                v->v.i = i;
            }
            break;
        }
        case 0xca: {                //  float32
            header = 4;
            if (avail < header)
                return -1;
            uint32_t bits = mesh__mp_be32 (p);
            float f;
            memcpy (&f, &bits, sizeof (f));
            v->type = MESH_MP_FLOAT;
            v->v.f = f;
            break;
        }
        case 0xcb: {                //  float64
            header = 8;
            if (avail < header)
                return -1;
            uint64_t bits = s_be64 (p);
            memcpy (&v->v.f, &bits, sizeof (double));
            v->type = MESH_MP_FLOAT;
            break;
        }
        case 0xd9: case 0xda: case 0xdb:                  //  str 8/16/32
        case 0xc4: case 0xc5: case 0xc6:                  //  bin 8/16/32
            v->type = b >= 0xd9? MESH_MP_STR: MESH_MP_BIN;
            header = (size_t) 1 << (b >= 0xd9? b - 0xd9: b - 0xc4);
            if (avail < header)
                return -1;
            payload = header == 1? p [0]
                    : header == 2? mesh__mp_be16 (p)
                    :              mesh__mp_be32 (p);
            break;
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:  //  fixext 1..16
            v->type = MESH_MP_EXT;
            header = 1;
            if (avail < header)
                return -1;
            ext_type = (int8_t) p [0];
            payload = (size_t) 1 << (b - 0xd4);
            break;
        case 0xc7: case 0xc8: case 0xc9: {                //  ext 8/16/32
            size_t len_size = (size_t) 1 << (b - 0xc7);
            header = len_size + 1;
            if (avail < header)
                return -1;
            v->type = MESH_MP_EXT;
            payload = len_size == 1? p [0]
                    : len_size == 2? mesh__mp_be16 (p)
                    :                mesh__mp_be32 (p);
            ext_type = (int8_t) p [len_size];
            break;
        }
        case 0xdc: case 0xdd:       //  array 16/32
        case 0xde: case 0xdf:       //  map 16/32
            v->type = b <= 0xdd? MESH_MP_ARRAY: MESH_MP_MAP;
            header = (b == 0xdc || b == 0xde)? 2: 4;
            if (avail < header)
                return -1;
            v->v.count = header == 2? mesh__mp_be16 (p): mesh__mp_be32 (p);
            break;
        default:                    //  0xc1: never used
            return -1;
    }
    //  header <= avail holds here; payload is compared with what is left,
    //  never added to a pointer before it is known to fit.
    if (payload > avail - header)
        return -1;
    if (v->type == MESH_MP_STR || v->type == MESH_MP_BIN || v->type == MESH_MP_EXT) {
        v->v.s.ptr = (const char *) (p + header);
        v->v.s.size = (uint32_t) payload;
        v->v.s.ext_type = ext_type;
    }
    r->pos = p + header + payload;
    return 0;
}


//  The reader's one definition is s_read, inlined into the exact skip
//  below, which reads every value it steps over.

int
mesh__mp_read (mesh__mp_reader_t *r, mesh__mp_value_t *v)
{
    return s_read (r, v);
}


//  Skip one whole value: the fast skip with no depth limit, which never
//  hands over (its budget of containers cannot run out). On failure r->pos
//  is left where it was.

int
mesh__mp_skip (mesh__mp_reader_t *r)
{
    const uint8_t *after = mesh__mp_skip_flat (r->pos, r->end, 1, UINT64_MAX);
    if (!after)
        return -1;
    r->pos = after;
    return 0;
}


//  The exact skip: the values still to read, one counter per level (and,
//  for a strict skip, whether the level is a map's), stopping at the first
//  bad value: unreadable, then (strict) refused by mesh__mp_check_value,
//  then (strict) a key that is not a string, then too deep.

const uint8_t mesh__mp_hand_over_mark;

static const uint8_t *
s_refuse (mesh__mp_fail_t *fail, const uint8_t *at, mesh__mp_why_t why,
          const mesh__mp_value_t *value, int level)
{
    if (fail) {
        fail->at = at;
        fail->why = why;
        if (value)
            fail->value = *value;
        fail->level = level;
    }
    return NULL;
}

//  Inlined twice, strict and not, so that neither loop tests its mode. The
//  current level's counter lives in a local (here), the levels above in
//  left [], so the common step touches no array.
static inline __attribute__ ((always_inline)) const uint8_t *
s_skip_deep (const uint8_t *p, const uint8_t *end, uint64_t pending,
             int depth, int max_depth, int flags, mesh__mp_fail_t *fail, const bool strict)
{
    uint64_t left [MESH_MAX_DEPTH_LIMIT + 1];
    bool map [MESH_MAX_DEPTH_LIMIT + 1];        //  strict: the level holds a map's pairs
    int level = depth;
    uint64_t here = pending;                    //  values left at this level
    bool here_map = strict && (flags & MESH__MP_IN_MAP);
    mesh__mp_reader_t reader;
    mesh__mp_reader_init (&reader, p, (size_t) (end - p));
    while (true) {
        if (here == 0) {
            if (level == depth)
                return reader.pos;
            level--;
            here = left [level];
            if (strict)
                here_map = map [level];
            continue;
        }
        const uint8_t *at = reader.pos;
        mesh__mp_value_t value;
        if ((!strict && pending > (uint64_t) (end - at)) || s_read (&reader, &value))
            return s_refuse (fail, at, MESH__MP_BAD_BYTES, NULL, level + 1);
        if (strict) {
            int why = mesh__mp_check_value (&value, reader.pos, end, level + 1, max_depth);
            if (why)
                return s_refuse (fail, at, (mesh__mp_why_t) why, &value, level + 1);
            //  Counting down from twice the pairs, a key comes at an even count
            if (here_map && (here & 1) == 0 && value.type != MESH_MP_STR)
                return s_refuse (fail, at, MESH__MP_BAD_KEY, &value, level + 1);
            if ((flags & MESH__MP_FINITE) && value.type == MESH_MP_FLOAT && !isfinite (value.v.f))
                return s_refuse (fail, at, MESH__MP_NON_FINITE, &value, level + 1);
        }
        here--;
        pending--;
        if (value.type == MESH_MP_ARRAY || value.type == MESH_MP_MAP) {
            if (level == max_depth)
                return s_refuse (fail, at, MESH__MP_TOO_DEEP, &value, level + 1);
            uint64_t count = value.type == MESH_MP_MAP? 2 * (uint64_t) value.v.count: value.v.count;
            left [level] = here;
            if (strict) {
                map [level] = here_map;
                here_map = value.type == MESH_MP_MAP;
            }
            level++;
            here = count;
            pending += count;
        }
    }
}

//  The strict skip's fast part. Strings count as acceptable when all their
//  bytes are ASCII (valid UTF-8 whatever they hold), tested eight bytes at
//  a time; everything it is not sure of hands over.

#define S_FAST_LEVELS 32

static inline bool
s_ascii (const uint8_t *s, size_t n)
{
    uint64_t bits = 0;
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t chunk;
            memcpy (&chunk, s + i, 8);
            bits |= chunk;
        }
        if (i < n) {
            uint64_t chunk;
            memcpy (&chunk, s + n - 8, 8);      //  the last eight, overlapping
            bits |= chunk;
        }
        return (bits & UINT64_C (0x8080808080808080)) == 0;
    }
    for (size_t i = 0; i < n; i++)
        bits |= s [i];
    return (bits & 0x80) == 0;
}

const uint8_t *
mesh__mp_skip_strict_fast (const uint8_t *p, const uint8_t *end, uint64_t pending,
                           int depth, int max_depth, int flags)
{
    uint64_t left [S_FAST_LEVELS];
    bool left_map [S_FAST_LEVELS];
    int top = 0;                                //  levels opened here
    uint64_t here = pending;                    //  values left at this level
    bool here_map = (flags & MESH__MP_IN_MAP) != 0;
    const bool finite = (flags & MESH__MP_FINITE) != 0;
    while (true) {
        if (here == 0) {
            if (top == 0)
                return p;
            top--;
            here = left [top];
            here_map = left_map [top];
            continue;
        }
        if (p >= end)
            return MESH__MP_HAND_OVER;
        //  Counting down from twice the pairs, a key comes at an even count
        bool key = here_map && (here & 1) == 0;
        here--;
        size_t left_bytes = (size_t) (end - p);
        uint8_t b = *p;
        size_t size;
        const uint8_t *text;
        if ((b & 0xe0) == 0xa0) {
            size = b & 0x1f;
            text = p + 1;
        }
        else
        if (b == 0xd9 && left_bytes >= 2) {
            size = p [1];
            text = p + 2;
        }
        else
        if (b == 0xda && left_bytes >= 3) {
            size = mesh__mp_be16 (p + 1);
            text = p + 3;
        }
        else
        if (b == 0xdb && left_bytes >= 5) {
            size = mesh__mp_be32 (p + 1);
            text = p + 5;
        }
        else {
            if (key)
                return MESH__MP_HAND_OVER;
            size_t step;
            uint64_t items = 0;
            bool container = false, map = false;
            if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
                step = 1;
            else
            if ((b & 0xe0) == 0x80) {               //  fixmap, fixarray
                container = true;
                map = (b & 0x10) == 0;
                items = b & 0x0f;
                step = 1;
            }
            else
                switch (b) {
                    case 0xcc: case 0xd0:   step = 2; break;
                    case 0xcd: case 0xd1:   step = 3; break;
                    case 0xce: case 0xd2:   step = 5; break;
                    case 0xd3:              step = 9; break;
                    case 0xcf:                      //  uint64: within int64 only
                        if (left_bytes < 9 || p [1] >= 0x80)
                            return MESH__MP_HAND_OVER;
                        step = 9;
                        break;
                    case 0xca:                      //  float32: exponent all ones is NaN or infinity
                        if (left_bytes < 5 || (finite && (((p [1] & 0x7f) << 1) | (p [2] >> 7)) == 0xff))
                            return MESH__MP_HAND_OVER;
                        step = 5;
                        break;
                    case 0xcb:                      //  float64, likewise
                        if (left_bytes < 9 || (finite && (((p [1] & 0x7f) << 4) | (p [2] >> 4)) == 0x7ff))
                            return MESH__MP_HAND_OVER;
                        step = 9;
                        break;
                    case 0xdc: case 0xdd: case 0xde: case 0xdf:   //  array16/32, map16/32
                        step = (b & 1)? 5: 3;
                        if (left_bytes < step)
                            return MESH__MP_HAND_OVER;
                        container = true;
                        map = b >= 0xde;
                        items = (b & 1)? mesh__mp_be32 (p + 1): mesh__mp_be16 (p + 1);
                        break;
                    default:                        //  bin, ext, 0xc1
                        return MESH__MP_HAND_OVER;
                }
            if (left_bytes < step)
                return MESH__MP_HAND_OVER;
            p += step;
            if (container) {
                if (map)
                    items *= 2;
                //  As the exact skip: within max_depth, and no more values
                //  claimed than bytes remain
                if (depth + top == max_depth || top == S_FAST_LEVELS || items > (uint64_t) (end - p))
                    return MESH__MP_HAND_OVER;
                left [top] = here;
                left_map [top] = here_map;
                top++;
                here = items;
                here_map = map;
            }
            continue;
        }
        if ((size_t) (end - text) < size || !s_ascii (text, size))
            return MESH__MP_HAND_OVER;
        p = text + size;
    }
}

const uint8_t *
mesh__mp_skip_deep (const uint8_t *p, const uint8_t *end, uint64_t pending,
                    int depth, int max_depth, int flags, mesh__mp_fail_t *fail)
{
    assert (depth >= 0 && depth <= max_depth && max_depth <= MESH_MAX_DEPTH_LIMIT);
    return flags & MESH__MP_STRICT
         ? s_skip_deep (p, end, pending, depth, max_depth, flags, fail, true)
         : s_skip_deep (p, end, pending, depth, max_depth, flags, fail, false);
}
