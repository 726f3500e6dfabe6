/*  mesh_heartbeat.c: the heartbeat's header (mesh_heartbeat.h)

    msgpack-c's packer over a fixed buffer: no allocation. Keys in the
    order of the hello's: v, ctl, target, epoch, seq.
*/
#include <msgpack.h>
#include <string.h>
#include "mesh_heartbeat.h"

typedef struct {
    uint8_t *out;
    size_t capacity;
    size_t size;
    bool overflow;
} s_writer_t;

static int
s_write (void *data, const char *bytes, size_t size)
{
    s_writer_t *writer = (s_writer_t *) data;
    if (writer->size + size > writer->capacity) {
        writer->overflow = true;
        return -1;
    }
    memcpy (writer->out + writer->size, bytes, size);
    writer->size += size;
    return 0;
}

static void
s_pack_str (msgpack_packer *pk, const char *text)
{
    size_t size = strlen (text);
    msgpack_pack_str (pk, size);
    msgpack_pack_str_body (pk, text, size);
}

size_t
mesh_heartbeat_pack (const char *target, uint64_t seq, uint64_t epoch, void *out, size_t capacity)
{
    s_writer_t writer = { (uint8_t *) out, capacity, 0, false };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &writer, s_write);
    msgpack_pack_map (&pk, 5);
    s_pack_str (&pk, "v");
    msgpack_pack_uint64 (&pk, 1);
    s_pack_str (&pk, "ctl");
    s_pack_str (&pk, "heartbeat");
    s_pack_str (&pk, "target");
    s_pack_str (&pk, target);
    s_pack_str (&pk, "epoch");
    msgpack_pack_uint64 (&pk, epoch);
    s_pack_str (&pk, "seq");
    msgpack_pack_fix_uint64 (&pk, seq);
    return writer.overflow? 0: writer.size;
}
