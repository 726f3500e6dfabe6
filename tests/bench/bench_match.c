/*  bench_match.c: how fast the rule matcher is, on the citylots2 benchmark

    The benchmark of issue 3 (`make bench-match`). It runs the CL2 rule sets
    that aws/event-ruler and quamina publish (tests/bench/citylots/
    citylots-patterns.md) over the synthetic citylots2 corpus (213,068
    events of about 900 B of JSON), on one thread, and prints events per
    second for each set beside the targets of DESIGN.md. Every event is
    encoded to MessagePack once, into one contiguous arena, before anything
    is timed, so what is timed is mesh_ruleset_match on bytes as they come
    off the wire. The bench uses only mesh_rule.h (plus mesh__mp_skip for the
    walk baseline), so it runs unchanged whatever engine sits behind it.

    Every set's per-rule match counts are checked against the golden counts
    that event-ruler and quamina produced on the same corpus (tests/bench/
    citylots/README.md). A difference prints MISMATCH and makes the exit status 1: a
    fast matcher that is wrong is worth nothing. The --quick sample (the
    corpus's first 20,000 events) has its own counts, computed by
    tests/bench/cl2_counts.py, an independent evaluation in Python that
    reproduces the README's counts exactly on the full corpus.

    The machine is shared and noisy, so every row is also given relative to
    two baselines measured in the same process just before it:
    - walk: mesh__mp_skip over each event, which reads every value header
      once. A matcher that reads MessagePack cannot do much less, because a
      map's size in bytes is unknown until it is walked ("x walk" = the
      set's time / the walk's time; lower is better);
    - interpreter: mesh_rule_match on each rule of the set in turn, the
      per-rule engine ("x interp" = the interpreter's time / the set's
      time; higher is better, about 1 while the set is itself a loop).
    Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which time
    taken by other processes does not inflate; --wall switches to wall time.
    A measurement is a few rounds (--rounds) of whole passes over the
    corpus, each round at least --round seconds, and reports the median
    round with the best beside it. When one pass would take more than
    --budget seconds (the interpreter with 100,000 rules), the rounds run on
    a prefix of the corpus instead, the row says "partial", and its counts
    are not checked.

    After the citylots rows come the shapes of issue 8 (bench_shapes.h):
    rule sets of the shapes people write, (a) to (d), at 5, 1,000, 10,000
    and 100,000 rules, each over a stream of payment-like events generated
    for it (50,000; --quick 10,000, and no 100,000-rule sets), all matched
    from MessagePack with mesh_ruleset_match_event, the broker's check and
    match in one walk. Their golden counts are checked event by event: the
    set must answer, for every event, exactly the rules the generator built
    it to match (bench_shape_expect, which never calls mesh); up to 10,000
    rules, the interpreter (mesh_rule_match, rule by rule) must give the
    same answers on the first 2,000 events (--quick 1,000). A row prints
    events/s, the rules matched per event, what building cost (time,
    mesh_ruleset_memory, resident memory), and each shape ends with its
    rate at 100,000 rules against its rate at 5, which issue 8 wants
    >= 0.8 wherever at most ten rules match an event. That ratio is taken
    from passes of the two sets alternated (S_PAIRS pairs, the order
    swapped each time, the median pair's ratio), with both sets and their
    events held at once, so that a shared machine's drift falls on both
    alike; each row's own rate, from its own rounds, is printed beside it.
    The report ends with what one dependent load costs over 1, 8 and 128 MB
    of memory in the same invocation: the price, on the machine at hand, of
    each rule a large set reads for an event.

    One file past 800 lines, because every row shares one way of timing,
    checking and reporting; what is generated lives apart (bench_shapes.c,
    and the citylots corpus in tests/bench/citylots/).

    Run it through the driver, which generates and caches the corpus:
        make bench-match                                (everything)
        make bench-match BENCH_ARGS="--quick --set EXACT"
        make bench-match BENCH_ARGS="--shapes"          (the shapes only)
        make bench-match BENCH_ARGS="--set SHAPE_B"     (shape b, every size)
        tests/bench/bench_match.sh build/bench/bench_match --help
*/
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include "mesh.h"
#include "../../libmesh/src/mesh_private.h"     //  mesh__mp_skip, for the walk
#include "bench_shapes.h"

#define S_FULL_EVENTS       213068      //  citylots2: what every golden count is for
#define S_QUICK_EVENTS      20000       //  citylots2-synth-20k.json.gz
#define S_PROBE_SECONDS     0.05        //  warm-up that also estimates the cost per event
#define S_ROUNDS_MAX        25
#define S_SCALE_SEED        UINT64_C (0x6d65736862656e63)  //  fixed: the same rules every run
#define S_SHAPE_EVENTS      50000       //  events per shape row (--quick: S_SHAPE_EVENTS_QUICK)
#define S_SHAPE_EVENTS_QUICK 10000
#define S_SHAPE_INTERP      2000        //  events the interpreter checks (--quick: 1,000)
#define S_SHAPE_INTERP_QUICK 1000
#define S_SHAPE_INTERP_MAX  10000       //  rules: larger sets rely on the generator alone
#define S_SHAPE_QUICK_MAX   10000       //  --quick runs no larger set unless named
#define S_SHAPE_RATIO       0.8         //  issue 8: rate at 100,000 rules / rate at 5
#define S_SHAPE_RATIO_HITS  10          //  ... where at most this many rules match an event
#define S_PAIRS             21          //  alternated passes of a shape's 5-rule set and another


//  ---------------------------------------------------------------------
//  The CL2 rule sets of citylots-patterns.md, with their counts: full is
//  the golden count on the whole corpus (citylots-synth/README.md), quick
//  the count on the 20k sample (cl2_counts.py). Patterns are JSON with '
//  for ", so that they read as they would in a rule file.

#define S_MAPBLKLOT(test)   "{'properties':{'MAPBLKLOT':[" test "]}}"
#define S_STREET(test)      "{'properties':{'STREET':[" test "]}}"
#define S_ST_TYPE(test)     "{'properties':{'ST_TYPE':[" test "]}}"
#define S_FROM_ST(test)     "{'properties':{'FROM_ST':[" test "]}}"
#define S_GEOMETRY(test)    "{'geometry':{'type':[" test "]}}"

typedef struct {
    const char *pattern;
    long full;
    long quick;
} s_rule_def_t;

typedef struct {
    const char *name;
    s_rule_def_t rules [5];
} s_cl2_set_t;

static const s_cl2_set_t s_cl2_sets [] = {
    { "EXACT", {
        { S_MAPBLKLOT ("'1430022'"), 1, 1 },
        { S_MAPBLKLOT ("'2607117'"), 101, 11 },
        { S_MAPBLKLOT ("'2607218'"), 35, 1 },
        { S_MAPBLKLOT ("'3745012'"), 655, 54 },
        { S_MAPBLKLOT ("'VACSTWIL'"), 1, 0 } } },
    { "PREFIX", {
        { S_STREET ("{'prefix':'AC'}"), 24, 1 },
        { S_STREET ("{'prefix':'BL'}"), 442, 41 },
        { S_STREET ("{'prefix':'DR'}"), 38, 1 },
        { S_STREET ("{'prefix':'FU'}"), 2387, 227 },
        { S_STREET ("{'prefix':'RH'}"), 328, 37 } } },
    { "PREFIX_EQUALS_IGNORE_CASE", {
        { S_STREET ("{'prefix':{'equals-ignore-case':'Ac'}}"), 24, 1 },
        { S_STREET ("{'prefix':{'equals-ignore-case':'bL'}}"), 442, 41 },
        { S_STREET ("{'prefix':{'equals-ignore-case':'dR'}}"), 38, 1 },
        { S_STREET ("{'prefix':{'equals-ignore-case':'Fu'}}"), 2387, 227 },
        { S_STREET ("{'prefix':{'equals-ignore-case':'rH'}}"), 328, 37 } } },
    { "SUFFIX", {
        { S_STREET ("{'suffix':'ON'}"), 12558, 1168 },
        { S_STREET ("{'suffix':'KE'}"), 871, 83 },
        { S_STREET ("{'suffix':'MM'}"), 13, 0 },
        { S_STREET ("{'suffix':'ING'}"), 7290, 653 },
        { S_STREET ("{'suffix':'GO'}"), 682, 62 } } },
    { "SUFFIX_EQUALS_IGNORE_CASE", {
        { S_STREET ("{'suffix':{'equals-ignore-case':'oN'}}"), 12558, 1168 },
        { S_STREET ("{'suffix':{'equals-ignore-case':'Ke'}}"), 871, 83 },
        { S_STREET ("{'suffix':{'equals-ignore-case':'mM'}}"), 13, 0 },
        { S_STREET ("{'suffix':{'equals-ignore-case':'InG'}}"), 7290, 653 },
        { S_STREET ("{'suffix':{'equals-ignore-case':'gO'}}"), 682, 62 } } },
    { "EQUALS_IGNORE_CASE", {
        { S_STREET ("{'equals-ignore-case':'jefferson'}"), 143, 21 },
        { S_STREET ("{'equals-ignore-case':'bEaCh'}"), 241, 53 },
        { S_STREET ("{'equals-ignore-case':'HyDe'}"), 1994, 381 },
        { S_STREET ("{'equals-ignore-case':'CHESTNUT'}"), 825, 84 },
        { S_ST_TYPE ("{'equals-ignore-case':'st'}"), 116546, 11145 } } },
    { "WILDCARD", {
        { S_MAPBLKLOT ("{'wildcard':'143*'}"), 277, 1 },
        { S_MAPBLKLOT ("{'wildcard':'2*0*1*7'}"), 695, 11 },
        { S_MAPBLKLOT ("{'wildcard':'*218'}"), 84, 4 },
        { S_MAPBLKLOT ("{'wildcard':'3*5*2'}"), 1606, 54 },
        { S_MAPBLKLOT ("{'wildcard':'VA*IL'}"), 1, 0 } } },
    { "NUMERIC", {
        { "{'geometry':{'type':['Polygon'],"
          "'firstCoordinates':{'x':[{'numeric':['=',-122.42916360922355]}]}}}", 2, 0 },
        { "{'geometry':{'type':['MultiPolygon'],"
          "'firstCoordinates':{'z':[{'numeric':['=',0]}]}}}", 120, 12 },
        { "{'geometry':{'firstCoordinates':{'x':[{'numeric':['<',-122.41600944012424]}]}}}",
          152581, 15131 },
        { "{'geometry':{'firstCoordinates':{'x':[{'numeric':['>',-122.41600944012424]}]}}}",
          60487, 4869 },
        { "{'geometry':{'firstCoordinates':{'x':[{'numeric':"
          "['>',-122.46471267081272,'<',-122.4063085128395]}]}}}", 125179, 12621 } } },
    { "ANYTHING-BUT", {
        { S_STREET ("{'anything-but':['FULTON']}"), 211158, 19820 },
        { S_STREET ("{'anything-but':['MASON']}"), 210410, 19764 },
        { S_ST_TYPE ("{'anything-but':['ST']}"), 96522, 8855 },
        { S_GEOMETRY ("{'anything-but':['Polygon']}"), 120, 12 },
        { S_FROM_ST ("{'anything-but':['441']}"), 212994, 19993 } } },
    { "ANYTHING-BUT-IGNORE-CASE", {
        { S_STREET ("{'anything-but':{'equals-ignore-case':['Fulton']}}"), 211158, 19820 },
        { S_STREET ("{'anything-but':{'equals-ignore-case':['Mason']}}"), 210410, 19764 },
        { S_ST_TYPE ("{'anything-but':{'equals-ignore-case':['st']}}"), 96522, 8855 },
        { S_GEOMETRY ("{'anything-but':{'equals-ignore-case':['polygon']}}"), 120, 12 },
        { S_FROM_ST ("{'anything-but':{'equals-ignore-case':['441']}}"), 212994, 19993 } } },
    { "ANYTHING-BUT-PREFIX", {
        { S_STREET ("{'anything-but':{'prefix':'FULTO'}}"), 211158, 19820 },
        { S_STREET ("{'anything-but':{'prefix':'MASO'}}"), 210117, 19737 },
        { S_ST_TYPE ("{'anything-but':{'prefix':'S'}}"), 96507, 8853 },
        { S_GEOMETRY ("{'anything-but':{'prefix':'Poly'}}"), 120, 12 },
        { S_FROM_ST ("{'anything-but':{'prefix':'44'}}"), 212320, 19943 } } },
    { "ANYTHING-BUT-SUFFIX", {
        { S_STREET ("{'anything-but':{'suffix':'ULTON'}}"), 211158, 19820 },
        { S_STREET ("{'anything-but':{'suffix':'ASON'}}"), 210410, 19764 },
        { S_ST_TYPE ("{'anything-but':{'suffix':'T'}}"), 94751, 8694 },
        { S_GEOMETRY ("{'anything-but':{'suffix':'olygon'}}"), 0, 0 },
        { S_FROM_ST ("{'anything-but':{'suffix':'41'}}"), 211780, 19885 } } },
    { "ANYTHING-BUT-WILDCARD", {
        { S_MAPBLKLOT ("{'anything-but':{'wildcard':'143*'}}"), 212791, 19999 },
        { S_MAPBLKLOT ("{'anything-but':{'wildcard':'2*0*1*7'}}"), 212373, 19989 },
        { S_MAPBLKLOT ("{'anything-but':{'wildcard':'*218'}}"), 212984, 19996 },
        { S_MAPBLKLOT ("{'anything-but':{'wildcard':'3*5*2'}}"), 211462, 19946 },
        { S_MAPBLKLOT ("{'anything-but':{'wildcard':'VA*IL'}}"), 213067, 20000 } } },
    { "COMPLEX_ARRAYS", {
        { "{'geometry':{'type':['Polygon'],"
          "'coordinates':{'x':[{'numeric':['=',-122.42916360922355]}]}}}", 218, 22 },
        { "{'geometry':{'type':['MultiPolygon'],"
          "'coordinates':{'y':[{'numeric':['=',37.729900216217324]}]}}}", 1, 0 },
        { "{'geometry':{'coordinates':{'x':[{'numeric':['<',-122.41600944012424]}]}}}",
          153053, 15159 },
        { "{'geometry':{'coordinates':{'x':[{'numeric':['>',-122.41600944012424]}]}}}",
          60869, 4904 },
        { "{'geometry':{'coordinates':{'x':[{'numeric':"
          "['>',-122.46471267081272,'<',-122.4063085128395]}]}}}", 125800, 12682 } } },
};
#define S_CL2_SETS  (sizeof (s_cl2_sets) / sizeof (s_cl2_sets [0]))


