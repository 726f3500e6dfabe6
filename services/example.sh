#!/usr/bin/env bash
#  make run: the example bus end to end.
#
#  Starts mesh-broker with config/ and the rewards, warehouse and shipping
#  services, has payment publish payments above and below 200, and stays up
#  until Ctrl-C so that a second terminal can publish more. On exit it stops
#  every process it started. MESH_RUN_SECONDS=N stops it after N seconds.
set -u
cd "$(dirname "$0")/.."
BIN=${MESH_BIN:-bin}
export MESH_INGEST=${MESH_INGEST:-tcp://127.0.0.1:5600}
export MESH_DELIVER=${MESH_DELIVER:-tcp://127.0.0.1:5601}
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/mesh-run-XXXXXX")
pids=()

stop_all() {
    trap - INT TERM EXIT
    echo
    echo "== stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$run_dir"
    exit 0
}
trap stop_all INT TERM EXIT

fail() { echo "make run: $*" >&2; exit 1; }

wait_for() {    # file text seconds
    for _ in $(seq 1 $(($3 * 20))); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

echo "== mesh-broker: settings from config/mesh-broker.conf, bus from config/, ingest $MESH_INGEST, deliver $MESH_DELIVER"
"$BIN/mesh-broker" --settings config/mesh-broker.conf --endpoints-file "$run_dir/endpoints" --stats-interval 30 \
    2> >(sed -u 's/^/  broker    | /' >&2) &
pids+=($!)
wait_for "$run_dir/endpoints" deliver= 10 || fail "the broker did not start (is $MESH_DELIVER in use?)"

for service in rewards warehouse shipping; do
    "$BIN/$service" > >(sed -u "s/^/  $(printf '%-9s' "$service") | /") \
                   2> >(tee "$run_dir/$service.err" | sed -u "s/^/  $(printf '%-9s' "$service") | /" >&2) &
    pids+=($!)
done
for service in rewards warehouse shipping; do
    wait_for "$run_dir/$service.err" ready 10 || fail "$service did not connect to the broker"
done
wait_for "$run_dir/endpoints" ingest= 10 || fail "the broker did not open its ingest endpoint"

echo
echo "== payment: two payments by hand (242.58 and 99.50), then six generated ones"
"$BIN/payment" --total 242.58 --customer-id 3213 --order-id ord-demo-1 2>&1 | sed -u 's/^/  payment   | /'
"$BIN/payment" --total 99.50 --customer-id 4711 --order-id ord-demo-2 2>&1 | sed -u 's/^/  payment   | /'
"$BIN/payment" --count 6 --rate 4 --seed "$RANDOM" 2>&1 | sed -u 's/^/  payment   | /'
sleep 0.5

cat <<TEXT

== mesh is running. rewards reacts to payments over 200; warehouse and shipping to all.
   Publish more from another terminal:
     $BIN/payment --total 310.25
     echo '{"total_cost": 512, "customer_id": "42"}' | $BIN/payment --stdin
     $BIN/payment --count 1000 --rate 200 --quiet
   Watch it (README, "Why did my event not arrive?"):
     $BIN/mesh tap --bus eda_bus          each event, the rules it matched, where it went
     $BIN/mesh top                        rates per bus, rule and target
     $BIN/mesh monitor --peers            who is connected
   Ctrl-C stops everything.
TEXT

if [ -n "${MESH_RUN_SECONDS:-}" ]; then
    sleep "$MESH_RUN_SECONDS"
    stop_all
fi
wait "${pids[0]}"
