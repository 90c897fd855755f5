'use strict';
// Loads the voicesvc contract with proto-loader and describes every RPC it defines.

const path = require('node:path');
const protoLoader = require('@grpc/proto-loader');

const PROTO_DIR = path.resolve(__dirname, '..', 'protos');

// The contract's service files, plus the rich error model used to decode failed calls.
const PROTO_FILES = [
  'voicesvc/v1/call_control.proto',
  'voicesvc/v1/call_control_applications.proto',
  'voicesvc/v1/call_events.proto',
  'voicesvc/v1/connections.proto',
  'voicesvc/v1/events.proto',
  'voicesvc/v1/calls.proto',
  'voicesvc/v1/subscriptions.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
];

const PACKAGE = 'voicesvc.v1';

// Field names exactly as in the protos (`from`, `call_control_id`); unset fields stay absent, so a
// response shows what the server actually set; enums as their names; 64-bit integers as strings.
const LOADER_OPTIONS = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: false,
});

let cached = null;

/** The proto-loader package definition of the contract (loaded once, from `protoDir` when given). */
function loadDefinition(protoDir) {
  if (!protoDir && cached) return cached;
  const definition = protoLoader.loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [protoDir || PROTO_DIR] });
  if (!protoDir) cached = definition;
  return definition;
}

function lowerFirst(name) {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function httpRule(options) {
  const rule = options && options['(google.api.http)'];
  if (!rule) return null;
  for (const verb of ['get', 'put', 'post', 'delete', 'patch']) {
    if (rule[verb]) return { method: verb.toUpperCase(), path: rule[verb], body: rule.body || '' };
  }
  return null;
}

/**
 * Every RPC of the contract: `{name, service, rpc, path, requestStream, responseStream, http, definition}`,
 * where `name` is the camelCase method name of the client (`dialCall`) and `http` the Telnyx route.
 */
function listMethods(definition = loadDefinition()) {
  const methods = [];
  for (const [fullName, entry] of Object.entries(definition)) {
    if (!fullName.startsWith(`${PACKAGE}.`) || entry.format !== undefined) continue;
    for (const [rpc, method] of Object.entries(entry)) {
      methods.push({
        name: lowerFirst(rpc),
        service: fullName.slice(PACKAGE.length + 1),
        rpc,
        path: method.path,
        requestStream: method.requestStream,
        responseStream: method.responseStream,
        http: httpRule(method.options),
        definition: method,
      });
    }
  }
  return methods;
}

module.exports = { PROTO_DIR, PROTO_FILES, PACKAGE, LOADER_OPTIONS, loadDefinition, listMethods };
