'use strict';
// Dev keys: ECDSA and sr25519 accounts ferry and the tests can sign for, and the ed25519 GRANDPA
// voters of each set.
const { Keyring } = require('@polkadot/keyring');
const { u8aToHex } = require('@polkadot/util');
const { blake2AsU8a } = require('@polkadot/util-crypto');

const NAMES = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

// ECDSA dev accounts (//Alice … //Ferdie, derived as Substrate's tooling does). The account id
// is blake2b-256 of the 33-byte compressed public key.
function ecdsaAccounts() {
  const kr = new Keyring({ type: 'ecdsa', ss58Format: 42 });
  return NAMES.map((name) => {
    const pair = kr.addFromUri(`//${name}`);
    const accountId = blake2AsU8a(pair.publicKey, 256);
    return { name, uri: `//${name}`, type: 'ecdsa', pair, publicKey: u8aToHex(pair.publicKey), accountId: u8aToHex(accountId), address: pair.address };
  });
}

// sr25519 dev accounts (//Alice … //Ferdie, as `subkey inspect //Alice` derives them): the
// account id is the public key. //Alice sr25519 is 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY.
function sr25519Accounts() {
  const kr = new Keyring({ type: 'sr25519', ss58Format: 42 });
  return NAMES.map((name) => {
    const pair = kr.addFromUri(`//${name}`);
    const id = u8aToHex(pair.publicKey);
    return { name, uri: `//${name}`, type: 'sr25519', pair, publicKey: id, accountId: id, address: pair.address };
  });
}

// GRANDPA voter i of authority set `setId`: //Alice … for set 0; //Alice//grandpa1 … for set 1, and
// so on, so that two consecutive sets share no key. Voters beyond the six names are //Voter7 ….
function voterUri(setId, i) {
  const base = i < NAMES.length ? `//${NAMES[i]}` : `//Voter${i + 1}`;
  return setId === 0 ? base : `${base}//grandpa${setId}`;
}

class VoterKeys {
  constructor() {
    this.kr = new Keyring({ type: 'ed25519' });
    this.byPub = new Map(); // pub hex -> { pair, uri }
  }
  set(setId, count) {
    const out = [];
    for (let i = 0; i < count; i++) {
      const uri = voterUri(setId, i);
      const pair = this.kr.addFromUri(uri);
      const pub = u8aToHex(pair.publicKey);
      this.byPub.set(pub, { pair, uri });
      out.push(pub);
    }
    return out;
  }
  get(pubHex) {
    return this.byPub.get(pubHex);
  }
}

module.exports = { NAMES, ecdsaAccounts, sr25519Accounts, VoterKeys, voterUri };