//  ---------------------------------------------------------------------
//  The rows of the report. A CL2 row is the union of the CL2 sets in
//  parts; the JSON rows time parsing as well; the scale rows are EXACT's
//  five rules plus MAPBLKLOT values that occur in no event (so the golden
//  counts stay those of EXACT, and 0 for every added rule); BIG_EVENT is
//  event-ruler's BigEventTest. The shape rows are issue 8's (a) to (d) at
//  four sizes, on events of their own.

typedef enum { S_ROW_CL2, S_ROW_JSON, S_ROW_SCALE, S_ROW_BIG, S_ROW_SHAPE } s_row_kind_t;

typedef struct {
    const char *name;
    s_row_kind_t kind;
    const char *parts;          //  CL2 sets, separated by spaces; S_ROW_SHAPE: its letter
    size_t scale;               //  S_ROW_SCALE, S_ROW_SHAPE: number of rules
    double target;              //  DESIGN.md: least events/s, 0 when none
    const char *target_text;
} s_row_def_t;

#define S_SHAPE_ROWS(letter) \
    { "SHAPE_" letter "_5",      S_ROW_SHAPE, letter, 5, 0, NULL }, \
    { "SHAPE_" letter "_1000",   S_ROW_SHAPE, letter, 1000, 0, NULL }, \
    { "SHAPE_" letter "_10000",  S_ROW_SHAPE, letter, 10000, 0, NULL }, \
    { "SHAPE_" letter "_100000", S_ROW_SHAPE, letter, 100000, 0, NULL }

#define S_PARTIAL_COMBO "NUMERIC EXACT PREFIX ANYTHING-BUT ANYTHING-BUT-IGNORE-CASE " \
                        "ANYTHING-BUT-PREFIX ANYTHING-BUT-SUFFIX ANYTHING-BUT-WILDCARD"

static const s_row_def_t s_row_defs [] = {
    { "EXACT",                      S_ROW_CL2, "EXACT", 0, 3.7e6, ">= 3.7 M" },
    { "PREFIX",                     S_ROW_CL2, "PREFIX", 0, 3.2e6, ">= 3.2 M" },
    { "PREFIX_EQUALS_IGNORE_CASE",  S_ROW_CL2, "PREFIX_EQUALS_IGNORE_CASE", 0, 0, NULL },
    { "SUFFIX",                     S_ROW_CL2, "SUFFIX", 0, 1.7e6, ">= 1.7 M" },
    { "SUFFIX_EQUALS_IGNORE_CASE",  S_ROW_CL2, "SUFFIX_EQUALS_IGNORE_CASE", 0, 0, NULL },
    { "EQUALS_IGNORE_CASE",         S_ROW_CL2, "EQUALS_IGNORE_CASE", 0, 2.0e6, ">= 2.0 M" },
    { "WILDCARD",                   S_ROW_CL2, "WILDCARD", 0, 3.1e6, ">= 3.1 M" },
    { "NUMERIC",                    S_ROW_CL2, "NUMERIC", 0, 1.0e6, ">= 1.0 M" },
    { "ANYTHING-BUT",               S_ROW_CL2, "ANYTHING-BUT", 0, 0.7e6, ">= 0.7 M" },
    { "ANYTHING-BUT-IGNORE-CASE",   S_ROW_CL2, "ANYTHING-BUT-IGNORE-CASE", 0, 0, NULL },
    { "ANYTHING-BUT-PREFIX",        S_ROW_CL2, "ANYTHING-BUT-PREFIX", 0, 0, NULL },
    { "ANYTHING-BUT-SUFFIX",        S_ROW_CL2, "ANYTHING-BUT-SUFFIX", 0, 0, NULL },
    { "ANYTHING-BUT-WILDCARD",      S_ROW_CL2, "ANYTHING-BUT-WILDCARD", 0, 0, NULL },
    { "COMPLEX_ARRAYS",             S_ROW_CL2, "COMPLEX_ARRAYS", 0, 0.42e6, ">= 0.42 M" },
    { "PARTIAL_COMBO",              S_ROW_CL2, S_PARTIAL_COMBO, 0, 0, NULL },
    { "COMBO",                      S_ROW_CL2, S_PARTIAL_COMBO " COMPLEX_ARRAYS", 0, 0.12e6, ">= 0.12 M" },
    { "EXACT_JSON",                 S_ROW_JSON, "EXACT", 0, 0, NULL },
    { "COMBO_JSON",                 S_ROW_JSON, S_PARTIAL_COMBO " COMPLEX_ARRAYS", 0, 0, NULL },
    { "EXACT_1000",                 S_ROW_SCALE, "EXACT", 1000, 0, NULL },
    { "EXACT_100000",               S_ROW_SCALE, "EXACT", 100000, 0, "<= 1.5x EXACT" },
    { "BIG_EVENT",                  S_ROW_BIG, NULL, 0, 1000, "< 1 ms" },
    S_SHAPE_ROWS ("A"),                 //  bench_shapes.h: BENCH_SHAPE_TEAM
    S_SHAPE_ROWS ("B"),                 //  BENCH_SHAPE_SERVICES
    S_SHAPE_ROWS ("C"),                 //  BENCH_SHAPE_NEGATIVE
    S_SHAPE_ROWS ("D"),                 //  BENCH_SHAPE_PREFIXES
};
#define S_ROWS  (sizeof (s_row_defs) / sizeof (s_row_defs [0]))

//  A shape row's shape: its letter, A for BENCH_SHAPE_TEAM and on.
static bench_shape_t
s_row_shape (const s_row_def_t *def)
{
    assert (def->kind == S_ROW_SHAPE);
    return (bench_shape_t) (def->parts [0] - 'A');
}

//  The scale row whose slowdown against EXACT DESIGN.md bounds.
#define S_SCALE_TARGET_ROW      "EXACT_100000"
#define S_SCALE_TARGET_RATIO    1.5
#define S_COMPILE_TARGET_S      2.0
#define S_MEMORY_TARGET_BYTES   (500.0 * 1000 * 1000)


//  ---------------------------------------------------------------------
//  Types

//  Events held twice, as JSON text and as MessagePack, each in one arena;
//  event i is json [json_at [i] .. json_at [i + 1]) and likewise for mp.
typedef struct {
    size_t count;
    char *json;
    size_t *json_at;
    uint8_t *mp;
    size_t *mp_at;
} s_events_t;

typedef enum { S_WALK, S_SET, S_RULES, S_JSON, S_EVENT } s_engine_t;

//  One thing to time: an engine over events.
typedef struct {
    s_engine_t engine;
    const s_events_t *events;
    const mesh_ruleset_t *set;
    const mesh_rule_t **rules;  //  S_RULES: the set's rules, in order
    size_t size;                //  rules in the set
} s_job_t;

typedef struct {
    double ns;                  //  per event, median round
    double best_ns;             //  per event, best round
    size_t events;              //  events per pass: all, or a prefix when partial
    int rounds;
    long passes;                //  per round
    bool partial;
    bool done;                  //  measured at all
} s_timing_t;

typedef enum { S_COUNTS_NONE, S_COUNTS_OK, S_COUNTS_MISMATCH, S_COUNTS_PARTIAL } s_counts_t;

