/*  mesh_proto.c: the wire protocol, version 3

    Packing uses msgpack-c's packer over a fixed buffer (no allocation);
    parsing uses the in-place reader of mesh_mp.c. Both sides of every frame
    are here, so a change to the protocol is a change to this file and to
    docs/protocol.md, and test_proto.c checks that what one side packs the
    other parses.

    Usage (the subscriber's side):
        mesh_proto_frame_t frames [2] = { ... the frames received ... };
        mesh_proto_header_t header;
        if (mesh_proto_message_parse (frames, 2, &header, &err) == 0
        &&  header.kind == MESH_PROTO_DELIVERY)
            ...frames [1] is the event, header.seq its sequence number...

    Error texts say which frame or key was wrong: `frame 1: header: 'seq':
    expected an unsigned integer, got string`, `frame 1: header: protocol
    version 2, this side speaks 3`.
*/
#include <inttypes.h>
#include <msgpack.h>
#include "mesh_private.h"

//  The kinds in enum order, from MESH_PROTO_DELIVERY.
static const char *const s_kind_names [] = {
    "delivery", "hello", "heartbeat", "route", "request", "reply", "unknown"
};

const char *
mesh_proto_kind_name (mesh_proto_kind_t kind)
{
    if (kind < MESH_PROTO_DELIVERY || kind > MESH_PROTO_UNKNOWN)
        return "unknown";
    return s_kind_names [kind - MESH_PROTO_DELIVERY];
}

int
mesh_proto_ingest_parse (const mesh_proto_frame_t *frames, size_t count,
                         mesh_proto_frame_t *bus, mesh_proto_frame_t *event, mesh_error_t *err)
{
    if (count != 2)
        return mesh_error_set (err, MESH_EMALFORMED,
                               "ingest: expected 2 frames [bus][event], got %zu", count);
    *bus = frames [0];
    *event = frames [1];
    return MESH_OK;
}

size_t
mesh_proto_topic (const char *target, char topic [MESH_TOPIC_MAX])
{
    if (!mesh_name_valid (target))
        return 0;
    size_t size = strlen (target) + 1;
    memcpy (topic, target, size);
    return size;
}

int
mesh_proto_topic_parse (const void *data, size_t size, char name [MESH_NAME_MAX + 1],
                        mesh_error_t *err)
{
    const char *text = (const char *) data;
    if (size < 2 || size > MESH_TOPIC_MAX || text [size - 1] != '\0'
    ||  !mesh_name_valid_n (text, size - 1))
        return mesh_error_set (err, MESH_EMALFORMED,
                               "topic: expected a target name and one NUL byte (%zu bytes)", size);
    memcpy (name, text, size);
    return MESH_OK;
}

//  ---------------------------------------------------------------------
//  Packing

typedef struct {
    uint8_t *data;
    size_t capacity;
    size_t size;
    bool overflow;
} s_writer_t;

static int
s_write (void *data, const char *bytes, size_t size)
{
    s_writer_t *writer = (s_writer_t *) data;
    if (writer->overflow || writer->size + size > writer->capacity) {
        writer->overflow = true;
        return -1;
    }
    memcpy (writer->data + writer->size, bytes, size);
    writer->size += size;
    return 0;
}

static void
s_pack_str (msgpack_packer *pk, const char *text, size_t size)
{
    msgpack_pack_str (pk, size);
    msgpack_pack_str_body (pk, text, size);
}

#define S_PACK_KEY(pk, key) s_pack_str ((pk), (key), sizeof (key) - 1)

//  Check a (pointer, size) name with the alphabet of what it names.
static int
s_check_name (const char *what, const char *name, size_t size, mesh_error_t *err)
{
    bool bus = streq (what, "bus");
    if (!(bus? mesh_bus_name_valid_n (name, size): mesh_name_valid_n (name, size)))
        return mesh_error_set (err, MESH_EINVAL, "header: '%s': not a valid %s name: '%.*s'",
                               what, what, (int) (size > 64? 64: size), name? name: "");
    return MESH_OK;
}

static void
s_pack_ctl (msgpack_packer *pk, mesh_proto_kind_t kind)
{
    const char *name = mesh_proto_kind_name (kind);
    S_PACK_KEY (pk, "ctl");
    s_pack_str (pk, name, strlen (name));
}

