/*  mesh_tap.c: taps (mesh_tap.h)

    Each tap is a ring of record pointers, each record one allocation
    that holds the event's bytes, its bus and its routes' names, so that a
    record outlives the routes it names (a reload frees them) and is given
    to the reader whole. The routes of the event under way are noted in one
    array the taps share, grown as needed and kept: no allocation per event
    but the records themselves.
*/
#include <stdlib.h>
#include <string.h>
#include "mesh_tap.h"

typedef struct {
    uint64_t id;
    char *bus;                  //  NULL: every bus
    size_t bus_size;
    mesh_ruleset_t *pattern;    //  NULL: every event; else one rule, compiled
    mesh_matcher_t *matcher;    //  its scratch
    char *pattern_text;         //  its JSON, for the routes
    char *rule;
    size_t capacity;
    mesh_tap_record_t **ring;
    size_t first, count;        //  the oldest record's slot, and how many
    size_t bytes;               //  of the records waiting
    uint64_t seen;              //  events taken, dropped ones included
    uint64_t dropped;           //  in all
    uint64_t dropped_pending;   //  since the last record kept
    int64_t read_ms;            //  last read (or opened)
    bool wants;                 //  the event under way
} s_tap_t;

struct _mesh_taps_t {
    struct _mesh_taps_head_t head;  //  first: mesh_taps_active reads it
    s_tap_t *taps [MESH_TAP_MAX];
    uint64_t next_id;
    uint64_t generation;
    //  The event under way, between begin and end
    const void *bus;
    size_t bus_size;
    const void *event;
    size_t size;
    mesh_tap_route_t *routes;
    size_t route_count, route_alloc;
    size_t names_bytes;             //  its routes' rule and target names, with their NULs
};

const char *
mesh_tap_outcome_name (mesh_tap_outcome_t outcome)
{
    switch (outcome) {
        case MESH_TAP_SENT: return "sent";
        case MESH_TAP_QUEUED: return "queued";
        case MESH_TAP_NO_SUBSCRIBER: return "no-subscriber";
        case MESH_TAP_DROPPED: return "dropped";
    }
    return "unknown";
}

mesh_taps_t *
mesh_taps_new (void)
{
    mesh_taps_t *self = calloc (1, sizeof (mesh_taps_t));
    if (self)
        self->next_id = 1;
    return self;
}

static void
s_tap_destroy (s_tap_t **tap_p)
{
    s_tap_t *tap = *tap_p;
    if (!tap)
        return;
    for (size_t i = 0; i < tap->count; i++)
        free (tap->ring [(tap->first + i) % tap->capacity]);
    free (tap->ring);
    mesh_matcher_destroy (&tap->matcher);
    mesh_ruleset_destroy (&tap->pattern);
    free (tap->pattern_text);
    free (tap->bus);
    free (tap->rule);
    free (tap);
    *tap_p = NULL;
}

void
mesh_taps_destroy (mesh_taps_t **self_p)
{
    mesh_taps_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < MESH_TAP_MAX; i++)
        s_tap_destroy (&self->taps [i]);
    free (self->routes);
    free (self);
    *self_p = NULL;
}