typedef struct {
    const s_row_def_t *def;
    bool run;
    size_t size;                //  rules
    double parse_seconds;       //  mesh_rule_new and mesh_ruleset_add, every rule
    double compile_seconds;     //  mesh_ruleset_compile
    size_t memory;              //  mesh_ruleset_memory
    long rss_growth_kb;         //  resident memory the build added
    s_timing_t walk, set, interp;
    s_counts_t counts;
    //  S_ROW_SHAPE: what the check pass saw
    size_t events;              //  in the row's stream
    uint64_t matches;           //  (rule, event) matches over the stream
    size_t most;                //  the most rules one event matched
    size_t interp_events;       //  events the interpreter checked too, 0 when none
    double paired;              //  its rate / the 5-rule set's, alternated (0: not taken)
    double paired_low, paired_high;     //  the quartiles of the pairs' ratios
} s_row_t;

typedef struct {
    //  Options
    bool quick;
    bool wall;
    int rounds;
    double round_seconds;
    double budget_seconds;
    const char *root;             //  the repository root, for its data files
    const char *corpus_path;
    bool selected [S_ROWS];
    //  State
    s_events_t corpus;
    mesh_limits_t limits;
    mesh_limits_t event_limits; //  the broker's (EventBridge's defaults), for S_EVENT
    uint32_t *hits;             //  room for the largest set
    s_row_t rows [S_ROWS];
    //  Each shape's 5-rule set and events, kept for the alternated passes
    mesh_ruleset_t *small_set [BENCH_SHAPES];
    s_events_t small_events [BENCH_SHAPES];
    double cpu_seconds;         //  over every timed round, for the busy indicator
    double wall_seconds;
    long errors;                //  events an engine refused
    mesh_error_t error;         //  the first such refusal
    bool failed;                //  a mismatch, an engine error, a broken set
} s_bench_t;


//  ---------------------------------------------------------------------
//  Small helpers

static double
s_clock (clockid_t clock)
{
    struct timespec ts;
    clock_gettime (clock, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

//  The clock the report is in: the thread's CPU time, or wall time.
static double
s_now (const s_bench_t *self)
{
    return s_clock (self->wall? CLOCK_MONOTONIC: CLOCK_THREAD_CPUTIME_ID);
}

//  Resident set size now, in kB, from /proc (0 if unreadable).
static long
s_rss_kb (void)
{
    FILE *file = fopen ("/proc/self/status", "r");
    if (!file)
        return 0;
    char line [256];
    long kb = 0;
    while (fgets (line, sizeof (line), file))
        if (strncmp (line, "VmRSS:", 6) == 0)
            kb = strtol (line + 6, NULL, 10);
    fclose (file);
    return kb;
}

//  Events per second as "1.23 M", "456.7 K" or "812".
static const char *
s_rate_text (double rate, char *buffer, size_t size)
{
    if (rate >= 1e6)
        snprintf (buffer, size, "%.2f M", rate / 1e6);
    else
    if (rate >= 1e4)
        snprintf (buffer, size, "%.1f K", rate / 1e3);
    else
        snprintf (buffer, size, "%.0f", rate);
    return buffer;
}

//  A time per event as "270 ns", "12.34 us" or "1.42 ms".
static const char *
s_time_text (double ns, char *buffer, size_t size)
{
    if (ns < 1e3)
        snprintf (buffer, size, "%.0f ns", ns);
    else
    if (ns < 1e6)
        snprintf (buffer, size, "%.2f us", ns / 1e3);
    else
        snprintf (buffer, size, "%.2f ms", ns / 1e6);
    return buffer;
}

//  The bench cannot do anything useful short of memory: say so and stop.
static _Noreturn void
s_out_of_memory (void)
{
    fprintf (stderr, "bench_match: out of memory\n");
    exit (1);
}

static void *
s_alloc (size_t size)
{
    void *data = calloc (1, size? size: 1);
    if (!data)
        s_out_of_memory ();
    return data;
}

//  Copy a pattern with every ' turned into ".
static char *
s_pattern (const char *text)
{
    char *copy = strdup (text);
    if (!copy)
        s_out_of_memory ();
    for (char *c = copy; *c; c++)
        if (*c == '\'')
            *c = '"';
    return copy;
}

static const s_cl2_set_t *
s_cl2_set (const char *name, size_t length)
{
    for (size_t i = 0; i < S_CL2_SETS; i++)
        if (strlen (s_cl2_sets [i].name) == length
        &&  strncmp (s_cl2_sets [i].name, name, length) == 0)
            return &s_cl2_sets [i];
    return NULL;
}

static s_row_t *
s_row (s_bench_t *self, const char *name)
{
    for (size_t i = 0; i < S_ROWS; i++)
        if (streq (s_row_defs [i].name, name))
            return &self->rows [i];
    return NULL;
}


//  ---------------------------------------------------------------------
//  Events: read JSON lines (gzip'd or not), then encode them all

//  Append size bytes to a growing buffer.
static void
s_append (char **buffer, size_t *used, size_t *capacity, const void *data, size_t size)
{
    if (*used + size > *capacity) {
        size_t capacity_new = *capacity? *capacity: 1 << 20;
        while (capacity_new < *used + size)
            capacity_new *= 2;
        char *grown = (char *) realloc (*buffer, capacity_new);
        if (!grown)
            s_out_of_memory ();
        *buffer = grown;
        *capacity = capacity_new;
    }
    memcpy (*buffer + *used, data, size);
    *used += size;
}

//  Read a whole file into a NUL-terminated string (caller frees), or NULL.
static char *
s_slurp (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    char *text = NULL;
    size_t used = 0, capacity = 0;
    char chunk [65536];
    size_t got;
    while ((got = fread (chunk, 1, sizeof (chunk), file)) > 0)
        s_append (&text, &used, &capacity, chunk, got);
    s_append (&text, &used, &capacity, "", 1);
    fclose (file);
    return text;
}

//  Open a file for reading, through `gzip -dc` when its name ends in .gz.
//  Sets *piped so the caller knows to pclose.
static FILE *
s_open (const char *path, bool *piped)
{
    size_t length = strlen (path);
    *piped = length > 3 && streq (path + length - 3, ".gz");
    if (!*piped)
        return fopen (path, "r");
    if (access (path, R_OK))
        return NULL;
    //  Quote the path for the shell: ' becomes '\''
    char *command = (char *) s_alloc (4 * length + 32);
    char *to = command + sprintf (command, "gzip -dc -- '");
    for (const char *from = path; *from; from++)
        if (*from == '\'')
            to += sprintf (to, "'\\''");
        else
            *to++ = *from;
    strcpy (to, "'");
    FILE *file = popen (command, "r");
    free (command);
    return file;
}

//  Encode events->json [i] into the MessagePack arena, for every i.
static int
s_events_encode (s_bench_t *self, s_events_t *events)
{
    size_t used = 0, capacity = 0;
    events->mp_at = (size_t *) s_alloc ((events->count + 1) * sizeof (size_t));
    for (size_t i = 0; i < events->count; i++) {
        void *data;
        size_t size;
        mesh_error_t err;
        if (mesh_json_to_msgpack (events->json + events->json_at [i],
                                  events->json_at [i + 1] - events->json_at [i],
                                  &self->limits, &data, &size, &err)) {
            fprintf (stderr, "bench_match: event %zu: %s\n", i + 1, err.text);
            return -1;
        }
        events->mp_at [i] = used;
        s_append ((char **) &events->mp, &used, &capacity, data, size);
        free (data);
    }
    events->mp_at [events->count] = used;
    return 0;
}

//  Load one JSON event per line from path. Returns 0, or -1 with a message.
static int
s_events_load (s_bench_t *self, s_events_t *events, const char *path)
{
    bool piped;
    FILE *file = s_open (path, &piped);
    if (!file) {
        fprintf (stderr, "bench_match: cannot read %s\n", path);
        return -1;
    }
    size_t used = 0, capacity = 0, count = 0, slots = 0;
    char *line = NULL;
    size_t line_capacity = 0;
    ssize_t length;
    while ((length = getline (&line, &line_capacity, file)) > 0) {
        while (length > 0 && (line [length - 1] == '\n' || line [length - 1] == '\r'))
            length--;
        if (length == 0)
            continue;
        if (count + 2 > slots) {
            slots = slots? slots * 2: 1024;
            events->json_at = (size_t *) realloc (events->json_at, slots * sizeof (size_t));
            if (!events->json_at)
                s_out_of_memory ();
        }
        events->json_at [count++] = used;
        s_append (&events->json, &used, &capacity, line, (size_t) length);
    }
    free (line);
    int status = piped? pclose (file): fclose (file);
    if (status != 0 || count == 0) {
        fprintf (stderr, "bench_match: %s: unreadable or empty\n", path);
        return -1;
    }
    events->json_at [count] = used;
    events->count = count;
    return s_events_encode (self, events);
}

//  Load one whole file as a single event.
static int
s_events_load_one (s_bench_t *self, s_events_t *events, const char *path)
{
    events->json = s_slurp (path);
    if (!events->json) {
        fprintf (stderr, "bench_match: cannot read %s\n", path);
        return -1;
    }
    events->count = 1;
    events->json_at = (size_t *) s_alloc (2 * sizeof (size_t));
    events->json_at [1] = strlen (events->json);
    return s_events_encode (self, events);
}

static void
s_events_fini (s_events_t *events)
{
    free (events->json);
    free (events->json_at);
    free (events->mp);
    free (events->mp_at);
    memset (events, 0, sizeof (*events));
}


//  ---------------------------------------------------------------------
//  The synthetic MAPBLKLOT values of the scale rows: seven digits, like
//  most real ones (so they share prefixes with them, the hard case for a
//  trie), drawn with a fixed seed, and none of them the MAPBLKLOT of any
//  event of the corpus being run.

//  With the reader just past the header of a map of count pairs, find key:
//  leave the reader at its value and return true, or return false.
static bool
s_map_find (mesh__mp_reader_t *reader, uint32_t count, const char *key)
{
    size_t length = strlen (key);
    for (uint32_t pair = 0; pair < count; pair++) {
        mesh__mp_value_t name;
        if (mesh__mp_read (reader, &name))
            return false;
        if (name.type == MESH_MP_STR && name.v.s.size == length
        &&  memcmp (name.v.s.ptr, key, length) == 0)
            return true;
        if (mesh__mp_skip (reader))
            return false;
    }
    return false;
}

//  The MAPBLKLOT of a CL2 event, in place, or NULL.
static const char *
s_mapblklot (const uint8_t *data, size_t size, uint32_t *length)
{
    mesh__mp_reader_t reader;
    mesh__mp_reader_init (&reader, data, size);
    mesh__mp_value_t value;
    if (mesh__mp_read (&reader, &value) || value.type != MESH_MP_MAP
    ||  !s_map_find (&reader, value.v.count, "properties")
    ||  mesh__mp_read (&reader, &value) || value.type != MESH_MP_MAP
    ||  !s_map_find (&reader, value.v.count, "MAPBLKLOT")
    ||  mesh__mp_read (&reader, &value) || value.type != MESH_MP_STR)
        return NULL;
    *length = value.v.s.size;
    return value.v.s.ptr;
}

static uint64_t
s_random (uint64_t *state)
{
    //  xorshift64*: plenty for spreading values, and the same on every machine
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C (2685821657736338717);
}

//  Fill values [count][8] with distinct seven-digit strings that are no
//  event's MAPBLKLOT and none of the exact rules' values.
static void
s_scale_values (const s_events_t *events, size_t count, char (*values) [8])
{
    uint8_t *taken = (uint8_t *) s_alloc (10000000 / 8 + 1);
    for (size_t i = 0; i < events->count; i++) {
        uint32_t length;
        const char *lot = s_mapblklot (events->mp + events->mp_at [i],
                                       events->mp_at [i + 1] - events->mp_at [i], &length);
        if (!lot || length != 7)
            continue;
        uint32_t number = 0;
        bool digits = true;
        for (uint32_t c = 0; c < 7; c++) {
            digits = digits && isdigit ((unsigned char) lot [c]);
            number = number * 10 + (uint32_t) (lot [c] - '0');
        }
        if (digits)
            taken [number / 8] |= (uint8_t) (1 << number % 8);
    }
    const uint32_t real [] = { 1430022, 2607117, 2607218, 3745012 };
    for (size_t i = 0; i < sizeof (real) / sizeof (real [0]); i++)
        taken [real [i] / 8] |= (uint8_t) (1 << real [i] % 8);

    uint64_t state = S_SCALE_SEED;
    for (size_t i = 0; i < count; ) {
        uint32_t number = (uint32_t) (s_random (&state) % 10000000);
        if (taken [number / 8] & (1 << number % 8))
            continue;
        taken [number / 8] |= (uint8_t) (1 << number % 8);
        snprintf (values [i++], 8, "%07u", number);
    }
    free (taken);
}


//  ---------------------------------------------------------------------
//  Passes: one engine over events [0, last). Each returns a sum that
//  depends on every result, so the compiler cannot drop the work, and adds
//  the per-rule hits into tally when it is not NULL.

static uint64_t
s_pass_walk (s_bench_t *self, const s_events_t *events, size_t last)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < last; i++) {
        mesh__mp_reader_t reader;
        const uint8_t *start = events->mp + events->mp_at [i];
        mesh__mp_reader_init (&reader, start, events->mp_at [i + 1] - events->mp_at [i]);
        if (mesh__mp_skip (&reader))
            self->errors++;
        bytes += (uint64_t) (reader.pos - start);
    }
    return bytes;
}

