/*  mesh_wildcard.c: how complex the wildcards of one field are

    EventBridge refuses a pattern whose wildcards are too complex: "Rule is
    too complex - try using fewer wildcard characters or fewer repeating
    character sequences after a wildcard character". The measure is
    event-ruler's MachineComplexityEvaluator: over every input string, the
    most wildcard-pattern prefixes that match that whole string at once.
    A prefix is a pattern cut after any of its characters (a literal or a
    `*`); each distinct pattern of the field counts its own prefixes. For
    "*a*a*a*a*", the input "aaaa" is matched by all 9 prefixes ("*", "*a",
    "*a*", ... "*a*a*a*a*"), so its score is 9; for "arn:aws:events:
    us-east-1:*:event-bus/" + "*" it is 3 (the input "arn:aws:events:
    us-east-1:x:event-bus/" is matched by the prefixes that end "1:*",
    "*:event-bus/" and the whole pattern). The score says how many
    matching states the engine may have to carry for one value, which is
    what AWS bounds.

    This is not Ruler's code: it is the definition above, computed directly.
    Each prefix is a state; reading a byte moves every live prefix to the
    prefixes one character longer that still match (a literal byte that is
    equal, or a star that eats it) and keeps prefixes that end in a star;
    a star also matches nothing, so a prefix that reaches one reaches the
    next. A breadth-first search over the sets of live prefixes (a subset
    construction over the bytes the patterns use, plus one byte they do
    not) finds the largest set. It reproduces all 44 scores asserted or
    explained in Ruler's MachineComplexityEvaluatorTest (45 for its 32-
    pattern "Quamina exploder") and the six of the EventBridge notes: 11, 9,
    9, 7, 4 and 3. Like Ruler, it stops as soon as the score passes the
    limit; it also stops, and reports the limit passed, if the search would
    visit more than S_SETS_MAX sets, which no pattern within the limit
    comes near but which bounds the time a hostile pattern can cost.
*/
#include <stdlib.h>
#include "mesh_private.h"
#include "mesh_pattern.h"

#define S_STAR          256             //  the token of an unescaped `*`
#define S_NONE          (-1)            //  no token (before the first, after the last)
#define S_SETS_MAX      100000          //  sets of prefixes visited, at most

typedef struct {
    int16_t *next;              //  per state: the token after it, or S_NONE
    int16_t *prev;              //  per state: the token before it, or S_NONE
    size_t states;
    uint32_t *pool;             //  the sets seen, one after the other
    size_t pool_size, pool_capacity;
    size_t *offsets;            //  per set: where it starts in pool (plus
    size_t set_count;           //  one more entry: where the next would)
    size_t set_capacity;
    size_t *table;              //  hash table of set indexes + 1, 0 = empty
    size_t table_capacity;      //  a power of two
    uint32_t *mark;             //  per state: generation it was added in
    uint32_t generation;
} s_search_t;

