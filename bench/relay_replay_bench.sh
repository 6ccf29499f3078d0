#!/usr/bin/env bash
# Worker catch-up through `ferry relay` over the follow benchmark's replayed chain (issue 14):
# bench/replay-server.js serves the synthetic, fully valid GRANDPA chain of bench/follow_bench.sh
# (BENCH_BLOCKS [100000] headers, a set change every BENCH_SET_EVERY [10000], BENCH_AUTHORITIES
# [4] voters, a justification every 512 blocks, grandpa_proveFinality in Substrate's mode), here
# with --state-root genesis: every block carries genesis's state root, the root of a one-entry
# trie holding Grandpa::Authorities, so the read proof of the worker's three keys at every block
# is a real proof of absence (the one leaf) that ferry and the worker both check.
#
# Solo mode: a fresh ferry-worker (as bench/relay_bench.sh starts it), `ferry relay --no-register
# --no-egress --until-block N` initialises it at genesis, forwards every relay header
# (SyncHeader, batches ending at set changes) and dispatches every block (DispatchBlocks with
# the read proofs, --dispatch-batch B) until the worker has block N; once per B in BENCH_DISPATCH
# ["16 256": the relay's default, and a batch 16 times larger], each with a fresh worker.
#
# Baseline in the same run: `ferry follow --until N` over the same server (the light-client-only
# cost: the same headers and justifications verified, stored in SQLite, nothing forwarded).
#
# Reports: wall time, blocks/s (headers synced = blocks dispatched = N), where the time goes
# (ferry_relay_seconds_total{part="node"|"verify"|"worker"}, as totalled in the relay's last log
# line; the rest is start-up, ferry's own encoding and bookkeeping), CPU of ferry relay, the
# worker and the replay server, peak RSS of ferry relay and of the worker (and their peaks in
# each half of the run: flat memory = the second half no bigger than the first), and the ratios
# relay / follow of wall time, ferry CPU and peak RSS.
# Checks: the relay exits 0, the worker reports header N and block N dispatched, on the server's
# genesis. Exit 0 ok, 1 failed, 77 skipped (no node / no tests/devnet/node_modules).
#
# Environment: FERRY_BIN [build/ferry] (ferry-worker next to it), BENCH_BLOCKS, BENCH_SET_EVERY,
# BENCH_AUTHORITIES, BENCH_DISPATCH, BENCH_TIMEOUT [900 s per run], BENCH_BASELINE [1; 0 skips
# the follow run], BENCH_TMPDIR [/tmp; where the worker seals its state and fsyncs it].
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
F=${FERRY_BIN:-$root/build/ferry}
W=$(dirname "$F")/ferry-worker
N=${BENCH_BLOCKS:-100000}
K=${BENCH_SET_EVERY:-10000}
V=${BENCH_AUTHORITIES:-4}
D=${BENCH_DISPATCH:-16 256}
LIMIT=${BENCH_TIMEOUT:-900}
BASELINE=${BENCH_BASELINE:-1}
command -v node >/dev/null || { echo "bench-relay-replay skipped: node not installed"; exit 77; }
[ -d "$root/tests/devnet/node_modules/ws" ] ||
    { echo "bench-relay-replay skipped: tests/devnet/node_modules missing (make devnet-deps)"; exit 77; }
command -v python3 >/dev/null || { echo "bench-relay-replay skipped: python3 not installed"; exit 77; }
[ -x "$F" ] && [ -x "$W" ] || { echo "no ferry / ferry-worker at $F (make, or set FERRY_BIN)"; exit 1; }

tmp=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/ferry-relay-replay.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: >"$tmp/server.log"
node "$root/bench/replay-server.js" --blocks "$N" --set-every "$K" --period 512 \
    --authorities "$V" --prove-finality substrate --state-root genesis --port 0 \
    >"$tmp/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1200); do   # generation takes seconds; at most 120 s
    grep -q "replay ready" "$tmp/server.log" && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
url=$(grep -o 'replay ready ws://[0-9.:]*' "$tmp/server.log" | cut -d' ' -f3)
[ -n "$url" ] || { cat "$tmp/server.log"; echo "FAIL: replay server did not start"; exit 1; }
grep '^replay chain' "$tmp/server.log" | sed 's/ genesis=.*//'
"$F" key generate --out "$tmp/seal.key" >/dev/null 2>&1 || { echo "FAIL: ferry key generate"; exit 1; }

