#!/usr/bin/env bash
#  bench-api: put-events through the broker's API (batches of 10, each
#  waiting for its reply) against fire-and-forget publishing on ingest, in
#  the same invocation, on one mesh-broker with the example's rules and
#  its three subscribers' targets unsubscribed (the deliveries are counted
#  as no_subscriber: what is measured is the way in, not the way out).
#
#  usage: tests/bench/bench_api.sh BENCH_API [--quick]
set -euo pipefail
bench=$1; shift
events=20000 runs=5
[ "${1:-}" = --quick ] && { events=5000; runs=3; }
broker=${MESH_BIN:-bin}/mesh-broker
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
"$broker" --config config/eda_bus.json --ingest 'tcp://127.0.0.1:*' --deliver 'tcp://127.0.0.1:*' \
    --api 'tcp://127.0.0.1:*' --startup-grace 0 --endpoints-file "$dir/endpoints" 2>"$dir/broker.log" &
pid=$!
for _ in $(seq 100); do grep -q '^ingest=' "$dir/endpoints" 2>/dev/null && break; sleep 0.1; done
grep -q '^ingest=' "$dir/endpoints" || { echo "bench-api: mesh-broker did not start" >&2; cat "$dir/broker.log" >&2; exit 1; }
ingest=$(sed -n 's/^ingest=//p' "$dir/endpoints")
api=$(sed -n 's/^api=//p' "$dir/endpoints")
echo "bench-api: put-events through the API against fire-and-forget, $runs runs of $events events ($(date -u +%H:%M) UTC)"
"$bench" "$ingest" "$api" "$events" "$runs"
