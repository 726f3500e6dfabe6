/*  fuzz_pattern: arbitrary bytes as an event pattern

    Compiles the bytes as a pattern (it must fail cleanly or succeed), and
    when it succeeds, matches it against fixed events alone and together
    with the fixed rule set, compiled and interpreted, which must agree.
*/
#include "fuzz_common.h"

static void *s_events [FUZZ_EVENT_COUNT];
static size_t s_sizes [FUZZ_EVENT_COUNT];

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_events [0])
        for (size_t i = 0; i < FUZZ_EVENT_COUNT; i++)
            if (mesh_json_to_msgpack (s_fuzz_events [i], strlen (s_fuzz_events [i]), NULL,
                                      &s_events [i], &s_sizes [i], NULL))
                abort ();
    mesh_error_t err = { 0 };
    mesh_rule_t *rule = mesh_rule_new ("fuzz", (const char *) data, size, &err);
    if (!rule) {
        if (err.code == 0 || err.text [0] == '\0')
            abort ();           //  every refusal says why
        return 0;
    }
    mesh_ruleset_t *set = mesh_ruleset_new ();
    mesh_ruleset_add (set, &rule);
    for (size_t i = 0; i < 3; i++) {
        mesh_rule_t *other = mesh_rule_new ("r", s_fuzz_patterns [i * 4], SIZE_MAX, NULL);
        mesh_ruleset_add (set, &other);
    }
    if (mesh_ruleset_compile (set, NULL))
        abort ();
    for (size_t i = 0; i < FUZZ_EVENT_COUNT; i++)
        s_fuzz_compare (set, s_events [i], s_sizes [i]);
    mesh_ruleset_destroy (&set);
    return 0;
}
