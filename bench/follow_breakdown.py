#!/usr/bin/env python3
# Where ferry follow's CPU goes, by what each sample's call stack is doing (docs/performance.md,
# "Header log and grouped commits"). Each sample is counted once, in the first group below its
# stack matches, in % of ferry's CPU. Input: a `perf record --call-graph dwarf` of ferry follow:
#   cat > /tmp/pf.sh <<'SH'
#   #!/bin/bash
#   [ "$1" = follow ] && exec perf record -F 15000 --call-graph dwarf,16384 -o /tmp/f.data -- build/ferry "$@"
#   exec build/ferry "$@"
#   SH
#   FERRY_BIN=/tmp/pf.sh FLOOR_BIN=build/bench/follow_floor BENCH_CONFIGS=small BENCH_MODES=next \
#       bash bench/follow_bench.sh
#   python3 bench/follow_breakdown.py /tmp/f.data
import collections
import subprocess
import sys

data = sys.argv[1]
out = subprocess.run(['perf', 'script', '-i', data, '-F', 'period,ip,sym,dso'], capture_output=True, text=True).stdout
cats = [
 ('start-up (dynamic linking, exec)', lambda s: any(x.startswith('_dl_') or x in ('dl_main','_dl_start','do_lookup_x') for x in s) or 'execve' in ' '.join(s[-6:])),
 ('signatures (ed25519, libsodium)', lambda s: any('crypto_sign' in x or 'ge25519' in x or 'fe25519' in x or 'ferry_ed25519' in x for x in s)),
 ('hashing (blake2b: the floor\'s part)', lambda s: any(x.startswith('blake2b') for x in s)),
 ('store: header log (append, write, sync)', lambda s: any(x.startswith('hlog_') for x in s)),
 ('store: SQLite (index rows, commit, prune)', lambda s: any(x.startswith('sqlite3') or x.startswith('ferry_store') or x in ('flush_relay','commit_now','enc_entry','queue_relay') for x in s)),
 ('output (--json lines)', lambda s: any(x in ('print_block','on_relay','out_flush') for x in s)),
 ('receive: socket reads, WebSocket frames, hex decode', lambda s: any(x.startswith('rpc_rx') or x.startswith('ws_') or 'wsplain' in x or x.startswith('ferry_ws') or x=='on_bytes' or x=='service_main' or x.startswith('ferry_hex_decode') for x in s)),
 ('header decoding and linkage (lc)', lambda s: any(x.startswith('ferry_header') or x.startswith('ferry_lc') or x.startswith('ferry_source_stream') or x.startswith('ferry_scale') or x.startswith('ferry_authority') for x in s)),
 ('page faults (other)', lambda s: any('page_fault' in x for x in s)),
 ('threads, scheduling, wake-ups', lambda s: any(x in ('__schedule','schedule','futex_wait','do_futex','__x64_sys_futex','__x64_sys_poll','clone3','start_thread','__x64_sys_clone3') for x in s)),
]
tot = 0; acc = collections.Counter()
for block in out.split('\n\n'):
    lines = [l.strip() for l in block.strip().split('\n') if l.strip()]
    if not lines: continue
    try: period = int(lines[0].split()[0])
    except: continue
    syms = [l.split()[1] if len(l.split())>1 else '' for l in lines[1:]]
    syms = [x.split('+')[0] for x in syms]
    dsos = ' '.join(l.split()[-1] for l in lines[1:])
    if 'libsodium' in dsos: syms = syms + ['crypto_sign_libsodium']
    if 'libb2' in dsos: syms = syms + ['blake2b_libb2']
    tot += period
    for name, f in cats:
        if f(syms):
            acc[name] += period; break
    else:
        acc['other'] += period
for name, _ in cats + [('other', None)]:
    print(f'{name}: {100*acc[name]/tot:.1f} %')
