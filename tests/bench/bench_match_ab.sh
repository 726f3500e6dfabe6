#!/usr/bin/env bash
#  Compare the matcher of an older commit with this checkout's, in one
#  process (tests/bench/bench_match_ab.c): is any set slower?
#
#  usage: tests/bench/bench_match_ab.sh BASE [--pairs N] [--shapes]
#
#  BASE is a commit (684cc89, main~3). It is built in a temporary worktree
#  (build/libmesh.a only), its global symbols renamed base_* with objcopy,
#  and linked with this checkout's build/libmesh.a into build/bench/
#  bench_match_ab, which runs every citylots row (and with --shapes issue
#  8's shapes (a), (b), (d) at 100,000 rules) with both builds alternated
#  pass by pass: about a minute, two more with --shapes.
#  Rows read the 20k sample, as bench_match --quick does. A median pair
#  under 0.9 is marked "slower" (issue 8's bar: no set more than 10%
#  slower); the exit status is 1 when the two builds' counts differ.
#  Between two runs of separate binaries this machine moves by a third;
#  the same build against itself here reads 0.97-1.04 on most rows.
set -euo pipefail
cd "$(dirname "$0")/../.."

base=${1:?usage: tests/bench/bench_match_ab.sh BASE [--pairs N] [--shapes]}
shift
commit=$(git rev-parse --verify --quiet "$base^{commit}") \
    || { echo "bench_match_ab: '$base' is not a commit" >&2; exit 2; }

make --no-print-directory -s build/libmesh.a build/tests/bench/bench_shapes.o
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach --quiet "$work/base" "$commit"
make --no-print-directory -s -C "$work/base" build/libmesh.a

nm -g --defined-only "$work/base/build/libmesh.a" 2>/dev/null \
    | awk 'NF == 3 && $2 ~ /[TDBRCV]/ { print $3, "base_" $3 }' | sort -u > "$work/symbols"
objcopy --redefine-syms="$work/symbols" "$work/base/build/libmesh.a" "$work/libbase.a"

pkgs="libczmq libzmq msgpack jansson uuid"
# shellcheck disable=SC2046,SC2086
${CC:-cc} -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wno-unused-function -Wno-unused-parameter \
    -Ilibmesh/include -Ilibmesh/src -Itests/bench $(pkg-config --cflags $pkgs) \
    tests/bench/bench_match_ab.c build/tests/bench/bench_shapes.o build/libmesh.a "$work/libbase.a" \
    $(pkg-config --libs $pkgs) -lm -lpthread -o build/bench/bench_match_ab
echo "bench_match_ab: base $(git log -1 --format='%h %s' "$commit" | cut -c1-70)"
echo "bench_match_ab: new  $(git log -1 --format='%h' HEAD)$(git diff --quiet HEAD -- libmesh || echo ' with uncommitted changes to libmesh')"
build/bench/bench_match_ab "$@"
