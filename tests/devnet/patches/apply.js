#!/usr/bin/env node
// Applies the committed patches in this folder to node_modules (run by `npm ci` as postinstall).
// A patch named <scope>+<pkg>-<anything>.patch or <pkg>-<anything>.patch is applied with
// `patch -p1` inside node_modules/<package>. Idempotent: an already applied patch is skipped;
// a patch that neither applies nor is already applied fails the install.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const TARGETS = {
  'chopsticks-core-real-header.patch': '@acala-network/chopsticks-core',
};

const here = __dirname;
const nm = path.join(here, '..', 'node_modules');
let failed = false;
for (const [file, pkg] of Object.entries(TARGETS)) {
  const dir = path.join(nm, pkg);
  const patchFile = path.join(here, file);
  if (!fs.existsSync(dir)) {
    console.error(`patches: ${pkg} is not installed`);
    failed = true;
    continue;
  }
  const run = (args) =>
    spawnSync('patch', ['-p1', '--batch', '--forward', '-d', dir, '-i', patchFile, ...args], { encoding: 'utf8' });
  // --force: never "assume -R" on its own; a clean reverse dry run means the patch is in place.
  const reverse = spawnSync('patch', ['-p1', '--force', '-R', '--dry-run', '-d', dir, '-i', patchFile], { encoding: 'utf8' });
  if (reverse.error) {
    console.error(`patches: cannot run patch(1): ${reverse.error.message} (apt-get install patch)`);
    process.exit(1);
  }
  if (reverse.status === 0) {
    console.log(`patches: ${file} already applied to ${pkg}`);
    continue;
  }
  const dry = run(['--dry-run']);
  if (dry.status !== 0) {
    console.error(`patches: ${file} does not apply to ${pkg}:\n${dry.stdout}${dry.stderr}`);
    failed = true;
    continue;
  }
  const res = run([]);
  if (res.status !== 0) {
    console.error(`patches: applying ${file} failed:\n${res.stdout}${res.stderr}`);
    failed = true;
    continue;
  }
  console.log(`patches: applied ${file} to ${pkg}`);
}
process.exit(failed ? 1 : 0);