static uint64_t
s_pass_set (s_bench_t *self, const s_job_t *job, size_t last, uint64_t *tally)
{
    const s_events_t *events = job->events;
    uint64_t total = 0;
    for (size_t i = 0; i < last; i++) {
        int count = mesh_ruleset_match (job->set, events->mp + events->mp_at [i],
                                        events->mp_at [i + 1] - events->mp_at [i],
                                        self->hits, &self->error);
        if (count < 0) {
            self->errors++;
            continue;
        }
        total += (uint64_t) count;
        if (tally)
            for (int hit = 0; hit < count; hit++)
                tally [self->hits [hit]]++;
    }
    return total;
}

//  The broker's read: the event checked and matched in one walk.
static uint64_t
s_pass_event (s_bench_t *self, const s_job_t *job, size_t last, uint64_t *tally)
{
    const s_events_t *events = job->events;
    uint64_t total = 0;
    for (size_t i = 0; i < last; i++) {
        int count = mesh_ruleset_match_event (job->set, events->mp + events->mp_at [i],
                                              events->mp_at [i + 1] - events->mp_at [i],
                                              &self->event_limits, self->hits, &self->error);
        if (count < 0) {
            self->errors++;
            continue;
        }
        total += (uint64_t) count;
        if (tally)
            for (int hit = 0; hit < count; hit++)
                tally [self->hits [hit]]++;
    }
    return total;
}

static uint64_t
s_pass_rules (s_bench_t *self, const s_job_t *job, size_t last, uint64_t *tally)
{
    const s_events_t *events = job->events;
    uint64_t total = 0;
    for (size_t i = 0; i < last; i++) {
        const uint8_t *event = events->mp + events->mp_at [i];
        size_t size = events->mp_at [i + 1] - events->mp_at [i];
        for (size_t rule = 0; rule < job->size; rule++) {
            int rc = mesh_rule_match (job->rules [rule], event, size, &self->error);
            if (rc < 0)
                self->errors++;
            else
            if (rc > 0) {
                total++;
                if (tally)
                    tally [rule]++;
            }
        }
    }
    return total;
}

//  JSON text to MessagePack, then match: what a JSON front end would pay.
static uint64_t
s_pass_json (s_bench_t *self, const s_job_t *job, size_t last, uint64_t *tally)
{
    const s_events_t *events = job->events;
    uint64_t total = 0;
    for (size_t i = 0; i < last; i++) {
        void *data;
        size_t size;
        if (mesh_json_to_msgpack (events->json + events->json_at [i],
                                  events->json_at [i + 1] - events->json_at [i],
                                  &self->limits, &data, &size, &self->error)) {
            self->errors++;
            continue;
        }
        int count = mesh_ruleset_match (job->set, data, size, self->hits, &self->error);
        free (data);
        if (count < 0) {
            self->errors++;
            continue;
        }
        total += (uint64_t) count;
        if (tally)
            for (int hit = 0; hit < count; hit++)
                tally [self->hits [hit]]++;
    }
    return total;
}

static uint64_t
s_pass (s_bench_t *self, const s_job_t *job, size_t last, uint64_t *tally)
{
    switch (job->engine) {
        case S_WALK:  return s_pass_walk (self, job->events, last);
        case S_SET:   return s_pass_set (self, job, last, tally);
        case S_RULES: return s_pass_rules (self, job, last, tally);
        case S_JSON:  return s_pass_json (self, job, last, tally);
        case S_EVENT: return s_pass_event (self, job, last, tally);
    }
    return 0;
}

//  Where the passes' sums go, so that no pass is optimised away.
static volatile uint64_t s_sink;

static int
s_compare_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  Time a job. A probe first warms the caches up and estimates the cost
//  per event; from it come the passes per round (enough for
//  round_seconds) and the rounds (as many as --rounds asks, fewer when
//  they would not fit in budget_seconds). If a single pass would not fit
//  the budget, the rounds run over a prefix of the events and the timing
//  is partial. The first full pass fills tally.
static void
s_measure (s_bench_t *self, const s_job_t *job, uint64_t *tally, s_timing_t *timing)
{
    const size_t count = job->events->count;
    memset (timing, 0, sizeof (*timing));

    //  Probe: 1, 2, 4... events until S_PROBE_SECONDS or the whole corpus
    size_t done = 0, chunk = 1;
    double spent = 0;
    s_job_t probe = *job;
    while (done < count && spent < S_PROBE_SECONDS) {
        size_t last = done + chunk < count? done + chunk: count;
        s_events_t window = *job->events;
        window.json_at += done;
        window.mp_at += done;
        probe.events = &window;
        double start = s_now (self);
        s_sink += s_pass (self, &probe, last - done, NULL);
        spent += s_now (self) - start;
        done = last;
        chunk *= 2;
    }
    double per_event = spent / (double) done;
    if (per_event <= 0)
        per_event = 1e-9;
    double pass_seconds = per_event * (double) count;

    size_t events = count;
    long passes = 1;
    int rounds = self->rounds;
    if (pass_seconds > self->budget_seconds) {
        timing->partial = true;
        double fit = self->round_seconds / per_event;
        events = fit < 1? 1: fit > (double) count? count: (size_t) fit;
    }
    else {
        passes = (long) ceil (self->round_seconds / pass_seconds);
        if (passes < 1)
            passes = 1;
        int fit = (int) (self->budget_seconds / (pass_seconds * (double) passes));
        if (fit < rounds)
            rounds = fit < 1? 1: fit;
    }

    double samples [S_ROUNDS_MAX];
    for (int round = 0; round < rounds; round++) {
        double start = s_now (self);
        double cpu = s_clock (CLOCK_THREAD_CPUTIME_ID);
        double wall = s_clock (CLOCK_MONOTONIC);
        for (long pass = 0; pass < passes; pass++) {
            bool counting = round == 0 && pass == 0 && !timing->partial;
            s_sink += s_pass (self, job, events, counting? tally: NULL);
        }
        samples [round] = (s_now (self) - start) * 1e9 / ((double) events * (double) passes);
        self->cpu_seconds += s_clock (CLOCK_THREAD_CPUTIME_ID) - cpu;
        self->wall_seconds += s_clock (CLOCK_MONOTONIC) - wall;
    }
    qsort (samples, (size_t) rounds, sizeof (double), s_compare_double);
    timing->ns = rounds % 2? samples [rounds / 2]
                           : (samples [rounds / 2 - 1] + samples [rounds / 2]) / 2;
    timing->best_ns = samples [0];
    timing->events = events;
    timing->rounds = rounds;
    timing->passes = passes;
    timing->done = true;
}


//  ---------------------------------------------------------------------
//  A row's rule set: first planned (patterns, names and the counts they
//  must produce), then built, with parsing and compiling timed apart.

typedef struct {
    size_t size;
    size_t capacity;
    char **patterns;            //  JSON, owned
    char (*names) [40];
    long *expected;
} s_plan_t;

static void
s_plan_add (s_plan_t *self, const char *name, char *pattern, long expected)
{
    if (self->size == self->capacity) {
        self->capacity = self->capacity? self->capacity * 2: 64;
        self->patterns = (char **) realloc (self->patterns, self->capacity * sizeof (char *));
        self->names = realloc (self->names, self->capacity * sizeof (*self->names));
        self->expected = (long *) realloc (self->expected, self->capacity * sizeof (long));
        if (!self->patterns || !self->names || !self->expected)
            s_out_of_memory ();
    }
    self->patterns [self->size] = pattern;
    snprintf (self->names [self->size], sizeof (self->names [0]), "%s", name);
    self->expected [self->size] = expected;
    self->size++;
}

static void
s_plan_fini (s_plan_t *self)
{
    for (size_t i = 0; i < self->size; i++)
        free (self->patterns [i]);
    free (self->patterns);
    free (self->names);
    free (self->expected);
    memset (self, 0, sizeof (*self));
}