uint64_t
mesh_taps_open (mesh_taps_t *self, const char *bus, mesh_rule_t *pattern, const char *pattern_text,
                const char *rule, size_t capacity, int64_t now_ms, mesh_error_t *err)
{
    size_t slot = 0;
    while (slot < MESH_TAP_MAX && self->taps [slot])
        slot++;
    if (slot == MESH_TAP_MAX) {
        mesh_rule_destroy (&pattern);
        mesh_error_set (err, MESH_ETOOBIG, "%d taps are open already, the most a broker keeps; "
                        "a tap nobody reads closes after %d s", MESH_TAP_MAX, MESH_TAP_IDLE_MS / 1000);
        return 0;
    }
    if (capacity == 0)
        capacity = MESH_TAP_CAPACITY;
    if (capacity > MESH_TAP_CAPACITY_MAX)
        capacity = MESH_TAP_CAPACITY_MAX;
    s_tap_t *tap = calloc (1, sizeof (s_tap_t));
    if (tap && pattern) {
        //  Compiled, as the bus's rules are: the tap's test costs every
        //  event of its bus what one more rule would
        tap->pattern = mesh_ruleset_new ();
        if (!tap->pattern || mesh_ruleset_add (tap->pattern, &pattern) < 0
        ||  mesh_ruleset_compile (tap->pattern, err) || !(tap->matcher = mesh_matcher_new (tap->pattern))) {
            mesh_rule_destroy (&pattern);
            s_tap_destroy (&tap);
            if (!err || !err->code)
                mesh_error_set (err, MESH_ENOMEM, "out of memory for a tap");
            return 0;
        }
    }
    if (tap) {
        tap->capacity = capacity;
        tap->ring = calloc (capacity, sizeof (mesh_tap_record_t *));
        tap->bus = bus? strdup (bus): NULL;
        tap->bus_size = bus? strlen (bus): 0;
        tap->rule = rule? strdup (rule): NULL;
        tap->pattern_text = tap->pattern && pattern_text? strdup (pattern_text): NULL;
    }
    if (!tap || !tap->ring || (bus && !tap->bus) || (rule && !tap->rule)
    ||  (tap->pattern && pattern_text && !tap->pattern_text)) {
        mesh_rule_destroy (&pattern);
        s_tap_destroy (&tap);
        mesh_error_set (err, MESH_ENOMEM, "out of memory for a tap");
        return 0;
    }
    tap->id = self->next_id++;
    tap->read_ms = now_ms;
    self->taps [slot] = tap;
    self->head.open++;
    self->generation++;
    return tap->id;
}

static s_tap_t **
s_find (const mesh_taps_t *self, uint64_t id)
{
    for (size_t i = 0; i < MESH_TAP_MAX; i++)
        if (self->taps [i] && self->taps [i]->id == id)
            return (s_tap_t **) &self->taps [i];
    return NULL;
}

bool
mesh_taps_close (mesh_taps_t *self, uint64_t id)
{
    s_tap_t **tap = s_find (self, id);
    if (!tap)
        return false;
    s_tap_destroy (tap);
    self->head.open--;
    self->generation++;
    return true;
}

size_t
mesh_taps_expire (mesh_taps_t *self, int64_t now_ms)
{
    size_t closed = 0;
    for (size_t i = 0; i < MESH_TAP_MAX; i++)
        if (self->taps [i] && now_ms - self->taps [i]->read_ms > MESH_TAP_IDLE_MS) {
            s_tap_destroy (&self->taps [i]);
            self->head.open--;
            self->generation++;
            closed++;
        }
    return closed;
}

uint64_t
mesh_taps_generation (const mesh_taps_t *self)
{
    return self->generation;
}

bool
mesh_taps_slot (const mesh_taps_t *self, size_t i, const char **bus, const char **pattern_text)
{
    const s_tap_t *tap = i < MESH_TAP_MAX? self->taps [i]: NULL;
    *bus = tap? tap->bus: NULL;
    *pattern_text = tap? tap->pattern_text: NULL;
    return tap != NULL;
}

bool
mesh_taps_begin (mesh_taps_t *self, const void *bus, size_t bus_size, const void *event, size_t size,
                 uint32_t decided, uint32_t matched)
{
    bool any = false;
    for (size_t i = 0; i < MESH_TAP_MAX; i++) {
        s_tap_t *tap = self->taps [i];
        if (!tap)
            continue;
        tap->wants = !tap->bus || (tap->bus_size == bus_size && memcmp (tap->bus, bus, bus_size) == 0);
        if (tap->wants && tap->pattern && (decided >> i & 1))
            tap->wants = matched >> i & 1;      //  the bus's walk answered
        else
        if (tap->wants && tap->pattern) {
            mesh_error_t err = { 0 };
            uint32_t hit;
            //  A malformed event matches no pattern (-1): a tap with one
            //  shows only events that could be matched
            tap->wants = mesh_matcher_match (tap->matcher, tap->pattern, event, size, &hit, &err) == 1;
        }
        any = any || tap->wants;
    }
    self->bus = bus;
    self->bus_size = bus_size;
    self->event = event;
    self->size = size;
    self->route_count = 0;
    self->names_bytes = 0;
    return any;
}

