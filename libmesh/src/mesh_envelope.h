/*  mesh_envelope.h: the keys of EventBridge's envelope, in its order

    Private to libmesh. The codecs write an event's keys in this order, the
    event object fills and checks them, and the broker's check looks for
    them in one pass: one table for all three.
*/
#ifndef MESH_ENVELOPE_H_INCLUDED
#define MESH_ENVELOPE_H_INCLUDED

#include <stddef.h>
#include "mesh_limits.h"

enum {
    MESH__ENV_VERSION, MESH__ENV_ID, MESH__ENV_DETAIL_TYPE, MESH__ENV_SOURCE, MESH__ENV_ACCOUNT,
    MESH__ENV_TIME, MESH__ENV_REGION, MESH__ENV_RESOURCES, MESH__ENV_DETAIL, MESH__ENV_KEYS
};

//  The keys an event must have, as bits (1 << MESH__ENV_*).
#define MESH__ENV_REQUIRED  (1u << MESH__ENV_VERSION | 1u << MESH__ENV_ID | 1u << MESH__ENV_DETAIL_TYPE \
                           | 1u << MESH__ENV_SOURCE | 1u << MESH__ENV_TIME | 1u << MESH__ENV_DETAIL)

typedef struct {
    const char *name;
    size_t size;
} mesh__envelope_key_t;

//  The keys, indexed by MESH__ENV_*.
extern const mesh__envelope_key_t mesh__envelope [MESH__ENV_KEYS];

//  Index of an envelope key of size bytes, or -1 for any other key.
int
    mesh__envelope_index (const char *key, size_t size);

//  What the one-pass check (mesh__automaton_match_checked) gathers of the
//  envelope as it walks the top map: the strings the limits look at, the
//  keys seen, and the entry's size less source and detail-type.
typedef struct {
    const char *id;             size_t id_size;
    const char *source;         size_t source_size;
    const char *detail_type;    size_t detail_type_size;
    const char *time;           size_t time_size;
    size_t entry_size;
    unsigned seen;              //  1 << MESH__ENV_* of each key met
} mesh__envelope_scan_t;

//  0 when what a scan gathered passes mesh_event_check's envelope tests
//  (required keys, then EventBridge's limits), else non-zero. limits as
//  mesh__limits_clamp returns them. The check itself words a refusal;
//  this only decides (mesh_event_check.c).
int
    mesh__envelope_passes (const mesh__envelope_scan_t *scan, const mesh_limits_t *limits);

#endif