//  Plan a row. Returns 0, or -1 after saying what is missing.
static int
s_row_plan (s_bench_t *self, const s_row_t *row, s_plan_t *plan)
{
    const s_row_def_t *def = row->def;
    if (def->kind == S_ROW_BIG) {
        char path [1024];
        snprintf (path, sizeof (path), "%s/tests/data/event-ruler/bigEventRule.json",
                  self->root);
        char *pattern = s_slurp (path);
        if (!pattern) {
            fprintf (stderr, "bench_match: cannot read %s\n", path);
            return -1;
        }
        //  event-ruler's BigEventTest: the rule matches the event
        s_plan_add (plan, "bigEventRule", pattern, 1);
        return 0;
    }
    if (def->kind == S_ROW_SHAPE) {
        //  Their counts are checked event by event (s_shape_check), not here
        for (size_t i = 0; i < def->scale; i++) {
            char name [40], pattern [BENCH_SHAPE_PATTERN_MAX];
            snprintf (name, sizeof (name), "%s/%zu", bench_shape_letter (s_row_shape (def)), i);
            bench_shape_pattern (s_row_shape (def), i, pattern, sizeof (pattern));
            char *copy = strdup (pattern);
            if (!copy)
                s_out_of_memory ();
            s_plan_add (plan, name, copy, 0);
        }
        return 0;
    }
    for (const char *part = def->parts; *part; part += strspn (part, " ")) {
        size_t length = strcspn (part, " ");
        const s_cl2_set_t *cl2 = s_cl2_set (part, length);
        assert (cl2);
        for (size_t i = 0; i < 5; i++) {
            char name [40];
            snprintf (name, sizeof (name), "%s/%zu", cl2->name, i + 1);
            s_plan_add (plan, name, s_pattern (cl2->rules [i].pattern),
                        self->quick? cl2->rules [i].quick: cl2->rules [i].full);
        }
        part += length;
    }
    if (def->kind == S_ROW_SCALE) {
        size_t extra = def->scale - plan->size;
        char (*values) [8] = s_alloc (extra * 8);
        s_scale_values (&self->corpus, extra, values);
        for (size_t i = 0; i < extra; i++) {
            char name [40], pattern [80];
            snprintf (name, sizeof (name), "absent/%s", values [i]);
            snprintf (pattern, sizeof (pattern), "{\"properties\":{\"MAPBLKLOT\":[\"%s\"]}}",
                      values [i]);
            s_plan_add (plan, name, strdup (pattern), 0);
        }
        free (values);
    }
    return 0;
}

//  Compile the plan's patterns into a new set and compile the set.
//  Returns the set, or NULL after saying which rule was refused.
static mesh_ruleset_t *
s_row_build (s_row_t *row, const s_plan_t *plan)
{
    mesh_ruleset_t *set = mesh_ruleset_new ();
    if (!set)
        s_out_of_memory ();
    long rss = s_rss_kb ();
    double start = s_clock (CLOCK_MONOTONIC);
    for (size_t i = 0; i < plan->size; i++) {
        mesh_error_t err;
        mesh_rule_t *rule = mesh_rule_new (plan->names [i], plan->patterns [i], SIZE_MAX, &err);
        if (!rule) {
            fprintf (stderr, "bench_match: rule '%s': %s\n  pattern: %s\n",
                     plan->names [i], err.text, plan->patterns [i]);
            goto fail;
        }
        if (mesh_ruleset_add (set, &rule) < 0) {
            fprintf (stderr, "bench_match: rule '%s': the set refused it\n", plan->names [i]);
            mesh_rule_destroy (&rule);
            goto fail;
        }
    }
    double parsed = s_clock (CLOCK_MONOTONIC);
    mesh_error_t err;
    if (mesh_ruleset_compile (set, &err)) {
        fprintf (stderr, "bench_match: %s: mesh_ruleset_compile: %s\n", row->def->name, err.text);
        goto fail;
    }
    row->parse_seconds = parsed - start;
    row->compile_seconds = s_clock (CLOCK_MONOTONIC) - parsed;
    row->memory = mesh_ruleset_memory (set);
    row->rss_growth_kb = s_rss_kb () - rss;
    row->size = mesh_ruleset_size (set);
    return set;
fail:
    mesh_ruleset_destroy (&set);
    return NULL;
}


//  ---------------------------------------------------------------------
//  Running a row: baselines, the set, and the counts

//  Compare the set's per-rule counts with the golden ones, and the
//  interpreter's with the set's; print them, and MISMATCH for any
//  difference, naming the rule.
static s_counts_t
s_row_check (s_bench_t *self, const s_row_t *row, const s_plan_t *plan,
             const uint64_t *tally, const uint64_t *tally_interp)
{
    if (row->set.partial) {
        printf ("  counts: not checked (partial: %zu of %zu events)\n",
                row->set.events, self->corpus.count);
        return S_COUNTS_PARTIAL;
    }
    bool ok = true;
    bool compared = !row->interp.partial && row->def->kind != S_ROW_JSON;
    //  The rules with golden counts, five to a line, as citylots-patterns.md
    //  groups them; the scale rows' absent values are summed
    size_t listed = row->def->kind == S_ROW_SCALE? 5: row->size;
    for (size_t i = 0; i < listed; i++) {
        if (i % 5 == 0)
            printf ("  %-28.*s", (int) strcspn (plan->names [i], "/"), plan->names [i]);
        printf (" %7" PRIu64, tally [i]);
        if (i % 5 == 4 || i + 1 == listed)
            printf ("\n");
    }
    uint64_t absent = 0;
    for (size_t i = 0; i < row->size; i++) {
        if (i >= listed)
            absent += tally [i];
        if (tally [i] != (uint64_t) plan->expected [i]) {
            printf ("  MISMATCH %s: %" PRIu64 " matches, expected %ld\n",
                    plan->names [i], tally [i], plan->expected [i]);
            ok = false;
        }
        if (compared && tally_interp [i] != tally [i]) {
            printf ("  MISMATCH %s: the interpreter counts %" PRIu64 ", the set %" PRIu64 "\n",
                    plan->names [i], tally_interp [i], tally [i]);
            ok = false;
        }
    }
    if (listed < row->size)
        printf ("  %zu absent MAPBLKLOT values: %" PRIu64 " matches (expected 0)\n",
                row->size - listed, absent);
    const char *golden = row->def->kind == S_ROW_BIG? "event-ruler's BigEventTest":
                         self->quick? "the --quick sample's counts": "citylots-synth/README.md";
    if (ok)
        printf ("  counts OK (%s%s)\n", golden, compared? ", and the interpreter agrees": "");
    else
        printf ("  MISMATCH: %s does not count what the golden counts say\n", row->def->name);
    return ok? S_COUNTS_OK: S_COUNTS_MISMATCH;
}

static void
s_timing_print (const char *what, const s_timing_t *timing, size_t count)
{
    char rate [32], best [32], time [32];
    printf ("  %-11s %9s events/s (best %s), %s per event, %d round%s of %ld pass%s",
            what, s_rate_text (1e9 / timing->ns, rate, sizeof (rate)),
            s_rate_text (1e9 / timing->best_ns, best, sizeof (best)),
            s_time_text (timing->ns, time, sizeof (time)),
            timing->rounds, timing->rounds == 1? "": "s",
            timing->passes, timing->passes == 1? "": "es");
    if (timing->partial)
        printf (" over the first %zu of %zu events (partial)", timing->events, count);
    printf ("\n");
    fflush (stdout);
}

static void
s_row_run (s_bench_t *self, s_row_t *row)
{
    const s_row_def_t *def = row->def;
    s_plan_t plan = { 0 };
    mesh_ruleset_t *set = NULL;
    uint64_t *tally = NULL, *tally_interp = NULL;
    const mesh_rule_t **rules = NULL;
    s_events_t big = { 0 };
    const s_events_t *events = &self->corpus;
    row->run = true;

    printf ("\n%s\n", def->name);
    fflush (stdout);
    if (s_row_plan (self, row, &plan))
        goto fail;
    set = s_row_build (row, &plan);
    if (!set)
        goto fail;
    printf ("  %zu rule%s: mesh_rule_new %.3f s, mesh_ruleset_compile %.3f s, "
            "mesh_ruleset_memory %.1f kB\n", row->size, row->size == 1? "": "s", row->parse_seconds,
            row->compile_seconds, (double) row->memory / 1e3);
    if (def->kind == S_ROW_BIG) {
        char path [1024];
        snprintf (path, sizeof (path), "%s/tests/data/event-ruler/bigEvent.json",
                  self->root);
        if (s_events_load_one (self, &big, path))
            goto fail;
        events = &big;
        printf ("  bigEvent.json: %zu B of JSON, %zu B of MessagePack\n",
                big.json_at [1], big.mp_at [1]);
    }
    self->hits = (uint32_t *) realloc (self->hits, row->size * sizeof (uint32_t));
    tally = (uint64_t *) s_alloc (row->size * sizeof (uint64_t));
    tally_interp = (uint64_t *) s_alloc (row->size * sizeof (uint64_t));
    rules = (const mesh_rule_t **) s_alloc (row->size * sizeof (mesh_rule_t *));
    if (!self->hits)
        s_out_of_memory ();
    for (size_t i = 0; i < row->size; i++)
        rules [i] = mesh_ruleset_rule (set, i);

    long errors = self->errors;
    s_job_t walk = { .engine = S_WALK, .events = events };
    s_job_t match = { .engine = def->kind == S_ROW_JSON? S_JSON: S_SET,
                      .events = events, .set = set, .size = row->size };
    s_job_t interp = { .engine = S_RULES, .events = events, .set = set,
                       .rules = rules, .size = row->size };
    s_measure (self, &walk, NULL, &row->walk);
    s_timing_print ("walk", &row->walk, events->count);
    s_measure (self, &match, tally, &row->set);
    s_timing_print (def->kind == S_ROW_JSON? "json+match": "ruleset", &row->set, events->count);
    if (def->kind != S_ROW_JSON) {
        s_measure (self, &interp, tally_interp, &row->interp);
        s_timing_print ("interpreter", &row->interp, events->count);
    }
    if (self->errors > errors) {
        printf ("  MISMATCH: the engine refused %ld events: %s\n",
                self->errors - errors, self->error.text);
        row->counts = S_COUNTS_MISMATCH;
    }
    else
        row->counts = s_row_check (self, row, &plan, tally, tally_interp);
    goto done;

fail:
    printf ("  MISMATCH: %s could not be built or loaded\n", def->name);
    row->counts = S_COUNTS_MISMATCH;
done:
    if (row->counts == S_COUNTS_MISMATCH)
        self->failed = true;
    fflush (stdout);
    s_events_fini (&big);
    free (rules);
    free (tally);
    free (tally_interp);
    s_plan_fini (&plan);
    mesh_ruleset_destroy (&set);
}


//  ---------------------------------------------------------------------
//  The shape rows: a generated stream, checked event by event, then timed

//  Generate a shape row's stream: count events, as the generator made
//  them (made) and as MessagePack in one arena (events; no JSON). Returns
//  0, or -1 after saying which event could not be encoded.
static int
s_shape_events (const s_row_def_t *def, size_t count, s_events_t *events, bench_event_t *made)
{
    bench_shape_stream_t stream;
    bench_shape_stream_init (&stream, s_row_shape (def), def->scale);
    size_t used = 0, capacity = 0;
    events->count = count;
    events->json_at = (size_t *) s_alloc ((count + 1) * sizeof (size_t));
    events->mp_at = (size_t *) s_alloc ((count + 1) * sizeof (size_t));
    for (size_t i = 0; i < count; i++) {
        bench_shape_event (&stream, &made [i]);
        void *data;
        size_t size;
        mesh_error_t err;
        if (bench_event_encode (&made [i], &data, &size, &err)) {
            fprintf (stderr, "bench_match: %s: event %zu: %s\n", def->name, i, err.text);
            return -1;
        }
        events->mp_at [i] = used;
        s_append ((char **) &events->mp, &used, &capacity, data, size);
        free (data);
    }
    events->mp_at [count] = used;
    return 0;
}

