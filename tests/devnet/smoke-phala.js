'use strict';
// Smoke checks of the Phala runtime on the devnet (DEVNET_PARA=phala or DEVNET_CHAIN=phala), with
// independent code only (polkadot-js types/keyring/crypto, papi's proof decoder): real calls
// signed by dev keys in JavaScript, their effects read back with read proofs. Used by smoke.js.
//
//   - PhalaRegistry.register_worker_v2(info, None) by sr25519 //Dave -> WorkerAdded with
//     attestation_provider None; Workers[pubkey] stored;
//   - PhalaMq.push_message by ECDSA //Charlie -> PhalaMq.OutboundMessages holds it in that block
//     only (absent in the next), proven by minimal read proofs;
//   - PhalaMq.sync_offchain_message with sequences 0, 1, 2 signed (sr25519, over
//     SCALE(message) ‖ u64 sequence) by a worker key, submitted by sr25519 //Bob -> applied,
//     OffchainIngress[Worker(pk)] = 3; sequence 0 again -> refused by the pool as stale; sequence 3
//     with an all-zero signature -> ExtrinsicFailed PhalaRegistry.InvalidSignature.

const { TypeRegistry, Metadata } = require('@polkadot/types');
const { expandMetadata } = require('@polkadot/types/metadata');
const { Keyring } = require('@polkadot/keyring');
const { blake2AsHex, blake2AsU8a, xxhashAsU8a, sr25519Verify } = require('@polkadot/util-crypto');
const { u8aToHex, hexToU8a, u8aConcat, stringToU8a, compactAddLength, compactToU8a } = require('@polkadot/util');

const PARA_ID = 2035;
const twox128 = (s) => xxhashAsU8a(stringToU8a(s), 128);
const skey = (p, i) => u8aConcat(twox128(p), twox128(i));
const le32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const le64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const vec = (u8) => compactAddLength(u8);

const K = {
  parachainId: u8aToHex(skey('ParachainInfo', 'ParachainId')),
  outbound: u8aToHex(skey('PhalaMq', 'OutboundMessages')),
  events: u8aToHex(skey('System', 'Events')),
  sudo: u8aToHex(skey('Sudo', 'Key')),
  ingress: (origin) => u8aToHex(u8aConcat(skey('PhalaMq', 'OffchainIngress'), xxhashAsU8a(origin, 64), origin)),
  // map keys with the hasher the metadata names (Blake2_128Concat or Twox64Concat)
  map: (p, i, hasher, k) => u8aToHex(u8aConcat(skey(p, i), hasher === 'Twox64Concat' ? xxhashAsU8a(k, 64) : blake2AsU8a(k, 128), k)),
  account: (id) => u8aToHex(u8aConcat(skey('System', 'Account'), blake2AsU8a(id, 128), id)),
};

async function chainCtx(rpc) {
  const reg = new TypeRegistry();
  const md = new Metadata(reg, await rpc.call('state_getMetadata'));
  reg.setMetadata(md);
  const dec = expandMetadata(reg, md);
  return { rpc, reg, dec, rv: await rpc.call('state_getRuntimeVersion'), genesis: await rpc.call('chain_getBlockHash', [0]) };
}

function signXt(ctx, pair, call, nonce) {
  const xt = ctx.reg.createType('Extrinsic', call);
  xt.sign(pair, {
    nonce,
    genesisHash: ctx.genesis,
    blockHash: ctx.genesis,
    era: ctx.reg.createType('ExtrinsicEra', new Uint8Array([0])),
    runtimeVersion: { specVersion: ctx.rv.specVersion, transactionVersion: ctx.rv.transactionVersion },
    signedExtensions: ctx.reg.signedExtensions,
  });
  return xt.toHex();
}

// SCALE phala-mq Message{sender: MessageOrigin, destination: Topic(Vec<u8>), payload: Vec<u8>}
function encodeMessage(origin, topic, payload) {
  return u8aConcat(origin, vec(topic), vec(payload));
}

