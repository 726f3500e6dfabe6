#!/usr/bin/env bash
#  Run every test runner given as an argument, from the repository root, and
#  finish with one summary line: "tests: N passed, N failed".
#  A runner is a cmocka binary, or a Python file (*.py) run by the first of
#  python3 and /usr/bin/python3 that has pyzmq and msgpack ($PYTHON, when
#  set, is the only one tried); without one, the Python runner is skipped
#  and says why. Both print cmocka's
#  "[  PASSED  ] N" and "[  FAILED  ] N test(s)" lines, which are counted.
#  MESH_VALGRIND=1 runs each binary under valgrind's memcheck.
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
failed_names=()
skipped_names=()

#  A Python 3 with the modules the protocol tests need, or nothing.
s_python () {
    local candidate candidates=(python3 /usr/bin/python3)
    [ -n "${PYTHON:-}" ] && candidates=("$PYTHON")
    for candidate in "${candidates[@]}"; do
        if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import zmq, msgpack' >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

for t in "$@"; do
    #  build/tests/test_* also matches the runners' objects: not runners.
    case "$t" in *.o|*.d) continue;; esac
    name=$(basename "$t")
    echo "== $name"
    if [[ "$t" == *.py ]]; then
        if ! python=$(s_python); then
            echo "$name: skipped: no python3 with pyzmq and msgpack (make deps installs python3-zmq python3-msgpack)"
            skipped_names+=("$name")
            continue
        fi
        cmd=("$python" "$t")
    elif [ "${MESH_VALGRIND:-0}" = 1 ]; then
        cmd=(valgrind -q --leak-check=full --error-exitcode=99 "$t")
    else
        cmd=("$t")
    fi
    out=$(mktemp)
    "${cmd[@]}" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    #  cmocka's own count of passed tests in this runner.
    n=$(grep -Eo '\[  PASSED  \] [0-9]+' "$out" | awk '{s+=$NF} END {print s+0}')
    f=$(grep -Eo '\[  FAILED  \] [0-9]+ test' "$out" | awk '{s+=$(NF-1)} END {print s+0}')
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
[ ${#skipped_names[@]} -gt 0 ] && echo "skipped runners: ${skipped_names[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