//  The first rule index in one of two ascending lists and not the other,
//  or -1 when they are the same.
static long
s_first_difference (const uint32_t *a, size_t a_count, const uint32_t *b, size_t b_count)
{
    size_t i = 0, j = 0;
    while (i < a_count && j < b_count && a [i] == b [j])
        i++, j++;
    if (i == a_count && j == b_count)
        return -1;
    if (i == a_count)
        return b [j];
    if (j == b_count)
        return a [i];
    return a [i] < b [j]? a [i]: b [j];
}

//  Say how an event's answers differ: the two lists, and the first rule
//  in one and not the other with its pattern.
static void
s_shape_show (const mesh_ruleset_t *set, const bench_event_t *event, size_t index,
              const char *who, const uint32_t *got, size_t got_count,
              const uint32_t *want, size_t want_count)
{
    printf ("  MISMATCH event %zu (source %s, detail-type %s, customer_id %s, account_id %s, "
            "order_id %s, amount %ld.%02ld, status '%s', coupon '%s'): %s matches %zu rules, "
            "the generator expects %zu\n", index, event->source, event->detail_type,
            event->customer_id, event->account_id, event->order_id, event->cents / 100,
            event->cents % 100, event->status, event->coupon, who, got_count, want_count);
    long rule = s_first_difference (got, got_count, want, want_count);
    if (rule >= 0) {
        char pattern [BENCH_SHAPE_PATTERN_MAX];
        bench_shape_pattern (event->shape, (size_t) rule, pattern, sizeof (pattern));
        printf ("    first difference: rule %s: %s\n",
                mesh_rule_name (mesh_ruleset_rule (set, (size_t) rule)), pattern);
    }
}

//  Every event of the stream through the set (mesh_ruleset_match_event)
//  against the rules the generator built it to match; up to
//  S_SHAPE_INTERP_MAX rules, the first events through the interpreter as
//  well, rule by rule. Fills the row's events, matches, most and
//  interp_events. When the set matches so many rules per event that
//  checking the whole stream would take more than half of --budget, the
//  stream is cut to the events checked by then, and only those are timed.
static s_counts_t
s_shape_check (s_bench_t *self, s_row_t *row, const mesh_ruleset_t *set,
               s_events_t *events, const bench_event_t *made)
{
    uint32_t *want = (uint32_t *) s_alloc (row->size * sizeof (uint32_t));
    uint32_t *interp = (uint32_t *) s_alloc (row->size * sizeof (uint32_t));
    size_t interp_events = self->quick? S_SHAPE_INTERP_QUICK: S_SHAPE_INTERP;
    if (interp_events > events->count)
        interp_events = events->count;
    if (row->size > S_SHAPE_INTERP_MAX)
        interp_events = 0;
    long wrong = 0;
    uint64_t interp_matches = 0, interp_wanted = 0;
    double interp_seconds = 0;
    row->matches = 0;
    row->most = 0;
    double began = s_clock (CLOCK_THREAD_CPUTIME_ID);
    for (size_t e = 0; e < events->count; e++) {
        //  The interpreter's time does not count: the cut is for the set's
        if (e >= interp_events && e % 64 == 0 && e > 0
        &&  s_clock (CLOCK_THREAD_CPUTIME_ID) - began - interp_seconds > self->budget_seconds / 2) {
            printf ("  the stream is cut to its first %zu of %zu events: checking them took "
                    "half of --budget (%.0f s)\n", e, events->count, self->budget_seconds);
            events->count = e;
            break;
        }
        const uint8_t *data = events->mp + events->mp_at [e];
        size_t size = events->mp_at [e + 1] - events->mp_at [e];
        size_t wanted = bench_shape_expect (&made [e], want);
        mesh_error_t err;
        int count = mesh_ruleset_match_event (set, data, size, &self->event_limits,
                                              self->hits, &err);
        if (count < 0) {
            if (wrong++ < 3)
                printf ("  MISMATCH event %zu: mesh_ruleset_match_event refused it: %s\n",
                        e, err.text);
            continue;
        }
        row->matches += (uint64_t) count;
        if ((size_t) count > row->most)
            row->most = (size_t) count;
        if ((size_t) count != wanted || memcmp (self->hits, want, wanted * sizeof (uint32_t)))
            if (wrong++ < 3)
                s_shape_show (set, &made [e], e, "the set", self->hits, (size_t) count,
                              want, wanted);
        if (e >= interp_events)
            continue;
        double start = s_clock (CLOCK_THREAD_CPUTIME_ID);
        size_t got = 0;
        bool refused = false;
        for (size_t i = 0; i < row->size; i++) {
            int rc = mesh_rule_match (mesh_ruleset_rule (set, i), data, size, &err);
            refused |= rc < 0;
            if (rc > 0)
                interp [got++] = (uint32_t) i;
        }
        interp_seconds += s_clock (CLOCK_THREAD_CPUTIME_ID) - start;
        interp_matches += got;
        interp_wanted += wanted;
        if (refused || got != wanted || memcmp (interp, want, wanted * sizeof (uint32_t)))
            if (wrong++ < 3)
                s_shape_show (set, &made [e], e, refused? "the interpreter (which refused it)":
                              "the interpreter", interp, got, want, wanted);
    }
    row->interp_events = interp_events;
    row->events = events->count;
    free (want);
    free (interp);
    if (wrong) {
        printf ("  MISMATCH: %s: %ld disagreement%s over %zu events\n", row->def->name, wrong,
                wrong == 1? "": "s", events->count);
        return S_COUNTS_MISMATCH;
    }
    printf ("  counts OK: %" PRIu64 " matches over %zu events (%.2f per event, at most %zu), "
            "each event's rules those the generator built it to match\n", row->matches,
            events->count, (double) row->matches / (double) events->count, row->most);
    if (interp_events) {
        char time [32];
        printf ("  and the interpreter agrees on the first %zu events: %" PRIu64 " matches, "
                "%s per event rule by rule\n", interp_events, interp_matches,
                s_time_text (interp_seconds * 1e9 / (double) interp_events, time, sizeof (time)));
        assert (interp_matches == interp_wanted);
    }
    return S_COUNTS_OK;
}

//  The rate of job against small's, from S_PAIRS pairs of whole passes,
//  one of each, the order swapped from pair to pair: the median ratio and
//  its quartiles go into row.
static void
s_measure_pair (s_bench_t *self, const s_job_t *small, const s_job_t *job, s_row_t *row)
{
    double ratios [S_PAIRS];
    for (int pair = 0; pair < S_PAIRS; pair++) {
        double ns [2];
        for (int k = 0; k < 2; k++) {
            const s_job_t *which = (k == (pair & 1))? small: job;
            double cpu = s_clock (CLOCK_THREAD_CPUTIME_ID);
            double wall = s_clock (CLOCK_MONOTONIC);
            double start = s_now (self);
            s_sink += s_pass (self, which, which->events->count, NULL);
            ns [which == small? 0: 1] = s_now (self) - start;
            self->cpu_seconds += s_clock (CLOCK_THREAD_CPUTIME_ID) - cpu;
            self->wall_seconds += s_clock (CLOCK_MONOTONIC) - wall;
        }
        //  Rates per event: the two streams hold as many events
        ratios [pair] = (ns [0] / (double) small->events->count) / (ns [1] / (double) job->events->count);
    }
    qsort (ratios, S_PAIRS, sizeof (double), s_compare_double);
    row->paired = ratios [S_PAIRS / 2];
    row->paired_low = ratios [S_PAIRS / 4];
    row->paired_high = ratios [S_PAIRS - 1 - S_PAIRS / 4];
}

static void
s_shape_run (s_bench_t *self, s_row_t *row)
{
    const s_row_def_t *def = row->def;
    s_plan_t plan = { 0 };
    s_events_t events = { 0 };
    mesh_ruleset_t *set = NULL;
    size_t count = self->quick? S_SHAPE_EVENTS_QUICK: S_SHAPE_EVENTS;
    bench_event_t *made = (bench_event_t *) s_alloc (count * sizeof (bench_event_t));
    row->run = true;

    printf ("\n%s: (%s) %s\n", def->name, bench_shape_letter (s_row_shape (def)),
            bench_shape_about (s_row_shape (def)));
    fflush (stdout);
    double start = s_clock (CLOCK_MONOTONIC);
    if (s_shape_events (def, count, &events, made))
        goto fail;
    printf ("  %zu events generated in %.2f s, %.0f B of MessagePack each\n", count,
            s_clock (CLOCK_MONOTONIC) - start, (double) events.mp_at [count] / (double) count);
    if (s_row_plan (self, row, &plan))
        goto fail;
    set = s_row_build (row, &plan);
    if (!set)
        goto fail;
    printf ("  %zu rule%s: mesh_rule_new %.3f s, mesh_ruleset_compile %.3f s, "
            "mesh_ruleset_memory %.1f kB, resident memory +%.1f MB\n", row->size,
            row->size == 1? "": "s", row->parse_seconds, row->compile_seconds,
            (double) row->memory / 1e3, (double) row->rss_growth_kb / 1e3);
    self->hits = (uint32_t *) realloc (self->hits, row->size * sizeof (uint32_t));
    if (!self->hits)
        s_out_of_memory ();

    row->counts = s_shape_check (self, row, set, &events, made);
    long errors = self->errors;
    s_job_t walk = { .engine = S_WALK, .events = &events };
    s_job_t match = { .engine = S_EVENT, .events = &events, .set = set, .size = row->size };
    s_measure (self, &walk, NULL, &row->walk);
    s_timing_print ("walk", &row->walk, events.count);
    s_measure (self, &match, NULL, &row->set);
    s_timing_print ("match_event", &row->set, events.count);
    bench_shape_t shape = s_row_shape (def);
    if (def->scale == 5 && !self->small_set [shape]) {
        self->small_set [shape] = set;          //  kept, with its events, for the pairs
        self->small_events [shape] = events;
        set = NULL;
        memset (&events, 0, sizeof (events));
    }
    else
    if (self->small_set [shape] && !row->set.partial && row->most <= S_SHAPE_RATIO_HITS) {
        s_job_t small = { .engine = S_EVENT, .events = &self->small_events [shape],
                          .set = self->small_set [shape], .size = mesh_ruleset_size (self->small_set [shape]) };
        s_measure_pair (self, &small, &match, row);
        printf ("  against 5 rules  %.3f of the rate (quartiles %.3f to %.3f), %d alternated pairs of passes\n",
                row->paired, row->paired_low, row->paired_high, S_PAIRS);
    }
    if (self->errors > errors) {
        printf ("  MISMATCH: mesh_ruleset_match_event refused %ld events: %s\n",
                self->errors - errors, self->error.text);
        row->counts = S_COUNTS_MISMATCH;
    }
    goto done;

fail:
    printf ("  MISMATCH: %s could not be built\n", def->name);
    row->counts = S_COUNTS_MISMATCH;
done:
    if (row->counts == S_COUNTS_MISMATCH)
        self->failed = true;
    fflush (stdout);
    s_events_fini (&events);
    free (made);
    s_plan_fini (&plan);
    mesh_ruleset_destroy (&set);
}


