/*  fuzz_common.h: what the libFuzzer targets share

    A fixed, diverse rule set (every operator, nested and dotted fields,
    arrays, $or) and a few fixed events, so that each target can check the
    compiled rule set against the interpreter on whatever the fuzzer makes.
    A disagreement is a bug: the targets abort, and libFuzzer keeps the input.
*/
#ifndef FUZZ_COMMON_H_INCLUDED
#define FUZZ_COMMON_H_INCLUDED

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mesh.h"

static const char *s_fuzz_patterns [] = {
    "{\"source\":[\"demo.payments\"],\"detail-type\":[\"Payment Processed\"],"
    "\"detail\":{\"total_cost\":[{\"numeric\":[\">\",200]}]}}",
    "{\"detail\":{\"a\":[\"x\",300,true,null,\"\"]}}",
    "{\"detail\":{\"a\":[{\"prefix\":\"ab\"},{\"suffix\":{\"equals-ignore-case\":\"YZ\"}}]}}",
    "{\"detail\":{\"b\":[{\"equals-ignore-case\":\"\xc3\x84" "bc\"},{\"wildcard\":\"a*b*c\"}]}}",
    "{\"detail\":{\"c\":[{\"anything-but\":{\"prefix\":[\"x\",\"y\"]}}],\"d\":[{\"exists\":false}]}}",
    "{\"detail\":{\"ip\":[{\"cidr\":\"10.0.0.0/8\"},{\"cidr\":\"2001:db8::/32\"}]}}",
    "{\"detail\":{\"n\":[{\"numeric\":[\">=\",-1.5,\"<\",1e9]},{\"anything-but\":[1,2,3]}]}}",
    "{\"detail.items\":{\"sku\":[\"a\"],\"qty\":[{\"numeric\":[\"=\",2]}]}}",
    "{\"$or\":[{\"source\":[{\"exists\":true}]},{\"detail\":{\"x\":[{\"anything-but\":\"q\"}]}}],"
    "\"detail-type\":[{\"prefix\":{\"equals-ignore-case\":\"pay\"}}]}",
    "{\"resources\":[{\"wildcard\":\"arn:*:ec2:*\"}],\"detail\":{\"e\":[{\"exists\":true}]}}",
    "{\"detail\":{\"s\":[{\"anything-but\":{\"wildcard\":[\"*.png\",\"x*\"]}},{\"anything-but\":{\"suffix\":\"z\"}}]}}",
    "{\"detail\":{\"s\":[{\"anything-but\":{\"equals-ignore-case\":[\"A\",\"b\"]}}]}}",
};
#define FUZZ_PATTERN_COUNT (sizeof (s_fuzz_patterns) / sizeof (s_fuzz_patterns [0]))

static const char *s_fuzz_events [] = {
    "{\"version\":\"0\",\"id\":\"1\",\"source\":\"demo.payments\",\"detail-type\":\"Payment Processed\","
    "\"time\":\"2026-01-01T00:00:00Z\",\"resources\":[\"arn:aws:ec2:x\"],"
    "\"detail\":{\"total_cost\":242.58,\"a\":300.0,\"b\":\"\xc3\xa4" "bc\",\"ip\":\"10.1.2.3\",\"n\":[0,7],"
    "\"items\":[{\"sku\":\"a\",\"qty\":2},{\"sku\":\"b\",\"qty\":1}],\"s\":\"pic.png\"}}",
    "{\"source\":\"x\",\"detail\":{\"a\":\"abcyz\",\"c\":\"zz\",\"d\":{\"e\":1},\"ip\":\"2001:0db8::1\",\"e\":null}}",
    "{\"detail\":{\"a\":[],\"b\":[\"a1b2c\",{\"k\":1}],\"x\":null,\"s\":12}}",
};
#define FUZZ_EVENT_COUNT (sizeof (s_fuzz_events) / sizeof (s_fuzz_events [0]))

//  Match data against every rule of set, compiled and interpreted; abort
//  on any disagreement.
static inline void
s_fuzz_compare (const mesh_ruleset_t *set, const void *data, size_t size)
{
    size_t rules = mesh_ruleset_size (set);
    uint32_t hits [64];
    if (rules > 64)
        abort ();
    int count = mesh_ruleset_match (set, data, size, hits, NULL);
    int expected = 0;
    for (size_t r = 0; r < rules; r++) {
        int one = mesh_rule_match (mesh_ruleset_rule (set, r), data, size, NULL);
        int in_set = 0;
        for (int h = 0; h < count; h++)
            in_set |= hits [h] == r;
        if ((one == -1) != (count == -1) || (one >= 0 && one != in_set)) {
            fprintf (stderr, "fuzz: interpreter %d, compiled set %d (in set: %d) for rule %zu\n",
                     one, count, in_set, r);
            abort ();
        }
        expected += one == 1;
    }
    if (count >= 0 && count != expected)
        abort ();
}

#endif