static int
s_check_route (uint64_t route, mesh_error_t *err)
{
    if (route >= MESH_PROTO_ROUTE_MAX)
        return mesh_error_set (err, MESH_EINVAL, "header: 'route': expected below %u, got %" PRIu64,
                               MESH_PROTO_ROUTE_MAX, route);
    return MESH_OK;
}

//  Pack everything of a delivery, a hello or a heartbeat up to (not
//  including) the sequence number's value; the caller appends it.
static int
s_pack_head (msgpack_packer *pk, const mesh_proto_header_t *header, mesh_error_t *err)
{
    if (header->kind == MESH_PROTO_DELIVERY) {
        //  v, route, seq: the topic names the target, the route's message
        //  its bus and rule, the hello the epoch
        if (s_check_route (header->route, err))
            return -1;
        msgpack_pack_map (pk, 3);
        S_PACK_KEY (pk, "v");
        msgpack_pack_uint64 (pk, MESH_PROTO_VERSION);
        S_PACK_KEY (pk, "route");
        msgpack_pack_uint32 (pk, header->route);
        S_PACK_KEY (pk, "seq");
        return MESH_OK;
    }
    bool hello = header->kind == MESH_PROTO_HELLO;
    if (s_check_name ("target", header->target, header->target_size, err))
        return -1;
    //  v, ctl, routed (a hello), target, epoch, seq
    msgpack_pack_map (pk, hello? 6: 5);
    S_PACK_KEY (pk, "v");
    msgpack_pack_uint64 (pk, MESH_PROTO_VERSION);
    s_pack_ctl (pk, header->kind);
    if (hello) {
        S_PACK_KEY (pk, "routed");
        if (header->routed)
            msgpack_pack_true (pk);
        else
            msgpack_pack_false (pk);
    }
    S_PACK_KEY (pk, "target");
    s_pack_str (pk, header->target, header->target_size);
    S_PACK_KEY (pk, "epoch");
    msgpack_pack_uint64 (pk, header->epoch);
    S_PACK_KEY (pk, "seq");
    return MESH_OK;
}

//  A route: {v, ctl, target, route, bus, rule}.
static int
s_pack_route (msgpack_packer *pk, const mesh_proto_header_t *header, mesh_error_t *err)
{
    if (s_check_name ("target", header->target, header->target_size, err)
    ||  s_check_route (header->route, err)
    ||  s_check_name ("bus", header->bus, header->bus_size, err)
    ||  s_check_name ("rule", header->rule, header->rule_size, err))
        return -1;
    msgpack_pack_map (pk, 6);
    S_PACK_KEY (pk, "v");
    msgpack_pack_uint64 (pk, MESH_PROTO_VERSION);
    s_pack_ctl (pk, header->kind);
    S_PACK_KEY (pk, "target");
    s_pack_str (pk, header->target, header->target_size);
    S_PACK_KEY (pk, "route");
    msgpack_pack_uint32 (pk, header->route);
    S_PACK_KEY (pk, "bus");
    s_pack_str (pk, header->bus, header->bus_size);
    S_PACK_KEY (pk, "rule");
    s_pack_str (pk, header->rule, header->rule_size);
    return MESH_OK;
}

int
mesh_proto_header_pack (const mesh_proto_header_t *header, void *out, size_t capacity,
                        size_t *size, mesh_error_t *err)
{
    assert (header);
    assert (out || capacity == 0);
    s_writer_t writer = { (uint8_t *) out, capacity, 0, false };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &writer, s_write);
    switch (header->kind) {
        case MESH_PROTO_DELIVERY:
        case MESH_PROTO_HELLO:
        case MESH_PROTO_HEARTBEAT:
            if (s_pack_head (&pk, header, err))
                return -1;
            msgpack_pack_fix_uint64 (&pk, header->seq);
            break;
        case MESH_PROTO_ROUTE:
            if (s_pack_route (&pk, header, err))
                return -1;
            break;
        case MESH_PROTO_REQUEST:
        case MESH_PROTO_REPLY:
            msgpack_pack_map (&pk, 2);
            S_PACK_KEY (&pk, "v");
            msgpack_pack_uint64 (&pk, MESH_PROTO_VERSION);
            s_pack_ctl (&pk, header->kind);
            break;
        default:
            return mesh_error_set (err, MESH_EINVAL, "header: cannot pack a message of unknown kind %d",
                                   (int) header->kind);
    }
    if (writer.overflow)
        return mesh_error_set (err, MESH_ETOOBIG, "header: over %zu bytes", capacity);
    *size = writer.size;
    return MESH_OK;
}

