#!/usr/bin/env bash
#  Run every test runner given as an argument, from the repository root, and
#  finish with one summary line: "tests: N passed, N failed".
#  MESH_VALGRIND=1 runs each under valgrind's memcheck.
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
failed_names=()
for t in "$@"; do
    name=$(basename "$t")
    echo "== $name"
    if [ "${MESH_VALGRIND:-0}" = 1 ]; then
        cmd=(valgrind -q --leak-check=full --error-exitcode=99 "$t")
    else
        cmd=("$t")
    fi
    out=$(mktemp)
    "${cmd[@]}" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    #  cmocka's own count of passed tests in this runner.
    n=$(grep -Eo '\[  PASSED  \] [0-9]+' "$out" | awk '{s+=$NF} END {print s+0}')
    f=$(grep -Eo '\[  FAILED  \] [0-9]+ test' "$out" | awk '{s+=$3} END {print s+0}')
    rm -f "$out"
    passed=$((passed + n))
    if [ "$rc" -ne 0 ]; then
        [ "$f" -eq 0 ] && f=1
        failed=$((failed + f))
        failed_names+=("$name (exit $rc)")
    fi
done
echo
[ ${#failed_names[@]} -gt 0 ] && echo "failing runners: ${failed_names[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
