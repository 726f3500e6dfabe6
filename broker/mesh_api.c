/*  mesh_api.c: the broker's API (mesh_api.h, docs/protocol.md "The API")

    A request's map goes through libmesh's own converter to JSON (which
    checks the bytes as strictly as an event's: one value, string keys,
    nothing after it, a depth limit) and jansson; a reply is built with
    jansson and converted back. Requests are few and small, so this costs
    nothing that matters, and every value a request or a reply holds is
    one that JSON can say, which is what `mesh --output json` prints.

    Operations (this file's s_ops table):
      ping            version, protocol, uptime, the run's epoch, buses
      stats           every counter of mesh_stats_t, and each target's
      list-rules      the buses and their rules, or one bus's ("bus")
      describe-rule   one rule ("bus", "name")
      put-events      EventBridge's PutEvents: "Entries", up to 10, each
                      answered with its EventId or an error entry
      reload          the rule files read again and swapped in (or refused)
      test-event-pattern  TestEventPattern, with the broker's compiler and limits
      explain         why each rule of a bus (or "rule") matches an event or not
      monitor         the socket monitor's events since a number, and the peers
      tap-open        a tap on the events entering a bus (mesh_tap.h), its id
      tap-read        a tap's oldest records, taken, and how many it dropped
      tap-close       a tap closed (one unread for 10 s closes by itself)
*/
#include <jansson.h>
#include <msgpack.h>
#include <unistd.h>
#include "mesh_api.h"
#include "mesh_queue.h"

#define S_DEPTH_MAX     32          //  a request nests no deeper than this
#define MESH_API_RESOURCES_MAX 64   //  resources in one put-events entry
#define S_RULES_SHOWN   1000        //  rules of a bus in a stats reply, unless "all"
#define S_EVENTS_SHOWN  1000        //  monitor events in one reply
#define S_EXPLAIN_MAX   10000       //  rules of a bus explain answers for
#define S_TAP_REPLY_BYTES (1u << 20) //  events' bytes in one tap-read reply, about

typedef struct {
    const mesh_api_state_t *state;
    json_t *request;            //  the request's map
    json_t *reply;              //  what the operation adds to the reply
    const char *code;           //  set when the request is refused
    char message [512];
    msgpack_sbuffer packed;     //  the whole reply, when an operation packs its own (tap-read)
    bool own_reply;
} s_call_t;

