#!/usr/bin/env bash
# Catch-up benchmark of `ferry follow` (issue 6): verified headers/s, CPU% and memory while
# following N headers (default 100 000) from genesis, served at full speed by a local replay
# source (bench/replay-server.js: a synthetic but fully valid GRANDPA chain, generated up
# front), so the figure measures ferry and not a node.
#
# Per proveFinality mode (BENCH_MODES, default "substrate next"):
#   * wall time, verified headers/s (overall and after start-up), ferry CPU (user+sys, % of
#     wall), the replay server's CPU during the run (is ferry the bottleneck?);
#   * peak RSS of ferry (getrusage of the child) and RSS sampled from /proc/<pid>/status every
#     10 ms, reported at N/10, N/2 and N verified headers (keyed by the --json line count) and as
#     the peak of each half of the run: flat memory = the second half no bigger than the first;
#   * the crypto floor measured in the same run (bench/follow_floor.c: one blake2b-256 per
#     header over the same bytes + one ed25519 verification per precommit of the justifications
#     that end the proveFinality batches, i.e. what ferry is given to verify; one thread) and the
#     ratios ferry CPU / floor and ferry wall / floor. The floor counts CPU time per thread (a
#     loaded machine does not inflate it); with T threads, the slowest thread's signatures.
# Checks: ferry exits 0, printed exactly blocks 0..N in order, and its hash of N equals the
# server's. Exit 0 ok, 1 a check failed, 77 skipped (no node / no tests/devnet/node_modules).
#
# Chains (BENCH_CONFIGS, default "small polkadot kusama"), each in every mode:
#   small     BENCH_BLOCKS [100000] blocks, a set change every BENCH_SET_EVERY [10000],
#             BENCH_AUTHORITIES [4] voters all signing; ferry with BENCH_THREADS [its default]
#   polkadot  BENCH_BIG_BLOCKS [12000] blocks, 297 voters of which 200 sign, a change every 2400
#   kusama    the same with 1000 voters of which 667 sign
#   The two real-size chains run ferry with --threads 1 and 2 (BENCH_BIG_THREADS ["1 2"]) against
#   a floor whose signature part uses as many threads; they add signatures/s.
# Time waiting for a CPU (the run queue, /proc/<pid>/task/*/schedstat) is reported, since on a
# shared machine it, not ferry, can make wall time exceed CPU time.
#
# Environment: FERRY_BIN [build/ferry], FLOOR_BIN [<dir of FERRY_BIN>/bench/follow_floor],
# BENCH_PERIOD [512], BENCH_LATENCY_MS [0: the server answers each request that much later, a
# node far away], BENCH_MODES ["substrate next"], BENCH_TIMEOUT [300 s per run],
# BENCH_TMP [a new directory under /tmp; the store goes there], BENCH_RSS_TARGET_MIB [32].
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
FERRY_BIN=${FERRY_BIN:-$root/build/ferry}
FLOOR_BIN=${FLOOR_BIN:-$(dirname "$FERRY_BIN")/bench/follow_floor}
P=${BENCH_PERIOD:-512}
LATENCY_MS=${BENCH_LATENCY_MS:-0}
CONFIGS=${BENCH_CONFIGS:-small polkadot kusama}
MODES=${BENCH_MODES:-substrate next}
LIMIT=${BENCH_TIMEOUT:-300}
TARGET_MIB=${BENCH_RSS_TARGET_MIB:-32}

command -v node >/dev/null || { echo "bench-follow skipped: node not installed"; exit 77; }
[ -d "$root/tests/devnet/node_modules/ws" ] ||
    { echo "bench-follow skipped: tests/devnet/node_modules missing (make devnet-deps)"; exit 77; }
command -v python3 >/dev/null || { echo "bench-follow skipped: python3 not installed"; exit 77; }
[ -x "$FERRY_BIN" ] || { echo "no ferry binary at $FERRY_BIN (make, or set FERRY_BIN)"; exit 1; }
[ -x "$FLOOR_BIN" ] || { echo "no floor helper at $FLOOR_BIN (make $FLOOR_BIN)"; exit 1; }

T=${BENCH_TMP:-$(mktemp -d /tmp/ferry-bench.XXXXXX)}
mkdir -p "$T"
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null
    fi
    [ -z "${BENCH_TMP:-}" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status=0
for cfg in $CONFIGS; do
case $cfg in
    small) N=${BENCH_BLOCKS:-100000} K=${BENCH_SET_EVERY:-10000} V=${BENCH_AUTHORITIES:-4}
           S=$V THREADS_LIST=${BENCH_THREADS:-default} ;;
    polkadot) N=${BENCH_BIG_BLOCKS:-12000} K=2400 V=297 S=200 THREADS_LIST=${BENCH_BIG_THREADS:-1 2} ;;
    kusama) N=${BENCH_BIG_BLOCKS:-12000} K=2400 V=1000 S=667 THREADS_LIST=${BENCH_BIG_THREADS:-1 2} ;;
    *) echo "unknown BENCH_CONFIGS entry $cfg"; exit 1 ;;
