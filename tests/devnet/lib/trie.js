'use strict';
// Substrate radix-16 Patricia trie: node decoding and minimal read-proof extraction.
// The full node set comes from chopsticks' createProof (smoldot's trie); this file only walks it.

const { blake2AsHex } = require('@polkadot/util-crypto');

function readCompact(buf, off) {
  const b = buf[off];
  const mode = b & 3;
  if (mode === 0) return [b >> 2, off + 1];
  if (mode === 1) return [(b | (buf[off + 1] << 8)) >>> 2, off + 2];
  if (mode === 2) return [(b | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 2, off + 4];
  const n = (b >> 2) + 4;
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + buf[off + 1 + i];
  return [v, off + 1 + n];
}

// Decodes one node: { kind: 'empty'|'leaf'|'branch', partial: nibble[], value?: {inline|hash}, children?: [16] }
function decodeNode(buf) {
  let off = 0;
  const b = buf[off++];
  if (b === 0) return { kind: 'empty', partial: [] };
  let kind, hashedValue = false, hasValue, bits;
  if (b >> 6 === 1) { kind = 'leaf'; hasValue = true; bits = 6; }
  else if (b >> 6 === 2) { kind = 'branch'; hasValue = false; bits = 6; }
  else if (b >> 6 === 3) { kind = 'branch'; hasValue = true; bits = 6; }
  else if (b >> 5 === 1) { kind = 'leaf'; hasValue = true; hashedValue = true; bits = 5; }
  else if (b >> 4 === 1) { kind = 'branch'; hasValue = true; hashedValue = true; bits = 4; }
  else throw new Error(`trie: bad node header 0x${b.toString(16)}`);
  const mask = (1 << bits) - 1;
  let nibbles = b & mask;
  if (nibbles === mask) {
    for (;;) {
      const x = buf[off++];
      nibbles += x;
      if (x !== 255) break;
    }
  }
  const partial = [];
  const nbytes = (nibbles + 1) >> 1;
  const pk = buf.subarray(off, off + nbytes);
  off += nbytes;
  for (let i = 0; i < nbytes; i++) {
    if (i === 0 && nibbles % 2 === 1) partial.push(pk[0] & 0x0f);
    else partial.push(pk[i] >> 4, pk[i] & 0x0f);
  }
  const node = { kind, partial };
  let bitmap = 0;
  if (kind === 'branch') { bitmap = buf[off] | (buf[off + 1] << 8); off += 2; }
  if (hasValue) {
    if (hashedValue) { node.value = { hash: buf.subarray(off, off + 32) }; off += 32; }
    else { const [len, o] = readCompact(buf, off); node.value = { inline: buf.subarray(o, o + len) }; off = o + len; }
  }
  if (kind === 'branch') {
    node.children = new Array(16).fill(null);
    for (let i = 0; i < 16; i++) {
      if (!(bitmap & (1 << i))) continue;
      const [len, o] = readCompact(buf, off);
      const data = buf.subarray(o, o + len);
      node.children[i] = len === 32 ? { hash: data } : { inline: data };
      off = o + len;
    }
  }
  if (off !== buf.length) throw new Error('trie: trailing bytes in node');
  return node;
}

function keyNibbles(keyHex) {
  const k = Buffer.from(keyHex.replace(/^0x/, ''), 'hex');
  const out = [];
  for (const x of k) out.push(x >> 4, x & 0x0f);
  return out;
}

const hex = (u8) => '0x' + Buffer.from(u8).toString('hex');

// nodes: Map hash-hex -> Buffer. Walks key from root; adds every node fetched by hash to `used`.
// Returns the value (Buffer) or null (absent).
function lookup(nodes, rootHash, keyHex, used) {
  const key = keyNibbles(keyHex);
  let depth = 0;
  let ref = { hash: Buffer.from(rootHash.slice(2), 'hex') };
  for (;;) {
    let enc;
    if (ref.hash) {
      const h = hex(ref.hash);
      enc = nodes.get(h);
      if (!enc) throw new Error(`trie: node ${h} missing`);
      used.add(h);
    } else enc = ref.inline;
    const node = decodeNode(enc);
    if (node.kind === 'empty') return null;
    const p = node.partial;
    for (let i = 0; i < p.length; i++) if (key[depth + i] !== p[i]) return null;
    depth += p.length;
    const readValue = () => {
      if (node.value.inline) return Buffer.from(node.value.inline);
      const h = hex(node.value.hash);
      const v = nodes.get(h);
      if (!v) throw new Error(`trie: value node ${h} missing`);
      used.add(h);
      return v;
    };
    if (node.kind === 'leaf') return depth === key.length ? readValue() : null;
    if (depth === key.length) return node.value ? readValue() : null;
    const child = node.children[key[depth]];
    if (!child) return null;
    depth += 1;
    ref = child;
  }
}

// Full trie: { root, nodes: Map } from the node list chopsticks' createProof returns.
function indexNodes(nodeHexList) {
  const nodes = new Map();
  for (const n of nodeHexList) {
    const buf = Buffer.from(n.slice(2), 'hex');
    nodes.set(blake2AsHex(buf, 256), buf);
  }
  return nodes;
}

function minimalProof(nodes, rootHash, keys) {
  const used = new Set();
  const values = {};
  for (const k of keys) {
    const v = lookup(nodes, rootHash, k, used);
    values[k] = v ? hex(v) : null;
  }
  return { proof: [...used].map((h) => hex(nodes.get(h))), values };
}

module.exports = { decodeNode, lookup, indexNodes, minimalProof, keyNibbles, readCompact };
