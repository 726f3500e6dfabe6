/*  bench_shapes.c: rule sets of the shapes people write, and events for them

    See bench_shapes.h. Each shape is three functions of plain C: rule i's
    pattern, the next event of a stream, and the rules an event matches.
    The third is the golden count at every size: it reads the generator's
    own strings and numbers (never mesh's matchers), and walks only the
    rules that can match (the few rules of one source and detail-type, the
    prefixes of one account number), so it costs little at 100,000 rules.

    The shapes, rule i of each:
    (a) team: {"source": ["demo.payments"], "detail-type": ["Payment
        Processed"], "detail": {F: ["p-k"]}}, with F customer_id,
        merchant_id, account_id for i % 3 = 0, 1, 2 and k = i / 3: what each
        team's rule on a shared bus looks like. An event carries each of the
        three fields, two times in three a value some rule names, and one
        event in ten is a Payment Refunded that no rule wants: about 1.8
        rules match an event at every size.
    (b) services: source com.shop.svcS, S = i % 100, detail-type "Payment
        Step T", T = i / 100 % 50, and one condition of kind (i + i / 5000)
        % 5: detail.customer_id "c-i"; detail.order_id with prefix "o-i-";
        detail.amount in [lo, lo + 50); detail.status anything-but "st-i";
        detail.coupon exists. Each event is built to match one rule drawn
        from the set (one in ten is from a source no rule names), so the
        rules of its source and detail-type are the only ones it can
        match: 1 at 1,000 rules and fewer, 20 at 100,000.
    (c) negative: i even: detail.status anything-but "st-i"; i odd:
        detail.status exists: false (the same pattern for every odd rule:
        on one field there is only one). Seven events in ten carry a
        status "st-k" with k drawn below N, which one rule excludes at
        most, the others none: about half the rules match every event.
    (d) prefixes: detail.account_id with prefix "acct-i" (i even), wildcard
        "acct-i*-R" (i % 4 = 1, R one of eu, us, ap) or "acct-i*" (i % 4 =
        3). The accounts of events are "acct-M-R" with M of eight digits,
        so the rules of every prefix of M match: "acct-1", "acct-12",
        "acct-123" overlap, and up to 5 rules match at 100,000.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_shapes.h"

#define S_SEED              UINT64_C (0x7368617065732038)  //  "shapes 8": the same events every run
#define S_TEAM_SOURCE       "demo.payments"
#define S_TEAM_TYPE         "Payment Processed"
#define S_SERVICES          100                             //  (b): sources
#define S_STEPS             50                              //  (b): detail-types per source
#define S_COMBOS            (S_SERVICES * S_STEPS)
#define S_RANGE_WIDTH       50                              //  (b): amount ranges, in units

static const char *s_team_fields [3] = { "customer_id", "merchant_id", "account_id" };
static const char s_team_prefix [3] = { 'c', 'm', 'a' };
static const char *s_regions [3] = { "eu", "us", "ap" };
static const char *s_currencies [3] = { "EUR", "USD", "GBP" };

static const struct {
    const char *letter;
    const char *about;
} s_shapes [BENCH_SHAPES] = {
    { "a", "source, detail-type and one detail value of its own (customer, merchant or account)" },
    { "b", "100 sources x 50 detail-types, one condition each: exact, prefix, range, "
           "anything-but, exists" },
    { "c", "anything-but one status each (i even) or status exists:false (i odd)" },
    { "d", "detail.account_id: nested prefixes \"acct-1\", \"acct-12\"..., and wildcards "
           "\"acct-1*-eu\", \"acct-1*\"" },
};

const char *
bench_shape_letter (bench_shape_t shape)
{
    return s_shapes [shape].letter;
}

const char *
bench_shape_about (bench_shape_t shape)
{
    return s_shapes [shape].about;
}

//  xorshift64*: plenty for drawing values, and the same on every machine.
static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C (2685821657736338717);
}

//  A number below bound (bound > 0).
static size_t
s_below (bench_shape_stream_t *self, size_t bound)
{
    return (size_t) (s_random (&self->state) % bound);
}

//  (b): rule i's kind of condition, and its amount range's lower bound.
typedef enum { S_EXACT, S_PREFIX, S_RANGE, S_ANYTHING_BUT, S_EXISTS } s_kind_t;

static s_kind_t
s_services_kind (size_t i)
{
    return (s_kind_t) ((i + i / S_COMBOS) % 5);
}

static long
s_services_low (size_t i)
{
    return (long) (i * 37 % 950);
}

//  (d): the region of a wildcard rule that names one.
static const char *
s_prefixes_region (size_t i)
{
    return s_regions [i / 4 % 3];
}

void
bench_shape_pattern (bench_shape_t shape, size_t i, char *pattern, size_t size)
{
    switch (shape) {
        case BENCH_SHAPE_TEAM:
            snprintf (pattern, size, "{\"source\":[\"" S_TEAM_SOURCE "\"],\"detail-type\":[\""
                      S_TEAM_TYPE "\"],\"detail\":{\"%s\":[\"%c-%zu\"]}}",
                      s_team_fields [i % 3], s_team_prefix [i % 3], i / 3);
            break;
        case BENCH_SHAPE_SERVICES: {
            char condition [96];
            switch (s_services_kind (i)) {
                case S_EXACT:
                    snprintf (condition, sizeof (condition), "\"customer_id\":[\"c-%zu\"]", i);
                    break;
                case S_PREFIX:
                    snprintf (condition, sizeof (condition), "\"order_id\":[{\"prefix\":\"o-%zu-\"}]", i);
                    break;
                case S_RANGE:
                    snprintf (condition, sizeof (condition),
                              "\"amount\":[{\"numeric\":[\">=\",%ld,\"<\",%ld]}]",
                              s_services_low (i), s_services_low (i) + S_RANGE_WIDTH);
                    break;
                case S_ANYTHING_BUT:
                    snprintf (condition, sizeof (condition),
                              "\"status\":[{\"anything-but\":[\"st-%zu\"]}]", i);
                    break;
                case S_EXISTS:
                    snprintf (condition, sizeof (condition), "\"coupon\":[{\"exists\":true}]");
                    break;
            }
            snprintf (pattern, size, "{\"source\":[\"com.shop.svc%02zu\"],"
                      "\"detail-type\":[\"Payment Step %02zu\"],\"detail\":{%s}}",
                      i % S_SERVICES, i / S_SERVICES % S_STEPS, condition);
            break;
        }
        case BENCH_SHAPE_NEGATIVE:
            if (i % 2 == 0)
                snprintf (pattern, size, "{\"detail\":{\"status\":[{\"anything-but\":[\"st-%zu\"]}]}}", i);
            else
                snprintf (pattern, size, "{\"detail\":{\"status\":[{\"exists\":false}]}}");
            break;
        case BENCH_SHAPE_PREFIXES:
            if (i % 2 == 0)
                snprintf (pattern, size, "{\"detail\":{\"account_id\":[{\"prefix\":\"acct-%zu\"}]}}", i);
            else
            if (i % 4 == 1)
                snprintf (pattern, size, "{\"detail\":{\"account_id\":[{\"wildcard\":\"acct-%zu*-%s\"}]}}",
                          i, s_prefixes_region (i));
            else
                snprintf (pattern, size, "{\"detail\":{\"account_id\":[{\"wildcard\":\"acct-%zu*\"}]}}", i);
            break;
        case BENCH_SHAPES:
            break;
    }
}

void
bench_shape_stream_init (bench_shape_stream_t *self, bench_shape_t shape, size_t rules)
{
    self->shape = shape;
    self->rules = rules;
    self->state = S_SEED ^ ((uint64_t) shape << 40) ^ (uint64_t) rules;
    for (int i = 0; i < 8; i++)
        s_random (&self->state);
}

void
bench_shape_event (bench_shape_stream_t *self, bench_event_t *event)
{
    const size_t rules = self->rules;
    memset (event, 0, sizeof (*event));
    event->shape = self->shape;
    event->rules = rules;

    //  What every payment carries, drawn so that it names no rule by chance
    //  (x: a value no rule names) unless a shape below says otherwise
    uint64_t a = s_random (&self->state), b = s_random (&self->state);
    snprintf (event->id, sizeof (event->id), "%08x-%04x-4%03x-%c%03x-%012llx",
              (unsigned) (a >> 32), (unsigned) (a >> 16) & 0xffff, (unsigned) a & 0xfff,
              "89ab" [b >> 62], (unsigned) (b >> 32) & 0xfff,
              (unsigned long long) (b & UINT64_C (0xffffffffffff)));
    snprintf (event->source, sizeof (event->source), S_TEAM_SOURCE);
    snprintf (event->detail_type, sizeof (event->detail_type), S_TEAM_TYPE);
    snprintf (event->customer_id, sizeof (event->customer_id), "c-x%zu", s_below (self, 1000000));
    snprintf (event->merchant_id, sizeof (event->merchant_id), "m-x%zu", s_below (self, 10000));
    snprintf (event->account_id, sizeof (event->account_id), "a-x%zu", s_below (self, 1000000));
    snprintf (event->order_id, sizeof (event->order_id), "o-x%zu", s_below (self, 100000000));
    event->cents = (long) s_below (self, 100000);
    snprintf (event->currency, sizeof (event->currency), "%s", s_currencies [s_below (self, 3)]);

    switch (self->shape) {
        case BENCH_SHAPE_TEAM:
            if (s_below (self, 10) == 0)
                snprintf (event->detail_type, sizeof (event->detail_type), "Payment Refunded");
            for (size_t field = 0; field < 3; field++) {
                size_t named = (rules + 2 - field) / 3;     //  rules on this field
                if (named == 0 || s_below (self, 3) == 0)
                    continue;
                char *value = field == 0? event->customer_id:
                              field == 1? event->merchant_id: event->account_id;
                snprintf (value, sizeof (event->customer_id), "%c-%zu",
                          s_team_prefix [field], s_below (self, named));
            }
            break;
        case BENCH_SHAPE_SERVICES: {
            snprintf (event->status, sizeof (event->status), "st-x%zu", s_below (self, 1000));
            if (s_below (self, 10) == 0) {
                snprintf (event->source, sizeof (event->source), "com.shop.unrouted");
                snprintf (event->detail_type, sizeof (event->detail_type), "Payment Step 00");
                break;
            }
            //  The rule it is built for, and values the others may or may not hold
            size_t rule = s_below (self, rules);
            snprintf (event->source, sizeof (event->source), "com.shop.svc%02zu", rule % S_SERVICES);
            snprintf (event->detail_type, sizeof (event->detail_type), "Payment Step %02zu",
                      rule / S_SERVICES % S_STEPS);
            snprintf (event->customer_id, sizeof (event->customer_id), "c-%zu", s_below (self, rules));
            snprintf (event->order_id, sizeof (event->order_id), "o-%zu-%zu",
                      s_below (self, rules), s_below (self, 100000));
            if (s_below (self, 5) == 0)
                event->status [0] = 0;
            else
                snprintf (event->status, sizeof (event->status), "st-%zu", s_below (self, rules));
            if (s_below (self, 2))
                snprintf (event->coupon, sizeof (event->coupon), "SAVE%zu", s_below (self, 100));
            switch (s_services_kind (rule)) {
                case S_EXACT:
                    snprintf (event->customer_id, sizeof (event->customer_id), "c-%zu", rule);
                    break;
                case S_PREFIX:
                    snprintf (event->order_id, sizeof (event->order_id), "o-%zu-%zu", rule,
                              s_below (self, 100000));
                    break;
                case S_RANGE:
                    event->cents = s_services_low (rule) * 100
                                 + (long) s_below (self, S_RANGE_WIDTH * 100);
                    break;
                case S_ANYTHING_BUT:
                    snprintf (event->status, sizeof (event->status), "st-x%zu", s_below (self, 1000));
                    break;
                case S_EXISTS:
                    snprintf (event->coupon, sizeof (event->coupon), "SAVE%zu", s_below (self, 100));
                    break;
            }
            break;
        }
        case BENCH_SHAPE_NEGATIVE:
            if (s_below (self, 10) < 7)
                snprintf (event->status, sizeof (event->status), "st-%zu", s_below (self, rules));
            break;
        case BENCH_SHAPE_PREFIXES:
            snprintf (event->account_id, sizeof (event->account_id), "acct-%zu-%s",
                      10000000 + s_below (self, 90000000), s_regions [s_below (self, 3)]);
            break;
        case BENCH_SHAPES:
            break;
    }
}

//  The number that text holds after prefix, written as %zu writes it (no
//  sign, no leading zero, nothing after); -1 for any other text.
static long
s_number_after (const char *text, const char *prefix)
{
    size_t length = strlen (prefix);
    if (strncmp (text, prefix, length))
        return -1;
    text += length;
    if (!*text || (*text == '0' && text [1]) || strlen (text) > 12)
        return -1;
    long number = 0;
    for (; *text; text++) {
        if (*text < '0' || *text > '9')
            return -1;
        number = number * 10 + (*text - '0');
    }
    return number;
}

//  The number of text's two last characters, when text is prefix and two
//  digits, as %02zu writes them; -1 otherwise.
static long
s_two_digits_after (const char *text, const char *prefix)
{
    size_t length = strlen (prefix);
    if (strncmp (text, prefix, length) || strlen (text) != length + 2
    ||  text [length] < '0' || text [length] > '9'
    ||  text [length + 1] < '0' || text [length + 1] > '9')
        return -1;
    return (text [length] - '0') * 10 + text [length + 1] - '0';
}

//  (b): does the event hold rule i's condition? The event's source and
//  detail-type are the rule's.
static bool
s_services_holds (const bench_event_t *event, size_t i)
{
    char text [40];
    switch (s_services_kind (i)) {
        case S_EXACT:
            return s_number_after (event->customer_id, "c-") == (long) i;
        case S_PREFIX:
            snprintf (text, sizeof (text), "o-%zu-", i);
            return strncmp (event->order_id, text, strlen (text)) == 0;
        case S_RANGE:
            //  amount is cents / 100 as a double: >= lo exactly when cents >= 100 lo
            return event->cents >= s_services_low (i) * 100
                && event->cents < (s_services_low (i) + S_RANGE_WIDTH) * 100;
        case S_ANYTHING_BUT:
            //  anything-but never matches a missing field
            return event->status [0] && s_number_after (event->status, "st-") != (long) i;
        case S_EXISTS:
            return event->coupon [0] != 0;
    }
    return false;
}

static int
s_compare_index (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

size_t
bench_shape_expect (const bench_event_t *event, uint32_t *hits)
{
    const size_t rules = event->rules;
    size_t count = 0;
    switch (event->shape) {
        case BENCH_SHAPE_TEAM: {
            if (strcmp (event->source, S_TEAM_SOURCE) || strcmp (event->detail_type, S_TEAM_TYPE))
                break;
            const char *values [3] = { event->customer_id, event->merchant_id, event->account_id };
            for (size_t field = 0; field < 3; field++) {
                char prefix [3] = { s_team_prefix [field], '-', 0 };
                long k = s_number_after (values [field], prefix);
                if (k >= 0 && (size_t) k * 3 + field < rules)
                    hits [count++] = (uint32_t) ((size_t) k * 3 + field);
            }
            qsort (hits, count, sizeof (uint32_t), s_compare_index);
            break;
        }
        case BENCH_SHAPE_SERVICES: {
            long service = s_two_digits_after (event->source, "com.shop.svc");
            long step = s_two_digits_after (event->detail_type, "Payment Step ");
            if (service < 0 || service >= S_SERVICES || step < 0 || step >= S_STEPS)
                break;
            for (size_t i = (size_t) (service + S_SERVICES * step); i < rules; i += S_COMBOS)
                if (s_services_holds (event, i))
                    hits [count++] = (uint32_t) i;
            break;
        }
        case BENCH_SHAPE_NEGATIVE: {
            long excluded = event->status [0]? s_number_after (event->status, "st-"): -1;
            for (size_t i = event->status [0]? 0: 1; i < rules; i += 2)
                if ((long) i != excluded)
                    hits [count++] = (uint32_t) i;
            break;
        }
        case BENCH_SHAPE_PREFIXES: {
            //  acct-M-R: every leading part of M that is a rule's number
            const char *digits = event->account_id + 5;
            const char *region = strchr (digits, '-');
            if (strncmp (event->account_id, "acct-", 5) || !region || digits [0] == '0')
                break;
            region++;
            size_t number = 0;
            for (const char *d = digits; d < region - 1; d++) {
                number = number * 10 + (size_t) (*d - '0');
                if (number >= rules)
                    break;
                if (number % 2 == 0 || number % 4 == 3
                ||  strcmp (region, s_prefixes_region (number)) == 0)
                    hits [count++] = (uint32_t) number;
            }
            break;
        }
        case BENCH_SHAPES:
            break;
    }
    return count;
}

int
bench_event_encode (const bench_event_t *event, void **data_p, size_t *size_p, mesh_error_t *err)
{
    char detail [512];
    size_t used = 0;
    const struct { const char *key; const char *value; } strings [] = {
        { "customer_id", event->customer_id }, { "merchant_id", event->merchant_id },
        { "account_id", event->account_id }, { "order_id", event->order_id },
    };
    detail [used++] = '{';
    for (size_t i = 0; i < sizeof (strings) / sizeof (strings [0]); i++)
        if (strings [i].value [0])
            used += (size_t) snprintf (detail + used, sizeof (detail) - used, "\"%s\":\"%s\",",
                                       strings [i].key, strings [i].value);
    used += (size_t) snprintf (detail + used, sizeof (detail) - used,
                               "\"amount\":%ld.%02ld,\"currency\":\"%s\"",
                               event->cents / 100, event->cents % 100, event->currency);
    if (event->status [0])
        used += (size_t) snprintf (detail + used, sizeof (detail) - used, ",\"status\":\"%s\"",
                                   event->status);
    if (event->coupon [0])
        used += (size_t) snprintf (detail + used, sizeof (detail) - used, ",\"coupon\":\"%s\"",
                                   event->coupon);
    snprintf (detail + used, sizeof (detail) - used, "}");

    mesh_event_t *envelope = mesh_event_new ();
    if (!envelope) {
        mesh_error_set (err, MESH_ENOMEM, "event: out of memory");
        return -1;
    }
    int rc = -1;
    if (mesh_event_set_source (envelope, event->source, err) == 0
    &&  mesh_event_set_detail_type (envelope, event->detail_type, err) == 0
    &&  mesh_event_set_id (envelope, event->id, err) == 0
    &&  mesh_event_set_time (envelope, "2026-12-01T00:00:00Z", err) == 0
    &&  mesh_event_set_detail_json (envelope, detail, strlen (detail), NULL, err) == 0) {
        mesh_event_fill_defaults (envelope);
        rc = mesh_event_encode (envelope, data_p, size_p, err);
    }
    mesh_event_destroy (&envelope);
    return rc;
}
