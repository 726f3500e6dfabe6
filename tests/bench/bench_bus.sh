#!/usr/bin/env bash
#  The bus benchmark (`make bench-bus`): how fast mesh moves events, against
#  two baselines measured in the same invocation with the same payload.
#
#  usage: tests/bench/bench_bus.sh BENCH_BUS BENCH_NATS [--quick] [--runs N]
#             [--payloads "payment 4k"] [--systems "proxy nats mesh meshtap mesh1k mesh10k"]
#             [--rules shared|disjoint|numeric|team|services|prefixes] [--mesh-cpus LIST]
#
#  Publisher, broker and three subscribers are separate processes on
#  loopback TCP, on ports the servers pick (bound to :0, never fixed):
#    proxy    a bare XSUB->XPUB zmq_proxy with ZMQ_XPUB_NODROP (lossless),
#             three subscribers of everything (bench_bus proxy)
#    nats     NATS core: Debian's nats-server, nats.c clients, one subject,
#             three subscribers (bench_nats)
#    mesh     bin/mesh-broker with the example's rules (config/eda_bus.json);
#             every event is a payment over 200, so rewards, warehouse and
#             shipping each receive every event
#    meshtap  mesh as above, watched the way an operator watches it: a
#             `mesh tap` attached with a pattern that matches about 1% of the
#             events (3 of the 256 values of the last two hex digits of the
#             payload's sequence number), printing each, and its Prometheus
#             endpoint (--metrics) scraped with curl every second (issue 10:
#             at least 0.9 of mesh's events/s, measured in the same run)
#    mesh1k, mesh10k   the same with 1,000 and 10,000 extra rules that match
#             nothing: each has a source of its own, and (--rules shared, the
#             default) the event's detail-type, as the rules of one bus
#             usually share some values with its events; --rules disjoint
#             leaves detail-type out (nothing in common with the event),
#             --rules numeric adds detail.total_cost > (i mod 1000),
#             --rules team names the event's own source and detail-type and
#             a detail.customer_id of its own that no event has (issue 8's
#             shape (a): what every team's rule on a shared bus looks like);
#             --rules services and --rules prefixes add the first rules of
#             issue 8's shapes (b) and (d) as bench_match measures them
#             (build/bench/bench_rules prints them), which the payment
#             never matches: 100 other sources with an exact id, a prefix,
#             a range, an anything-but or an exists each, and account-id
#             prefixes and wildcards (shape (c) is left out: half its rules
#             match every event, which would measure the deliver path)
#  --mesh-cpus LIST runs mesh-broker with --cpus LIST (its engine and I/O
#  threads on those CPUs only); the other systems are never pinned.
#  The payload is the example's Payment Processed event as MessagePack
#  (372 B) and the same padded to 4 KB, byte for byte the same for all three
#  systems (bench_bus_common.c). The publisher is an XPUB with XPUB_NODROP
#  (what libmesh's mesh_pub is) for the proxy and for mesh.
#
#  Figures, each the median of --runs runs (3; 1 with --quick):
#  - events/s: events published per second with every delivery received,
#    from the publisher's first send to the last subscriber's last event.
#    Each subscriber checks sequence numbers 1..N, in order, once each; a run
#    that lost or reordered anything is counted as failed, not measured,
#    and the table says how many failed;
#  - broker CPU per event: utime+stime of the broker process (zmq_proxy,
#    nats-server or mesh-broker, all its threads) from /proc/PID/stat over
#    the run, divided by the events published;
#  - one-way latency p50 / p99 / p99.9, publisher to subscriber, pooled over
#    the three subscribers, at 10,000 events/s and at half the proxy's
#    events/s measured just before. The publisher stamps each event with the
#    time its schedule says it is due (CLOCK_MONOTONIC), so a publisher held
#    back shows as latency; the first 1% of events are left out (warm-up);
#  - mesh-broker's resident size (VmRSS) once ready (rules compiled, deliver
#    bound), with the example's 3 rules and with 10,000 and 100,000 rules in
#    all (the broker's limit is 100,000 per bus), beside the proxy's and
#    nats-server's;
#  - mesh-broker's seconds from spawn to ready to serve with 100,000 rules of
#    --rules team's shape, whatever --rules says (issue 8's target: under 1 s
#    and 200 MB): from starting the process to its endpoints file naming its
#    ingest endpoint (rules loaded and compiled, deliver and ingest bound;
#    --startup-grace 0, so that ingest does not wait for subscribers), and
#    VmRSS 0.3 s later; the median of 5 starts (3 with --quick), and the
#    fastest and slowest.
#  Everything is bounded in time; every process started here is stopped on
#  exit. The machine's 2 cores are shared by all five processes: these are
#  whole-system figures.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage () { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,2\}//'; }
case ${1:-} in -h|--help) usage; exit 0 ;; esac
bench_bus=${1:?usage: tests/bench/bench_bus.sh BENCH_BUS BENCH_NATS [--quick] [--runs N]}
bench_nats=${2:?usage: tests/bench/bench_bus.sh BENCH_BUS BENCH_NATS [--quick] [--runs N]}
shift 2
broker=${MESH_BIN:-bin}/mesh-broker
bench_rules=$(dirname "$bench_bus")/bench_rules

