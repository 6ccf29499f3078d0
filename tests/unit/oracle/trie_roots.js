// Hand-made trie-root cases for tests/unit/test_trie.c, computed by an independent
// implementation: chopsticks-core's calculateStateRoot (smoldot's trie, compiled to wasm).
// Run: NODE_PATH=tests/devnet/node_modules node tests/unit/oracle/trie_roots.js
// The pseudo-random pairs use the same LCG as test_trie.c (lcg_pairs), so only roots are copied.
const { calculateStateRoot } = require('@acala-network/chopsticks-core');

const hex = (b) => '0x' + Buffer.from(b).toString('hex');
const rep = (byte, n) => new Array(n).fill(byte);

function lcgPairs(seed, count) {
  let s = seed >>> 0;
  const next = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; s &= 0x7fffffff; return s >>> 16; };
  const seen = new Set();
  const out = [];
  while (out.length < count) {
    const klen = 2 + (next() % 39);
    const vlen = next() % 80;
    const k = []; for (let i = 0; i < klen; i++) k.push(next() & 0xff);
    const v = []; for (let i = 0; i < vlen; i++) v.push(next() & 0xff);
    const kh = hex(k);
    if (seen.has(kh)) continue;
    seen.add(kh);
    out.push([kh, hex(v)]);
  }
  return out;
}

function compact(i) {
  if (i < 64) return [i << 2];
  if (i < 1 << 14) { const x = (i << 2) | 1; return [x & 0xff, x >> 8]; }
  const x = ((i << 2) | 2) >>> 0; return [x & 0xff, (x >> 8) & 0xff, (x >> 16) & 0xff, x >>> 24];
}

const cases = {
  single_small: [['0x01', '0x02']],
  empty_key_and_value: [['0x', '0x']],
  branch_inline_children: [['0x0102', '0x03'], ['0x0103', '0x04'], ['0x0204', '0x05']],
  branch_with_value: [['0x01', '0xaa'], ['0x0102', '0xbb'], ['0x0103', '0xcc']],
  odd_partial_keys: [['0x1234', '0x01'], ['0x1235', '0x02'], ['0x12', '0x03'], ['0x5678', '0x04']],
  long_key_continuation: [[hex(rep(0xab, 40)), '0x01']],
  long_key_two_continuations: [[hex(rep(0xcd, 300)), '0x02'], [hex(rep(0xcd, 299).concat([0x01])), '0x03']],
  value_32_33_64: [['0x0a', hex(rep(7, 32))], ['0x0b', hex(rep(8, 33))], ['0x0c', hex(rep(9, 64))]],
  branch_value_33: [['0x0a', hex(rep(7, 33))], ['0x0a01', '0x01'], ['0x0a02', hex(rep(6, 40))]],
  hashed_leaf_long_partial: [[hex(rep(0x11, 20)), hex(rep(1, 50))]],
  hashed_branch_long_partial: [[hex(rep(0x22, 12)), hex(rep(2, 50))], [hex(rep(0x22, 12).concat([1])), '0x00'], [hex(rep(0x22, 12).concat([2])), '0x00']],
};

// DESIGN.md §6 warns that chopsticks wants sorted keys; hex strings of equal case sort as bytes.
const sorted = (pairs) => [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
const root = (pairs, v) => calculateStateRoot(sorted(pairs), v);

(async () => {
  const out = {};
  for (const [name, pairs] of Object.entries(cases)) {
    out[name] = { v0: await root(pairs, 0), v1: await root(pairs, 1) };
  }
  for (const [seed, count] of [[1, 200], [42, 1000]]) {
    const pairs = lcgPairs(seed, count);
    out[`lcg_${seed}_${count}`] = { v0: await root(pairs, 0), v1: await root(pairs, 1) };
  }
  for (const count of [1, 3, 70, 300]) {
    const pairs = [];
    for (let i = 0; i < count; i++) pairs.push([hex(compact(i)), hex(rep(i & 0xff, 1 + (i % 50)))]);
    out[`ordered_${count}`] = { v0: await root(pairs, 0), v1: await root(pairs, 1) };
  }
  // The 92 pairs of vectors/trie/large-v0-proof.json (a partial proof: not its state root).
  const vectors = process.env.FERRY_VECTORS || `${__dirname}/../../../../shared/vectors`;
  try {
    const large = require(`${vectors}/trie/large-v0-proof.json`);
    out.large_v0_92_pairs = { v0: await root(large.lookups.map((l) => [l.key, l.value]), 0) };
  } catch (e) {
    out.large_v0_92_pairs = `skipped: ${e.message}`;
  }
  console.log(JSON.stringify(out, null, 1));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