static int
s_refuse (s_call_t *call, const char *code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_refuse (s_call_t *call, const char *code, const char *format, ...)
{
    call->code = code;
    va_list args;
    va_start (args, format);
    vsnprintf (call->message, sizeof (call->message), format, args);
    va_end (args);
    return -1;
}

//  An optional string parameter: *value NULL when absent. -1 (refused)
//  when it is there and not a non-empty string.
static int
s_param_string (s_call_t *call, const char *key, const char **value)
{
    json_t *item = json_object_get (call->request, key);
    *value = NULL;
    if (!item)
        return 0;
    if (!json_is_string (item) || json_string_length (item) == 0)
        return s_refuse (call, "ValidationException", "'%s' must be a non-empty string", key);
    *value = json_string_value (item);
    return 0;
}

static const mesh_bus_t *
s_bus (s_call_t *call, const char *name)
{
    for (size_t i = 0; i < mesh_routes_bus_count (call->state->routes); i++) {
        const mesh_bus_t *bus = mesh_routes_bus_at (call->state->routes, i);
        if (streq (mesh_bus_name (bus), name))
            return bus;
    }
    s_refuse (call, "ResourceNotFoundException", "Event bus %s does not exist.", name);
    return NULL;
}

//  A pattern compiled with the broker's compiler and limits, or NULL
//  (refused) with EventBridge's error for it.
static mesh_rule_t *
s_pattern (s_call_t *call, const char *name, const char *text)
{
    mesh_error_t err = { 0 };
    mesh_pattern_error_t problem;
    mesh_rule_t *rule = mesh_rule_new_with (name, text, strlen (text), &call->state->options->rule_options,
                                            &problem, &err);
    if (rule)
        return rule;
    if (err.code == MESH_ETOOBIG)
        s_refuse (call, "ValidationException", "1 validation error detected: Value at 'eventPattern' "
                  "failed to satisfy constraint: Member must have length less than or equal to %zu",
                  call->state->options->rule_options.max_pattern_size);
    else
    if (err.code != MESH_EINVAL)
        s_refuse (call, "InternalException", "%s", err.text);
    else
        s_refuse (call, "InvalidEventPatternException", "Event pattern is not valid. Reason: %s (at %s)",
                  problem.reason, problem.path);
    return NULL;
}

//  The index of bus's rule name, or -1 (refused) when it has none of that name.
static int
s_rule_index (s_call_t *call, const mesh_bus_t *bus, const char *name)
{
    for (size_t i = 0; i < mesh_bus_rule_total (bus); i++)
        if (streq (mesh_bus_rule_info (bus, i, NULL, NULL), name))
            return (int) i;
    return s_refuse (call, "ResourceNotFoundException", "Rule %s does not exist on EventBus %s.",
                     name, mesh_bus_name (bus));
}

// --------------------------------------------------------------------------
//  The operations

static int
s_ping (s_call_t *call)
{
    const mesh_api_state_t *state = call->state;
    json_object_set_new (call->reply, "version", json_string (MESH_VERSION));
    json_object_set_new (call->reply, "protocol", json_integer (MESH_PROTO_VERSION));
    json_object_set_new (call->reply, "pid", json_integer (getpid ()));
    json_object_set_new (call->reply, "epoch", json_integer ((json_int_t) state->epoch));
    json_object_set_new (call->reply, "uptime_ms", json_integer (zclock_mono () - state->started));
    json_object_set_new (call->reply, "buses", json_integer ((json_int_t) mesh_routes_bus_count (state->routes)));
    json_object_set_new (call->reply, "ingest_open", json_boolean (state->ingest_open));
    return 0;
}

static int
s_stats (s_call_t *call)
{
    const mesh_api_state_t *state = call->state;
    json_t *counters = json_object ();
    for (const mesh_stats_field_t *field = mesh_stats_fields; field->name; field++)
        json_object_set_new (counters, field->name,
                             json_integer ((json_int_t) mesh_stats_value (state->stats, field)));
    json_object_set_new (call->reply, "counters", counters);
    json_t *targets = json_array ();
    mesh_target_t *target;
    for (size_t i = 0; (target = mesh_targets_at (state->targets, i)); i++)
        json_array_append_new (targets, json_pack ("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
            "name", target->name, "routed", target->routes > 0,
            "subscribers", (json_int_t) target->subscribers, "seq", (json_int_t) target->seq,
            "delivered", (json_int_t) target->delivered, "no_subscriber", (json_int_t) target->no_subscriber,
            "overflow", (json_int_t) target->overflow, "heartbeats", (json_int_t) target->heartbeats,
            "backlog", (json_int_t) mesh_queue_size (&target->queue),
            "backlog_bytes", (json_int_t) mesh_queue_bytes (&target->queue)));
    json_object_set_new (call->reply, "targets", targets);
    //  By bus, and by rule: the rules that matched an event, S_RULES_SHOWN
    //  of a bus at most ("all": true for every one)
    bool all = json_is_true (json_object_get (call->request, "all"));
    json_t *buses = json_array ();
    for (size_t b = 0; b < mesh_routes_bus_count (state->routes); b++) {
        const mesh_bus_t *bus = mesh_routes_bus_at (state->routes, b);
        const mesh_routes_counts_t *counts = mesh_routes_counts (state->routes, b);
        const mesh_ruleset_t *ruleset = mesh_bus_ruleset (bus);
        json_t *rules = json_array ();
        size_t not_shown = 0;
        for (size_t r = 0; r < mesh_ruleset_size (ruleset); r++) {
            uint64_t invocations = 0;
            uint64_t triggered = mesh_routes_triggered (state->routes, b, r, &invocations);
            if (!triggered && !all)
                continue;
            if (json_array_size (rules) >= S_RULES_SHOWN && !all) {
                not_shown++;
                continue;
            }
            json_array_append_new (rules, json_pack ("{s:s, s:I, s:I}",
                "name", mesh_rule_name (mesh_ruleset_rule (ruleset, r)),
                "triggered", (json_int_t) triggered, "invocations", (json_int_t) invocations));
        }
        json_array_append_new (buses, json_pack ("{s:s, s:I, s:I, s:I, s:o, s:I}", "name", mesh_bus_name (bus),
            "events", (json_int_t) counts->events, "matched_events", (json_int_t) counts->matched_events,
            "invocations", (json_int_t) counts->invocations, "rules", rules,
            "rules_not_shown", (json_int_t) not_shown));
    }
    json_object_set_new (call->reply, "buses", buses);
    json_object_set_new (call->reply, "uptime_ms", json_integer (zclock_mono () - state->started));
    return 0;
}

//  Rule i of bus (in file order) as the API shows it.
static json_t *
s_rule (const mesh_bus_t *bus, size_t i)
{
    const char *pattern = NULL;
    int index = -1;
    const char *name = mesh_bus_rule_info (bus, i, &pattern, &index);
    json_t *targets = json_array ();
    if (index >= 0) {
        size_t count = 0;
        const char *const *names = mesh_bus_targets (bus, (size_t) index, &count);
        for (size_t k = 0; k < count; k++)
            json_array_append_new (targets, json_string (names [k]));
    }
    return json_pack ("{s:s, s:s, s:s, s:s, s:o}", "name", name, "bus", mesh_bus_name (bus),
                      "state", index >= 0? "ENABLED": "DISABLED", "pattern", pattern? pattern: "",
                      "targets", targets);
}

static int
s_list_rules (s_call_t *call)
{
    const char *only;
    if (s_param_string (call, "bus", &only))
        return -1;
    const mesh_bus_t *one = only? s_bus (call, only): NULL;
    if (only && !one)
        return -1;
    json_t *buses = json_array ();
    for (size_t b = 0; b < mesh_routes_bus_count (call->state->routes); b++) {
        const mesh_bus_t *bus = mesh_routes_bus_at (call->state->routes, b);
        if (one && bus != one)
            continue;
        json_t *rules = json_array ();
        for (size_t i = 0; i < mesh_bus_rule_total (bus); i++)
            json_array_append_new (rules, s_rule (bus, i));
        json_array_append_new (buses, json_pack ("{s:s, s:s, s:o}", "name", mesh_bus_name (bus),
                                                 "origin", mesh_bus_origin (bus), "rules", rules));
    }
    json_object_set_new (call->reply, "buses", buses);
    return 0;
}

static int
s_describe_rule (s_call_t *call)
{
    const char *bus_name, *name;
    if (s_param_string (call, "bus", &bus_name) || s_param_string (call, "name", &name))
        return -1;
    if (!bus_name || !name)
        return s_refuse (call, "ValidationException", "describe-rule needs 'bus' and 'name'");
    const mesh_bus_t *bus = s_bus (call, bus_name);
    if (!bus)
        return -1;
    int index = s_rule_index (call, bus, name);
    if (index < 0)
        return -1;
    json_object_set_new (call->reply, "rule", s_rule (bus, (size_t) index));
    return 0;
}

//  An entry's error: InvalidArgument and what was wrong. Returns false.
static bool
s_entry_error (mesh_entry_result_t *result, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static bool
s_entry_error (mesh_entry_result_t *result, const char *format, ...)
{
    snprintf (result->error_code, sizeof (result->error_code), "InvalidArgument");
    va_list args;
    va_start (args, format);
    vsnprintf (result->error_message, sizeof (result->error_message), format, args);
    va_end (args);
    return false;
}

//  One put-events entry, in EventBridge's shape ({"Source", "DetailType",
//  "Detail", "EventBusName", "Resources", "Time"}), into a mesh_entry_t
//  that borrows its strings. NULL, with result's error, if a field is of
//  the wrong type; *detail_text is the detail's text when it came as an
//  object (caller frees).
static bool
s_entry (json_t *item, mesh_entry_t *entry, const char **resources, char **detail_text,
         mesh_entry_result_t *result)
{
    memset (entry, 0, sizeof (*entry));
    *detail_text = NULL;
    if (!json_is_object (item))
        return s_entry_error (result, "an entry is an object");
    static const struct {
        const char *key;
        size_t offset;
    } fields [] = {
        { "Source", offsetof (mesh_entry_t, source) },
        { "DetailType", offsetof (mesh_entry_t, detail_type) },
        { "EventBusName", offsetof (mesh_entry_t, event_bus_name) },
        { "Time", offsetof (mesh_entry_t, time) },
    };
    for (size_t i = 0; i < sizeof (fields) / sizeof (fields [0]); i++) {
        json_t *value = json_object_get (item, fields [i].key);
        if (!value)
            continue;
        if (!json_is_string (value))
            return s_entry_error (result, "'%s' must be a string", fields [i].key);
        *(const char **) ((char *) entry + fields [i].offset) = json_string_value (value);
    }
    json_t *detail = json_object_get (item, "Detail");
    if (json_is_string (detail))
        entry->detail = json_string_value (detail);
    else
    if (json_is_object (detail))
        entry->detail = *detail_text = json_dumps (detail, JSON_COMPACT);
    else
    if (detail)
        return s_entry_error (result, "'Detail' must be a string of JSON text (or an object)");
    json_t *list = json_object_get (item, "Resources");
    if (list && (!json_is_array (list) || json_array_size (list) > MESH_API_RESOURCES_MAX))
        return s_entry_error (result, "'Resources' must be an array of at most %d strings",
                              MESH_API_RESOURCES_MAX);
    for (size_t i = 0; i < json_array_size (list); i++) {
        if (!json_is_string (json_array_get (list, i)))
            return s_entry_error (result, "'Resources' must be an array of strings");
        resources [i] = json_string_value (json_array_get (list, i));
    }
    entry->resources = resources;
    entry->resource_count = json_array_size (list);
    return true;
}

//  PutEvents: every entry checked as EventBridge checks it, then routed
//  as if it had come on ingest, in order; each gets its EventId once the
//  broker has taken it (routed, or matched no rule), or an error entry.
//  Unlike EventBridge, an entry for a bus the broker does not have is
//  refused (ResourceNotFoundException), never accepted and dropped.
static int
s_put_events (s_call_t *call)
{
    json_t *entries = json_object_get (call->request, "Entries");
    if (!json_is_array (entries) || json_array_size (entries) < 1 || json_array_size (entries) > MESH_MAX_ENTRIES)
        return s_refuse (call, "ValidationException", "'Entries' must be an array of 1 to %d entries",
                         MESH_MAX_ENTRIES);
    const mesh_api_state_t *state = call->state;
    json_t *results = json_array ();
    int failed = 0;
    for (size_t i = 0; i < json_array_size (entries); i++) {
        mesh_entry_t entry;
        const char *resources [MESH_API_RESOURCES_MAX];
        char *detail_text = NULL;
        mesh_entry_result_t result = { "", "", "" };
        mesh_event_t *event = NULL;
        const char *bus = NULL;
        if (s_entry (json_array_get (entries, i), &entry, resources, &detail_text, &result)) {
            bus = entry.event_bus_name? entry.event_bus_name: MESH_BUS_DEFAULT;
            event = mesh_entry_to_event (&entry, bus, &state->options->limits, &result);
        }
        if (event) {
            result.event_id [0] = 0;        //  given below, once the broker has taken it
            void *data = NULL;
            size_t size = 0;
            mesh_error_t err = { 0 };
            int routed = mesh_event_encode (event, &data, &size, &err)? -1
                       : state->put (state->engine, bus, data, size, &err);
            if (routed == MESH_ROUTES_UNKNOWN_BUS) {
                snprintf (result.error_code, sizeof (result.error_code), "ResourceNotFoundException");
                snprintf (result.error_message, sizeof (result.error_message),
                          "Event bus %.256s does not exist.", bus);
            }
            else
            if (routed < 0) {
                snprintf (result.error_code, sizeof (result.error_code), "InvalidArgument");
                snprintf (result.error_message, sizeof (result.error_message), "%s", err.text);
            }
            else
                snprintf (result.event_id, sizeof (result.event_id), "%s", mesh_event_id (event));
            free (data);
            mesh_event_destroy (&event);
        }
        free (detail_text);
        if (*result.event_id)
            json_array_append_new (results, json_pack ("{s:s}", "EventId", result.event_id));
        else {
            failed++;
            json_array_append_new (results, json_pack ("{s:s, s:s}", "ErrorCode", result.error_code,
                                                       "ErrorMessage", result.error_message));
        }
    }
    json_object_set_new (call->reply, "FailedEntryCount", json_integer (failed));
    json_object_set_new (call->reply, "Entries", results);
    return 0;
}

//  A string parameter that must be there: -1 (refused) when it is not.
static int
s_param_required (s_call_t *call, const char *key, const char **value)
{
    if (s_param_string (call, key, value))
        return -1;
    if (!*value)
        return s_refuse (call, "ValidationException", "'%s' is required", key);
    return 0;
}

//  EventBridge's TestEventPattern with this broker's compiler and limits:
//  the event checked first, as TestEventPattern does, then the pattern.
static int
s_test_event_pattern (s_call_t *call)
{
    const char *pattern_text, *event_text;
    if (s_param_required (call, "EventPattern", &pattern_text) || s_param_required (call, "Event", &event_text))
        return -1;
    mesh_error_t err = { 0 };
    if (mesh_event_check_test_pattern (event_text, strlen (event_text), &err))
        return s_refuse (call, "ValidationException", "%s", err.text);
    mesh_rule_t *rule = s_pattern (call, "test-event-pattern", pattern_text);
    if (!rule)
        return -1;
    void *event = NULL;
    size_t size = 0;
    int match = mesh_json_to_msgpack (event_text, strlen (event_text), &call->state->options->limits,
                                      &event, &size, &err)? -1: mesh_rule_match (rule, event, size, &err);
    free (event);
    mesh_rule_destroy (&rule);
    if (match < 0)
        return s_refuse (call, "ValidationException", MESH_TEST_PATTERN_EVENT_INVALID " (%s)", err.text);
    json_object_set_new (call->reply, "Result", json_boolean (match));
    return 0;
}

//  Why each rule of a running bus matches an event or not, in file order
//  (mesh explain against the broker's own rules).
static int
s_explain (s_call_t *call)
{
    const char *bus_name, *event_text, *rule_name;
    if (s_param_required (call, "bus", &bus_name) || s_param_required (call, "Event", &event_text)
    ||  s_param_string (call, "rule", &rule_name))
        return -1;
    const mesh_bus_t *bus = s_bus (call, bus_name);
    if (!bus)
        return -1;
    int only = rule_name? s_rule_index (call, bus, rule_name): -1;
    if (rule_name && only < 0)
        return -1;
    //  Each rule is asked through the interpreter, in the engine's thread
    if (!rule_name && mesh_bus_rule_total (bus) > S_EXPLAIN_MAX)
        return s_refuse (call, "ValidationException", "bus %s has %zu rules; explain takes a bus of %d at most "
                         "(name one rule, or mesh explain --rules FILE answers without the broker)", bus_name,
                         mesh_bus_rule_total (bus), S_EXPLAIN_MAX);
    size_t first = strspn (event_text, " \t\r\n");
    if (event_text [first] != '{')
        return s_refuse (call, "ValidationException", "'Event' must be a JSON object");
    void *event = NULL;
    size_t size = 0;
    mesh_error_t err = { 0 };
    if (mesh_json_to_msgpack (event_text, strlen (event_text), &call->state->options->limits, &event, &size, &err))
        return s_refuse (call, "ValidationException", "event: %s", err.text);
    const mesh_ruleset_t *set = mesh_bus_ruleset (bus);
    json_t *rules = json_array ();
    bool any = false;
    for (size_t i = 0; i < mesh_bus_rule_total (bus); i++) {
        if (only >= 0 && i != (size_t) only)
            continue;
        const char *pattern = NULL;
        int index = -1;
        const char *name = mesh_bus_rule_info (bus, i, &pattern, &index);
        char why [1024] = "";
        mesh_rule_t *disabled = NULL;
        mesh_pattern_error_t problem;
        const mesh_rule_t *rule = index >= 0? mesh_ruleset_rule (set, (size_t) index)
                                : (disabled = mesh_rule_new_with (name, pattern, SIZE_MAX,
                                                                  &call->state->options->rule_options, &problem, &err));
        int match = rule? mesh_rule_explain (rule, event, size, why, sizeof (why), &err): -1;
        mesh_rule_destroy (&disabled);
        if (match < 0) {
            json_decref (rules);
            free (event);
            return s_refuse (call, "ValidationException", "rule '%s': %s", name, err.text);
        }
        any = any || (match && index >= 0);
        json_t *item = json_pack ("{s:s, s:s, s:b}", "name", name, "state", index >= 0? "ENABLED": "DISABLED",
                                  "matched", match);
        if (!match)
            json_object_set_new (item, "why", json_string (why));
        json_array_append_new (rules, item);
    }
    free (event);
    json_object_set_new (call->reply, "rules", rules);
    json_object_set_new (call->reply, "matched", json_boolean (any));
    return 0;
}

//  The socket monitor's events from "since" on (every one kept, without
//  it), S_EVENTS_SHOWN at most a reply; "peers": the connections open now.
static int
s_monitor (s_call_t *call)
{
    const mesh_watch_t *watch = call->state->watch;
    if (!watch)
        return s_refuse (call, "InternalException", "the broker keeps no monitor events (out of memory at start)");
    json_t *since_value = json_object_get (call->request, "since");
    if (since_value && (!json_is_integer (since_value) || json_integer_value (since_value) < 0))
        return s_refuse (call, "ValidationException", "'since' must be an integer >= 0");
    uint64_t next = mesh_watch_next (watch);
    uint64_t oldest = next > MESH_WATCH_KEPT? next - MESH_WATCH_KEPT: 1;
    uint64_t since = since_value? (uint64_t) json_integer_value (since_value): oldest;
    uint64_t dropped = since < oldest? oldest - since: 0;
    if (since < oldest)
        since = oldest;
    json_t *events = json_array ();
    uint64_t seq = since;
    for (; seq < next && json_array_size (events) < S_EVENTS_SHOWN; seq++) {
        const mesh_watch_event_t *event = mesh_watch_at (watch, seq);
        if (!event)
            continue;
        json_t *item = json_pack ("{s:I, s:I, s:s, s:s, s:i, s:s}", "seq", (json_int_t) event->seq,
            "time_ms", (json_int_t) event->time_ms, "socket", event->socket,
            "event", mesh_watch_event_name (event->event), "value", (int) event->value,
            "address", event->address);
        if (streq (event->socket, "ingest") && (event->event == ZMQ_EVENT_DISCONNECTED || event->event == ZMQ_EVENT_CLOSED))
            json_object_set_new (item, "messages", json_integer ((json_int_t) event->messages));
        json_array_append_new (events, item);
    }
    json_object_set_new (call->reply, "events", events);
    json_object_set_new (call->reply, "next", json_integer ((json_int_t) seq));
    json_object_set_new (call->reply, "dropped", json_integer ((json_int_t) dropped));
    if (json_is_true (json_object_get (call->request, "peers"))) {
        json_t *peers = json_array ();
        for (size_t i = 0; i < mesh_watch_peer_count (watch); i++) {
            const mesh_watch_peer_t *peer = mesh_watch_peer_at (watch, i);
            json_t *item = json_pack ("{s:s, s:s, s:I}", "socket", peer->socket, "address", peer->address,
                                      "since_ms", (json_int_t) peer->since_ms);
            if (streq (peer->socket, "ingest"))     //  what ingest read from it; the others are not counted
                json_object_set_new (item, "messages", json_integer ((json_int_t) mesh_watch_messages (watch, peer->fd)));
            json_array_append_new (peers, item);
        }
        json_object_set_new (call->reply, "peers", peers);
    }
    return 0;
}

//  tap-open: a tap on the events entering one bus ("bus") or all, those
//  that match "pattern" only, "rule" the one its reader explains (needs
//  "bus"), keeping "capacity" records at most. Replies with its id.
static int
s_tap_open (s_call_t *call)
{
    mesh_taps_t *taps = call->state->taps;
    if (!taps)
        return s_refuse (call, "InternalException", "the broker has no taps (out of memory at start)");
    const char *bus_name, *pattern_text, *rule_name;
    if (s_param_string (call, "bus", &bus_name) || s_param_string (call, "pattern", &pattern_text)
    ||  s_param_string (call, "rule", &rule_name))
        return -1;
    json_t *capacity = json_object_get (call->request, "capacity");
    if (capacity && (!json_is_integer (capacity) || json_integer_value (capacity) < 1
                     || json_integer_value (capacity) > MESH_TAP_CAPACITY_MAX))
        return s_refuse (call, "ValidationException", "'capacity' must be an integer from 1 to %d",
                         MESH_TAP_CAPACITY_MAX);
    if (rule_name && !bus_name)
        return s_refuse (call, "ValidationException", "'rule' needs 'bus': a rule is named on its bus");
    const mesh_bus_t *bus = bus_name? s_bus (call, bus_name): NULL;
    if (bus_name && (!bus || (rule_name && s_rule_index (call, bus, rule_name) < 0)))
        return -1;
    mesh_rule_t *pattern = pattern_text? s_pattern (call, "tap", pattern_text): NULL;
    if (pattern_text && !pattern)
        return -1;
    mesh_error_t err = { 0 };
    uint64_t id = mesh_taps_open (taps, bus_name, pattern, pattern_text, rule_name,
                                  capacity? (size_t) json_integer_value (capacity): 0, zclock_mono (), &err);
    if (!id)
        return s_refuse (call, err.code == MESH_ETOOBIG? "LimitExceededException": "InternalException",
                         "%s", err.text);
    json_object_set_new (call->reply, "tap", json_integer ((json_int_t) id));
    return 0;
}

//  The "tap" parameter: a tap that is open, or 0 (refused).
static uint64_t
s_tap_id (s_call_t *call)
{
    json_t *value = json_object_get (call->request, "tap");
    if (!json_is_integer (value) || json_integer_value (value) < 1) {
        s_refuse (call, "ValidationException", "'tap' must be a tap's id, as tap-open gave it");
        return 0;
    }
    uint64_t id = (uint64_t) json_integer_value (value);
    mesh_tap_info_t info;
    if (!call->state->taps || !mesh_taps_info (call->state->taps, id, &info)) {
        s_refuse (call, "ResourceNotFoundException", "no tap %" PRIu64 " is open: it was closed, "
                  "or closed by the broker after %d s unread", id, MESH_TAP_IDLE_MS / 1000);
        return 0;
    }
    return id;
}

static void
s_pack_string (msgpack_packer *packer, const char *text)
{
    size_t size = strlen (text);
    msgpack_pack_str (packer, size);
    msgpack_pack_str_body (packer, text, size);
}

//  A scalar of the request (the "id" it echoes) as MessagePack.
static void
s_pack_scalar (msgpack_packer *packer, json_t *value)
{
    if (json_is_string (value)) {
        msgpack_pack_str (packer, json_string_length (value));
        msgpack_pack_str_body (packer, json_string_value (value), json_string_length (value));
    }
    else
    if (json_is_integer (value))
        msgpack_pack_int64 (packer, json_integer_value (value));
    else
    if (json_is_real (value))
        msgpack_pack_double (packer, json_real_value (value));
    else
    if (json_is_true (value))
        msgpack_pack_true (packer);
    else
    if (json_is_false (value))
        msgpack_pack_false (packer);
    else
        msgpack_pack_nil (packer);
}

//  One record: its event's bytes go in as they are, with no conversion
//  (a tap is read as fast as events come). An event the bus routed passed
//  the broker's check, so it is one well-formed map; one it refused may be
//  any bytes, and goes in only if it converts as a request would.
static void
s_tap_record (s_call_t *call, msgpack_packer *packer, const mesh_tap_record_t *record)
{
    void *converted = NULL;
    size_t converted_size = 0;
    char error [256] = "";
    if (!record->event)
        snprintf (error, sizeof (error), "an event of %zu bytes, over the %u a tap keeps", record->event_size,
                  MESH_TAP_EVENT_MAX);
    else
    if (record->refused) {
        mesh_error_t err = { 0 };
        char *text = mesh_msgpack_to_json (record->event, record->event_size, &call->state->options->limits, &err);
        if (!text || mesh_json_to_msgpack (text, strlen (text), &call->state->options->limits, &converted,
                                           &converted_size, &err))
            snprintf (error, sizeof (error), "%s", err.text);
        free (text);
    }
    msgpack_pack_map (packer, 7 + (error [0]? 1: 0) + (record->refused? 1: 0));
    s_pack_string (packer, "number");
    msgpack_pack_uint64 (packer, record->number);
    s_pack_string (packer, "time_ms");
    msgpack_pack_int64 (packer, record->time_ms);
    s_pack_string (packer, "dropped_before");
    msgpack_pack_uint64 (packer, record->dropped_before);
    s_pack_string (packer, "bus");
    s_pack_string (packer, record->bus);
    s_pack_string (packer, "event_size");
    msgpack_pack_uint64 (packer, record->event_size);
    s_pack_string (packer, "event");
    if (error [0])
        msgpack_pack_nil (packer);
    else
    if (converted)
        msgpack_sbuffer_write (packer->data, converted, converted_size);
    else
        msgpack_sbuffer_write (packer->data, (const char *) record->event, record->event_size);
    free (converted);
    if (error [0]) {
        s_pack_string (packer, "event_error");
        s_pack_string (packer, error);
    }
    if (record->refused) {
        s_pack_string (packer, "refused");
        s_pack_string (packer, record->refused);
    }
    s_pack_string (packer, "routes");
    msgpack_pack_array (packer, record->route_count);
    for (size_t i = 0; i < record->route_count; i++) {
        const mesh_tap_route_t *route = &record->routes [i];
        msgpack_pack_map (packer, 4);
        s_pack_string (packer, "rule");
        s_pack_string (packer, route->rule);
        s_pack_string (packer, "target");
        s_pack_string (packer, route->target);
        s_pack_string (packer, "seq");
        msgpack_pack_uint64 (packer, route->seq);
        s_pack_string (packer, "outcome");
        s_pack_string (packer, mesh_tap_outcome_name (route->outcome));
    }
}

//  tap-read: the oldest "max" records (1000 at most, and about
//  S_TAP_REPLY_BYTES) of tap "tap", taken; and its figures. The reply is
//  packed here, whole, envelope and all (s_call_t.packed).
static int
s_tap_read (s_call_t *call)
{
    uint64_t id = s_tap_id (call);
    if (!id)
        return -1;
    json_t *max = json_object_get (call->request, "max");
    if (max && (!json_is_integer (max) || json_integer_value (max) < 1 || json_integer_value (max) > 1000))
        return s_refuse (call, "ValidationException", "'max' must be an integer from 1 to 1000");
    size_t most = max? (size_t) json_integer_value (max): 1000;
    //  The records first, in a buffer of their own: the reply's map
    //  before them says how many
    msgpack_sbuffer records;
    msgpack_sbuffer_init (&records);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &records, msgpack_sbuffer_write);
    size_t taken = 0;
    bool found = true;
    int64_t now = zclock_mono ();
    mesh_tap_record_t *record;
    while (taken < most && records.size < S_TAP_REPLY_BYTES
       &&  (record = mesh_taps_take (call->state->taps, id, now, &found))) {
        s_tap_record (call, &packer, record);
        free (record);
        taken++;
    }
    mesh_tap_info_t info;
    mesh_taps_info (call->state->taps, id, &info);
    json_t *request_id = json_object_get (call->request, "id");
    bool echo = request_id && !json_is_object (request_id) && !json_is_array (request_id);
    msgpack_sbuffer_init (&call->packed);
    msgpack_packer_init (&packer, &call->packed, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 9 + echo);
    s_pack_string (&packer, "v");
    msgpack_pack_int (&packer, MESH_PROTO_VERSION);
    s_pack_string (&packer, "op");
    s_pack_string (&packer, "tap-read");
    if (echo) {
        s_pack_string (&packer, "id");
        s_pack_scalar (&packer, request_id);
    }
    s_pack_string (&packer, "ok");
    msgpack_pack_true (&packer);
    s_pack_string (&packer, "seen");
    msgpack_pack_uint64 (&packer, info.seen);
    s_pack_string (&packer, "dropped");
    msgpack_pack_uint64 (&packer, info.dropped);
    s_pack_string (&packer, "waiting");
    msgpack_pack_uint64 (&packer, info.waiting);
    s_pack_string (&packer, "bus");
    if (info.bus)
        s_pack_string (&packer, info.bus);
    else
        msgpack_pack_nil (&packer);
    s_pack_string (&packer, "rule");
    if (info.rule)
        s_pack_string (&packer, info.rule);
    else
        msgpack_pack_nil (&packer);
    s_pack_string (&packer, "records");
    msgpack_pack_array (&packer, taken);
    msgpack_sbuffer_write (&call->packed, records.data, records.size);
    msgpack_sbuffer_destroy (&records);
    call->own_reply = true;
    return 0;
}

//  tap-close: tap "tap" closed, its records dropped.
static int
s_tap_close (s_call_t *call)
{
    uint64_t id = s_tap_id (call);
    if (!id)
        return -1;
    mesh_taps_close (call->state->taps, id);
    json_object_set_new (call->reply, "closed", json_integer ((json_int_t) id));
    return 0;
}

//  The rule files read again and swapped in, or refused with the reason
//  (the file, the rule, where in it, why): the old rules stay.
static int
s_reload (s_call_t *call)
{
    mesh_error_t err = { 0 };
    int64_t start = zclock_usecs ();
    const mesh_routes_t *routes = call->state->reload (call->state->engine, &err);
    if (!routes)
        return s_refuse (call, "ReloadRefused", "%s", err.text);
    call->state = NULL;         //  its routes were freed by the swap: nothing may read them now
    size_t rules = 0;
    json_t *buses = json_array ();
    for (size_t i = 0; i < mesh_routes_bus_count (routes); i++) {
        const mesh_bus_t *bus = mesh_routes_bus_at (routes, i);
        rules += mesh_bus_rule_total (bus);
        json_array_append_new (buses, json_pack ("{s:s, s:s, s:I}", "name", mesh_bus_name (bus),
                                                 "origin", mesh_bus_origin (bus),
                                                 "rules", (json_int_t) mesh_bus_rule_total (bus)));
    }
    json_object_set_new (call->reply, "buses", buses);
    json_object_set_new (call->reply, "rules", json_integer ((json_int_t) rules));
    json_object_set_new (call->reply, "ms", json_real ((double) (zclock_usecs () - start) / 1000));
    return 0;
}

static const struct {
    const char *name;
    int (*run) (s_call_t *call);
} s_ops [] = {
    { "ping", s_ping },
    { "stats", s_stats },
    { "list-rules", s_list_rules },
    { "describe-rule", s_describe_rule },
    { "put-events", s_put_events },
    { "reload", s_reload },
    { "test-event-pattern", s_test_event_pattern },
    { "explain", s_explain },
    { "monitor", s_monitor },
    { "tap-open", s_tap_open },
    { "tap-read", s_tap_read },
    { "tap-close", s_tap_close },
};

#define S_OP_NAMES "ping, stats, list-rules, describe-rule, put-events, reload, test-event-pattern, " \
                   "explain, monitor, tap-open, tap-read, tap-close"

// --------------------------------------------------------------------------
//  The envelope

//  Answer one request's bytes: fills call->reply (ok) or call->code.
static void
s_call (s_call_t *call, const void *data, size_t size)
{
    if (size > MESH_API_REQUEST_MAX) {
        s_refuse (call, "RequestTooLarge", "a request is at most %u bytes; this one is %zu",
                  MESH_API_REQUEST_MAX, size);
        return;
    }
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    limits.max_event_size = MESH_API_REQUEST_MAX;
    limits.max_depth = S_DEPTH_MAX;
    mesh_error_t err = { 0 };
    char *text = mesh_msgpack_to_json (data, size, &limits, &err);
    if (!text) {
        s_refuse (call, "MalformedRequest", "the request is not one MessagePack value: %s", err.text);
        return;
    }
    json_error_t json_err;
    call->request = json_loads (text, 0, &json_err);
    free (text);
    if (!json_is_object (call->request)) {
        s_refuse (call, "MalformedRequest", "the request must be a map, as {\"v\": %d, \"op\": \"ping\"}",
                  MESH_PROTO_VERSION);
        return;
    }
    json_t *version = json_object_get (call->request, "v");
    if (version && (!json_is_integer (version) || json_integer_value (version) != MESH_PROTO_VERSION)) {
        s_refuse (call, "UnsupportedVersion", "this broker speaks version %d of the protocol",
                  MESH_PROTO_VERSION);
        return;
    }
    json_t *op = json_object_get (call->request, "op");
    if (!json_is_string (op)) {
        s_refuse (call, "ValidationException", "'op' must be a string, one of " S_OP_NAMES);
        return;
    }
    for (size_t i = 0; i < sizeof (s_ops) / sizeof (s_ops [0]); i++)
        if (streq (json_string_value (op), s_ops [i].name)) {
            s_ops [i].run (call);
            return;
        }
    s_refuse (call, "UnknownOperationException", "unknown operation '%.64s': one of " S_OP_NAMES,
              json_string_value (op));
}

//  A reply's MessagePack bytes, up to MESH_CALL_REPLY_MAX (what a client
//  of ours reads); -1 when it is larger or memory is short.
static int
s_pack (json_t *reply, void **packed, size_t *size)
{
    mesh_limits_t limits;
    mesh_call_reply_limits (&limits);
    char *text = json_dumps (reply, JSON_COMPACT);
    mesh_error_t err = { 0 };
    int rc = text && !mesh_json_to_msgpack (text, strlen (text), &limits, packed, size, &err)? 0: -1;
    free (text);
    return rc;
}

//  The reply's map: the envelope's keys, then the operation's or the error.
static json_t *
s_reply (s_call_t *call)
{
    json_t *reply = json_pack ("{s:i}", "v", MESH_PROTO_VERSION);
    json_t *op = call->request? json_object_get (call->request, "op"): NULL;
    if (json_is_string (op) && json_string_length (op) <= 64)
        json_object_set (reply, "op", op);
    json_t *id = call->request? json_object_get (call->request, "id"): NULL;
    if (id && !json_is_object (id) && !json_is_array (id))
        json_object_set (reply, "id", id);          //  echoed, for clients that pipeline
    json_object_set_new (reply, "ok", json_boolean (!call->code));
    if (call->code)
        json_object_set_new (reply, "error", json_pack ("{s:s, s:s}", "code", call->code,
                                                        "message", call->message));
    else
        json_object_update (reply, call->reply);
    return reply;
}

//  A request's frames kept: the envelope (identity, a REQ_CORRELATE id,
//  the delimiter) and the body. More is malformed.
#define S_FRAMES_MAX    6

int
mesh_api_handle (void *router, const mesh_api_state_t *state, bool *refused, mesh_error_t *err)
{
    *refused = false;
    //  The whole message: the envelope the ROUTER and the client's REQ
    //  put before the body (every frame up to an empty one), then the body
    zmq_msg_t frames [S_FRAMES_MAX];
    size_t count = 0;
    bool more = true, extra = false;
    while (more) {
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        if (zmq_msg_recv (&frame, router, count || extra? 0: ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&frame);
            for (size_t i = 0; i < count; i++)
                zmq_msg_close (&frames [i]);
            return count? -1: 0;
        }
        more = zmq_msg_more (&frame);
        if (count < S_FRAMES_MAX) {
            zmq_msg_init (&frames [count]);
            zmq_msg_move (&frames [count++], &frame);
        }
        else
            extra = true;
        zmq_msg_close (&frame);
    }
    s_call_t call = { state, NULL, json_object (), NULL, "", { 0, NULL, 0 }, false };
    //  [identity]...[""][request], or [identity][request] from a DEALER
    //  that sends no delimiter: the reply goes back along the same frames
    size_t body = count - 1;
    bool enveloped = count == 2 || (count >= 3 && zmq_msg_size (&frames [count - 2]) == 0);
    if (extra || !enveloped)
        s_refuse (&call, "MalformedRequest", "a request is one frame, after an empty delimiter frame");
    else
        s_call (&call, zmq_msg_data (&frames [body]), zmq_msg_size (&frames [body]));
    *refused = call.code != NULL;
    if (call.code)
        mesh_error_set (err, MESH_EINVAL, "%s: %s", call.code, call.message);
    void *packed = NULL;
    size_t packed_size = 0;
    json_t *reply = NULL;
    int rc = 0;
    if (call.own_reply && !call.code) {
        packed = call.packed.data;          //  the operation's own, whole: taken
        packed_size = call.packed.size;
        call.own_reply = false;
    }
    else {
        reply = s_reply (&call);
        rc = s_pack (reply, &packed, &packed_size);
    }
    if (call.own_reply)
        msgpack_sbuffer_destroy (&call.packed);
    if (rc) {
        //  Too large to send (or memory short): an error in its place,
        //  so that the request still gets its one reply
        json_decref (reply);
        s_refuse (&call, "ReplyTooLarge", "the reply would be over %u bytes; ask for less (one bus, "
                  "a smaller 'max')", MESH_CALL_REPLY_MAX);
        reply = s_reply (&call);
        *refused = true;
        mesh_error_set (err, MESH_EINVAL, "%s: %s", call.code, call.message);
        rc = s_pack (reply, &packed, &packed_size);
    }
    json_decref (reply);
    json_decref (call.request);
    json_decref (call.reply);
    //  A malformed message's envelope is its identity and, if it has one,
    //  the frames up to its first empty one
    size_t envelope = body;
    if (!enveloped || extra) {
        envelope = 1;
        while (envelope < count - 1 && zmq_msg_size (&frames [envelope - 1]) != 0)
            envelope++;
        if (envelope >= count || zmq_msg_size (&frames [envelope - 1]) != 0)
            envelope = 1;
    }
    for (size_t i = 0; rc == 0 && i < envelope; i++)
        rc = zmq_msg_send (&frames [i], router, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1? -1: 0;
    if (rc == 0)
        rc = zmq_send (router, packed, packed_size, ZMQ_DONTWAIT) == -1? -1: 0;
    free (packed);
    for (size_t i = 0; i < count; i++)
        zmq_msg_close (&frames [i]);        //  a frame that was sent is empty: closing it is a no-op
    if (rc)
        mesh_error_set (err, MESH_EIO, "api: the reply could not be sent: %s", zmq_strerror (zmq_errno ()));
    return rc == 0? 1: -1;
}