//  ---------------------------------------------------------------------
//  The report: one table, then the targets that are not a rate

static const char *
s_verdict (bool met)
{
    return met? "met": "missed";
}

//  " 1000 0.942, 10000 0.943, 100000 0.854": a shape's alternated ratios.
static const char *
s_pairs_text (s_bench_t *self, bench_shape_t shape)
{
    static char text [256];
    size_t used = 0;
    text [0] = 0;
    for (size_t i = 0; i < S_ROWS && used < sizeof (text); i++) {
        const s_row_t *row = &self->rows [i];
        if (row->run && row->paired && row->def->kind == S_ROW_SHAPE && s_row_shape (row->def) == shape)
            used += (size_t) snprintf (text + used, sizeof (text) - used, "%s %zu rules %.3f",
                                       used? ",": "", row->size, row->paired);
    }
    return text;
}

//  What one dependent load costs, in ns, over a random cycle through
//  megabytes of memory: the cost, on this machine now, of each rule a large
//  set must read for an event, when it is not in a cache.
static double
s_load_ns (size_t megabytes)
{
    size_t lines = megabytes * 1024 * 1024 / 64;
    uint64_t *memory = (uint64_t *) s_alloc (lines * 64);
    uint32_t *order = (uint32_t *) s_alloc (lines * sizeof (uint32_t));
    for (size_t i = 0; i < lines; i++)
        order [i] = (uint32_t) i;
    uint64_t state = 0x9e3779b97f4a7c15;
    for (size_t i = lines - 1; i > 0; i--) {         //  a random cycle through every line
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        size_t j = (size_t) (state % (i + 1));
        uint32_t swap = order [i];
        order [i] = order [j];
        order [j] = swap;
    }
    for (size_t i = 0; i < lines; i++)
        memory [(size_t) order [i] * 8] = (uint64_t) order [(i + 1) % lines] * 8;
    const long steps = 2000000;
    uint64_t at = (uint64_t) order [0] * 8;
    double start = s_clock (CLOCK_MONOTONIC);
    for (long i = 0; i < steps; i++)
        at = memory [at];
    double ns = (s_clock (CLOCK_MONOTONIC) - start) * 1e9 / (double) steps;
    s_sink += at;
    free (order);
    free (memory);
    return ns;
}

//  The shape rows' table, then each shape from 5 rules to its largest set.
static void
s_shapes_report (s_bench_t *self)
{
    bool any = false;
    for (size_t i = 0; i < S_ROWS; i++)
        any |= self->rows [i].run && s_row_defs [i].kind == S_ROW_SHAPE;
    if (!any)
        return;
    printf ("\nshapes: mesh_ruleset_match_event over generated events\n");
    printf ("%-15s %6s %6s %10s %10s %9s %7s %9s %6s %7s %7s %9s %8s  %s\n", "shape", "rules",
            "events", "events/s", "best", "time/ev", "x walk", "match/ev", "most", "new s",
            "compile", "memory", "RSS +", "counts");
    for (size_t i = 0; i < S_ROWS; i++) {
        s_row_t *row = &self->rows [i];
        if (!row->run || row->def->kind != S_ROW_SHAPE)
            continue;
        char rate [32] = "-", best [32] = "-", time [32] = "-", walk [16] = "-", per [16] = "-";
        if (row->set.done) {
            s_rate_text (1e9 / row->set.ns, rate, sizeof (rate));
            s_rate_text (1e9 / row->set.best_ns, best, sizeof (best));
            s_time_text (row->set.ns, time, sizeof (time));
        }
        if (row->set.done && row->walk.done) {
            double times = row->set.ns / row->walk.ns;
            snprintf (walk, sizeof (walk), times < 100? "%.1f": "%.0f", times);
        }
        if (row->events)
            snprintf (per, sizeof (per), "%.2f", (double) row->matches / (double) row->events);
        const char *counts = row->counts == S_COUNTS_OK? "OK": "MISMATCH";
        printf ("%-15s %6zu %6zu %10s %10s %9s %7s %9s %6zu %7.3f %7.3f %6.1f MB %5.1f MB  %s\n",
                row->def->name, row->size, row->events, rate, best, time, walk, per, row->most,
                row->parse_seconds, row->compile_seconds, (double) row->memory / 1e6,
                (double) row->rss_growth_kb / 1e3, counts);
    }
    printf ("\n");
    for (int shape = 0; shape < BENCH_SHAPES; shape++) {
        s_row_t *small = NULL, *large = NULL;
        for (size_t i = 0; i < S_ROWS; i++) {
            s_row_t *row = &self->rows [i];
            if (!row->run || !row->set.done || row->def->kind != S_ROW_SHAPE
            ||  s_row_shape (row->def) != (bench_shape_t) shape)
                continue;
            if (row->def->scale == 5)
                small = row;
            if (!large || row->def->scale > large->def->scale)
                large = row;
        }
        if (!small || !large || large == small)
            continue;
        char from [32], to [32];
        double ratio = large->paired? large->paired: small->set.ns / large->set.ns;
        printf ("(%s) 5 -> %zu rules: %s -> %s events/s, %.3g of the rate at 5 rules%s",
                bench_shape_letter ((bench_shape_t) shape), large->size,
                s_rate_text (1e9 / small->set.ns, from, sizeof (from)),
                s_rate_text (1e9 / large->set.ns, to, sizeof (to)), ratio,
                large->paired? " (alternated)": "");
        if (large->most > S_SHAPE_RATIO_HITS)
            printf (" (target >= %.1f: exempt, up to %zu rules match one event)\n",
                    S_SHAPE_RATIO, large->most);
        else
            printf (" (target >= %.1f: %s%s)\n", S_SHAPE_RATIO, s_verdict (ratio >= S_SHAPE_RATIO),
                    large->size < 100000? "; the target is for 100,000 rules": "");
        if (large->paired)
            printf ("    alternated, 5 rules against each size:%s\n", s_pairs_text (self, (bench_shape_t) shape));
        double seconds = large->parse_seconds + large->compile_seconds;
        printf ("    %zu rules: mesh_rule_new x %zu %.3f s + mesh_ruleset_compile %.3f s = %.3f s "
                "(target < %.0f s: %s); mesh_ruleset_memory %.1f MB (target < %.0f MB: %s)\n",
                large->size, large->size, large->parse_seconds, large->compile_seconds, seconds,
                S_COMPILE_TARGET_S, s_verdict (seconds < S_COMPILE_TARGET_S),
                (double) large->memory / 1e6, S_MEMORY_TARGET_BYTES / 1e6,
                s_verdict ((double) large->memory < S_MEMORY_TARGET_BYTES));
    }
    //  What a rule out of the caches costs here: a 5-rule set is all in L1,
    //  a 100,000-rule one (about 100 MB) cannot be
    printf ("\nmemory, one dependent load over a random cycle: %.0f ns in 1 MB, %.0f ns in 8 MB, "
            "%.0f ns in 128 MB\n", s_load_ns (1), s_load_ns (8), s_load_ns (128));
}

//  The citylots rows' table, then their targets that are not a rate.
static void
s_citylots_report (s_bench_t *self)
{
    bool citylots = false;
    for (size_t i = 0; i < S_ROWS; i++)
        citylots |= self->rows [i].run && s_row_defs [i].kind != S_ROW_SHAPE;
    if (!citylots)
        return;
    printf ("\n%-26s %6s %10s %10s %9s %7s %8s  %-8s  %-13s %s\n", "set", "rules", "events/s",
            "best", "time/ev", "x walk", "x interp", "counts", "target", "");
    s_row_t *exact = s_row (self, "EXACT");
    for (size_t i = 0; i < S_ROWS; i++) {
        s_row_t *row = &self->rows [i];
        if (!row->run || row->def->kind == S_ROW_SHAPE)
            continue;
        char rate [32] = "-", best [32] = "-", time [32] = "-", walk [16] = "-", interp [16] = "-";
        if (row->set.done) {
            s_rate_text (1e9 / row->set.ns, rate, sizeof (rate));
            s_rate_text (1e9 / row->set.best_ns, best, sizeof (best));
            s_time_text (row->set.ns, time, sizeof (time));
        }
        if (row->set.done && row->walk.done) {
            double times = row->set.ns / row->walk.ns;
            snprintf (walk, sizeof (walk), times < 100? "%.1f": "%.0f", times);
        }
        if (row->set.done && row->interp.done)
            snprintf (interp, sizeof (interp), "%.2f", row->interp.ns / row->set.ns);
        const char *counts = row->counts == S_COUNTS_OK? "OK":
                             row->counts == S_COUNTS_PARTIAL? "partial": "MISMATCH";
        const char *verdict = "";
        if (row->def->target_text && row->set.done) {
            if (streq (row->def->name, S_SCALE_TARGET_ROW))
                verdict = exact && exact->set.done?
                    s_verdict (row->set.ns / exact->set.ns <= S_SCALE_TARGET_RATIO): "";
            else
                verdict = s_verdict (1e9 / row->set.ns >= row->def->target);
        }
        printf ("%-26s %6zu %10s %10s %9s %7s %8s  %-8s  %-13s %s\n", row->def->name,
                row->size, rate, best, time, walk, interp, counts,
                row->def->target_text? row->def->target_text: "", verdict);
    }
    printf ("\n");

    //  Scaling: 5 -> 1,000 -> 100,000 exact rules
    if (exact && exact->set.done) {
        const char *scales [] = { "EXACT_1000", S_SCALE_TARGET_ROW };
        for (size_t i = 0; i < 2; i++) {
            s_row_t *row = s_row (self, scales [i]);
            if (!row->run || !row->set.done)
                continue;
            char from [32], to [32];
            double slowdown = row->set.ns / exact->set.ns;
            printf ("exact MAPBLKLOT rules, 5 -> %zu: %s -> %s events/s, %.2fx slower",
                    row->size, s_rate_text (1e9 / exact->set.ns, from, sizeof (from)),
                    s_rate_text (1e9 / row->set.ns, to, sizeof (to)), slowdown);
            if (streq (scales [i], S_SCALE_TARGET_ROW))
                printf (" (target <= %.1fx: %s)", S_SCALE_TARGET_RATIO,
                        s_verdict (slowdown <= S_SCALE_TARGET_RATIO));
            printf ("%s\n", row->set.partial? " [partial]": "");
        }
    }
    s_row_t *scale = s_row (self, S_SCALE_TARGET_ROW);
    if (scale->run && scale->size) {
        double seconds = scale->parse_seconds + scale->compile_seconds;
        printf ("%zu rules: mesh_rule_new x %zu %.3f s + mesh_ruleset_compile %.3f s = %.3f s "
                "(target < %.0f s: %s)\n", scale->size, scale->size, scale->parse_seconds,
                scale->compile_seconds, seconds, S_COMPILE_TARGET_S,
                s_verdict (seconds < S_COMPILE_TARGET_S));
        printf ("%zu rules: mesh_ruleset_memory %.1f MB (target < %.0f MB: %s); "
                "resident memory grew %.1f MB while building\n", scale->size,
                (double) scale->memory / 1e6, S_MEMORY_TARGET_BYTES / 1e6,
                s_verdict ((double) scale->memory < S_MEMORY_TARGET_BYTES),
                (double) scale->rss_growth_kb / 1e3);
    }
    s_row_t *big = s_row (self, "BIG_EVENT");
    if (big->run && big->set.done)
        printf ("bigEvent.json against bigEventRule.json: %.1f us per match, best %.1f us "
                "(target < 1 ms: %s)\n", big->set.ns / 1e3, big->set.best_ns / 1e3,
                s_verdict (big->set.ns < 1e6));
}

