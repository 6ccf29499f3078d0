'use strict';
// The relay runtimes the devnet can start from (DEVNET_RUNTIME) and the code it can upgrade to.
//   9140  Rococo v2_1, `@substrate/connect@0.6.5` dist/connector/specs/rococo_v2_1.json (a
//         dependency; the default)
//   9130  Rococo v1_13, `@substrate/connect@0.4.7` dist/specs/rococo.json. Not a dependency:
//         0.4.7 would pull in @polkadot/api 6 and smoldot 0.5. The one file is taken from the
//         package tarball (`npm pack`, the ordinary client; npm checks the registry's integrity
//         hash) into tests/devnet/.cache/ on first use and pinned here by its SHA-256.
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');

const CACHE = path.join(__dirname, '..', '.cache');
const V1_13 = {
  pkg: '@substrate/connect@0.4.7',
  member: 'package/dist/specs/rococo.json',
  file: 'rococo_v1_13.json',
  sha256: '5190870b86b1ccae4eaf7589fa430e371222655d1953fb71054b5ff024ff2ead',
};

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

function fetchV1_13() {
  const dest = path.join(CACHE, V1_13.file);
  if (fs.existsSync(dest) && sha256(fs.readFileSync(dest)) === V1_13.sha256) return dest;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-devnet-spec-'));
  try {
    const pack = spawnSync('npm', ['pack', V1_13.pkg, '--pack-destination', tmp, '--silent'], { encoding: 'utf8', timeout: 120000 });
    if (pack.status !== 0) throw new Error(`npm pack ${V1_13.pkg} failed (offline?): ${(pack.stderr || pack.error || '').toString().trim()}`);
    const tgz = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack ${V1_13.pkg} produced no tarball`);
    const tar = spawnSync('tar', ['xzf', path.join(tmp, tgz), '-C', tmp, V1_13.member], { encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`extracting ${V1_13.member}: ${tar.stderr}`);
    const data = fs.readFileSync(path.join(tmp, V1_13.member));
    const got = sha256(data);
    if (got !== V1_13.sha256) throw new Error(`${V1_13.pkg} ${V1_13.member}: sha256 ${got}, expected ${V1_13.sha256}`);
    fs.mkdirSync(CACHE, { recursive: true });
    fs.writeFileSync(`${dest}.tmp`, data);
    fs.renameSync(`${dest}.tmp`, dest);
    return dest;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function specFile(runtime) {
  if (runtime === 9140) return require.resolve('@substrate/connect/dist/connector/specs/rococo_v2_1.json');
  if (runtime === 9130) return fetchV1_13();
  throw new Error(`DEVNET_RUNTIME must be 9130 or 9140, got ${runtime}`);
}

// The real Phala runtime ("Phala PoC-6" raw chain spec, phala-node spec 1, state version 0),
// from the project's shared data (../shared/chain/phala/phala_testnet.json from the repository
// root), never copied into the repository. FERRY_PHALA_SPEC overrides the path.
const PHALA_SPEC_SHA256 = '46ffc204c5495869f7fc3d754a836766e152c07e890bc2fe2fcc5dac87588730';
function phalaSpecPath() {
  return process.env.FERRY_PHALA_SPEC || path.join(__dirname, '..', '..', '..', '..', 'shared', 'chain', 'phala', 'phala_testnet.json');
}
function loadPhalaSpec() {
  const file = phalaSpecPath();
  if (!fs.existsSync(file)) {
    throw new Error(`Phala chain spec not found at ${file}: set FERRY_PHALA_SPEC to the path of phala_testnet.json`);
  }
  const data = fs.readFileSync(file);
  const got = sha256(data);
  if (got !== PHALA_SPEC_SHA256 && !process.env.FERRY_PHALA_SPEC) {
    throw new Error(`${file}: sha256 ${got}, expected ${PHALA_SPEC_SHA256}`);
  }
  return JSON.parse(data.toString('utf8'));
}

// The raw chain spec (a fresh object: the caller edits its genesis).
function loadRelaySpec(runtime) {
  return JSON.parse(fs.readFileSync(specFile(runtime), 'utf8'));
}

// The runtime code (`:code`, hex) of a relay runtime.
function relayCode(runtime) {
  return loadRelaySpec(runtime).genesis.raw.top['0x3a636f6465'];
}

module.exports = { loadRelaySpec, relayCode, loadPhalaSpec, phalaSpecPath, PHALA_SPEC_SHA256, RUNTIMES: [9130, 9140] };
