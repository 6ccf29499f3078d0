#!/usr/bin/env python3
"""Check `ferry follow --json` output against the dev chain.

usage: check_follow.py --relay-url WS [--para-url WS] [--min-set-changes N] [--min-para N]
                       [--allow-gap] OUT.jsonl [OUT2.jsonl ...]
Several files are the outputs of successive runs on one store (e.g. before and after kill -9);
together they must report each block once. Every reported hash must equal the dev chain's
canonical hash at that number (asked with `ferry rpc chain_getBlockHash`).
"""
import argparse, json, os, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument('--relay-url', required=True)
ap.add_argument('--para-url')
ap.add_argument('--min-set-changes', type=int, default=0)
ap.add_argument('--min-para', type=int, default=0)
ap.add_argument('--min-relay', type=int, default=1)
ap.add_argument('files', nargs='+')
a = ap.parse_args()
ferry = os.environ['FERRY_BIN']

def canonical(url, numbers):
    out = {}
    for n in numbers:
        r = subprocess.run([ferry, 'rpc', '--url', url, '--timeout', '20', 'chain_getBlockHash', str(n)],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            sys.exit(f'chain_getBlockHash({n}) failed: {r.stderr}')
        out[n] = json.loads(r.stdout)
    return out

seen = {'relay': {}, 'para': {}}
set_ids = []
for path in a.files:
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        b = json.loads(line)
        chain, n = b['chain'], b['number']
        if n in seen[chain]:
            sys.exit(f'{chain} block #{n} reported twice')
        seen[chain][n] = b['hash']
        if chain == 'relay':
            set_ids.append(b['set_id'])

relay = sorted(seen['relay'])
if len(relay) < a.min_relay:
    sys.exit(f'only {len(relay)} relay blocks reported')
if relay != list(range(relay[0], relay[-1] + 1)):
    missing = sorted(set(range(relay[0], relay[-1] + 1)) - set(relay))
    sys.exit(f'relay blocks skipped: {missing[:20]}')
changes = sum(1 for x, y in zip(set_ids, set_ids[1:]) if y != x)
if changes < a.min_set_changes:
    sys.exit(f'only {changes} set changes seen (set ids {sorted(set(set_ids))})')
want = canonical(a.relay_url, relay)
bad = [n for n in relay if want[n] != seen['relay'][n]]
if bad:
    sys.exit(f'relay blocks differ from the canonical chain: {bad[:10]}')
para = sorted(seen['para'])
if len(para) < a.min_para:
    sys.exit(f'only {len(para)} para blocks reported')
if para:
    if para != list(range(para[0], para[-1] + 1)):
        sys.exit('para blocks skipped')
    pwant = canonical(a.para_url, para)
    bad = [n for n in para if pwant[n] != seen['para'][n]]
    if bad:
        sys.exit(f'para blocks differ from the canonical chain: {bad[:10]}')
print(f'ok: relay #{relay[0]}..#{relay[-1]} ({changes} set changes), '
      f'para {len(para)} blocks' + (f' #{para[0]}..#{para[-1]}' if para else ''))
