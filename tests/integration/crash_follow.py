#!/usr/bin/env python3
"""Driver and checks of t_follow_crash.sh (ferry follow killed with SIGKILL during a catch-up).

usage:
  crash_follow.py hashes --url WS --n N --out FILE
      list the hashes of blocks 0..N of a replay server (one per line, block b on line b+1),
      asked with batched chain_getBlockHash (node + tests/devnet's ws).
  crash_follow.py crash --ferry BIN --url WS --db FILE --n N --set-every K --hashes FILE
                        --kills KILLS --min-kills M --seed S --dir DIR [-- FOLLOW_FLAGS...]
      run `ferry follow --url WS --db FILE --json --until N FOLLOW_FLAGS` on one store, killing
      it with SIGKILL KILLS times, in turn a random 0-400 ms after it starts, a random 0-200 ms
      after its first output and as soon as it has output (mid-print, as a rule), then let a last
      run finish; check every run and the store after every run (see t_follow_crash.sh).
  crash_follow.py early --ferry BIN --url WS --until U --set-every K --hashes FILE --runs R
                        --seed S --dir DIR
      R fresh stores, each killed a random 0-30 ms after ferry starts (while it creates the
      store), then resumed to U: the resume starts after what the store holds and ends at U.
  crash_follow.py check --n N --set-every K --hashes FILE OUT.jsonl
      one uninterrupted run's output: exactly blocks 0..N once each, the server's hashes.
Exit 0 ok, 1 a check failed (the reason on stdout).
"""
import argparse, hashlib, json, os, random, re, signal, sqlite3, struct, subprocess, sys, time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))

DUMP_JS = r'''
const path = require('path');
const WebSocket = require(path.join(process.argv[1], 'tests/devnet/node_modules/ws'));
const [url, n, out] = process.argv.slice(2);
const N = Number(n), STEP = 5000, hashes = [];
const ws = new WebSocket(url);
let from = 0;
function next() {
  if (from > N) { require('fs').writeFileSync(out, hashes.join('\n') + '\n'); process.exit(0); }
  const batch = [];
  for (let b = from; b <= Math.min(N, from + STEP - 1); b++)
    batch.push({ jsonrpc: '2.0', id: b, method: 'chain_getBlockHash', params: [b] });
  ws.send(JSON.stringify(batch));
}
ws.on('open', next);
ws.on('message', (data) => {
  const r = JSON.parse(data.toString());
  r.sort((a, b) => a.id - b.id);
  for (const x of r) {
    if (x.id !== hashes.length || typeof x.result !== 'string') { console.error('bad answer', JSON.stringify(x)); process.exit(1); }
    hashes.push(x.result);
  }
  from = hashes.length;
  next();
});
ws.on('error', (e) => { console.error(String(e)); process.exit(1); });
setTimeout(() => { console.error('timeout'); process.exit(1); }, 60000);
'''


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def set_of(b, k):
    """The set whose voters finalize block b on the replay chain (b = k is the last of set 0)."""
    return (b - 1) // k if k > 0 and b > 0 else 0


def read_output(path):
    """(blocks, torn): the complete lines of a --json output as dicts; torn = a last line cut
    short (a kill while stdio wrote a buffer that ends inside a line)."""
    data = open(path, 'rb').read()
    torn = None
    if data and not data.endswith(b'\n'):
        cut = data.rfind(b'\n') + 1
        torn, data = data[cut:], data[:cut]
    blocks = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    return blocks, torn


def check_blocks(blocks, first, hashes, k, what):
    """Blocks first, first+1, ... in order, each the server's hash and set id."""
    for i, b in enumerate(blocks):
        n = b.get('number')
        check(b.get('chain') == 'relay', f'{what}: not a relay block: {b}')
        check(n == first + i, f'{what}: line {i + 1} is #{n}, want #{first + i} (not contiguous)')
        check(0 <= n < len(hashes) and b.get('hash') == hashes[n],
              f'{what}: #{n} hash {b.get("hash")} is not the server\'s {hashes[n] if n < len(hashes) else "?"}')
        check(b.get('set_id') == set_of(n, k), f'{what}: #{n} set_id {b.get("set_id")}, want {set_of(n, k)}')


