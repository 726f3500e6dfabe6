#!/usr/bin/env python3
"""cl2_counts.py: the CL2 rule sets' match counts, computed independently of mesh

bench_match checks every count it gets against golden counts. On the full
corpus those are the README's (tests/bench/citylots/), which
event-ruler and quamina agree on. The --quick sample (its first 20,000
events) has no published counts, so this script computes them: a direct
evaluation in Python of each pattern of citylots-patterns.md, with
EventBridge's semantics for these operators (a value at a path through
arrays matches if any element does; anything-but matches null and any
non-string, never a missing field; numbers compare as doubles).

It is trusted because, run on the full corpus, it reproduces every golden
count of the README exactly (--check does that comparison). Its counts on
the sample are the `quick` column of bench_match.c.

    python3 tests/bench/cl2_counts.py tests/bench/citylots/citylots2-synth-20k.json.gz
    python3 tests/bench/cl2_counts.py --check build/bench-data/citylots2-synth.json.gz   # ~25 s
"""
import gzip
import json
import re
import sys

MB, ST, TY, GT, FS = ('properties.MAPBLKLOT', 'properties.STREET', 'properties.ST_TYPE',
                      'geometry.type', 'properties.FROM_ST')
SPLIT = -122.41600944012424


def leaves(value, path):
    """The leaf values at a dotted path, looking through arrays at every level."""
    if isinstance(value, list):
        return [leaf for element in value for leaf in leaves(element, path)]
    if not path:
        return [] if isinstance(value, dict) else [value]
    if isinstance(value, dict) and path[0] in value:
        return leaves(value[path[0]], path[1:])
    return []


def is_str(v):
    return isinstance(v, str)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def wildcard(pattern):
    regex = re.compile('.*'.join(re.escape(part) for part in pattern.split('*')), re.S)
    return lambda v: is_str(v) and regex.fullmatch(v) is not None


def field(path, test):
    return (path.split('.'), test)


def numeric_rules(where):
    """NUMERIC (firstCoordinates) and COMPLEX_ARRAYS (coordinates) share their shape."""
    second = ('z', 0) if where == 'firstCoordinates' else ('y', 37.729900216217324)
    return [
        [field(GT, lambda v: v == 'Polygon'),
         field('geometry.%s.x' % where, lambda v: is_num(v) and v == -122.42916360922355)],
        [field(GT, lambda v: v == 'MultiPolygon'),
         field('geometry.%s.%s' % (where, second[0]), lambda v: is_num(v) and v == second[1])],
        [field('geometry.%s.x' % where, lambda v: is_num(v) and v < SPLIT)],
        [field('geometry.%s.x' % where, lambda v: is_num(v) and v > SPLIT)],
        [field('geometry.%s.x' % where,
               lambda v: is_num(v) and -122.46471267081272 < v < -122.4063085128395)],
    ]


def one_field(pairs, make):
    return [[field(path, make(value))] for path, value in pairs]


STREETS5 = lambda values: [(ST, v) for v in values]
AB_FIELDS = lambda values: list(zip([ST, ST, TY, GT, FS], values))
WILDCARDS = ['143*', '2*0*1*7', '*218', '3*5*2', 'VA*IL']

