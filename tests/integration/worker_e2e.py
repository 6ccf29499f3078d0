#!/usr/bin/env python3
"""Drive a ferry-worker against the Phala dev chain (DEVNET_CHAIN=phala) the way a relayer
does, with standard RPCs only, and take a message round trip through it:

  InitRuntime from the genesis header + authority read proof; SyncHeader batches ending in the
  finalized block's justification; DispatchBlocks with state_getReadProof of the three keys;
  `ferry message send` (PhalaMq.push_message) -> the worker's echo reply in GetEgressMessages ->
  PhalaMq.sync_offchain_message (ferry tx) accepted by the real runtime -> OffchainIngress
  proven -> the queue empties -> `ferry message replies` decrypts the answer.

Environment: FERRY_BIN, DEVNET_URL, WORKER_URL, WORK (a scratch directory). Exit 0 on success.
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

FERRY = os.environ["FERRY_BIN"]
RELAY = os.environ["DEVNET_URL"]
# Parachain mode (DEVNET_PARA=phala): the Phala runtime is para 2035 behind a Rococo relay;
# headers and justifications come from the relay, para heads are proven by Paras::Heads, and
# blocks, messages and transactions are the para chain's.
PARA = os.environ.get("DEVNET_PARA_URL") if os.environ.get("E2E_PARACHAIN") == "1" else None
NODE = PARA or RELAY
WORKER = os.environ["WORKER_URL"]
WORK = os.environ["WORK"]
PARA_ID = 2035


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def rpc(method, *params, url=None):
    args = [FERRY, "rpc", "--url", url or RELAY, "--timeout", "60", method]
    args += [json.dumps(p) for p in params]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"rpc {method} {params}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def storage_key(*a):
    r = subprocess.run([FERRY, "storage-key", *a], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"storage-key {a}: {r.stderr}")
    return r.stdout.strip()


# ---- SCALE and protobuf helpers ------------------------------------------------------------------

def unhex(s):
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def compact(n):
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    b = n.to_bytes((n.bit_length() + 7) // 8, "little")
    return bytes([((len(b) - 4) << 2) | 3]) + b


def read_compact(b, i):
    m = b[i] & 3
    if m == 0:
        return b[i] >> 2, i + 1
    if m == 1:
        return int.from_bytes(b[i:i + 2], "little") >> 2, i + 2
    if m == 2:
        return int.from_bytes(b[i:i + 4], "little") >> 2, i + 4
    n = (b[i] >> 2) + 4
    return int.from_bytes(b[i + 1:i + 1 + n], "little"), i + 1 + n


def vec_bytes(b):
    return compact(len(b)) + b


def varint(n):
    out = b""
    while True:
        x = n & 0x7F
        n >>= 7
        if n:
            out += bytes([x | 0x80])
        else:
            return out + bytes([x])


def pb_bytes(field, b):
    return varint(field << 3 | 2) + varint(len(b)) + b


def pb_varint(field, v):
    return varint(field << 3) + varint(v)


def pb_parse(b):
    """field -> list of values (bytes for length-delimited, int for varints)."""
    out, i = {}, 0
    while i < len(b):
        key, i = pb_read_varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = pb_read_varint(b, i)
        elif wt == 2:
            n, i = pb_read_varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            fail(f"unexpected wire type {wt}")
        out.setdefault(f, []).append(v)
    return out


def pb_read_varint(b, i):
    v = s = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << s
        s += 7
        if not x & 0x80:
            return v, i


def call(method, body=b"", expect=200):
    req = urllib.request.Request(f"{WORKER}/prpc/PhactoryAPI.{method}", data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            status, data = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, data = e.code, e.read()
    if status != expect:
        msg = pb_parse(data).get(1, [b"?"])[0].decode(errors="replace") if data else ""
        fail(f"{method}: HTTP {status} (wanted {expect}): {msg}")
    return pb_parse(data)


def info():
    r = subprocess.run([FERRY, "worker", "info", "--url", WORKER], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"worker info: {r.stderr}")
    return json.loads(r.stdout)


def header_scale(h):
    logs = [unhex(x) for x in h["digest"]["logs"]]
    return (unhex(h["parentHash"]) + compact(int(h["number"], 16)) + unhex(h["stateRoot"]) +
            unhex(h["extrinsicsRoot"]) + compact(len(logs)) + b"".join(logs))


def block_hash(n, url=None):
    return rpc("chain_getBlockHash", n, url=url)


def finalized_number():
    return int(rpc("chain_getHeader", rpc("chain_getFinalizedHead"))["number"], 16)


def produce(n=1):
    rpc("devnet_produceBlocks", n)


# ---- the relayer steps ------------------------------------------------------------------------------

def init():
    h0 = block_hash(0)
    header = rpc("chain_getHeader", h0)
    k_auth = storage_key("Grandpa", "Authorities")
    k_set = storage_key("Grandpa", "CurrentSetId")
    k_legacy = "0x" + b":grandpa_authorities".hex()
    auth = rpc("state_getStorage", k_auth, h0)
    if auth:
        alist = unhex(auth)
    else:
        alist = unhex(rpc("state_getStorage", k_legacy, h0))[1:]
    sid = rpc("state_getStorage", k_set, h0)
    set_id = int.from_bytes(unhex(sid), "little") if sid else 0
    proof = rpc("state_getReadProof", [k_auth, k_set, k_legacy], h0)["proof"]
    gi = (header_scale(header) + alist + set_id.to_bytes(8, "little") + compact(len(proof)) +
          b"".join(vec_bytes(unhex(p)) for p in proof))
    r = call("InitRuntime", pb_bytes(2, gi) + (pb_varint(6, 1) if PARA else b"") +
             pb_varint(100, PARA_ID))
    if unhex(h0) != r[2][0]:
        fail("InitRuntime: genesis hash")


def sync_headers():
    i = info()
    nxt, fin = i["headernum"], finalized_number()
    if nxt > fin:
        return
    fh = block_hash(fin)
    just = None
    for eng, j in rpc("chain_getBlock", fh).get("justifications") or []:
        if unhex(eng) == b"FRNK":
            just = unhex(j)
    if just is None:
        fail(f"no justification on finalized block {fin}")
    batch = b""
    for n in range(nxt, fin + 1):
        batch += header_scale(rpc("chain_getHeader", block_hash(n)))
        batch += (b"\x01" + vec_bytes(just)) if n == fin else b"\x00"
    r = call("SyncHeader", pb_bytes(1, compact(fin - nxt + 1) + batch))
    if r.get(1, [0])[0] != fin:
        fail(f"SyncHeader synced_to {r}")


def sync_para_headers():
    i = info()
    relay_n = i["headernum"] - 1
    rh = block_hash(relay_n)
    k = storage_key("Paras", "Heads", "twox64_concat:0x" + PARA_ID.to_bytes(4, "little").hex())
    head = rpc("state_getStorage", k, rh)
    if not head:
        fail(f"no Paras::Heads({PARA_ID}) at relay block {relay_n}")
    hb = unhex(head)
    _, j = read_compact(hb, 0)
    hb = hb[j:]
    num, _ = read_compact(hb, 32)
    nxt = i["para_headernum"]
    if num < nxt:
        return
    proof = rpc("state_getReadProof", [k], rh)["proof"]
    headers = b"".join(header_scale(rpc("chain_getHeader", block_hash(n, PARA), url=PARA))
                       for n in range(nxt, num + 1))
    body = pb_bytes(1, compact(num - nxt + 1) + headers)
    for p in proof:
        body += pb_bytes(2, unhex(p))
    r = call("SyncParaHeader", body)
    if r.get(1, [0])[0] != num:
        fail(f"SyncParaHeader synced_to {r}")


def dispatch(keys):
    i = info()
    frm = i["blocknum"]
    to = (i["para_headernum"] if PARA else i["headernum"]) - 1
    if frm > to:
        return
    blocks = b""
    for n in range(frm, to + 1):
        proof = rpc("state_getReadProof", keys, block_hash(n, PARA), url=PARA)["proof"]
        blocks += compact(n) + compact(len(proof)) + b"".join(vec_bytes(unhex(p)) for p in proof)
    r = call("DispatchBlocks", pb_bytes(1, compact(to - frm + 1) + blocks))
    if r.get(1, [0])[0] != to:
        fail(f"DispatchBlocks synced_to {r}")


def catch_up(keys, extra=3):
    produce(extra)
    sync_headers()
    if PARA:
        sync_para_headers()
    dispatch(keys)


def run_bg(args):
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_bg(p, what):
    """Produce blocks until the background command (waiting for inclusion) exits."""
    deadline = time.time() + 120
    while p.poll() is None:
        if time.time() > deadline:
            p.kill()
            fail(f"{what} did not finish")
        produce(1)
        time.sleep(0.3)
    out, err = p.communicate()
    if p.returncode != 0:
        fail(f"{what}: exit {p.returncode}: {err.strip()} {out.strip()}")
    return out


def decode_egress(b):
    """Vec<(MessageOrigin, Vec<SignedMessage>)> for one Worker sender -> list of dicts."""
    groups, i = read_compact(b, 0)
    msgs = []
    for _ in range(groups):
        if b[i] != 2:
            fail("egress sender is not Worker")
        i += 33
        n, i = read_compact(b, i)
        for _ in range(n):
            if b[i] != 2:
                fail("message sender is not Worker")
            sender = b[i + 1:i + 33]
            i += 33
            dl, i = read_compact(b, i)
            dest, i = b[i:i + dl], i + dl
            pl, i = read_compact(b, i)
            payload, i = b[i:i + pl], i + pl
            seq = int.from_bytes(b[i:i + 8], "little")
            i += 8
            sl, i = read_compact(b, i)
            sig, i = b[i:i + sl], i + sl
            msgs.append(dict(sender=sender, dest=dest, payload=payload, seq=seq, sig=sig))
    if i != len(b):
        fail("trailing bytes in egress")
    return msgs


def main():
    init()
    i = info()
    if not i["initialized"]:
        fail("not initialised")
    pk, ecdh = i["public_key"], i["ecdh_public_key"]
    keys = [storage_key("PhalaMq", "OutboundMessages"),
            storage_key("PhalaMq", "OffchainIngress", "twox64_concat:0x02" + pk[2:]),
            storage_key("PhalaRegistry", "Workers", "twox64_concat:" + pk)]
    catch_up(keys)
    i = info()
    print("synced to", i["headernum"] - 1, "para", i["para_headernum"] - 1, "dispatched to",
          i["blocknum"] - 1)

    key_file = os.path.join(WORK, "alice.key")
    with open(key_file, "w") as f:
        f.write("//Alice\n")
    os.chmod(key_file, 0o600)
    p = run_bg([FERRY, "message", "send", "--url", NODE, "--key-file", key_file, "--worker", pk,
                "--ecdh", ecdh, "hello through the chain"])
    sent = json.loads(finish_bg(p, "message send"))
    print("pushed in block", sent["number"])
    for _ in range(10):
        catch_up(keys)
        if info()["blocknum"] > sent["number"]:
            break
    i = info()
    if i["counters"]["ingress_handled"] != 1 or i["pending_egress"] != 1:
        fail(f"after dispatch: {i}")

    eg = call("GetEgressMessages")
    msgs = decode_egress(eg[1][0])
    if len(msgs) != 1 or msgs[0]["seq"] != 0:
        fail(f"egress: {msgs}")
    m = msgs[0]
    arg = {"message": {"sender": {"Worker": "0x" + m["sender"].hex()},
                       "destination": "0x" + m["dest"].hex(), "payload": "0x" + m["payload"].hex()},
           "sequence": m["seq"], "signature": "0x" + m["sig"].hex()}
    p = run_bg([FERRY, "tx", "--url", NODE, "--key", "//Alice", "--wait", "in-block",
                "PhalaMq.sync_offchain_message", json.dumps(arg)])
    out = finish_bg(p, "sync_offchain_message")
    res = json.loads(out.strip().splitlines()[-1])
    if res.get("result") != "ExtrinsicSuccess":
        fail(f"sync_offchain_message: {res}")
    print("egress accepted on chain in block", res["number"])
    for _ in range(10):
        catch_up(keys)
        if info()["pending_egress"] == 0:
            break
    i = info()
    if i["pending_egress"] != 0 or i["counters"]["egress_confirmed"] != 1:
        fail(f"egress not confirmed: {i}")

    r = subprocess.run([FERRY, "message", "replies", "--url", NODE, "--key-file", key_file,
                        "--from", "0"], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"message replies: {r.stderr}")
    replies = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    if not any(x.get("reply") == "hello through the chain" for x in replies):
        fail(f"no decrypted reply: {r.stdout} {r.stderr}")
    print("reply decrypted:", replies[0]["reply"])

    # registration: GetRuntimeInfo's WorkerRegistrationInfoV2 and None attestation are what
    # PhalaRegistry.register_worker_v2 takes; the worker then proves itself registered
    ri = call("GetRuntimeInfo", pb_bytes(2, bytes(32)))
    b = ri[1][0]
    att = pb_parse(ri[5][0])
    if att[5][0] != b"\x00":
        fail(f"attestation report for provider none: {att}")
    ver = int.from_bytes(b[0:4], "little")
    ml, j = read_compact(b, 4)
    mid, j = b[j:j + ml], j + ml
    pkb, epk, gh = b[j:j + 32], b[j + 32:j + 64], b[j + 64:j + 96]
    j += 96
    nf, j = read_compact(b, j)
    feats = [int.from_bytes(b[j + 4 * k:j + 4 * k + 4], "little") for k in range(nf)]
    j += 4 * nf
    op = None
    if b[j] == 1:
        op, j = "0x" + b[j + 1:j + 33].hex(), j + 33
    else:
        j += 1
    para_id = int.from_bytes(b[j:j + 4], "little")
    mcv = int.from_bytes(b[j + 4:j + 8], "little")
    if j + 8 != len(b) or para_id != PARA_ID:
        fail(f"WorkerRegistrationInfoV2 layout: {b.hex()}")
    info_json = {"version": ver, "machine_id": "0x" + mid.hex(), "pubkey": "0x" + pkb.hex(),
                 "ecdh_pubkey": "0x" + epk.hex(), "genesis_block_hash": "0x" + gh.hex(),
                 "features": feats, "operator": op, "para_id": para_id,
                 "max_consensus_version": mcv}
    p = run_bg([FERRY, "tx", "--url", NODE, "--key", "//Alice", "--wait", "in-block",
                "PhalaRegistry.register_worker_v2", json.dumps(info_json), "null"])
    res = json.loads(finish_bg(p, "register_worker_v2").strip().splitlines()[-1])
    if res.get("result") != "ExtrinsicSuccess":
        fail(f"register_worker_v2: {res}")
    print("registered on chain in block", res["number"])
    for _ in range(10):
        catch_up(keys)
        if info()["registered"]:
            break
    if not info()["registered"]:
        fail(f"worker does not prove itself registered: {info()}")
    print("worker reports registered at block", info()["blocknum"] - 1)


if __name__ == "__main__":
    main()