esac
for mode in $MODES; do
    log=$T/server-$cfg-$mode.log
    node "$root/bench/replay-server.js" --blocks "$N" --set-every "$K" --period "$P" \
        --authorities "$V" --signers "$S" --prove-finality "$mode" --latency-ms "$LATENCY_MS" \
        --port 0 >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1200); do   # generation takes seconds; at most 120 s
        grep -q "replay ready" "$log" && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    url=$(grep -o 'replay ready ws://[0-9.:]*' "$log" | cut -d' ' -f3)
    [ -n "$url" ] || { cat "$log"; echo "FAIL: replay server ($mode) did not start"; exit 1; }
    chain=$(grep '^replay chain' "$log")
    field() { printf '%s\n' "$chain" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    bytes=$(field header_bytes)
    # the signatures ferry is served (one justification per proveFinality batch), not all stored
    sigs=$(grep -o 'proof_signatures=[0-9]*' "$log" | cut -d= -f2)
    want_hash=$("$FERRY_BIN" rpc --url "$url" --timeout 20 chain_getBlockHash "$N" | tr -d '"')
    for th in $THREADS_LIST; do
    rm -f "$T/follow.db"*
    threads=()
    [ "$th" != default ] && threads=(--threads "$th")
    fth=1
    [ "$th" != default ] && fth=$th
    floor=$("$FLOOR_BIN" --headers "$N" --header-bytes "$bytes" --signatures "$sigs" \
            --threads "$fth" --reps "$([ "$cfg" = small ] && echo 3 || echo 1)") ||
        { echo "FAIL: floor helper"; exit 1; }
    python3 - "$SERVER_PID" "$N" "$LIMIT" "$T" "$want_hash" "$TARGET_MIB" "$mode" "$chain" \
        "$floor" "$cfg" "$th" "$FERRY_BIN" follow --url "$url" --db "$T/follow.db" --json \
        --until "$N" "${threads[@]+"${threads[@]}"}" <<'EOF' || status=1
import glob, json, os, subprocess, sys, time

spid, n, limit, tmp, want_hash, target_mib, mode, chain, floor, cfg, th = sys.argv[1:12]
cmd = sys.argv[12:]
n, limit, target_mib = int(n), float(limit), float(target_mib)
kv = lambda line: dict(w.split('=', 1) for w in line.split() if '=' in w)
chain, floor = kv(chain), kv(floor)
tick = os.sysconf('SC_CLK_TCK')

def proc_cpu(pid):
    f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick          # utime + stime

def vmrss(pid):
    try:
        for line in open(f'/proc/{pid}/status'):
            if line.startswith('VmRSS:'):
                return int(line.split()[1])          # KiB
    except OSError:
        pass
    return None

def runq_wait(pid):
    # seconds the process's threads spent runnable but waiting for a CPU (schedstat field 2)
    total = 0
    for f in glob.glob(f'/proc/{pid}/task/*/schedstat'):
        try:
            total += int(open(f).read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9

out_path, err_path = f'{tmp}/follow-{cfg}-{mode}-{th}.jsonl', f'{tmp}/follow-{cfg}-{mode}-{th}.log'
out, err = open(out_path, 'wb'), open(err_path, 'wb')
server0 = proc_cpu(spid)
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
reader = open(out_path, 'rb')
lines, t_first, samples, killed = 0, None, [], False
milestones = {m: None for m in (n // 10, n // 2, n)}
waited = {}  # tid glob is re-read each sample: threads come and go; keep the largest total
while True:
    chunk = reader.read()
    lines += chunk.count(b'\n')
    now = time.monotonic()
    if lines and t_first is None:
        t_first = now                                  # genesis verified: start-up is over
    rss = vmrss(p.pid)
    w = runq_wait(p.pid)
    if w:
        waited['s'] = max(waited.get('s', 0), w)
    if rss is not None:
        verified = max(lines - 1, 0)
        samples.append((verified, rss))
        for m in milestones:
            if milestones[m] is None and verified >= m:
                milestones[m] = (verified, rss)
    pid, wstatus, ru = os.wait4(p.pid, os.WNOHANG)  # reaped here: its own rusage
    if pid:
        break
    if now - t0 > limit and not killed:
        p.kill(); killed = True
    time.sleep(0.01)
wall = time.monotonic() - t0
p.returncode = rc = os.waitstatus_to_exitcode(wstatus)
server_cpu = proc_cpu(spid) - server0
lines += reader.read().count(b'\n')

# Check the output: blocks 0..n once each, in order, ending in the server's block n.
ok, why = rc == 0 and not killed, f'ferry exit {rc}' + (' (timeout)' if killed else '')
if ok:
    nums, last = [], None
    for line in open(out_path):
        o = json.loads(line)
        nums.append(o['number']); last = o
    if nums != list(range(n + 1)):
        ok, why = False, f'reported blocks are not exactly 0..{n} ({len(nums)} lines)'
    elif last['hash'] != want_hash:
        ok, why = False, f'hash of #{n} {last["hash"]} != server {want_hash}'
if not ok:
    print(f'FAIL ({mode}): {why}; tail of {err_path}:')
    print(open(err_path).read()[-2000:])
    sys.exit(1)

cpu = ru.ru_utime + ru.ru_stime
peak_kib = ru.ru_maxrss
mib = lambda k: k / 1024
after_start = wall - (t_first - t0) if t_first else wall
half = [r for v, r in samples if v < n // 2], [r for v, r in samples if v >= n // 2]
floor_ms = float(floor['floor_ms'])
batch = f'batches of <= {chain["set_every"]} (a set)' if mode == 'substrate' else f'batches of <= {chain["period"]}'
sigs = int(floor['signatures'])
runq = waited.get('s', 0.0)
print(f'== follow catch-up [{cfg}], proveFinality={mode} ({batch}), ferry threads {th}: {n} headers '
      f'({int(chain["header_bytes"]) / n:.0f} B avg), {chain["voters"]} voters '
      f'({chain.get("signers", chain["voters"])} signing), '
      f'{chain["sets"]} sets, {chain["justifications"]} justifications')
print(f'  wall: {wall:.2f} s -> {n / wall:,.0f} verified headers/s, {sigs / wall:,.0f} signatures/s '
      f'({n / after_start:,.0f} headers/s after start-up of {(t_first - t0) * 1e3:.0f} ms); '
      f'waiting for a CPU (run queue): {runq:.2f} s')
print(f'  ferry CPU: {cpu:.2f} s (user {ru.ru_utime:.2f} + sys {ru.ru_stime:.2f}) = '
      f'{100 * cpu / wall:.0f}% of wall; replay server CPU in the run: {server_cpu:.2f} s '
      f'({100 * server_cpu / wall:.0f}%)')
if milestones[n] is None and samples:                 # it exited between two samples:
    milestones[n] = samples[-1]                       # the last one, labelled with its count
ms = ', '.join(f'#{v}: {mib(r):.1f} MiB' for v, r in (milestones[m] or (m, None) for m in sorted(milestones))
               if r is not None)
print(f'  peak RSS: {mib(peak_kib):.1f} MiB (target < {target_mib:.0f} MiB: '
      f'{"ok" if mib(peak_kib) < target_mib else "ABOVE"}); RSS at {ms or "n/a (run too short)"}')
if half[0] and half[1]:
    print(f'  RSS peak over the first half: {mib(max(half[0])):.1f} MiB, second half: '
          f'{mib(max(half[1])):.1f} MiB ({len(samples)} samples)')
print(f'  crypto floor ({floor["threads"]} signature thread(s), same run): {floor_ms:.0f} ms (blake2b {float(floor["hash_ms"]):.0f} + '
      f'{floor["signatures"]} ed25519 {float(floor["verify_ms"]):.0f}); ratio ferry CPU / floor: {cpu * 1e3 / floor_ms:.1f}, '
      f'wall / floor: {wall * 1e3 / floor_ms:.1f}, wall / ferry CPU: {wall / cpu:.2f}')
m_or = lambda m: milestones[m][1] if milestones[m] else ''
print(f'follow_bench config={cfg} mode={mode} threads={th} voters={chain["voters"]} signatures={sigs} '
      f'signatures_per_s={sigs / wall:.0f} runq_wait_s={runq:.3f} headers={n} wall_s={wall:.3f} headers_per_s={n / wall:.0f} '
      f'cpu_s={cpu:.3f} cpu_pct={100 * cpu / wall:.0f} server_cpu_s={server_cpu:.3f} '
      f'peak_rss_kib={peak_kib} rss_kib_{n // 10}={m_or(n // 10)} rss_kib_{n // 2}={m_or(n // 2)} '
      f'rss_kib_last={samples[-1][1] if samples else ""} rss_last_at={samples[-1][0] if samples else ""} floor_ms={floor_ms:.1f} cpu_over_floor={cpu * 1e3 / floor_ms:.2f}')
EOF
    done
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
done
done
exit $status