void
mesh_taps_route (mesh_taps_t *self, const char *rule, const char *target, uint64_t seq,
                 mesh_tap_outcome_t outcome)
{
    if (self->route_count == self->route_alloc) {
        size_t alloc = self->route_alloc? self->route_alloc * 2: 16;
        mesh_tap_route_t *routes = realloc (self->routes, alloc * sizeof (mesh_tap_route_t));
        if (!routes)
            return;             //  the record shows the routes noted until then
        self->routes = routes;
        self->route_alloc = alloc;
    }
    self->routes [self->route_count++] = (mesh_tap_route_t) { rule, target, seq, outcome };
    self->names_bytes += strlen (rule) + strlen (target) + 2;
}

//  One record of the event under way, in one allocation.
static mesh_tap_record_t *
s_record (const mesh_taps_t *self, int64_t now_ms, const char *refused, size_t *bytes)
{
    size_t refused_size = refused? strlen (refused) + 1: 0;
    size_t kept = self->size <= MESH_TAP_EVENT_MAX? self->size: 0;
    size_t size = sizeof (mesh_tap_record_t) + self->route_count * sizeof (mesh_tap_route_t)
                + self->names_bytes + self->bus_size + 1 + refused_size + kept;
    mesh_tap_record_t *record = malloc (size);
    if (!record)
        return NULL;
    record->routes = (mesh_tap_route_t *) (record + 1);
    char *cursor = (char *) (record->routes + self->route_count);
    for (size_t i = 0; i < self->route_count; i++) {
        const mesh_tap_route_t *route = &self->routes [i];
        record->routes [i] = *route;
        record->routes [i].rule = strcpy (cursor, route->rule);
        cursor += strlen (route->rule) + 1;
        record->routes [i].target = strcpy (cursor, route->target);
        cursor += strlen (route->target) + 1;
    }
    record->route_count = self->route_count;
    memcpy (cursor, self->bus, self->bus_size);
    cursor [self->bus_size] = '\0';
    record->bus = cursor;
    cursor += self->bus_size + 1;
    record->refused = refused? memcpy (cursor, refused, refused_size): NULL;
    cursor += refused_size;
    memcpy (cursor, self->event, kept);
    record->event = kept || self->size == 0? (const uint8_t *) cursor: NULL;
    record->event_size = self->size;
    record->time_ms = now_ms;
    record->bytes = size;
    record->dropped_before = 0;
    record->number = 0;
    *bytes = size;
    return record;
}

void
mesh_taps_end (mesh_taps_t *self, int64_t now_ms, const char *refused)
{
    for (size_t i = 0; i < MESH_TAP_MAX; i++) {
        s_tap_t *tap = self->taps [i];
        if (!tap || !tap->wants)
            continue;
        tap->wants = false;
        tap->seen++;
        size_t bytes = 0;
        mesh_tap_record_t *record = NULL;
        if (tap->count < tap->capacity)
            record = s_record (self, now_ms, refused, &bytes);
        if (record && tap->bytes + bytes > MESH_TAP_BYTES && tap->count > 0) {
            free (record);      //  one record always fits an empty tap, whatever its size
            record = NULL;
        }
        if (!record) {
            tap->dropped++;
            tap->dropped_pending++;
            continue;
        }
        record->number = tap->seen;
        record->dropped_before = tap->dropped_pending;
        tap->dropped_pending = 0;
        tap->ring [(tap->first + tap->count) % tap->capacity] = record;
        tap->count++;
        tap->bytes += bytes;
    }
    self->bus = self->event = NULL;
}

mesh_tap_record_t *
mesh_taps_take (mesh_taps_t *self, uint64_t id, int64_t now_ms, bool *found)
{
    s_tap_t **slot = s_find (self, id);
    *found = slot != NULL;
    if (!slot)
        return NULL;
    s_tap_t *tap = *slot;
    tap->read_ms = now_ms;
    if (!tap->count)
        return NULL;
    mesh_tap_record_t *record = tap->ring [tap->first];
    tap->ring [tap->first] = NULL;
    tap->first = (tap->first + 1) % tap->capacity;
    tap->count--;
    tap->bytes -= record->bytes;
    return record;
}

bool
mesh_taps_info (const mesh_taps_t *self, uint64_t id, mesh_tap_info_t *info)
{
    s_tap_t **slot = s_find (self, id);
    if (!slot)
        return false;
    *info = (mesh_tap_info_t) { (*slot)->seen, (*slot)->dropped, (*slot)->count, (*slot)->bus, (*slot)->rule };
    return true;
}

size_t
mesh_taps_count (const mesh_taps_t *self)
{
    return self->head.open;
}