//  Write target's topic at the start of writer: frame 1 begins with it.
static int
s_write_topic (s_writer_t *writer, const char *target, size_t target_size, mesh_error_t *err)
{
    if (!mesh_name_valid_n (target, target_size))
        return mesh_error_set (err, MESH_EINVAL, "topic: not a valid target name: '%.*s'",
                               (int) (target_size > 64? 64: target_size), target? target: "");
    if (s_write (writer, target, target_size) || s_write (writer, "", 1))
        return mesh_error_set (err, MESH_ETOOBIG, "topic: over %zu bytes", writer->capacity);
    return MESH_OK;
}

int
mesh_proto_head_pack (const mesh_proto_header_t *header, void *out, size_t capacity,
                      size_t *size, mesh_error_t *err)
{
    assert (header);
    assert (out || capacity == 0);
    s_writer_t writer = { (uint8_t *) out, capacity, 0, false };
    if (s_write_topic (&writer, header->target, header->target_size, err))
        return -1;
    size_t header_size;
    if (mesh_proto_header_pack (header, writer.data + writer.size, capacity - writer.size,
                                &header_size, err))
        return -1;
    *size = writer.size + header_size;
    return MESH_OK;
}

size_t
mesh_proto_delivery_prefix (const char *target, uint32_t route, void *out, size_t capacity,
                            mesh_error_t *err)
{
    mesh_proto_header_t header = {
        .kind = MESH_PROTO_DELIVERY, .route = route,
        .target = target, .target_size = target? strlen (target): 0,
    };
    s_writer_t writer = { (uint8_t *) out, capacity, 0, false };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &writer, s_write);
    if (s_write_topic (&writer, header.target, header.target_size, err)
    ||  s_pack_head (&pk, &header, err))
        return 0;
    if (writer.overflow) {
        mesh_error_set (err, MESH_ETOOBIG, "header: over %zu bytes", capacity);
        return 0;
    }
    return writer.size;
}

void
mesh_proto_delivery_finish (const void *prefix, size_t prefix_size, uint64_t seq, void *out)
{
    uint8_t *bytes = (uint8_t *) out;
    memcpy (bytes, prefix, prefix_size);
    bytes += prefix_size;
    bytes [0] = 0xcf;                   //  uint64, big-endian: msgpack_pack_fix_uint64
    for (int i = 0; i < 8; i++)
        bytes [1 + i] = (uint8_t) (seq >> (56 - 8 * i));
}

//  ---------------------------------------------------------------------
//  Parsing

static const char *
s_type_name (mesh__mp_type_t type)
{
    static const char *const names [] = {
        "nil", "boolean", "negative integer", "unsigned integer", "float",
        "string", "bin", "ext", "array", "map"
    };
    return type <= MESH_MP_MAP? names [type]: "?";
}

//  The keys this version knows, and the type each must have.
typedef enum { KEY_V, KEY_CTL, KEY_BUS, KEY_RULE, KEY_TARGET, KEY_SEQ, KEY_EPOCH, KEY_ROUTED,
               KEY_ROUTE, KEY_COUNT } s_key_t;

static const struct {
    const char *name;
    mesh__mp_type_t type;
    const char *expected;
} s_keys [KEY_COUNT] = {
    [KEY_V]      = { "v",      MESH_MP_UINT, "an unsigned integer" },
    [KEY_CTL]    = { "ctl",    MESH_MP_STR,  "a string" },
    [KEY_BUS]    = { "bus",    MESH_MP_STR,  "a string" },
    [KEY_RULE]   = { "rule",   MESH_MP_STR,  "a string" },
    [KEY_TARGET] = { "target", MESH_MP_STR,  "a string" },
    [KEY_SEQ]    = { "seq",    MESH_MP_UINT, "an unsigned integer" },
    [KEY_EPOCH]  = { "epoch",  MESH_MP_UINT, "an unsigned integer" },
    [KEY_ROUTED] = { "routed", MESH_MP_BOOL, "a boolean" },
    [KEY_ROUTE]  = { "route",  MESH_MP_UINT, "an unsigned integer" },
};

static int
s_key (const char *name, size_t size)
{
    for (int k = 0; k < KEY_COUNT; k++)
        if (strlen (s_keys [k].name) == size && memcmp (s_keys [k].name, name, size) == 0)
            return k;
    return -1;
}