python3 - "$F" "$W" "$url" "$N" "$D" "$LIMIT" "$BASELINE" "$SERVER_PID" "$tmp" <<'EOF'
import json, os, re, socket, subprocess, sys, time, urllib.request

F, W, url, n, dispatches, limit, baseline, spid, tmp = sys.argv[1:10]
n, limit, spid = int(n), float(limit), int(spid)
tick = os.sysconf('SC_CLK_TCK')

def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p

def cpu(pid):  # utime + stime, seconds
    f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick

def status(pid, key):  # kB
    try:
        for line in open(f'/proc/{pid}/status'):
            if line.startswith(key + ':'):
                return int(line.split()[1])
    except OSError:
        pass
    return 0

def run(cmd, log, sample=None):
    """Runs cmd to the end (bounded by limit); returns (wall s, rusage); sample() every 50 ms."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(log + '.out', 'w'),
                         stderr=open(log, 'w'))
    while True:
        pid, ws, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            wall = time.monotonic() - t0
            rc = os.waitstatus_to_exitcode(ws)
            if rc:
                print(f'FAIL: {cmd[1]} exited {rc}; its log ends with:')
                print(''.join(open(log).readlines()[-15:]), end='')
                sys.exit(1)
            return wall, ru
        if time.monotonic() - t0 > limit:
            p.kill()
            p.wait()
            sys.exit(f'FAIL: {cmd[1]} did not finish within {limit:.0f} s')
        if sample:
            sample(p.pid, time.monotonic() - t0)
        time.sleep(0.05)

# ---- baseline: ferry follow over the same chain ----------------------------------------------
follow = None
if baseline != '0':
    s0 = cpu(spid)
    wall, ru = run([F, 'follow', '--url', url, '--db', f'{tmp}/follow.db', '--until', str(n),
                    '--log-level', 'warn'], f'{tmp}/follow.log')
    follow = dict(wall=wall, cpu=ru.ru_utime + ru.ru_stime, rss=ru.ru_maxrss, server=cpu(spid) - s0)

# ---- the relay ---------------------------------------------------------------------------------
def relay_run(dispatch):
    wport, mport = free_port(), free_port()
    wlog = open(f'{tmp}/worker-{dispatch}.log', 'w')
    worker = subprocess.Popen([W, '--listen', f'127.0.0.1:{wport}', '--data-dir', f'{tmp}/w-{dispatch}',
                               '--seal-key-file', f'{tmp}/seal.key'], stdin=subprocess.DEVNULL,
                              stdout=wlog, stderr=wlog)
    try:
        end = time.monotonic() + 20
        while 'listening' not in open(f'{tmp}/worker-{dispatch}.log').read():
            if time.monotonic() > end or worker.poll() is not None:
                sys.exit('FAIL: ferry-worker did not start:\n' + open(f'{tmp}/worker-{dispatch}.log').read())
            time.sleep(0.05)
        w0, s0 = cpu(worker.pid), cpu(spid)
        metrics = {}
        peaks = {'relay': [0, 0], 'worker': [0, 0]}  # VmRSS peak (kB) in the first / second half
        last = [0.0]

        def sample(rpid, t):
            m = {}
            if t - last[0] >= 0.1:
                last[0] = t
                try:
                    body = urllib.request.urlopen(f'http://127.0.0.1:{mport}/metrics', timeout=1).read()
                    for line in body.decode().splitlines():
                        if line and not line.startswith('#'):
                            k, v = line.rsplit(' ', 1)
                            m[k] = float(v)
                    metrics.clear()
                    metrics.update(m)
                except OSError:
                    pass
            h = metrics.get('ferry_relay_worker_height{chain="relay"}', 0)
            half = 0 if h < n / 2 else 1
            for name, pid in (('relay', rpid), ('worker', worker.pid)):
                peaks[name][half] = max(peaks[name][half], status(pid, 'VmRSS'))

        wall, ru = run([F, 'relay', '--relay-url', url, '--worker-url', f'http://127.0.0.1:{wport}',
                        '--no-register', '--no-egress', '--data-dir', f'{tmp}/relay-{dispatch}',
                        '--metrics-addr', f'127.0.0.1:{mport}', '--until-block', str(n),
                        '--dispatch-batch', dispatch, '--log-level', 'info'], f'{tmp}/relay-{dispatch}.log', sample)
        wcpu, scpu = cpu(worker.pid) - w0, cpu(spid) - s0
        whwm = status(worker.pid, 'VmHWM')
        info = json.loads(subprocess.run([F, 'worker', 'info', '--url', f'http://127.0.0.1:{wport}'],
                                         capture_output=True, text=True, check=True).stdout)
    finally:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

    genesis = json.loads(subprocess.run([F, 'rpc', '--url', url, 'chain_getBlockHash', '0'],
                                        capture_output=True, text=True, check=True).stdout)
    ok = info.get('headernum') == n + 1 and info.get('blocknum') == n + 1 and \
        info.get('genesis_hash') == genesis
    if not ok:
        print(f'FAIL: the worker reports headernum {info.get("headernum")} blocknum '
              f'{info.get("blocknum")} genesis {info.get("genesis_hash")}; want {n + 1}, {n + 1}, {genesis}')
        sys.exit(1)

    # the exact split from the relay's last log line (the same sums as ferry_relay_seconds_total)
    split = re.search(r'time in node requests ([0-9.]+) s, verification ([0-9.]+) s, worker calls '
                      r'([0-9.]+) s', open(f'{tmp}/relay-{dispatch}.log').read())
    if not split:
        sys.exit('FAIL: no time split in the relay log')
    node_s, verify_s, worker_s = (float(x) for x in split.groups())
    other = max(wall - node_s - verify_s - worker_s, 0.0)
    steps = lambda k: int(metrics.get(f'ferry_relay_steps_total{{step="{k}"}}', 0))
    rcpu = ru.ru_utime + ru.ru_stime
    pct = lambda x: f'{100 * x / wall:.0f}%'
    print(f'relay catch-up (solo, replayed chain, --dispatch-batch {dispatch}): {n} headers synced '
          f'and {n} blocks dispatched from genesis in {wall:.1f} s = {n / wall:.0f} blocks/s')
    print(f'  worker: headernum {info["headernum"]} blocknum {info["blocknum"]} on genesis {genesis[:18]}…; '
          f'{steps("headers")} SyncHeader calls, {steps("blocks")} DispatchBlocks calls '
          f'({dispatch} blocks each), ~{int(metrics.get("ferry_relay_worker_calls_total", 0))} worker calls')
    print(f'  where the time goes: '
          f'node requests {node_s:.1f} s ({pct(node_s)}), ferry verification {verify_s:.1f} s '
          f'({pct(verify_s)}), worker calls {worker_s:.1f} s ({pct(worker_s)}), '
          f'rest (encoding, bookkeeping) {other:.1f} s ({pct(other)})')
    us = lambda x: f'{1e6 * x / n:.0f} µs/block'
    print(f'  CPU: ferry relay {rcpu:.1f} s ({pct(rcpu)} of wall, {us(rcpu)}), ferry-worker '
          f'{wcpu:.1f} s ({pct(wcpu)}, {us(wcpu)}), replay server {scpu:.1f} s ({pct(scpu)}, '
          f'{us(scpu)}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs')
    print(f'  peak RSS: ferry relay {ru.ru_maxrss / 1024:.1f} MiB (halves {peaks["relay"][0] / 1024:.1f} / '
          f'{peaks["relay"][1] / 1024:.1f} MiB), ferry-worker {whwm / 1024:.1f} MiB (halves '
          f'{peaks["worker"][0] / 1024:.1f} / {peaks["worker"][1] / 1024:.1f} MiB)')
    return wall, rcpu, ru.ru_maxrss

runs = [(d, relay_run(d)) for d in dispatches.split()]
if follow:
    print(f'baseline ferry follow over the same chain (light client only, SQLite store): '
          f'{follow["wall"]:.1f} s = {n / follow["wall"]:.0f} blocks/s, CPU {follow["cpu"]:.1f} s, '
          f'peak RSS {follow["rss"] / 1024:.1f} MiB, replay server CPU {follow["server"]:.1f} s')
    for d, (wall, rcpu, rss) in runs:
        print(f'  ratio relay (--dispatch-batch {d}) / follow: wall {wall / follow["wall"]:.1f}x, '
              f'ferry CPU {rcpu / follow["cpu"]:.1f}x, peak RSS {rss / follow["rss"]:.1f}x')
EOF
