/*  bench_match_ab.c: two builds of libmesh in one process, set by set

    The machine this project is measured on is shared: from one run of
    bench_match to the next (seconds apart) the same binary's rate moves by
    a third, more than the changes worth measuring. This compares an older
    build of libmesh (its symbols renamed base_* by objcopy, see
    bench_match_ab.sh) with the current one inside one process: for each
    row, the same rules are compiled by both, and passes over the same
    events alternate between them (ABBA...), so that whatever the machine
    does weighs on both alike. The ratio given is the median of the pairs'
    new/base rates, with the quartiles.

    Rows: the citylots CL2 sets and EXACT_1000 / EXACT_100000 over the 20k
    sample (mesh_ruleset_match, as bench_match), and with --shapes issue
    8's shapes (a), (b) and (d) at 100,000 rules (mesh_ruleset_match_event,
    the broker's read; (c), 3 ms an event, is left out). Every pass's number of matches must be the same for both, or
    the row says COUNTS DIFFER and the exit status is 1.

    It is bench_match.c with another main: the rows, the corpus and the
    plans are that file's, included, so that both benches read the same.
*/
#define main bench_match_main
#include "bench_match.c"
#undef main

//  The older build's API, as objcopy renamed it: the same declarations
extern __typeof__ (mesh_rule_new) base_mesh_rule_new;
extern __typeof__ (mesh_ruleset_new) base_mesh_ruleset_new;
extern __typeof__ (mesh_ruleset_add) base_mesh_ruleset_add;
extern __typeof__ (mesh_ruleset_compile) base_mesh_ruleset_compile;
extern __typeof__ (mesh_ruleset_match) base_mesh_ruleset_match;
extern __typeof__ (mesh_ruleset_match_event) base_mesh_ruleset_match_event;
extern __typeof__ (mesh_ruleset_destroy) base_mesh_ruleset_destroy;

#define S_PAIRS_MAX 101

static mesh_ruleset_t *
s_ab_build (bool base, const s_plan_t *plan)
{
    mesh_ruleset_t *set = base? base_mesh_ruleset_new (): mesh_ruleset_new ();
    if (!set)
        s_out_of_memory ();
    for (size_t i = 0; i < plan->size; i++) {
        mesh_error_t err;
        mesh_rule_t *rule = base? base_mesh_rule_new (plan->names [i], plan->patterns [i], SIZE_MAX, &err)
                                : mesh_rule_new (plan->names [i], plan->patterns [i], SIZE_MAX, &err);
        if (!rule) {
            fprintf (stderr, "bench_match_ab: rule '%s': %s\n", plan->names [i], err.text);
            exit (1);
        }
        if ((base? base_mesh_ruleset_add (set, &rule): mesh_ruleset_add (set, &rule)) < 0)
            s_out_of_memory ();
    }
    mesh_error_t err;
    if (base? base_mesh_ruleset_compile (set, &err): mesh_ruleset_compile (set, &err)) {
        fprintf (stderr, "bench_match_ab: compile: %s\n", err.text);
        exit (1);
    }
    return set;
}

//  One pass over the events; its thread CPU seconds, the matches in *total.
static double
s_ab_pass (bool base, bool checked, const mesh_ruleset_t *set, const s_events_t *events,
           const mesh_limits_t *limits, uint32_t *hits, long *total)
{
    double start = s_clock (CLOCK_THREAD_CPUTIME_ID);
    long count = 0;
    for (size_t i = 0; i < events->count; i++) {
        const void *data = events->mp + events->mp_at [i];
        size_t size = events->mp_at [i + 1] - events->mp_at [i];
        mesh_error_t err;
        int matched = checked
            ? (base? base_mesh_ruleset_match_event (set, data, size, limits, hits, &err)
                   : mesh_ruleset_match_event (set, data, size, limits, hits, &err))
            : (base? base_mesh_ruleset_match (set, data, size, hits, &err)
                   : mesh_ruleset_match (set, data, size, hits, &err));
        count += matched;
    }
    *total = count;
    return s_clock (CLOCK_THREAD_CPUTIME_ID) - start;
}