def checkpoint(ferry, db, empty_ok):
    """The store's last block (number, hash), by `ferry checkpoint export`; (-1, None) for a
    store that does not exist yet or holds no verified state (exit 3 / 1), only when empty_ok
    (a run killed before its trust root was committed)."""
    r = subprocess.run([ferry, 'checkpoint', 'export', '--db', db], capture_output=True, text=True,
                       timeout=30)
    if empty_ok and (r.returncode == 1 or r.returncode == 3 and not os.path.exists(db)):
        return -1, None
    check(r.returncode == 0, f'checkpoint export --db {db}: exit {r.returncode}: {r.stderr.strip()}')
    c = json.loads(r.stdout)
    return c['number'], c['hash']


def audit_store(db, hashes, k, want_last):
    """Read every relay header the store keeps, without ferry: SQLite's relay_chunk rows and the
    header-log chunks they refer to (format in include/ferry/store.h), and check each against the
    server's chain: its hash, parent, number and set id; numbers contiguous up to want_last.
    Returns (first kept number, chunks in the log, chunks in SQLite). The log's checksums are
    not recomputed (no xxh64 here); the content checks are stronger."""
    con = sqlite3.connect(f'file:{db}?mode=ro', uri=True)
    try:
        rows = con.execute('SELECT k, data FROM relay_chunk ORDER BY k').fetchall()
    finally:
        con.close()
    check(rows, f'{db}: no relay_chunk rows')
    segs, in_log, in_sql, expect = {}, 0, 0, None
    for key, data in rows:
        data = bytes(data)
        if data[0] == 0:
            check(len(data) == 25, f'{db}: chunk {key}: a reference of {len(data)} bytes')
            seg, off, ln, _sum = struct.unpack('<IQIQ', data[1:])
            check(seg == key // 1024, f'{db}: chunk {key} refers to segment {seg}')
            if seg not in segs:
                path = f'{db}-headers/{seg:08d}.hlog'
                check(os.path.exists(path), f'{db}: chunk {key} refers to the missing {path}')
                segs[seg] = open(path, 'rb').read()
            blob = segs[seg][off:off + ln]
            check(len(blob) == ln, f'{db}: chunk {key}: segment {seg} ends before {off}+{ln}')
            in_log += 1
        else:
            blob = data
            in_sql += 1
        n, at = blob[0], 1
        check(1 <= n <= 64, f'{db}: chunk {key}: {n} entries')
        for _ in range(n):
            o, set_id, h, ln = struct.unpack_from('<BQ32sI', blob, at)
            at += 45
            header = blob[at:at + ln]
            at += ln
            num = key * 64 + o
            what = f'{db}: chunk {key} #{num}'
            check(len(header) == ln and o < 64, f'{what}: truncated entry')
            check(expect is None or num == expect, f'{what}: stored headers skip from #{expect}')
            expect = num + 1
            check(0 <= num < len(hashes) and '0x' + h.hex() == hashes[num], f'{what}: not the server\'s hash')
            check(hashlib.blake2b(header, digest_size=32).digest() == h, f'{what}: header does not hash to its hash')
            check(num == 0 or '0x' + header[:32].hex() == hashes[num - 1], f'{what}: parent is not #{num - 1}')
            check(set_id == set_of(num, k), f'{what}: set_id {set_id}, want {set_of(num, k)}')
        check(at == len(blob), f'{db}: chunk {key}: {len(blob) - at} bytes after its entries')
    check(expect - 1 == want_last, f'{db}: stored headers end at #{expect - 1}, the checkpoint at #{want_last}')
    return rows[0][0] * 64, in_log, in_sql


def cmd_hashes(a):
    r = subprocess.run(['node', '-e', DUMP_JS, ROOT, a.url, str(a.n), a.out], capture_output=True,
                       text=True, timeout=90)
    if r.returncode != 0:
        print(f'hash list: {r.stderr.strip()}')
        return 1
    return 0


def cmd_check(a):
    hashes = open(a.hashes).read().split()
    blocks, torn = read_output(a.out)
    check(torn is None, f'{a.out}: last line cut short: {torn!r}')
    check(len(blocks) == a.n + 1, f'{a.out}: {len(blocks)} blocks, want 0..{a.n}')
    check_blocks(blocks, 0, hashes, a.set_every, a.out)
    print(f'ok: #0..#{a.n} once each')
    return 0


def cmd_crash(a):
    rng = random.Random(f'{a.seed} {a.dir}')
    hashes = open(a.hashes).read().split()
    check(len(hashes) == a.n + 1, f'{a.hashes}: {len(hashes)} hashes, want {a.n + 1}')
    os.makedirs(a.dir, exist_ok=True)
    flags = [f for f in a.flags if f != '--']
    t_start = time.monotonic()
    stored = -1          # the store's last block (-1: empty)
    printed_max = -1     # the highest block printed by any run
    kills = progress_kills = unprinted = torn_lines = empty_kills = 0
    finished = False
    runs = []
    i = 0
    while not finished:
        last_run = kills >= a.kills
        kind = 'none' if last_run else ('start', 'line', 'print')[i % 3]
        delay = {'start': rng.uniform(0, 0.4), 'line': rng.uniform(0, 0.2)}.get(kind, 0.0)
        out_path, log_path = f'{a.dir}/run{i}.jsonl', f'{a.dir}/run{i}.log'
        cmd = [a.ferry, 'follow', '--url', a.url, '--db', a.db, '--json', '--until', str(a.n)] + flags
        with open(out_path, 'wb') as out, open(log_path, 'wb') as err:
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        killed = False
        try:
            kill_at = t0 + delay if kind == 'start' else None
            limit = t0 + (60 if last_run else 30)
            while p.poll() is None:
                now = time.monotonic()
                check(now < limit, f'run {i}: still running after {limit - t0:.0f} s')
                if kind in ('line', 'print') and kill_at is None and os.path.getsize(out_path) > 0:
                    kill_at = now + delay
                if kill_at is not None and now >= kill_at:
                    p.send_signal(signal.SIGKILL)
                    p.wait()
                    killed = True
                    break
                time.sleep(0.002)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        wall = time.monotonic() - t0
        rc = p.returncode
        what = f'run {i} ({kind} {delay * 1e3:.0f} ms)'
        check(killed and rc == -signal.SIGKILL or not killed and rc == 0,
              f'{what}: exit {rc}: {open(log_path, errors="replace").read()[-1500:]}')
        log = open(log_path, errors='replace').read()
        bad = [l for l in log.splitlines() if re.search(r'ERROR|corrupt', l, re.I)]
        check(not bad, f'{what}: its log says: {bad[:3]}')
        blocks, torn = read_output(out_path)
        if torn is not None:
            check(killed, f'{what}: exited 0 with a last line cut short: {torn!r}')
            torn_lines += 1
        if blocks:
            check_blocks(blocks, stored + 1, hashes, a.set_every, what)
            check(blocks[0]['number'] > printed_max,
                  f'{what}: prints #{blocks[0]["number"]} again (printed up to #{printed_max})')
            printed_max = blocks[-1]['number']
        before = stored
        stored, stored_hash = checkpoint(a.ferry, a.db, before < 0 and killed)
        check(stored >= before, f'{what}: the store went back from #{before} to #{stored}')
        check(stored < 0 or stored_hash == hashes[stored], f'{what}: the store\'s #{stored} is not the server\'s block')
        check(stored >= printed_max, f'{what}: printed #{printed_max} but the store holds #{stored}')
        if stored < 0:
            empty_kills += 1
        else:
            kept_from, in_log, in_sql = audit_store(a.db, hashes, a.set_every, stored)
        if stored > printed_max:  # committed, killed before printed: never printed (documented)
            unprinted += stored - printed_max
            printed_max = stored
        runs.append(f'{kind[0]}{delay * 1e3:.0f}ms:{wall * 1e3:.0f}ms->#{stored}' + ('' if killed else ' exit0'))
        if killed:
            kills += 1
            progress_kills += stored > before
        else:
            finished = True
            check(stored == a.n, f'{what}: exited 0 with the store at #{stored}, want #{a.n}')
            check(last_run or kills >= a.min_kills,
                  f'{what}: caught up after only {kills} kills (want {a.min_kills}): the chain is too short')
        i += 1
    r = subprocess.run([a.ferry, 'rpc', '--url', a.url, '--timeout', '20', 'chain_getBlockHash', str(a.n)],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and json.loads(r.stdout) == hashes[a.n], f'server hash of #{a.n}: {r.stdout} {r.stderr}')
    check(printed_max == a.n, f'the last block printed is #{printed_max}, want #{a.n}')
    print(f'{os.path.basename(a.dir)}: ok, {kills} kills ({progress_kills} after progress), {len(runs)} runs '
          f'in {time.monotonic() - t_start:.1f} s; store keeps #{kept_from}..#{stored} ({in_log} chunks in '
          f'the header log, {in_sql} in SQLite; audited after every run); {empty_kills} kills before the '
          f'store held a state; '
          f'{unprinted} committed blocks unprinted after kills, '
          f'{torn_lines} torn last lines; runs: {" ".join(runs)}')
    return 0


def cmd_early(a):
    """Kills while the store is created: fresh stores, each killed a random 0-30 ms after ferry
    starts (opening or creating the SQLite file, its schema, the trust root), then resumed to
    --until; the resumed run must start after what the store holds and end at --until."""
    rng = random.Random(f'{a.seed} early')
    hashes = open(a.hashes).read().split()
    os.makedirs(a.dir, exist_ok=True)
    seen = {}
    for i in range(a.runs):
        db = f'{a.dir}/e{i}.db'
        base = [a.ferry, 'follow', '--url', a.url, '--db', db, '--json', '--until', str(a.until)]
        with open(f'{a.dir}/e{i}.log', 'wb') as err:
            p = subprocess.Popen(base, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        delay = rng.uniform(0, 0.03)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        rc = p.wait()
        what = f'early {i} ({delay * 1e3:.0f} ms)'
        check(rc in (0, -signal.SIGKILL), f'{what}: exit {rc}')
        stored, _ = checkpoint(a.ferry, db, True)
        state = 'no file' if not os.path.exists(db) else 'empty' if stored < 0 else f'#{stored}'
        seen[state] = seen.get(state, 0) + 1
        r = subprocess.run(base, capture_output=True, text=True, timeout=60)
        bad = [l for l in r.stderr.splitlines() if re.search(r'ERROR|corrupt', l, re.I)]
        check(r.returncode == 0 and not bad, f'{what}: resume exit {r.returncode}: {r.stderr[-800:]}')
        blocks = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        check_blocks(blocks, stored + 1, hashes, a.set_every, f'{what}: resume')
        check(blocks and blocks[-1]['number'] == a.until, f'{what}: resume ended at {blocks[-1:]}')
        audit_store(db, hashes, a.set_every, a.until)
    print(f'early: ok, {a.runs} kills within 30 ms of the start, store left: '
          + ', '.join(f'{k} x{v}' for k, v in sorted(seen.items())))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    h = sub.add_parser('hashes')
    h.add_argument('--url', required=True)
    h.add_argument('--n', type=int, required=True)
    h.add_argument('--out', required=True)
    c = sub.add_parser('crash')
    for f in ('--ferry', '--url', '--db', '--hashes', '--dir', '--seed'):
        c.add_argument(f, required=True)
    for f in ('--n', '--set-every', '--kills', '--min-kills'):
        c.add_argument(f, type=int, required=True)
    c.add_argument('flags', nargs=argparse.REMAINDER)
    e = sub.add_parser('early')
    for f in ('--ferry', '--url', '--hashes', '--dir', '--seed'):
        e.add_argument(f, required=True)
    for f in ('--until', '--set-every', '--runs'):
        e.add_argument(f, type=int, required=True)
    k = sub.add_parser('check')
    k.add_argument('--n', type=int, required=True)
    k.add_argument('--set-every', type=int, required=True)
    k.add_argument('--hashes', required=True)
    k.add_argument('out')
    a = ap.parse_args()
    # stopped by the harness's timeout: the finally blocks kill the ferry being run
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return {'hashes': cmd_hashes, 'crash': cmd_crash, 'early': cmd_early, 'check': cmd_check}[a.cmd](a)
    except Failed as e:
        print(f'FAIL: {e}')
        return 1


sys.exit(main())