static uint64_t
s_hash (const uint32_t *set, size_t size)
{
    uint64_t hash = 1469598103934665603ULL;
    for (size_t i = 0; i < size; i++) {
        hash ^= set [i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

//  Add set (sorted) unless seen before. Returns 1 if added, 0 if seen,
//  -1 when out of memory.
static int
s_add_set (s_search_t *self, const uint32_t *set, size_t size)
{
    if (self->set_count * 2 >= self->table_capacity) {
        size_t capacity = self->table_capacity? self->table_capacity * 2: 1024;
        size_t *table = (size_t *) calloc (capacity, sizeof (size_t));
        if (!table)
            return -1;
        for (size_t i = 0; i < self->set_count; i++) {
            size_t start = self->offsets [i];
            size_t slot = s_hash (self->pool + start, self->offsets [i + 1] - start) & (capacity - 1);
            while (table [slot])
                slot = (slot + 1) & (capacity - 1);
            table [slot] = i + 1;
        }
        free (self->table);
        self->table = table;
        self->table_capacity = capacity;
    }
    size_t slot = s_hash (set, size) & (self->table_capacity - 1);
    while (self->table [slot]) {
        size_t index = self->table [slot] - 1;
        size_t start = self->offsets [index];
        size_t length = self->offsets [index + 1] - start;
        if (length == size && memcmp (self->pool + start, set, size * sizeof (uint32_t)) == 0)
            return 0;
        slot = (slot + 1) & (self->table_capacity - 1);
    }
    if (self->pool_size + size > self->pool_capacity) {
        size_t capacity = self->pool_capacity? self->pool_capacity * 2: 4096;
        while (capacity < self->pool_size + size)
            capacity *= 2;
        uint32_t *pool = (uint32_t *) realloc (self->pool, capacity * sizeof (uint32_t));
        if (!pool)
            return -1;
        self->pool = pool;
        self->pool_capacity = capacity;
    }
    if (self->set_count + 2 > self->set_capacity) {
        size_t capacity = self->set_capacity? self->set_capacity * 2: 1024;
        size_t *offsets = (size_t *) realloc (self->offsets, capacity * sizeof (size_t));
        if (!offsets)
            return -1;
        self->offsets = offsets;
        self->set_capacity = capacity;
    }
    memcpy (self->pool + self->pool_size, set, size * sizeof (uint32_t));
    self->offsets [self->set_count] = self->pool_size;
    self->pool_size += size;
    self->set_count++;
    self->offsets [self->set_count] = self->pool_size;
    self->table [slot] = self->set_count;
    return 1;
}

//  Put state into out (once per generation).
static void
s_put (s_search_t *self, uint32_t state, uint32_t *out, size_t *size)
{
    if (self->mark [state] != self->generation) {
        self->mark [state] = self->generation;
        out [(*size)++] = state;
    }
}

static int
s_compare (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y? -1: x > y;
}

//  The prefixes live after reading byte (or, as -1, a byte no pattern
//  uses) from the live set `from`, closed over stars that match nothing,
//  sorted, into out. Returns their number.
static size_t
s_step (s_search_t *self, const uint32_t *from, size_t from_size, int byte, uint32_t *out)
{
    size_t size = 0;
    self->generation++;
    for (size_t i = 0; i < from_size; i++) {
        uint32_t state = from [i];
        int next = self->next [state];
        if (next == S_STAR || (next == byte && byte >= 0))
            s_put (self, state + 1, out, &size);
        if (self->prev [state] == S_STAR)
            s_put (self, state, out, &size);
    }
    //  A star may match nothing: reaching "a" of "a*b" also reaches "a*"
    for (size_t i = 0; i < size; i++)
        if (self->next [out [i]] == S_STAR)
            s_put (self, out [i] + 1, out, &size);
    qsort (out, size, sizeof (uint32_t), s_compare);
    return size;
}

//  The complexity score of the wildcard patterns of one field, as written
//  (`\*` a literal star, `\\` a backslash; already checked valid); equal
//  patterns count once. Returns the score if it is at most limit, a number
//  above limit as soon as the score passes it (or the search grows past
//  S_SETS_MAX sets), or -1 when out of memory.

int
mesh__wildcard_complexity (const char *const *patterns, const size_t *sizes, size_t count, int limit)
{
    assert (patterns || count == 0);
    s_search_t self = { 0 };
    uint32_t *start = NULL, *work = NULL, *from = NULL;
    bool bytes [256] = { false };
    bool stars = false;
    int score = 0;

    //  States: for each distinct pattern of n tokens, n + 1 prefixes
    //  (the empty one first); a token is a byte or a star.
    size_t states = 0;
    for (size_t p = 0; p < count; p++)
        states += sizes [p] + 1;
    self.next = (int16_t *) malloc ((states + 1) * sizeof (int16_t));
    self.prev = (int16_t *) malloc ((states + 1) * sizeof (int16_t));
    self.mark = (uint32_t *) calloc (states + 1, sizeof (uint32_t));
    start = (uint32_t *) malloc ((count + 1) * sizeof (uint32_t));
    if (!self.next || !self.prev || !self.mark || !start)
        goto nomem;
    size_t start_size = 0;
    for (size_t p = 0; p < count; p++) {
        bool duplicate = false;
        for (size_t q = 0; q < p && !duplicate; q++)
            duplicate = sizes [q] == sizes [p] && memcmp (patterns [q], patterns [p], sizes [p]) == 0;
        if (duplicate)
            continue;
        start [start_size++] = (uint32_t) self.states;
        self.prev [self.states] = S_NONE;
        const char *text = patterns [p];
        for (size_t i = 0; i < sizes [p]; i++) {
            int token;
            if (text [i] == '\\' && i + 1 < sizes [p])
                token = (uint8_t) text [++i];
            else
            if (text [i] == '*')
                token = S_STAR;
            else
                token = (uint8_t) text [i];
            if (token == S_STAR)
                stars = true;
            else
                bytes [token] = true;
            self.next [self.states] = (int16_t) token;
            self.states++;
            self.prev [self.states] = (int16_t) token;
        }
        self.next [self.states] = S_NONE;
        self.states++;
    }
    work = (uint32_t *) malloc ((self.states + 1) * sizeof (uint32_t));
    from = (uint32_t *) malloc ((self.states + 1) * sizeof (uint32_t));
    if (!work || !from)
        goto nomem;

    //  The empty input is not counted (Ruler starts from the first byte);
    //  the start set is the empty prefixes, closed over leading stars
    self.generation++;
    size_t size = 0;
    for (size_t i = 0; i < start_size; i++)
        s_put (&self, start [i], work, &size);
    for (size_t i = 0; i < size; i++)
        if (self.next [work [i]] == S_STAR)
            s_put (&self, work [i] + 1, work, &size);
    qsort (work, size, sizeof (uint32_t), s_compare);
    if (s_add_set (&self, work, size) < 0)
        goto nomem;

    for (size_t visit = 0; visit < self.set_count; visit++) {
        for (int byte = -1; byte < 256; byte++) {
            if ((byte < 0 && !stars) || (byte >= 0 && !bytes [byte]))
                continue;
            //  The pool may move when it grows: step from a copy
            size_t from_start = self.offsets [visit];
            size_t from_size = self.offsets [visit + 1] - from_start;
            memcpy (from, self.pool + from_start, from_size * sizeof (uint32_t));
            size_t next_size = s_step (&self, from, from_size, byte, work);
            if (next_size == 0)
                continue;
            if ((int) next_size > score)
                score = (int) next_size;
            if (score > limit)
                goto done;
            int added = s_add_set (&self, work, next_size);
            if (added < 0)
                goto nomem;
            if (self.set_count > S_SETS_MAX) {
                score = limit + 1;
                goto done;
            }
        }
    }
    goto done;

nomem:
    score = -1;
done:
    free (self.next);
    free (self.prev);
    free (self.mark);
    free (self.pool);
    free (self.offsets);
    free (self.table);
    free (start);
    free (work);
    free (from);
    return score;
}
