/*  fuzz_match: arbitrary bytes as an event

    The bytes are fed to every reader of events: the broker's check
    (mesh_event_check), the matcher, compiled and interpreted (they must
    agree), the broker's one-pass read (mesh_ruleset_match_event, which
    must answer as the check and the matcher do), the decoder and the JSON
    writer. A first byte 'J' means the
    rest is JSON text, converted to MessagePack first, which lets the
    fuzzer reach deep, well-formed events from text seeds.
*/
#include "fuzz_common.h"

static mesh_ruleset_t *s_set;

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_set) {
        s_set = mesh_ruleset_new ();
        for (size_t i = 0; i < FUZZ_PATTERN_COUNT; i++) {
            mesh_rule_t *rule = mesh_rule_new ("r", s_fuzz_patterns [i], SIZE_MAX, NULL);
            if (!rule || mesh_ruleset_add (s_set, &rule) < 0)
                abort ();
        }
        if (mesh_ruleset_compile (s_set, NULL))
            abort ();
    }
    void *converted = NULL;
    if (size > 0 && data [0] == 'J') {
        size_t converted_size;
        if (mesh_json_to_msgpack ((const char *) data + 1, size - 1, NULL, &converted, &converted_size, NULL))
            return 0;
        data = converted;
        size = converted_size;
    }
    s_fuzz_compare (s_set, data, size);
    mesh_limits_t limits;
    mesh_limits_init (&limits);
    mesh_envelope_view_t view;
    int checked = mesh_event_check (data, size, &limits, &view, NULL);
    //  The broker's one read answers as the check and the match do
    uint32_t hits [FUZZ_PATTERN_COUNT], one_pass [FUZZ_PATTERN_COUNT];
    int matched = checked? checked: mesh_ruleset_match (s_set, data, size, hits, NULL);
    int answered = mesh_ruleset_match_event (s_set, data, size, &limits, one_pass, NULL);
    if (answered != matched || (answered > 0 && memcmp (hits, one_pass, (size_t) answered * sizeof (uint32_t))))
        abort ();
    mesh_event_t *event = mesh_event_decode (data, size, &limits, NULL);
    if (checked == 0 && !event)
        abort ();               //  what the broker accepts, a subscriber must decode
    if (event) {
        free (mesh_event_to_json (event));
        void *again;
        size_t again_size;
        if (mesh_event_encode (event, &again, &again_size, NULL) == 0)
            free (again);
        mesh_event_destroy (&event);
    }
    free (mesh_msgpack_to_json (data, size, &limits, NULL));
    free (converted);
    return 0;
}