runs=3
quick=0
payloads="payment 4k"
systems="proxy nats mesh meshtap mesh1k mesh10k"
shape=shared
mesh_cpus=
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1; runs=1 ;;
        --runs) runs=$2; shift ;;
        --payloads) payloads=$2; shift ;;
        --systems) systems=$2; shift ;;
        --rules) shape=$2; shift
                 case $shape in shared|disjoint|numeric|team|services|prefixes) ;;
                     *) echo "bench-bus: --rules shared|disjoint|numeric|team|services|prefixes" >&2; exit 2 ;; esac ;;
        --mesh-cpus) mesh_cpus=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench-bus: unknown option $1 (--help)" >&2; exit 2 ;;
    esac
    shift
done
for tool in "$bench_bus" "$bench_nats" "$broker"; do
    [ -x "$tool" ] || { echo "bench-bus: $tool is missing (make bench-bus builds it)" >&2; exit 1; }
done
#  Debian installs nats-server in /usr/sbin, which a user's PATH may lack
PATH=$PATH:/usr/sbin:/sbin
command -v nats-server >/dev/null || { echo "bench-bus: nats-server is missing (make bench-bus installs it)" >&2; exit 1; }

#  Events per throughput run (at most: a run stops after tp_seconds, so a
#  slow system takes no longer than a fast one), and seconds per latency run.
if [ "$quick" = 1 ]; then
    tp_count_payment=100000; tp_count_4k=30000; tp_seconds=0.5; lat_seconds=0.5