static mesh_proto_kind_t
s_kind (const char *ctl, size_t size)
{
    if (!ctl)
        return MESH_PROTO_DELIVERY;
    for (int kind = MESH_PROTO_HELLO; kind < MESH_PROTO_UNKNOWN; kind++) {
        const char *name = s_kind_names [kind - MESH_PROTO_DELIVERY];
        if (strlen (name) == size && memcmp (name, ctl, size) == 0)
            return (mesh_proto_kind_t) kind;
    }
    return MESH_PROTO_UNKNOWN;
}

//  The kinds that travel on a target's topic in a fixed number of frames
//  (all but a delivery with its name in "target").
static bool
s_has_topic (mesh_proto_kind_t kind)
{
    return kind == MESH_PROTO_DELIVERY || kind == MESH_PROTO_HELLO || kind == MESH_PROTO_HEARTBEAT
        || kind == MESH_PROTO_ROUTE;
}

//  Which keys a kind must carry.
static unsigned
s_required (mesh_proto_kind_t kind)
{
    if (kind == MESH_PROTO_DELIVERY)
        return 1u << KEY_ROUTE | 1u << KEY_SEQ;
    if (kind == MESH_PROTO_ROUTE)
        return 1u << KEY_TARGET | 1u << KEY_ROUTE | 1u << KEY_BUS | 1u << KEY_RULE;
    if (kind == MESH_PROTO_HELLO)
        return 1u << KEY_ROUTED | 1u << KEY_TARGET | 1u << KEY_SEQ | 1u << KEY_EPOCH;
    if (kind == MESH_PROTO_HEARTBEAT)
        return 1u << KEY_TARGET | 1u << KEY_SEQ | 1u << KEY_EPOCH;
    return 0;
}

int
mesh_proto_header_parse (const void *data, size_t size, mesh_proto_header_t *header,
                         mesh_error_t *err)
{
    assert (header);
    memset (header, 0, sizeof (*header));
    mesh__mp_reader_t r;
    mesh__mp_value_t map;
    mesh__mp_reader_init (&r, data, size);
    if (mesh__mp_read (&r, &map))
        return mesh_error_set (err, MESH_EMALFORMED, "header: not MessagePack (%zu bytes)", size);
    if (map.type != MESH_MP_MAP)
        return mesh_error_set (err, MESH_EMALFORMED, "header: expected a map, got %s",
                               s_type_name (map.type));
    unsigned seen = 0;
    uint64_t route = 0;
    for (uint32_t i = 0; i < map.v.count; i++) {
        mesh__mp_value_t key, value;
        if (mesh__mp_read (&r, &key))
            return mesh_error_set (err, MESH_EMALFORMED, "header: truncated after %u of %u keys",
                                   i, map.v.count);
        if (key.type != MESH_MP_STR)
            return mesh_error_set (err, MESH_EMALFORMED, "header: key %u: expected a string, got %s",
                                   i + 1, s_type_name (key.type));
        int k = s_key (key.v.s.ptr, key.v.s.size);
        if (k < 0) {
            //  A key of a later minor version: skip its value, whatever it is
            if (mesh__mp_skip (&r))
                return mesh_error_set (err, MESH_EMALFORMED, "header: '%.*s': truncated value",
                                       (int) (key.v.s.size > 64? 64: key.v.s.size), key.v.s.ptr);
            continue;
        }
        if (mesh__mp_read (&r, &value))
            return mesh_error_set (err, MESH_EMALFORMED, "header: '%s': truncated value", s_keys [k].name);
        if (seen & 1u << k)
            return mesh_error_set (err, MESH_EMALFORMED, "header: '%s': repeated key", s_keys [k].name);
        seen |= 1u << k;
        if (value.type != s_keys [k].type)
            return mesh_error_set (err, MESH_EMALFORMED, "header: '%s': expected %s, got %s",
                                   s_keys [k].name, s_keys [k].expected, s_type_name (value.type));
        switch ((s_key_t) k) {
            case KEY_V:      header->version = value.v.u; break;
            case KEY_SEQ:    header->seq = value.v.u; break;
            case KEY_EPOCH:  header->epoch = value.v.u; break;
            case KEY_ROUTED: header->routed = value.v.b; break;
            case KEY_ROUTE:  route = value.v.u; break;
            case KEY_CTL:    header->ctl = value.v.s.ptr; header->ctl_size = value.v.s.size; break;
            case KEY_BUS:    header->bus = value.v.s.ptr; header->bus_size = value.v.s.size; break;
            case KEY_RULE:   header->rule = value.v.s.ptr; header->rule_size = value.v.s.size; break;
            case KEY_TARGET: header->target = value.v.s.ptr; header->target_size = value.v.s.size; break;
            case KEY_COUNT:  break;
        }
    }
    if (r.pos != r.end)
        return mesh_error_set (err, MESH_EMALFORMED, "header: %zu bytes after the map",
                               (size_t) (r.end - r.pos));
    if (!(seen & 1u << KEY_V))
        return mesh_error_set (err, MESH_EMALFORMED, "header: 'v' is missing");
    if (header->version != MESH_PROTO_VERSION)
        return mesh_error_set (err, MESH_EMALFORMED, "header: protocol version %" PRIu64
                               ", this side speaks %d", header->version, MESH_PROTO_VERSION);
    header->kind = s_kind (header->ctl, header->ctl_size);
    unsigned missing = s_required (header->kind) & ~seen;
    for (int k = 0; k < KEY_COUNT; k++)
        if (missing & 1u << k)
            return mesh_error_set (err, MESH_EMALFORMED, "header: %s without '%s'",
                                   mesh_proto_kind_name (header->kind), s_keys [k].name);
    if (route >= MESH_PROTO_ROUTE_MAX)
        return mesh_error_set (err, MESH_EMALFORMED, "header: 'route': expected below %u, got %" PRIu64,
                               MESH_PROTO_ROUTE_MAX, route);
    header->route = (uint32_t) route;
    if (header->kind == MESH_PROTO_DELIVERY && header->seq == 0)
        return mesh_error_set (err, MESH_EMALFORMED, "header: 'seq': expected 1 or more, got 0");
    if (header->kind == MESH_PROTO_ROUTE
    &&  (s_check_name ("bus", header->bus, header->bus_size, err)
     ||  s_check_name ("rule", header->rule, header->rule_size, err)))
        goto invalid;
    if (s_has_topic (header->kind) && (seen & 1u << KEY_TARGET)
    &&  s_check_name ("target", header->target, header->target_size, err))
        goto invalid;
    return MESH_OK;
invalid:
    if (err)
        err->code = MESH_EMALFORMED;
    return -1;
}

