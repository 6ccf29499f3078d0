// Independent re-check of ferry's sr25519, HDKD and ECDH (tests/integration/t_sr25519_oracle.sh).
//
//   node sr25519_oracle.mjs <cases.json> <js-signatures-out.json>
//
// cases.json is written by ferry's unit suite (FERRY_SR25519_DUMP): random mini secrets with
// ferry's public keys, hard/soft/public-soft derivations, ECDH secrets and signatures. Three
// implementations recompute every value and must agree byte for byte:
//   scure    @scure/sr25519 2.3.0 (audited, pure JS, no polkadot-js code)
//   polkadot @polkadot/util-crypto 14.0.3 (its sr25519 is @scure/sr25519 0.2.0 underneath)
//   wasm     @polkadot/wasm-crypto 7.5.4 (w3f's schnorrkel in Rust, compiled to WebAssembly)
// Each must accept ferry's signature and refuse it with the message, key, signature or context
// altered. Each then signs the case's message; those signatures are written for ferry to check,
// with the reply a JS "worker" makes to ferry's envelope (docs/messages.md) after opening it.
import {createRequire} from 'node:module';
import {readFileSync, writeFileSync} from 'node:fs';
import {createCipheriv, createDecipheriv, randomBytes} from 'node:crypto';
import * as scure from '@scure/sr25519';

const require = createRequire(import.meta.url);
const uc = require('@polkadot/util-crypto');
const wasm = require('@polkadot/wasm-crypto');
const {hexToU8a, u8aToHex} = require('@polkadot/util');

const [casesPath, outPath] = process.argv.slice(2);
if (!casesPath || !outPath) {
    console.error('usage: sr25519_oracle.mjs <cases.json> <out.json>');
    process.exit(2);
}
await wasm.waitReady();
await uc.cryptoWaitReady();

const cases = JSON.parse(readFileSync(casesPath, 'utf8'));
const fails = [];
const counts = {};
const count = (k) => { counts[k] = (counts[k] || 0) + 1; };
const eq = (what, i, got, want) => {
    count(what);
    const g = u8aToHex(got);
    if (g !== want)
        fails.push(`case ${i} ${what}: got ${g} want ${want}`);
};
const safe = (f) => {
    try {
        return f();
    } catch {
        return false;
    }
};
const flip = (u8, at) => {
    const c = Uint8Array.from(u8);
    c[at % c.length] ^= 0x01;
    return c;
};

// The three verifiers; all use the fixed context "substrate".
const verifiers = {
    scure : (msg, sig, pub) => safe(() => scure.verify(msg, sig, pub)),
    polkadot : (msg, sig, pub) => safe(() => uc.sr25519Verify(msg, sig, pub)),
    wasm : (msg, sig, pub) => safe(() => wasm.sr25519Verify(sig, msg, pub)),
};