else
    tp_count_payment=400000; tp_count_4k=100000; tp_seconds=2; lat_seconds=1.5
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mesh-bench-bus.XXXXXX")
#  Every process started here, until it is reaped: the EXIT trap stops them.
declare -A pids=()
started () { pids[$1]=1; }
reap () {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    unset "pids[$1]"
}
cleanup () {
    for pid in "${!pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ticks=$(getconf CLK_TCK)

#  CPU ticks (utime + stime) of a process, all its threads.
cpu_ticks () {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

rss_kb () {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

#  Wait until file $1 has a line starting $2, up to $3 seconds.
wait_for () {
    local deadline=$((SECONDS + $3))
    until [ -f "$1" ] && grep -q "^$2" "$1"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.02
    done
}

median () {
    printf '%s\n' "$@" | grep -v '^-$' | sort -g | awk '
        { v[NR] = $1 }
        END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

#  The rule files: the example's, with N extra rules that match nothing, of
#  the shape of --rules (or of $2).
rules_dir () {
    local extra=$1 kind=${2:-$shape}
    local dir=$tmp/rules-$kind-$extra
    if [ ! -d "$dir" ]; then
        mkdir -p "$dir"
        local generated=/dev/null
        case $kind in
            services) generated=$dir/rules.jsonl; "$bench_rules" b "$extra" >"$generated" ;;
            prefixes) generated=$dir/rules.jsonl; "$bench_rules" d "$extra" >"$generated" ;;
        esac
        python3 - "$extra" "$dir/eda_bus.json" "$kind" "$generated" <<'EOF'
import json, sys
extra, out, shape, generated = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
bus = json.load(open("config/eda_bus.json"))
targets = ["rewards", "warehouse", "shipping"]
if shape in ("services", "prefixes"):
    #  issue 8's shapes, as bench_rules prints them; their targets never
    #  get a delivery, since the payment matches none of them
    for i, line in enumerate(open(generated)):
        bus["rules"].append({"name": "bench-%s-%d" % (shape, i), "event_pattern": json.loads(line),
                             "targets": [{"name": targets[i % 3]}]})
    json.dump(bus, open(out, "w"))
    sys.exit(0)
for i in range(extra):
    pattern = {"source": ["bench.nomatch.%d" % i]}
    if shape == "team":
        pattern = {"source": ["demo.payments"], "detail": {"customer_id": ["bench-nobody-%d" % i]}}
    if shape != "disjoint":
        pattern["detail-type"] = ["Payment Processed"]
    if shape == "numeric":
        pattern["detail"] = {"total_cost": [{"numeric": [">", i % 1000]}]}
    bus["rules"].append({"name": "bench-nomatch-%d" % i, "event_pattern": pattern,
                         "targets": [{"name": targets[i % 3]}]})
json.dump(bus, open(out, "w"))
EOF
    fi
    echo "$dir"
}

#  Start the server of a system in run directory $2; sets server_pid,
#  ingest and deliver (or url). mesh's ingest opens once its subscribers are
#  connected: start_server only waits for its deliver endpoint.
start_server () {
    local system=$1 dir=$2
    case $system in
        proxy)
            "$bench_bus" proxy "$dir/endpoints" 2>"$dir/server.log" &
            server_pid=$!; started "$server_pid"
            wait_for "$dir/endpoints" ingest= 10 || { echo "bench-bus: the proxy did not start" >&2; return 1; }
            ingest=$(sed -n 's/^ingest=//p' "$dir/endpoints")
            deliver=$(sed -n 's/^deliver=//p' "$dir/endpoints") ;;
        nats)
            #  Slow-consumer limits raised: a subscriber may fall 256 MB behind.
            printf 'max_pending: 268435456\nwrite_deadline: "60s"\n' >"$dir/nats.conf"
            nats-server -c "$dir/nats.conf" -a 127.0.0.1 -p -1 2>"$dir/server.log" &
            server_pid=$!; started "$server_pid"
            wait_for "$dir/server.log" '.*Listening for client connections' 10 \
                || { echo "bench-bus: nats-server did not start" >&2; cat "$dir/server.log" >&2; return 1; }
            url=nats://$(grep -o 'Listening for client connections on [0-9.:]*' "$dir/server.log" \
                         | awk '{ print $NF }') ;;
        mesh*)
            local extra=0
            case $system in mesh1k) extra=1000 ;; mesh10k) extra=10000 ;; mesh+*) extra=${system#mesh+} ;; esac
            local watched=()
            [ "$system" = meshtap ] && watched=(--metrics 0)
            "$broker" --config "$(rules_dir $extra)" --ingest 'tcp://127.0.0.1:*' ${mesh_cpus:+--cpus "$mesh_cpus"} \
                --deliver 'tcp://127.0.0.1:*' --api 'tcp://127.0.0.1:*' "${watched[@]}" \
                --endpoints-file "$dir/endpoints" 2>"$dir/server.log" &
            server_pid=$!; started "$server_pid"
            wait_for "$dir/endpoints" deliver= 30 \
                || { echo "bench-bus: mesh-broker did not start" >&2; cat "$dir/server.log" >&2; return 1; }
            deliver=$(sed -n 's/^deliver=//p' "$dir/endpoints")
            if [ "$system" = meshtap ]; then start_watchers "$dir" || return 1; fi ;;
    esac
}