int
mesh_proto_message_parse (const mesh_proto_frame_t *frames, size_t count,
                          mesh_proto_header_t *header, mesh_error_t *err)
{
    if (count < 1)
        return mesh_error_set (err, MESH_EMALFORMED, "message: expected [topic header] and more, got 0 frames");
    //  Frame 1 is split at its first NUL: a name holds none, so the first
    //  one ends the topic, whatever bytes the header has after it.
    const char *data = (const char *) frames [0].data;
    size_t size = frames [0].size;
    const char *nul = size? memchr (data, '\0', size < MESH_TOPIC_MAX? size: MESH_TOPIC_MAX): NULL;
    if (!nul)
        return mesh_error_set (err, MESH_EMALFORMED, "frame 1: topic: expected a target name and "
                               "one NUL byte, got no NUL in the first %zu of %zu bytes",
                               size < MESH_TOPIC_MAX? size: (size_t) MESH_TOPIC_MAX, size);
    size_t topic_size = (size_t) (nul - data) + 1;
    char topic [MESH_NAME_MAX + 1];
    mesh_error_t part_err = { 0 };
    if (mesh_proto_topic_parse (data, topic_size, topic, &part_err)
    ||  mesh_proto_header_parse (data + topic_size, size - topic_size, header, &part_err))
        return mesh_error_set (err, MESH_EMALFORMED, "frame 1: %s", part_err.text);
    size_t needed = header->kind == MESH_PROTO_DELIVERY? 2: s_has_topic (header->kind)? 1: 0;
    if (needed && count != needed)
        return mesh_error_set (err, MESH_EMALFORMED, "message: a %s has %zu frame%s, got %zu",
                               mesh_proto_kind_name (header->kind), needed, needed == 1? "": "s", count);
    if (header->kind == MESH_PROTO_DELIVERY && !header->target) {
        //  The topic names a delivery's target: point at it in the frame
        header->target = data;
        header->target_size = topic_size - 1;
    }
    if (needed && (header->target_size != topic_size - 1
               ||  memcmp (header->target, topic, header->target_size) != 0))
        return mesh_error_set (err, MESH_EMALFORMED, "message: header's target '%.*s' is not the topic's '%s'",
                               (int) header->target_size, header->target, topic);
    return MESH_OK;
}