//  The row's pairs; false when the two builds' counts differ.
static bool
s_ab_row (const char *name, const s_plan_t *plan, const s_events_t *events, bool checked,
          const mesh_limits_t *limits, uint32_t *hits, int pairs)
{
    mesh_ruleset_t *base = s_ab_build (true, plan);
    mesh_ruleset_t *mine = s_ab_build (false, plan);
    double ratio [S_PAIRS_MAX], base_seconds = 0, new_seconds = 0;
    bool agree = true;
    for (int p = 0; p < pairs; p++) {
        long base_count, new_count;
        double b, n;
        if (p & 1) {
            n = s_ab_pass (false, checked, mine, events, limits, hits, &new_count);
            b = s_ab_pass (true, checked, base, events, limits, hits, &base_count);
        }
        else {
            b = s_ab_pass (true, checked, base, events, limits, hits, &base_count);
            n = s_ab_pass (false, checked, mine, events, limits, hits, &new_count);
        }
        agree &= base_count == new_count;
        ratio [p] = b / n;          //  new's rate over base's
        base_seconds += b;
        new_seconds += n;
    }
    qsort (ratio, (size_t) pairs, sizeof (double), s_compare_double);
    printf ("%-28s %7zu %9.3f %9.3f   %.3f [%.3f..%.3f]%s%s\n", name, plan->size,
            (double) events->count * pairs / base_seconds / 1e6,
            (double) events->count * pairs / new_seconds / 1e6,
            ratio [pairs / 2], ratio [pairs / 4], ratio [3 * pairs / 4],
            ratio [pairs / 2] < 0.9? "  slower": "", agree? "": "  COUNTS DIFFER");
    fflush (stdout);
    base_mesh_ruleset_destroy (&base);
    mesh_ruleset_destroy (&mine);
    return agree;
}

int
main (int argc, char **argv)
{
    int pairs = 21;
    bool shapes = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--pairs") == 0 && i + 1 < argc)
            pairs = atoi (argv [++i]);
        else
        if (strcmp (argv [i], "--shapes") == 0)
            shapes = true;
        else {
            fprintf (stderr, "usage: bench_match_ab [--pairs N] [--shapes]  (run from the repository root)\n");
            return 2;
        }
    }
    if (pairs < 3 || pairs > S_PAIRS_MAX) {
        fprintf (stderr, "bench_match_ab: --pairs must be 3 to %d\n", S_PAIRS_MAX);
        return 2;
    }
    s_bench_t self = { 0 };
    self.quick = true;
    self.root = ".";
    mesh_limits_init (&self.limits);
    mesh_limits_init (&self.event_limits);
    self.limits.max_event_size = 4 << 20;
    if (s_events_load (&self, &self.corpus, "tests/bench/citylots/citylots2-synth-20k.json.gz"))
        return 1;
    uint32_t *hits = (uint32_t *) s_alloc ((200000 + 16) * sizeof (uint32_t));
    printf ("bench_match_ab: base (the older build) and new (this one) in one process, "
            "%d alternated pairs of passes a row, thread CPU time\n", pairs);
    printf ("%-28s %7s %9s %9s   %s\n", "row", "rules", "base M/s", "new M/s",
            "new/base: median pair [quartiles]");
    bool agree = true;
    for (size_t r = 0; r < S_ROWS; r++) {
        const s_row_def_t *def = &s_row_defs [r];
        //  (c) is left out: its 50,000 matches an event take some 3 ms
        bool shape = def->kind == S_ROW_SHAPE && def->scale == 100000
                  && s_row_shape (def) != BENCH_SHAPE_NEGATIVE;
        if (!(def->kind == S_ROW_CL2 || def->kind == S_ROW_SCALE || (shapes && shape)))
            continue;
        s_row_t row = { .def = def };
        s_plan_t plan = { 0 };
        if (s_row_plan (&self, &row, &plan))
            return 1;
        if (shape) {
            s_events_t events = { 0 };
            bench_event_t *made = (bench_event_t *) s_alloc (50000 * sizeof (bench_event_t));
            if (s_shape_events (def, 50000, &events, made))
                return 1;
            agree &= s_ab_row (def->name, &plan, &events, true, &self.event_limits, hits, pairs);
            free (made);
            s_events_fini (&events);
        }
        else
            agree &= s_ab_row (def->name, &plan, &self.corpus, false, NULL, hits, pairs);
        s_plan_fini (&plan);
    }
    free (hits);
    s_events_fini (&self.corpus);
    return agree? 0: 1;
}