#  meshtap's watchers: mesh tap on about 1% of the events, and a scrape of
#  the metrics endpoint every second. Sets watcher_pids.
tap_pattern='{"detail": {"bench": [{"wildcard": "*00:*"}, {"wildcard": "*55:*"}, {"wildcard": "*aa:*"}]}}'
watcher_pids=()
start_watchers () {
    local dir=$1 api metrics
    api=$(sed -n 's/^api=//p' "$dir/endpoints")
    metrics=$(sed -n 's/^metrics=//p' "$dir/endpoints")
    [ -n "$metrics" ] || { echo "bench-bus: mesh-broker names no metrics endpoint" >&2; return 1; }
    ${MESH_BIN:-bin}/mesh tap --api "$api" --pattern "$tap_pattern" --no-explain >"$dir/tap.out" 2>"$dir/tap.err" &
    tap_pid=$!; watcher_pids+=($!); started $!
    ( while :; do curl -sf "${metrics%/}/metrics" >>"$dir/scrapes" || echo "scrape failed" >>"$dir/scrapes.err"; sleep 1; done ) &
    watcher_pids+=($!); started $!
    wait_for "$dir/tap.err" 'mesh tap: tapping' 10 || { echo "bench-bus: mesh tap did not start" >&2; cat "$dir/tap.err" >&2; return 1; }
}

stop_server () {
    local pid
    for pid in "${watcher_pids[@]}"; do reap "$pid"; done
    watcher_pids=()
    reap "$server_pid"
}