static void
s_report (s_bench_t *self)
{
    s_citylots_report (self);
    s_shapes_report (self);
    struct rusage usage;
    getrusage (RUSAGE_SELF, &usage);
    printf ("\nprocess max RSS %.1f MB (all of the above: the corpus as JSON and as MessagePack "
            "when read, the largest rule set)\n", (double) usage.ru_maxrss / 1e3);
    if (self->cpu_seconds > 0)
        printf ("while timing, the bench got %.0f%% of a CPU (wall time / CPU time %.2f); "
                "times above are %s\n", 100 * self->cpu_seconds / self->wall_seconds,
                self->wall_seconds / self->cpu_seconds,
                self->wall? "wall time": "thread CPU time");
    if (self->quick && self->corpus.count)
        printf ("--quick: %zu events, which fit the caches better than the full corpus; the "
                "targets are for the full corpus, so met/missed is only indicative\n",
                self->corpus.count);
    printf ("%s\n", self->failed?
            "MISMATCH: some counts are wrong (see above); exit status 1":
            "counts: every checked count agrees with the golden counts");
}


//  ---------------------------------------------------------------------
//  Options and main

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: bench_match [--quick] [--set NAME]... [--shapes] [--rounds N] [--round SECONDS]\n"
        "                   [--budget SECONDS] [--wall] [--root DIR] [--corpus FILE] [--list]\n"
        "  --quick           the 20,000-event sample, fewer and shorter rounds; the shapes\n"
        "                    on 10,000 events, at 10,000 rules at most unless --set names more\n"
        "  --set NAME        run only this row (repeatable; case and -/_ do not matter);\n"
        "                    SHAPE_A to SHAPE_D name a shape at every size\n"
        "  --shapes          run the shapes (every SHAPE_ row), beside any --set\n"
        "  --rounds N        rounds per measurement, the median is reported (5; quick 3)\n"
        "  --round SECONDS   least time per round (0.25; quick 0.1)\n"
        "  --budget SECONDS  most time per measurement; longer passes go partial (20; quick 3)\n"
        "  --wall            time with the wall clock instead of the thread's CPU time\n"
        "  --root DIR        the repository root, for tests/data and the sample (.)\n"
        "  --corpus FILE     citylots2 JSON lines, .gz or not\n"
        "                    (build/bench-data/citylots2-synth.json.gz; quick: the 20k sample)\n"
        "  --list            print the row names and exit\n");
}

//  Names compare without case, and with - and _ the same.
static bool
s_name_eq (const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = (char) toupper ((unsigned char) (*a == '-'? '_': *a));
        char y = (char) toupper ((unsigned char) (*b == '-'? '_': *b));
        if (x != y)
            return false;
    }
    return *a == *b;
}

//  A group of shape rows, SHAPE_A for SHAPE_A_5 to SHAPE_A_100000: the
//  row's name is the group's, an underscore and a number.
static bool
s_group_eq (const char *row, const char *group)
{
    const char *size = strrchr (row, '_');
    if (!size || strncmp (row, "SHAPE_", 6))
        return false;
    char prefix [32];
    snprintf (prefix, sizeof (prefix), "%.*s", (int) (size - row), row);
    return s_name_eq (prefix, group);
}

//  Returns 0 to run, 1 to exit with success, -1 on a bad argument.
static int
s_options (s_bench_t *self, int argc, char **argv)
{
    int rounds = 0;
    double round_seconds = 0, budget_seconds = 0;
    bool any = false;
    bool named [S_ROWS] = { false };   //  by their own name, which --quick does not skip
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        const char *value = i + 1 < argc? argv [i + 1]: NULL;
        if (streq (arg, "--quick"))
            self->quick = true;
        else
        if (streq (arg, "--wall"))
            self->wall = true;
        else
        if (streq (arg, "--shapes")) {
            for (size_t row = 0; row < S_ROWS; row++)
                if (s_row_defs [row].kind == S_ROW_SHAPE)
                    self->selected [row] = true;
            any = true;
        }
        else
        if (streq (arg, "--list")) {
            for (size_t row = 0; row < S_ROWS; row++)
                printf ("%s\n", s_row_defs [row].name);
            return 1;
        }
        else
        if (streq (arg, "--help") || streq (arg, "-h")) {
            s_usage (stdout);
            return 1;
        }
        else
        if (!value) {
            fprintf (stderr, "bench_match: unknown or incomplete argument '%s'\n", arg);
            return -1;
        }
        else {
            i++;
            if (streq (arg, "--set")) {
                bool found = false;
                for (size_t row = 0; row < S_ROWS; row++)
                    if (s_name_eq (s_row_defs [row].name, value))
                        found = self->selected [row] = named [row] = true;
                    else
                    if (s_group_eq (s_row_defs [row].name, value))
                        found = self->selected [row] = true;
                if (!found) {
                    fprintf (stderr, "bench_match: --set: unknown set '%s' (see --list)\n", value);
                    return -1;
                }
                any = true;
            }
            else
            if (streq (arg, "--rounds"))
                rounds = atoi (value);
            else
            if (streq (arg, "--round"))
                round_seconds = atof (value);
            else
            if (streq (arg, "--budget"))
                budget_seconds = atof (value);
            else
            if (streq (arg, "--root"))
                self->root = value;
            else
            if (streq (arg, "--corpus"))
                self->corpus_path = value;
            else {
                fprintf (stderr, "bench_match: unknown argument '%s' (see --help)\n", arg);
                return -1;
            }
        }
    }
    if (rounds < 0 || rounds > S_ROUNDS_MAX || round_seconds < 0 || budget_seconds < 0) {
        fprintf (stderr, "bench_match: --rounds is 1 to %d, --round and --budget positive\n",
                 S_ROUNDS_MAX);
        return -1;
    }
    self->rounds = rounds? rounds: self->quick? 3: 5;
    self->round_seconds = round_seconds? round_seconds: self->quick? 0.1: 0.25;
    self->budget_seconds = budget_seconds? budget_seconds: self->quick? 3: 20;
    if (!any)
        for (size_t row = 0; row < S_ROWS; row++)
            self->selected [row] = true;
    //  --quick keeps the shapes short: no set above S_SHAPE_QUICK_MAX unless named
    for (size_t row = 0; row < S_ROWS; row++)
        if (self->quick && s_row_defs [row].kind == S_ROW_SHAPE && !named [row]
        &&  s_row_defs [row].scale > S_SHAPE_QUICK_MAX)
            self->selected [row] = false;
    //  The scale rows are reported against EXACT
    for (size_t row = 0; row < S_ROWS; row++)
        if (self->selected [row] && s_row_defs [row].kind == S_ROW_SCALE)
            self->selected [0] = true;
    if (!self->root)
        self->root = ".";
    return 0;
}

int
main (int argc, char **argv)
{
    s_bench_t self = { 0 };
    int rc = s_options (&self, argc, argv);
    if (rc)
        return rc > 0? 0: 1;
    mesh_limits_init (&self.limits);
    mesh_limits_init (&self.event_limits);
    self.limits.max_event_size = 4 << 20;       //  bigEvent.json is 250 kB of JSON
    for (size_t i = 0; i < S_ROWS; i++)
        self.rows [i].def = &s_row_defs [i];

    char sample [1024];
    snprintf (sample, sizeof (sample), "%s/tests/bench/citylots/citylots2-synth-20k.json.gz",
              self.root);
    if (!self.corpus_path)
        self.corpus_path = self.quick? sample: "build/bench-data/citylots2-synth.json.gz";

    //  The corpus, unless only BIG_EVENT runs
    bool corpus_needed = false;
    for (size_t i = 0; i < S_ROWS; i++)
        corpus_needed |= self.selected [i] && s_row_defs [i].kind != S_ROW_BIG
                      && s_row_defs [i].kind != S_ROW_SHAPE;
    if (corpus_needed) {
        double start = s_clock (CLOCK_MONOTONIC);
        if (s_events_load (&self, &self.corpus, self.corpus_path))
            return 1;
        size_t want = self.quick? S_QUICK_EVENTS: S_FULL_EVENTS;
        if (self.corpus.count != want) {
            fprintf (stderr, "bench_match: %s: %zu events, expected %zu (the golden counts are "
                     "for that corpus)\n", self.corpus_path, self.corpus.count, want);
            return 1;
        }
        size_t json = self.corpus.json_at [self.corpus.count];
        size_t mp = self.corpus.mp_at [self.corpus.count];
        printf ("mesh bench-match: %zu events from %s\n", self.corpus.count, self.corpus_path);
        printf ("  JSON %.0f B/event, MessagePack %.0f B/event in one %.1f MB arena; "
                "read and encoded in %.1f s\n", (double) json / (double) self.corpus.count,
                (double) mp / (double) self.corpus.count, (double) mp / 1e6,
                s_clock (CLOCK_MONOTONIC) - start);
    }
    else
        printf ("mesh bench-match\n");
    printf ("  %s; each figure is the median of up to %d rounds of >= %.2f s "
            "(whole passes), the best round beside it\n",
            self.wall? "wall time": "thread CPU time", self.rounds, self.round_seconds);

    for (size_t i = 0; i < S_ROWS; i++)
        if (self.selected [i] && s_row_defs [i].kind == S_ROW_SHAPE)
            s_shape_run (&self, &self.rows [i]);
        else
        if (self.selected [i])
            s_row_run (&self, &self.rows [i]);
    s_report (&self);
    for (int shape = 0; shape < BENCH_SHAPES; shape++) {
        mesh_ruleset_destroy (&self.small_set [shape]);
        s_events_fini (&self.small_events [shape]);
    }
    s_events_fini (&self.corpus);
    free (self.hits);
    return self.failed? 1: 0;
}
