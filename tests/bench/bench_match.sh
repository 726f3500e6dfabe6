#!/usr/bin/env bash
#  Run the matcher benchmark: make sure the synthetic citylots2 corpus is
#  there, then run the bench binary with the remaining arguments.
#
#  usage: tests/bench/bench_match.sh BINARY [--quick] [--set NAME]... [--shapes] (BINARY --help)
#
#  The corpus (213,068 events) is generated once, by the generator in
#  tests/bench/citylots/,
#  into build/bench-data/ ($MESH_BENCH_DATA), and kept: about 25-35 s the
#  first time. It is generated into a temporary directory, its uncompressed
#  sha256 is checked against the one in tests/bench/citylots/README.md, and only
#  then renamed into place, so two builds running at once never see half a
#  file. --quick uses the 20,000-event sample kept beside the generator and
#  needs no generation, and neither do the shapes (--shapes, --set SHAPE_...),
#  whose rules and events bench_match generates itself.
set -euo pipefail
cd "$(dirname "$0")/../.."

bench=${1:?usage: tests/bench/bench_match.sh BINARY [ARGS...]}
shift
synth=tests/bench/citylots
data=${MESH_BENCH_DATA:-build/bench-data}
corpus=$data/citylots2-synth.json.gz
sha256=7c67d1f2ec0e218488832387e6b43c7f07b8fbb610389c25400c070ec450d69b

no_corpus=0
shapes=0
others=0
previous=
for arg in "$@"; do
    case $arg in
        --quick|--help|-h|--list) no_corpus=1 ;;
        --shapes) shapes=1 ;;
    esac
    if [ "$previous" = --set ]; then
        case ${arg^^} in
            SHAPE*) shapes=1 ;;
            *) others=1 ;;
        esac
    fi
    previous=$arg
done
#  Only shapes: no corpus to read
[ "$shapes" = 1 ] && [ "$others" = 0 ] && no_corpus=1

if [ "$no_corpus" = 0 ] && [ ! -f "$corpus" ]; then
    mkdir -p "$data"
    tmp=$(mktemp -d "$data/generate.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    echo "bench-match: generating the citylots2 corpus into $data (once, about 30 s)"
    python3 "$synth/gen_citylots_synth.py" --out "$tmp" \
        --seed-real "$synth/citylots-real-first386.json" >/dev/null
    got=$(gzip -dc "$tmp/citylots2-synth.json.gz" | sha256sum | cut -d' ' -f1)
    if [ "$got" != "$sha256" ]; then
        echo "bench-match: generated corpus has sha256 $got, expected $sha256" >&2
        echo "bench-match: (the README's check was made with Python 3.11.7; this is $(python3 --version))" >&2
        exit 1
    fi
    mv -f "$tmp/citylots2-synth.json.gz" "$corpus"
    rm -rf "$tmp"
    trap - EXIT
fi

args=(--root .)
[ "$no_corpus" = 0 ] && args+=(--corpus "$corpus")
exec "$bench" "${args[@]}" "$@"