#  One run: system, payload, events, rate (0: as fast as possible). Sets
#  result to "ok EVENTS_PER_S CPU_US_PER_EVENT P50 P99 P999" or "fail REASON".
#  It runs in this shell, not in $(...), so that the EXIT trap knows its
#  processes.
run_one () {
    local system=$1 payload=$2 count=$3 rate=$4
    local dir
    dir=$(mktemp -d "$tmp/run.XXXXXX")
    mkdir "$dir/ready"
    start_server "$system" "$dir" || { result="fail server"; return; }
    local seconds=$tp_seconds sub_timeout=60 latency=()
    [ "$rate" != 0 ] && seconds=$lat_seconds
    local ids=(s1 s2 s3) topics=("" "" "") client=$bench_bus frames=2 endpoint
    case $system in
        proxy) endpoint=$deliver ;;
        nats)  client=$bench_nats; endpoint=$url; topics=(bench.payments bench.payments bench.payments) ;;
        mesh*) endpoint=$deliver; frames=2; ids=(rewards warehouse shipping); topics=("${ids[@]}") ;;
    esac
    local sub_pids=() i
    for i in 0 1 2; do
        [ "$rate" != 0 ] && latency=(--latency "$dir/lat.$i")
        "$client" sub --endpoint "$endpoint" --topic "${topics[$i]}" --id "${ids[$i]}" \
            --count "$count" --ready-dir "$dir/ready" --frames "$frames" --timeout "$sub_timeout" \
            "${latency[@]}" >"$dir/sub.$i" 2>"$dir/sub.$i.err" &
        sub_pids+=($!); started $!
    done
    local pub_endpoint=$endpoint
    case $system in
        proxy) pub_endpoint=$ingest ;;
        mesh*)
            wait_for "$dir/endpoints" ingest= 30 || { result="fail no-ingest"; stop_server; return; }
            pub_endpoint=$(sed -n 's/^ingest=//p' "$dir/endpoints") ;;
    esac
    local cpu0 cpu1 pub_rc=0
    cpu0=$(cpu_ticks "$server_pid")
    "$client" pub --endpoint "$pub_endpoint" --topic "${topics[0]:-bench.payments}" --bus eda_bus \
        --payload "$payload" --count "$count" --seconds "$seconds" --rate "$rate" --ready-dir "$dir/ready" \
        --wait "${ids[0]}" --wait "${ids[1]}" --wait "${ids[2]}" --timeout "$sub_timeout" \
        >"$dir/pub" 2>"$dir/pub.err" &
    #  In the background, so that a signal to this script acts at once.
    local pub_pid=$!
    started "$pub_pid"
    wait "$pub_pid" || pub_rc=$?
    unset "pids[$pub_pid]"
    #  The subscribers have at most 20 s more to receive what is in flight
    #  (a broker that fell behind has up to its queues' worth to deliver).
    local deadline=$((SECONDS + 20)) pid
    for pid in "${sub_pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
        reap "$pid"
    done
    cpu1=$(cpu_ticks "$server_pid")
    [ "$system" = meshtap ] && tap_ticks=$(cpu_ticks "$tap_pid")
    stop_server
    if [ "$pub_rc" != 0 ]; then
        result="fail publisher: $(head -c 200 "$dir/pub.err" | tr '\n' ' ')"
        return
    fi
    local start last lost received sent
    start=$(sed -n 's/.* start=\([0-9]*\).*/\1/p' "$dir/pub")
    sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' "$dir/pub")
    last=$(cat "$dir"/sub.[012] | sed -n 's/.* last_recv=\([0-9]*\).*/\1/p' | sort -n | tail -1)
    received=$(cat "$dir"/sub.[012] | sed -n 's/.* received=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
    lost=$((3 * sent - received))
    if [ "$lost" != 0 ] || grep -q 'disordered=[1-9]' "$dir"/sub.[012]; then
        result="fail lost $lost of $((3 * sent)) deliveries$(grep -ho ' dropped=[0-9]* closed=[0-9]*[^ ]*' "$dir"/sub.[012] | tr '\n' ';' || true)"
        return
    fi
    if [ "$system" = meshtap ]; then
        #  The watchers must have watched: events tapped, pages scraped
        local tapped
        tapped=$(grep -c ' #[0-9]* Payment Processed' "$dir/tap.out" || true)
        [ "$tapped" -gt 0 ] && grep -q '^# TYPE mesh_connected_peers' "$dir/scrapes" 2>/dev/null \
            || { result="fail watchers: tapped $tapped, scrapes $(grep -c '^# TYPE mesh_connected_peers' "$dir/scrapes" 2>/dev/null || echo 0)"; return; }
        local tap_cpu
        tap_cpu=$(awk -v t="$tap_ticks" -v hz="$ticks" -v n="$sent" 'BEGIN { printf "%.3f", t / hz / n * 1e6 }')
        local tap_dropped
        tap_dropped=$(sed -n 's/^-- \([0-9]*\) event(s) dropped.*/\1/p' "$dir/tap.out" | awk '{ s += $1 } END { print s + 0 }')
        log "    meshtap: mesh tap printed $tapped of $sent events ($(awk -v a="$tapped" -v b="$sent" 'BEGIN { printf "%.2f", 100 * a / b }')%) and said it dropped $tap_dropped, using $tap_cpu µs of CPU per event; metrics scraped $(grep -c '^# TYPE mesh_connected_peers' "$dir/scrapes") times"
    fi
    local eps cpu lat="- - -"
    eps=$(awk -v n="$sent" -v a="$start" -v b="$last" 'BEGIN { printf "%.0f", n * 1e9 / (b - a) }')
    cpu=$(awk -v t=$((cpu1 - cpu0)) -v hz="$ticks" -v n="$sent" 'BEGIN { printf "%.3f", t / hz / n * 1e6 }')
    if [ "$rate" != 0 ]; then
        lat=$("$bench_bus" lat "$dir"/lat.[012] | sed 's/.* p50=\([^ ]*\) p99=\([^ ]*\) p999=\([^ ]*\)/\1 \2 \3/')
    fi
    result="ok $eps $cpu $lat"
    rm -rf "$dir"
}

