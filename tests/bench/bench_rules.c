/*  bench_rules.c: a shape's rules as JSON lines, for the bus benchmark

    usage: bench_rules SHAPE COUNT

    Prints the first COUNT patterns of issue 8's shape SHAPE ("a" to "d",
    tests/bench/bench_shapes.h), one JSON object per line, so that
    tests/bench/bench_bus.sh puts into a broker's rule file the very rules
    that bench_match measures in-process: one definition of each shape.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_shapes.h"

int
main (int argc, char *argv [])
{
    if (argc != 3) {
        fprintf (stderr, "usage: bench_rules SHAPE COUNT   (SHAPE: a to d)\n");
        return 2;
    }
    int shape = -1;
    for (int i = 0; i < BENCH_SHAPES; i++)
        if (strcmp (argv [1], bench_shape_letter ((bench_shape_t) i)) == 0)
            shape = i;
    char *end = NULL;
    unsigned long count = strtoul (argv [2], &end, 10);
    if (shape < 0 || !end || *end || count > 1000000) {
        fprintf (stderr, "bench_rules: SHAPE is a to d, COUNT 0 to 1000000\n");
        return 2;
    }
    char pattern [BENCH_SHAPE_PATTERN_MAX];
    for (size_t i = 0; i < count; i++) {
        bench_shape_pattern ((bench_shape_t) shape, i, pattern, sizeof (pattern));
        puts (pattern);
    }
    return 0;
}