const out = [];
cases.forEach((c, i) => {
    const mini = hexToU8a(c.mini), ccH = hexToU8a(c.cc_hard), ccS = hexToU8a(c.cc_soft);
    const pub = hexToU8a(c.pub), peerPub = hexToU8a(c.peer_pub), msg = hexToU8a(c.msg);

    // scure
    const sk = scure.secretFromSeed(mini);
    eq('scure mini->public', i, scure.getPublicKey(sk), c.pub);
    const skH = scure.HDKD.secretHard(sk, ccH);
    eq('scure hard', i, scure.getPublicKey(skH), c.hard_pub);
    eq('scure soft', i, scure.getPublicKey(scure.HDKD.secretSoft(sk, ccS)), c.soft_pub);
    eq('scure public soft', i, scure.HDKD.publicSoft(pub, ccS), c.soft_pub);
    eq('scure hard+soft', i, scure.getPublicKey(scure.HDKD.secretSoft(skH, ccS)), c.hard_soft_pub);
    eq('scure ecdh', i, scure.getSharedSecret(sk, peerPub), c.ecdh);
    eq('scure ecdh (peer side)', i,
       scure.getSharedSecret(scure.secretFromSeed(hexToU8a(c.peer_mini)), pub), c.ecdh);

    // @polkadot/util-crypto
    const pair = uc.sr25519PairFromSeed(mini);
    eq('polkadot mini->public', i, pair.publicKey, c.pub);
    const pairH = uc.sr25519DeriveHard(pair, ccH);
    eq('polkadot hard', i, pairH.publicKey, c.hard_pub);
    eq('polkadot soft', i, uc.sr25519DeriveSoft(pair, ccS).publicKey, c.soft_pub);
    eq('polkadot public soft', i, uc.sr25519DerivePublic(pub, ccS), c.soft_pub);
    eq('polkadot hard+soft', i, uc.sr25519DeriveSoft(pairH, ccS).publicKey, c.hard_soft_pub);
    eq('polkadot ecdh', i, uc.sr25519Agreement(pair.secretKey, peerPub), c.ecdh);

    // schnorrkel (wasm): key pairs are secret(64, ed25519 form) ‖ public(32)
    const kp = wasm.sr25519KeypairFromSeed(mini);
    eq('wasm mini->public', i, kp.slice(64), c.pub);
    const kpH = wasm.sr25519DeriveKeypairHard(kp, ccH);
    eq('wasm hard', i, kpH.slice(64), c.hard_pub);
    eq('wasm soft', i, wasm.sr25519DeriveKeypairSoft(kp, ccS).slice(64), c.soft_pub);
    eq('wasm public soft', i, wasm.sr25519DerivePublicSoft(pub, ccS), c.soft_pub);
    eq('wasm hard+soft', i, wasm.sr25519DeriveKeypairSoft(kpH, ccS).slice(64), c.hard_soft_pub);
    eq('wasm ecdh', i, wasm.sr25519Agree(peerPub, kp.slice(0, 64)), c.ecdh);
    // hard mini secret as subkey reports it: expanding it gives the hard child
    eq('wasm hard mini->public', i, wasm.sr25519KeypairFromSeed(hexToU8a(c.hard_mini)).slice(64),
       c.hard_pub);

    // ferry's signature: valid, and every alteration refused, in each implementation
    const sig = hexToU8a(c.sig), sigCtx = hexToU8a(c.sig_other_ctx);
    const altMsg = msg.length ? flip(msg, i) : new Uint8Array([ 0 ]);
    for (const [name, v] of Object.entries(verifiers)) {
        count(`${name} verifies ferry signature`);
        if (!v(msg, sig, pub))
            fails.push(`case ${i}: ${name} refuses ferry's signature`);
        if (v(altMsg, sig, pub))
            fails.push(`case ${i}: ${name} accepts an altered message`);
        if (v(msg, sig, peerPub))
            fails.push(`case ${i}: ${name} accepts another key`);
        if (v(msg, flip(sig, (i * 7) % 64), pub))
            fails.push(`case ${i}: ${name} accepts an altered signature`);
        if (v(msg, sigCtx, pub))
            fails.push(`case ${i}: ${name} accepts another signing context`);
    }

    // ferry's envelope (docs/messages.md), opened as the worker would with schnorrkel's ECDH
    // and node's AES-256-GCM: kind 0x01 ‖ ephemeral pk ‖ iv ‖ ct ‖ tag, AAD = kind ‖ ephemeral pk
    const env = hexToU8a(c.envelope);
    count('envelope opened by JS (wasm ECDH + node:crypto AES-GCM)');
    const eph = env.subarray(1, 33);
    const wkey =
        wasm.sr25519Agree(eph, wasm.sr25519KeypairFromSeed(hexToU8a(c.peer_mini)).slice(0, 64));
    if (u8aToHex(wkey) !== c.session_key)
        fails.push(`case ${i}: envelope key differs`);
    let reply = null;
    try {
        if (env[0] !== 1)
            throw new Error(`kind ${env[0]}`);
        const d = createDecipheriv('aes-256-gcm', wkey, env.subarray(33, 45));
        d.setAAD(env.subarray(0, 33));
        d.setAuthTag(env.subarray(env.length - 16));
        const pt = Buffer.concat([ d.update(env.subarray(45, env.length - 16)), d.final() ]);
        if (u8aToHex(pt) !== u8aToHex(msg))
            throw new Error('plaintext differs');
        // the worker's answer: same key, fresh IV, kind 0x81, same ephemeral key
        const hdr = Buffer.concat([ Buffer.from([ 0x81 ]), Buffer.from(eph) ]);
        const iv = randomBytes(12);
        const e = createCipheriv('aes-256-gcm', wkey, iv);
        e.setAAD(hdr);
        const ct = Buffer.concat([ e.update(pt), e.final() ]);
        reply = u8aToHex(Buffer.concat([ hdr, iv, ct, e.getAuthTag() ]));
    } catch (err) {
        fails.push(`case ${i}: JS cannot open ferry's envelope: ${err.message}`);
    }

    // signatures for ferry to verify
    out.push({
        pub : c.pub,
        peer_pub : c.peer_pub,
        msg : c.msg,
        session_key : c.session_key,
        reply,
        sigs : [
            {by : 'scure', sig : u8aToHex(scure.sign(sk, msg))},
            {by : 'polkadot', sig : u8aToHex(uc.sr25519Sign(msg, pair))},
            {by : 'wasm', sig : u8aToHex(wasm.sr25519Sign(kp.slice(64), kp.slice(0, 64), msg))},
        ],
    });
    // and cross-check the JS implementations against each other on them
    for (const s of out[out.length - 1].sigs) {
        for (const [name, v] of Object.entries(verifiers)) {
            if (!v(msg, hexToU8a(s.sig), pub))
                fails.push(`case ${i}: ${name} refuses ${s.by}'s signature`);
        }
    }
});

writeFileSync(outPath, JSON.stringify(out));
for (const [k, n] of Object.entries(counts))
    console.log(`${k}: ${n}`);
if (fails.length) {
    console.error(`${fails.length} disagreements; first ones:`);
    for (const f of fails.slice(0, 20))
        console.error('  ' + f);
    process.exit(1);
}
console.log(`ok: ${cases.length} cases agree in scure, polkadot and wasm (schnorrkel)`);