#  The server's resident size once ready (rules loaded, bound), in kB: result.
rss_one () {
    local system=$1 dir
    dir=$(mktemp -d "$tmp/rss.XXXXXX")
    start_server "$system" "$dir" || { result="-"; return; }
    sleep 0.3
    result=$(rss_kb "$server_pid")
    stop_server
    rm -rf "$dir"
}

#  mesh-broker started on a rule directory until it is ready to serve (its
#  endpoints file names ingest): result="SECONDS KB", its seconds from spawn
#  and its VmRSS 0.3 s later, or "- -" if it did not get there in 30 s.
#  It polls every 5 ms without starting a process (read, not grep; a read
#  that times out on a FIFO nobody writes, not sleep): a fork per poll
#  would take CPU from the broker it times.
ready_one () {
    local rules=$1 dir t0 t1 pid kb line never ready=0
    dir=$(mktemp -d "$tmp/ready.XXXXXX")
    mkfifo "$dir/never"
    exec {never}<>"$dir/never"
    t0=$EPOCHREALTIME
    "$broker" --config "$rules" --startup-grace 0 --ingest 'tcp://127.0.0.1:*' \
        --deliver 'tcp://127.0.0.1:*' --api 'tcp://127.0.0.1:*' --endpoints-file "$dir/endpoints" 2>"$dir/server.log" &
    pid=$!; started "$pid"
    local deadline=$((SECONDS + 30))
    while [ "$ready" = 0 ]; do
        if [ -f "$dir/endpoints" ]; then
            while IFS= read -r line; do
                [[ $line == ingest=* ]] && ready=1
            done <"$dir/endpoints"
        fi
        [ "$ready" = 1 ] && break
        if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            echo "bench-bus: mesh-broker was not ready in 30 s" >&2; cat "$dir/server.log" >&2
            exec {never}>&-
            result="- -"; reap "$pid"; return
        fi
        read -r -t 0.005 -u "$never" _ || true
    done
    t1=$EPOCHREALTIME
    exec {never}>&-
    sleep 0.3
    kb=$(rss_kb "$pid")
    reap "$pid"
    rm -rf "$dir"
    result="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $kb"
}

declare -A res_eps res_cpu res_fail res_lat res_rate
log () { printf '%s\n' "$*" >&2; }

count_for () { [ "$1" = 4k ] && echo "$tp_count_4k" || echo "$tp_count_payment"; }