async function phalaChecks(h) {
  const { ok, log, verifyProof, produce } = h;
  const P = h.phalaRpc;
  const ctx = await chainCtx(P);
  const { reg, dec } = ctx;
  ok(ctx.rv.specName === 'phala-node', `Phala endpoint runs the phala-node runtime (${ctx.rv.specName} ${ctx.rv.specVersion})`);

  // genesis edits, proven against the real genesis state root
  const g = h.headerFromJson(await P.call('chain_getHeader', [ctx.genesis]));
  ok(g.hash.toHex() === ctx.genesis && g.number.toNumber() === 0 && g.parentHash.toHex() === '0x' + '00'.repeat(32), 'Phala genesis hash = blake2b-256(SCALE(genesis header)), parent 0');
  const sr = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const ec = new Keyring({ type: 'ecdsa', ss58Format: 42 });
  const alice = sr.addFromUri('//Alice');
  ok(alice.address === '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY', 'sr25519 //Alice is the subkey dev key');
  const bob = sr.addFromUri('//Bob');
  const dave = sr.addFromUri('//Dave');
  const charlie = ec.addFromUri('//Charlie');
  const charlieId = blake2AsU8a(charlie.publicKey, 256);
  const gv = await verifyProof(P, ctx.genesis, g.stateRoot.toHex(), [K.parachainId, K.sudo, K.account(bob.publicKey), K.account(charlieId)], 'Phala genesis');
  ok(gv[K.parachainId] === u8aToHex(le32(PARA_ID)), `Phala genesis: ParachainInfo::ParachainId = ${PARA_ID}`);
  ok(gv[K.sudo] === u8aToHex(alice.publicKey), 'Phala genesis: Sudo::Key = sr25519 //Alice');
  for (const [who, k] of [['sr25519 //Bob', K.account(bob.publicKey)], ['ECDSA //Charlie', K.account(charlieId)]]) {
    ok(gv[k] && reg.createType('AccountInfo', gv[k]).data.free.toBigInt() > 10n ** 18n, `Phala genesis: ${who} endowed`);
  }
  for (const [name, want] of [['noneAttestationEnabled', true], ['verifyPRuntime', false], ['verifyRelaychainGenesisBlockHash', false]]) {
    ok(dec.consts.phalaRegistry[name].toJSON() === want, `PhalaRegistry.${name} = ${want} (runtime constant)`);
  }

  // the worker's keys (not accounts: the worker signs messages, dev accounts submit)
  const worker = sr.addFromUri('//ferry-smoke-worker');
  const ecdh = sr.addFromUri('//ferry-smoke-worker//ecdh');
  const origin = u8aConcat(new Uint8Array([2]), worker.publicKey); // MessageOrigin::Worker(pk)
  const topic = stringToU8a('phala/ferry/smoke');
  const signedMessage = (seq, payload, zeroSig) => {
    const msg = encodeMessage(origin, topic, payload);
    const sig = zeroSig ? new Uint8Array(64) : worker.sign(u8aConcat(msg, le64(seq)));
    if (!zeroSig) ok(sr25519Verify(u8aConcat(msg, le64(seq)), sig, worker.publicKey), `worker signature for sequence ${seq} verifies`);
    return u8aConcat(msg, le64(seq), vec(sig)); // SignedMessage{message, sequence u64, signature Vec<u8>}
  };
  const syncCall = (seq, payload, zeroSig) => {
    const bytes = signedMessage(seq, payload, zeroSig);
    const call = dec.tx.phalaMq.syncOffchainMessage(bytes);
    ok(u8aToHex(call.args[0].toU8a()) === u8aToHex(bytes), `SignedMessage(seq ${seq}) encodes as built by hand`);
    return call;
  };

  // WorkerRegistrationInfoV2{version u32, machine_id Vec<u8>, pubkey, ecdh_pubkey, genesis_block_hash,
  // features Vec<u32>, operator Option<AccountId32>, para_id u32, max_consensus_version u32}
  const info = u8aConcat(le32(1), vec(stringToU8a('ferry-smoke')), worker.publicKey, ecdh.publicKey, hexToU8a(h.relayGenesis),
    compactToU8a(2), le32(1), le32(4), new Uint8Array([0]), le32(PARA_ID), le32(0));
  const reg2 = dec.tx.phalaRegistry.registerWorkerV2(info, null);
  ok(u8aToHex(reg2.args[0].toU8a()) === u8aToHex(info) && reg2.args[1].isNone, 'register_worker_v2(info, None) encodes as built by hand');

  const nonce = async (pair) => P.call('system_accountNextIndex', [pair.address]);
  let bobNonce = await nonce(bob);
  const xts = {
    register: signXt(ctx, dave, reg2, await nonce(dave)),
    push: signXt(ctx, charlie, dec.tx.phalaMq.pushMessage(u8aToHex(topic), '0x6665727279'), await nonce(charlie)),
    seq0: signXt(ctx, bob, syncCall(0, stringToU8a('m0')), bobNonce++),
    seq1: signXt(ctx, bob, syncCall(1, stringToU8a('m1')), bobNonce++),
    seq2: signXt(ctx, bob, syncCall(2, stringToU8a('m2')), bobNonce++),
  };
  const start = Number((await P.call('chain_getHeader')).number);
  for (const [name, x] of Object.entries(xts)) {
    ok((await P.call('author_submitExtrinsic', [x])) === blake2AsHex(hexToU8a(x), 256), `${name}: submitted, pool accepted`);
  }
  await produce(2);

  // where each landed (scan the Phala chain)
  const found = {};
  const best = Number((await P.call('chain_getHeader')).number);
  for (let n = start + 1; n <= best; n++) {
    const hash = await P.call('chain_getBlockHash', [n]);
    const blk = await P.call('chain_getBlock', [hash]);
    blk.block.extrinsics.forEach((x, i) => {
      for (const [name, mine] of Object.entries(xts)) if (x === mine) found[name] = { n, hash, index: i, header: h.headerFromJson(blk.block.header) };
    });
  }
  for (const name of Object.keys(xts)) ok(found[name], `${name}: included in a Phala block (#${found[name] && found[name].n})`);
  const eventsAt = async (f) => {
    const v = await verifyProof(P, f.hash, f.header.stateRoot.toHex(), [K.events], `Phala #${f.n} events`);
    return reg.createType('Vec<EventRecord>', v[K.events]).filter((e) => e.phase.isApplyExtrinsic && e.phase.asApplyExtrinsic.toNumber() === f.index);
  };
  const named = (evs) => evs.map((e) => `${e.event.section}.${e.event.method}`);

  // register_worker_v2 -> WorkerAdded{attestation_provider: None}
  const rEv = await eventsAt(found.register);
  ok(named(rEv).includes('system.ExtrinsicSuccess'), `register_worker_v2: ExtrinsicSuccess (${named(rEv).join(' ')})`);
  const added = rEv.find((e) => e.event.section === 'phalaRegistry' && e.event.method === 'WorkerAdded');
  ok(added, 'register_worker_v2: PhalaRegistry.WorkerAdded');
  const aj = added.event.toJSON().data;
  const pubkey = Array.isArray(aj) ? aj[0] : aj.pubkey;
  const provider = Array.isArray(aj) ? aj[1] : aj.attestationProvider;
  ok(pubkey === u8aToHex(worker.publicKey) && provider === null, `WorkerAdded{pubkey: worker, attestation_provider: None} (${JSON.stringify(aj)})`);
  const wHasher = dec.query.phalaRegistry.workers.meta.type.asMap.hashers[0].toString();
  ok(['Twox64Concat', 'Blake2_128Concat'].includes(wHasher), `PhalaRegistry::Workers hasher ${wHasher}`);
  const wKey = K.map('PhalaRegistry', 'Workers', wHasher, worker.publicKey);
  const wv = await verifyProof(P, found.register.hash, found.register.header.stateRoot.toHex(), [wKey], 'Phala Workers');
  ok(wv[wKey] !== null, 'PhalaRegistry::Workers[pubkey] stored (proven)');

  // push_message (ECDSA-signed) -> OutboundMessages in that block only
  const pEv = await eventsAt(found.push);
  ok(named(pEv).includes('system.ExtrinsicSuccess'), `push_message signed by ECDSA //Charlie: ExtrinsicSuccess (${named(pEv).join(' ')})`);
  const pb = found.push;
  const ov = await verifyProof(P, pb.hash, pb.header.stateRoot.toHex(), [K.outbound], `Phala #${pb.n} OutboundMessages`);
  ok(ov[K.outbound] !== null, `OutboundMessages present at #${pb.n}`);
  const outType = reg.lookup.getTypeDef(dec.query.phalaMq.outboundMessages.meta.type.asPlain).lookupName || reg.lookup.getTypeDef(dec.query.phalaMq.outboundMessages.meta.type.asPlain).type;
  const msgs = reg.createType(outType, ov[K.outbound]);
  const want = u8aToHex(encodeMessage(u8aConcat(new Uint8Array([3]), charlieId), topic, stringToU8a('ferry')));
  ok(msgs.some((m) => u8aToHex(m.toU8a()) === want), `OutboundMessages at #${pb.n} holds Message{sender: AccountId(ECDSA //Charlie), destination, payload} (${msgs.length} message(s))`);
  const nextHash = await P.call('chain_getBlockHash', [pb.n + 1]);
  const nh = h.headerFromJson(await P.call('chain_getHeader', [nextHash]));
  const ov2 = await verifyProof(P, nextHash, nh.stateRoot.toHex(), [K.outbound], `Phala #${pb.n + 1} OutboundMessages`);
  const after = ov2[K.outbound];
  ok(after === null || reg.createType(outType, after).every((m) => u8aToHex(m.toU8a()) !== want), `OutboundMessages at #${pb.n + 1} no longer holds it (${after})`);

  // sync_offchain_message 0, 1, 2 -> OffchainIngress = 3
  for (const s of ['seq0', 'seq1', 'seq2']) {
    const ev = await eventsAt(found[s]);
    ok(named(ev).includes('system.ExtrinsicSuccess'), `sync_offchain_message ${s}: ExtrinsicSuccess (${named(ev).join(' ')})`);
  }
  const f2 = found.seq2;
  const iv = await verifyProof(P, f2.hash, f2.header.stateRoot.toHex(), [K.ingress(origin)], 'Phala OffchainIngress');
  ok(iv[K.ingress(origin)] === u8aToHex(le64(3)), `OffchainIngress[Worker(pk)] = 3 at #${f2.n} (proven)`);
  const hook = await P.call('devnet_offchainIngress', [{ worker: u8aToHex(worker.publicKey) }]);
  ok(hook.sequence === 3 && hook.key === K.ingress(origin), 'devnet_offchainIngress reads 3 under the same key');

  // sequence 0 again -> refused as stale by the pool
  let stale = null;
  try {
    await P.call('author_submitExtrinsic', [signXt(ctx, bob, syncCall(0, stringToU8a('m0')), bobNonce)]);
  } catch (e) { stale = e.message; }
  ok(stale && /stale/i.test(stale), `sequence 0 again refused as stale (${stale})`);

  // a bad signature -> ExtrinsicFailed PhalaRegistry.InvalidSignature
  const bad = signXt(ctx, bob, syncCall(3, stringToU8a('m3'), true), bobNonce++);
  await P.call('author_submitExtrinsic', [bad]);
  await produce(1);
  const b2 = Number((await P.call('chain_getHeader')).number);
  let fb = null;
  for (let n = best + 1; n <= b2 && !fb; n++) {
    const hash = await P.call('chain_getBlockHash', [n]);
    const blk = await P.call('chain_getBlock', [hash]);
    const i = blk.block.extrinsics.indexOf(bad);
    if (i >= 0) fb = { n, hash, index: i, header: h.headerFromJson(blk.block.header) };
  }
  ok(fb, 'bad-signature sync_offchain_message included');
  const bEv = await eventsAt(fb);
  const failed = bEv.find((e) => e.event.method === 'ExtrinsicFailed');
  ok(failed, `bad signature: ExtrinsicFailed (${named(bEv).join(' ')})`);
  const de = failed.event.data[0];
  const me = de.isModule ? reg.findMetaError(de.asModule) : null;
  ok(me && me.section === 'phalaRegistry' && me.name === 'InvalidSignature', `bad signature: ${me && `${me.section}.${me.name}`}`);
  const iv2 = await verifyProof(P, fb.hash, fb.header.stateRoot.toHex(), [K.ingress(origin)], 'Phala OffchainIngress after bad signature');
  ok(iv2[K.ingress(origin)] === u8aToHex(le64(3)), 'OffchainIngress still 3 after the bad signature');
  log(`phala: worker registered at #${found.register.n}, message pushed at #${pb.n}, ingress 3 at #${f2.n}, InvalidSignature at #${fb.n}`);
  return { workerOrigin: u8aToHex(origin), ingressKey: K.ingress(origin), worker: u8aToHex(worker.publicKey) };
}

module.exports = { phalaChecks, PARA_ID };