SETS = {
    'EXACT': one_field([(MB, v) for v in ['1430022', '2607117', '2607218', '3745012', 'VACSTWIL']],
                       lambda a: lambda v: v == a),
    'WILDCARD': one_field([(MB, v) for v in WILDCARDS], wildcard),
    'PREFIX': one_field(STREETS5(['AC', 'BL', 'DR', 'FU', 'RH']),
                        lambda a: lambda v: is_str(v) and v.startswith(a)),
    'PREFIX_EQUALS_IGNORE_CASE': one_field(STREETS5(['Ac', 'bL', 'dR', 'Fu', 'rH']),
                        lambda a: lambda v: is_str(v) and v.lower().startswith(a.lower())),
    'SUFFIX': one_field(STREETS5(['ON', 'KE', 'MM', 'ING', 'GO']),
                        lambda a: lambda v: is_str(v) and v.endswith(a)),
    'SUFFIX_EQUALS_IGNORE_CASE': one_field(STREETS5(['oN', 'Ke', 'mM', 'InG', 'gO']),
                        lambda a: lambda v: is_str(v) and v.lower().endswith(a.lower())),
    'EQUALS_IGNORE_CASE': one_field([(ST, 'jefferson'), (ST, 'bEaCh'), (ST, 'HyDe'),
                                     (ST, 'CHESTNUT'), (TY, 'st')],
                        lambda a: lambda v: is_str(v) and v.lower() == a.lower()),
    'NUMERIC': numeric_rules('firstCoordinates'),
    'ANYTHING-BUT': one_field(AB_FIELDS(['FULTON', 'MASON', 'ST', 'Polygon', '441']),
                        lambda a: lambda v: v != a),
    'ANYTHING-BUT-IGNORE-CASE': one_field(AB_FIELDS(['Fulton', 'Mason', 'st', 'polygon', '441']),
                        lambda a: lambda v: not (is_str(v) and v.lower() == a.lower())),
    'ANYTHING-BUT-PREFIX': one_field(AB_FIELDS(['FULTO', 'MASO', 'S', 'Poly', '44']),
                        lambda a: lambda v: not (is_str(v) and v.startswith(a))),
    'ANYTHING-BUT-SUFFIX': one_field(AB_FIELDS(['ULTON', 'ASON', 'T', 'olygon', '41']),
                        lambda a: lambda v: not (is_str(v) and v.endswith(a))),
    'ANYTHING-BUT-WILDCARD': one_field([(MB, v) for v in WILDCARDS],
                        lambda a: (lambda match: lambda v: not match(v))(wildcard(a))),
    'COMPLEX_ARRAYS': numeric_rules('coordinates'),
}

#  citylots-synth/README.md, "Golden counts on the full synthetic corpora"
GOLDEN = {
    'EXACT': [1, 101, 35, 655, 1],
    'WILDCARD': [277, 695, 84, 1606, 1],
    'PREFIX': [24, 442, 38, 2387, 328],
    'PREFIX_EQUALS_IGNORE_CASE': [24, 442, 38, 2387, 328],
    'SUFFIX': [12558, 871, 13, 7290, 682],
    'SUFFIX_EQUALS_IGNORE_CASE': [12558, 871, 13, 7290, 682],
    'EQUALS_IGNORE_CASE': [143, 241, 1994, 825, 116546],
    'NUMERIC': [2, 120, 152581, 60487, 125179],
    'ANYTHING-BUT': [211158, 210410, 96522, 120, 212994],
    'ANYTHING-BUT-IGNORE-CASE': [211158, 210410, 96522, 120, 212994],
    'ANYTHING-BUT-PREFIX': [211158, 210117, 96507, 120, 212320],
    'ANYTHING-BUT-SUFFIX': [211158, 210410, 94751, 0, 211780],
    'ANYTHING-BUT-WILDCARD': [212791, 212373, 212984, 211462, 213067],
    'COMPLEX_ARRAYS': [218, 1, 153053, 60869, 125800],
}


def main():
    args = sys.argv[1:]
    check = '--check' in args
    args = [a for a in args if a != '--check']
    if len(args) != 1:
        sys.exit(__doc__)
    counts = {name: [0] * len(rules) for name, rules in SETS.items()}
    events = 0
    opener = gzip.open if args[0].endswith('.gz') else open
    with opener(args[0], 'rt') as lines:
        for line in lines:
            if not line.strip():
                continue
            event = json.loads(line)
            events += 1
            for name, rules in SETS.items():
                for index, rule in enumerate(rules):
                    if all(any(test(v) for v in leaves(event, path)) for path, test in rule):
                        counts[name][index] += 1
    print('%d events' % events)
    wrong = 0
    for name, found in counts.items():
        verdict = ''
        if check:
            verdict = '  OK' if found == GOLDEN[name] else '  MISMATCH, README: %s' % GOLDEN[name]
            wrong += found != GOLDEN[name]
        print('%-26s %s%s' % (name, ' '.join('%7d' % c for c in found), verdict))
    sys.exit(1 if wrong else 0)


if __name__ == '__main__':
    main()