began=$SECONDS
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "bench-bus: $runs run(s) per figure; systems: $systems; payloads: $payloads; extra rules: $shape${mesh_cpus:+; mesh-broker --cpus $mesh_cpus}"
for payload in $payloads; do
    size=$("$bench_bus" payload "$payload")
    count=$(count_for "$payload")
    declare -A eps_list=() cpu_list=() fails=()
    for run in $(seq "$runs"); do
        for system in $systems; do
            run_one "$system" "$payload" "$count" 0; out=$result
            log "  $payload ${size} B  $system  run $run  max rate: $out"
            if [ "${out%% *}" = ok ]; then
                read -r _ e c _ <<<"$out"
                eps_list[$system]+=" $e"; cpu_list[$system]+=" $c"
            else
                fails[$system]=$(( ${fails[$system]:-0} + 1 ))
                res_fail[$payload.$system.why]=${out#fail }
            fi
        done
    done
    for system in $systems; do
        res_eps[$payload.$system]=$(median ${eps_list[$system]:-})
        res_cpu[$payload.$system]=$(median ${cpu_list[$system]:-})
        res_fail[$payload.$system]=${fails[$system]:-0}
    done
    half=$(awk -v e="${res_eps[$payload.proxy]:-0}" 'BEGIN { r = e / 2; if (r < 1000) r = 1000; printf "%.0f", r }')
    [ "${res_eps[$payload.proxy]:--}" = - ] && half=20000
    res_rate[$payload]=$half
    for rate in 10000 "$half"; do
        n=$(awk -v r="$rate" -v s="$lat_seconds" 'BEGIN { printf "%.0f", r * s }')
        declare -A p50=() p99=() p999=() lfail=() kept=()
        for run in $(seq "$runs"); do
            for system in $systems; do
                run_one "$system" "$payload" "$n" "$rate"; out=$result
                log "  $payload ${size} B  $system  run $run  at $rate/s: $out"
                if [ "${out%% *}" = ok ]; then
                    read -r _ e _ a b c <<<"$out"
                    p50[$system]+=" $a"; p99[$system]+=" $b"; p999[$system]+=" $c"; kept[$system]+=" $e"
                else
                    lfail[$system]=$(( ${lfail[$system]:-0} + 1 ))
                    res_fail[$payload.$system.why]=${out#fail }
                fi
            done
        done
        for system in $systems; do
            res_lat[$payload.$rate.$system]="$(median ${p50[$system]:-}) $(median ${p99[$system]:-}) $(median ${p999[$system]:-}) ${lfail[$system]:-0} $(median ${kept[$system]:-})"
        done
        unset p50 p99 p999 lfail kept
    done
    unset eps_list cpu_list fails
done

declare -A rss
#  10,000 and 100,000 rules in all: the example's 3 and the rest extra.
for system in proxy nats mesh mesh+9997 mesh+99997; do
    list=""
    for run in $(seq "$runs"); do rss_one "$system"; list+=" $result"; done
    rss[$system]=$(median $list)
done
#  Ready with 100,000 rules of issue 8's shape (a), whatever --rules says
ready_rules=$(rules_dir 99997 team)
ready_runs=5
[ "$quick" = 1 ] && ready_runs=3
ready_s=() ready_kb=()
for run in $(seq "$ready_runs"); do
    ready_one "$ready_rules"
    log "  mesh-broker, 100,000 rules (team)  start $run  ready: ${result% *} s, VmRSS ${result#* } kB"
    read -r s kb <<<"$result"
    ready_s+=("$s"); ready_kb+=("$kb")
done
ready_median=$(median "${ready_s[@]}")
ready_range=$(printf '%s\n' "${ready_s[@]}" | grep -v '^-$' | sort -g | sed -n '1p;$p' | paste -sd- -)
ready_rss=$(median "${ready_kb[@]}")
log "bench-bus: measured in $((SECONDS - began)) s"

#  The table, in Markdown, with ratios to both baselines.
name_of () {
    case $1 in
        proxy) echo "zmq_proxy" ;; nats) echo "NATS" ;; mesh) echo "mesh" ;;
        meshtap) echo "mesh, tapped + scraped" ;;
        mesh1k) echo "mesh +1,000 rules" ;; mesh10k) echo "mesh +10,000 rules" ;;
    esac
}
fmt_eps () { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else if (v >= 1e6) printf "%.2f M", v / 1e6; else printf "%.0f K", v / 1e3 }'; }
fmt_rate () { awk -v v="$1" 'BEGIN { if (v >= 1e6) printf "%.2f M/s", v / 1e6; else printf "%.0f K/s", v / 1e3 }'; }
ratio () { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }'; }
behind () {
    awk -v k="$1" -v r="$2" 'BEGIN { if (k != "-" && k < 0.95 * r) printf " (fell behind: %.0f K/s)", k / 1e3 }'
}
failed () { [ "${1:-0}" != 0 ] && printf ' (%s of %s runs lost events)' "$1" "$runs"; true; }

