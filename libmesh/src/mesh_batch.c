/*  mesh_batch.c: the publishing loop, entries grouped into put-events calls

    A program with many entries to put (the payment service, `mesh put`)
    adds them one by one; the batch copies each entry's strings into its
    slot, sends a put-events call when size entries are pending (or on
    flush), reports every entry's result to the caller's function and
    counts what was queued and refused (queued, not published: the
    publisher's stats say what was handed over). One request that fails as a
    whole (no broker, back-pressure past the send timeout) is returned to
    the caller, who decides whether to go on; mesh_batch_put_lines stops.
*/
#include <czmq.h>
#include "mesh_private.h"

typedef struct {
    mesh_entry_t entry;         //  strings point at copies the slot owns
    char *strings [6];          //  source, detail-type, detail, time, bus, id
    char **resources;
    char label [64];
} s_slot_t;

struct _mesh_batch_t {
    mesh_pub_t *pub;
    size_t size;
    mesh_batch_fn *report;
    void *arg;
    s_slot_t slots [MESH_MAX_ENTRIES];
    size_t pending;
    mesh_batch_stats_t stats;
};

mesh_batch_t *
mesh_batch_new (mesh_pub_t *pub, size_t size, mesh_batch_fn *report, void *arg)
{
    assert (pub);
    assert (size >= 1 && size <= MESH_MAX_ENTRIES);
    mesh_batch_t *self = calloc (1, sizeof (mesh_batch_t));
    if (!self)
        return NULL;
    self->pub = pub;
    self->size = size;
    self->report = report;
    self->arg = arg;
    return self;
}

static void
s_slot_clear (s_slot_t *slot)
{
    for (size_t i = 0; slot->resources && i < slot->entry.resource_count; i++)
        free (slot->resources [i]);
    free (slot->resources);
    for (size_t i = 0; i < 6; i++)
        free (slot->strings [i]);
    memset (slot, 0, sizeof (*slot));
}

void
mesh_batch_destroy (mesh_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mesh_batch_t *self = *self_p;
    for (size_t i = 0; i < self->pending; i++)
        s_slot_clear (&self->slots [i]);
    free (self);
    *self_p = NULL;
}

//  Copy text into the slot's string i; NULL stays NULL. False when out of memory.
static bool
s_copy (s_slot_t *slot, size_t i, const char *text, const char **field)
{
    *field = NULL;
    if (!text)
        return true;
    slot->strings [i] = strdup (text);
    *field = slot->strings [i];
    return slot->strings [i] != NULL;
}

int
mesh_batch_flush (mesh_batch_t *self, mesh_error_t *err)
{
    assert (self);
    if (self->pending == 0)
        return MESH_OK;
    mesh_entry_t entries [MESH_MAX_ENTRIES];
    for (size_t i = 0; i < self->pending; i++)
        entries [i] = self->slots [i].entry;
    mesh_entry_result_t results [MESH_MAX_ENTRIES];
    mesh_error_t request_err = { 0 };
    int rc = mesh_pub_put_events (self->pub, entries, self->pending, results, &request_err);
    for (size_t i = 0; i < self->pending; i++) {
        if (*results [i].event_id)
            self->stats.queued++;
        else
            self->stats.refused++;
        if (self->report)
            self->report (&entries [i], &results [i], self->slots [i].label, self->arg);
        s_slot_clear (&self->slots [i]);
    }
    self->pending = 0;
    if (rc == -1) {
        self->stats.request_failed = true;
        return mesh_error_set (err, request_err.code, "%s", request_err.text);
    }
    return MESH_OK;
}

int
mesh_batch_add (mesh_batch_t *self, const mesh_entry_t *entry, const char *label, mesh_error_t *err)
{
    assert (self);
    assert (entry);
    s_slot_t *slot = &self->slots [self->pending];
    mesh_entry_t *copy = &slot->entry;
    bool copied = s_copy (slot, 0, entry->source, &copy->source)
               && s_copy (slot, 1, entry->detail_type, &copy->detail_type)
               && s_copy (slot, 2, entry->detail, &copy->detail)
               && s_copy (slot, 3, entry->time, &copy->time)
               && s_copy (slot, 4, entry->event_bus_name, &copy->event_bus_name)
               && s_copy (slot, 5, entry->id, &copy->id);
    if (copied && entry->resource_count) {
        char **resources = calloc (entry->resource_count, sizeof (char *));
        slot->resources = resources;
        copy->resources = (const char *const *) resources;
        copy->resource_count = resources? entry->resource_count: 0;
        copied = resources != NULL;
        for (size_t i = 0; copied && i < entry->resource_count; i++)
            if (entry->resources [i])
                copied = (resources [i] = strdup (entry->resources [i])) != NULL;
    }
    if (!copied) {
        s_slot_clear (slot);
        return mesh_error_set (err, MESH_ENOMEM, "put-events: out of memory");
    }
    snprintf (slot->label, sizeof (slot->label), "%s", label? label: "");
    self->pending++;
    return self->pending >= self->size? mesh_batch_flush (self, err): MESH_OK;
}

void
mesh_batch_stats (const mesh_batch_t *self, mesh_batch_stats_t *stats)
{
    assert (self);
    *stats = self->stats;
}

int
mesh_batch_put_lines (mesh_batch_t *self, FILE *input, const mesh_entry_t *template, mesh_error_t *err)
{
    assert (self);
    assert (input);
    assert (template);
    char *line = NULL;
    size_t capacity = 0;
    ssize_t size;
    uint64_t number = 0;
    int rc = MESH_OK;
    while (!zsys_interrupted && (size = getline (&line, &capacity, input)) != -1) {
        number++;
        while (size > 0 && (line [size - 1] == '\n' || line [size - 1] == '\r'))
            line [--size] = '\0';
        if (size == 0)
            continue;
        mesh_entry_t entry = *template;
        entry.detail = line;
        char label [64];
        snprintf (label, sizeof (label), "line=%" PRIu64, number);
        if ((rc = mesh_batch_add (self, &entry, label, err)))
            break;
    }
    if (!rc && ferror (input))
        rc = mesh_error_set (err, MESH_EIO, "put-events: cannot read line %" PRIu64 ": %s",
                             number + 1, strerror (errno));
    free (line);
    if (!rc)
        rc = mesh_batch_flush (self, err);
    return rc;
}
