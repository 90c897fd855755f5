#!/usr/bin/env node
// Copies the contract (protos/voicesvc/v1/*.proto) and the googleapis files it depends on into
// clients/node/protos/, so the package loads the exact same definitions as the server. The copies are
// committed (the package works from a clone, a git dependency or its tarball with nothing generated at
// install time); the tests fail when they differ from their sources.
//
//   node scripts/sync-protos.js            copy, removing contract files that no longer exist
//   node scripts/sync-protos.js --check    change nothing; exit 1 and name every file that differs
//
// The googleapis files come from the `googleapis-common-protos` Python package: the directory in
// $GOOGLEAPIS_PROTO_DIR (holding google/api/*.proto), else the project's .venv. Without either, --check
// compares the contract only (as `npm pack` does on a machine with Node alone).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const PACKAGE_DIR = path.resolve(__dirname, '..');
const REPO_DIR = path.resolve(PACKAGE_DIR, '..', '..');
const CONTRACT_DIR = path.join(REPO_DIR, 'protos', 'voicesvc', 'v1');
const OUT_DIR = path.join(PACKAGE_DIR, 'protos');

// Every googleapis file the contract or the client needs: http annotations, field behaviour,
// resource names, and the rich error model that failed calls carry.
const GOOGLE_FILES = [
  'google/api/annotations.proto',
  'google/api/http.proto',
  'google/api/field_behavior.proto',
  'google/api/resource.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
];

function googleapisRoot(required = true) {
  const fromEnv = process.env.GOOGLEAPIS_PROTO_DIR;
  if (fromEnv) return fromEnv;
  const libDir = path.join(REPO_DIR, '.venv', 'lib');
  const candidates = fs.existsSync(libDir) ? fs.readdirSync(libDir).filter((d) => d.startsWith('python')) : [];
  for (const dir of candidates.sort().reverse()) {
    const root = path.join(libDir, dir, 'site-packages');
    if (fs.existsSync(path.join(root, 'google', 'api', 'annotations.proto'))) return root;
  }
  if (!required) return null;
  throw new Error('googleapis protos not found: create the .venv (make test) or set GOOGLEAPIS_PROTO_DIR');
}

// [source, destination relative to OUT_DIR] for every file the package ships.
function plan(googleRequired = true) {
  const contract = fs.readdirSync(CONTRACT_DIR).filter((f) => f.endsWith('.proto')).sort();
  const google = googleapisRoot(googleRequired);
  return [
    ...contract.map((f) => [path.join(CONTRACT_DIR, f), path.posix.join('voicesvc/v1', f)]),
    ...(google ? GOOGLE_FILES.map((f) => [path.join(google, ...f.split('/')), f]) : []),
  ];
}

function shippedContractFiles() {
  const dir = path.join(OUT_DIR, 'voicesvc', 'v1');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.proto')).map((f) => path.posix.join('voicesvc/v1', f));
}

function main(argv) {
  const check = argv.includes('--check');
  const files = plan(!check);
  if (check && files.length && !files.some(([, rel]) => rel.startsWith('google/'))) {
    console.log('googleapis protos not found (no .venv, no GOOGLEAPIS_PROTO_DIR): checking the contract only');
  }
  const wanted = new Set(files.map(([, rel]) => rel));
  const stale = shippedContractFiles().filter((rel) => !wanted.has(rel));
  const differing = [];
  for (const [src, rel] of files) {
    const dest = path.join(OUT_DIR, ...rel.split('/'));
    const source = fs.readFileSync(src);
    const same = fs.existsSync(dest) && Buffer.compare(fs.readFileSync(dest), source) === 0;
    if (same) continue;
    differing.push(rel);
    if (!check) {
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, source);
    }
  }
  if (check) {
    for (const rel of differing) console.error(`out of date: protos/${rel}`);
    for (const rel of stale) console.error(`no longer in the contract: protos/${rel}`);
    if (differing.length || stale.length) {
      console.error('run: node clients/node/scripts/sync-protos.js');
      return 1;
    }
    console.log(`${files.length} proto files up to date`);
    return 0;
  }
  for (const rel of stale) fs.rmSync(path.join(OUT_DIR, ...rel.split('/')));
  console.log(`${files.length} proto files in ${path.relative(REPO_DIR, OUT_DIR)}: ` +
    `${differing.length} updated, ${stale.length} removed`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    process.exitCode = 2;
  }
}

module.exports = { plan, GOOGLE_FILES };