echo
echo "mesh bus benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, median of $runs run(s)$([ "$quick" = 1 ] && echo ', --quick'),"
echo "extra rules: $shape${mesh_cpus:+; mesh-broker --cpus $mesh_cpus}; load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg); $((SECONDS - began)) s."
echo "Ratios are mesh / zmq_proxy and mesh / NATS, from the same invocation."
for payload in $payloads; do
    size=$("$bench_bus" payload "$payload")
    echo
    header="| $size B events |"; rule="|---|"
    for system in $systems; do header+=" $(name_of "$system") |"; rule+="---|"; done
    echo "$header"; echo "$rule"
    row="| events/s, every delivery received |"
    for system in $systems; do row+=" $(fmt_eps "${res_eps[$payload.$system]}")$(failed "${res_fail[$payload.$system]}") |"; done
    echo "$row"
    row="| x zmq_proxy / x NATS |"
    for system in $systems; do
        case $system in proxy|nats) row+=" |" ;; *) row+=" $(ratio "${res_eps[$payload.$system]}" "${res_eps[$payload.proxy]:--}") / $(ratio "${res_eps[$payload.$system]}" "${res_eps[$payload.nats]:--}") |" ;; esac
    done
    echo "$row"
    row="| broker CPU per event |"
    for system in $systems; do
        v=${res_cpu[$payload.$system]}
        row+=" $([ "$v" = - ] && echo - || awk -v v="$v" 'BEGIN { printf "%.2f µs", v }') |"
    done
    echo "$row"
    row="| x zmq_proxy / x NATS |"
    for system in $systems; do
        case $system in proxy|nats) row+=" |" ;; *) row+=" $(ratio "${res_cpu[$payload.$system]}" "${res_cpu[$payload.proxy]:--}") / $(ratio "${res_cpu[$payload.$system]}" "${res_cpu[$payload.nats]:--}") |" ;; esac
    done
    echo "$row"
    for rate in 10000 "${res_rate[$payload]}"; do
        label="latency p50 / p99 / p99.9 at $(fmt_rate "$rate")"
        [ "$rate" != 10000 ] && label+=" (half the proxy's max)"
        row="| $label |"
        for system in $systems; do
            read -r a b c f k <<<"${res_lat[$payload.$rate.$system]}"
            row+=" $a / $b / $c µs$(failed "$f")$(behind "$k" "$rate") |"
        done
        echo "$row"
        row="| x zmq_proxy / x NATS |"
        for system in $systems; do
            read -r a b _ _ <<<"${res_lat[$payload.$rate.$system]}"
            read -r pa pb _ _ <<<"${res_lat[$payload.$rate.proxy]:-- - - 0}"
            read -r na nb _ _ <<<"${res_lat[$payload.$rate.nats]:-- - - 0}"
            case $system in proxy|nats) row+=" |" ;; *) row+=" p50 $(ratio "$a" "$pa") / $(ratio "$a" "$na"), p99 $(ratio "$b" "$pb") / $(ratio "$b" "$nb") |" ;; esac
        done
        echo "$row"
    done
done
echo
mb () { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.1f MB", v / 1024 }'; }
echo "| resident size once ready | zmq_proxy | NATS | mesh, the example's 3 rules | mesh, 10,000 rules | mesh, 100,000 rules |"
echo "|---|---|---|---|---|---|"
echo "| VmRSS | $(mb "${rss[proxy]}") | $(mb "${rss[nats]}") | $(mb "${rss[mesh]}") | $(mb "${rss[mesh+9997]}") | $(mb "${rss[mesh+99997]}") |"
echo
echo "| mesh-broker ready with 100,000 rules (--rules team) | spawn to ingest bound | VmRSS then |"
echo "|---|---|---|"
echo "| median of $ready_runs starts (fastest-slowest) | ${ready_median} s (${ready_range:--} s) | $(mb "$ready_rss") |"
status=0
for key in "${!res_fail[@]}"; do
    case $key in *.why) echo "note: $key: ${res_fail[$key]}" ;; esac
done
for payload in $payloads; do
    for system in $systems; do
        [ "${res_fail[$payload.$system]:-0}" = 0 ] || status=1
    done
done
exit $status
