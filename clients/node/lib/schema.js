'use strict';
// The contract as protobufjs reflection (the same files proto-loader reads): request checks that refuse
// unknown fields instead of dropping them, and what each RPC is (list RPC and its items, retry safety).

const { loadProtosWithOptionsSync } = require('@grpc/proto-loader/build/src/util');
const { PROTO_DIR, PROTO_FILES, LOADER_OPTIONS } = require('./definitions');
const { invalidRequest } = require('./errors');

const roots = new Map();

/** The protobufjs root of the contract, loaded once per proto directory. */
function loadRoot(protoDir = PROTO_DIR) {
  let root = roots.get(protoDir);
  if (!root) {
    root = loadProtosWithOptionsSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [protoDir] });
    root.resolveAll();
    roots.set(protoDir, root);
  }
  return root;
}

const WELL_KNOWN = '.google.protobuf.';

function typeName(type) {
  return type.fullName.replace(/^\./, '');
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value)
    && !(value instanceof Uint8Array);
}

// Appends a violation for every key of `value` that `type` does not declare, every union given more than
// one member, and the same inside nested messages, lists and maps (well-known types are left to protobufjs).
function collectViolations(type, value, prefix, out) {
  if (!isPlainObject(value)) {
    out.push({ field: prefix || '/', description: `must be an object (a ${typeName(type)})` });
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const field = type.fields[key];
    const at = prefix ? `${prefix}.${key}` : key;
    if (!field) {
      out.push({ field: at, description: `unknown field of ${typeName(type)}` });
      continue;
    }
    const nested = field.resolvedType;
    if (!nested || !nested.fields || nested.fullName.startsWith(WELL_KNOWN) || item === null) continue;
    if (field.map) {
      if (!isPlainObject(item)) out.push({ field: at, description: 'must be an object (a map)' });
      else for (const [k, v] of Object.entries(item)) collectViolations(nested, v, `${at}[${JSON.stringify(k)}]`, out);
    } else if (field.repeated) {
      if (!Array.isArray(item)) out.push({ field: at, description: 'must be an array' });
      else item.forEach((v, i) => collectViolations(nested, v, `${at}[${i}]`, out));
    } else {
      collectViolations(nested, item, at, out);
    }
  }
  for (const oneof of type.oneofsArray) {
    const given = oneof.oneof.filter((name) => value[name] !== undefined && value[name] !== null);
    if (given.length > 1) {
      out.push({ field: prefix ? `${prefix}.${oneof.name}` : oneof.name,
        description: `only one of ${given.join(', ')} may be set` });
    }
  }
}

/** Throws InvalidArgument naming every unknown field (and union set twice) of a request of `type`. */
function checkRequest(type, request) {
  const violations = [];
  collectViolations(type, request, '', violations);
  if (violations.length) throw invalidRequest(typeName(type), violations);
}

/**
 * What the client needs to know of an RPC beyond proto-loader's definition: its request type, the item
 * field when it is a list RPC (`page_token` in, `next_page_token` and one repeated message out), and
 * where its `command_id` is (its own field, or the member's for Calls.ExecuteCommand).
 */
function describeRpc(root, service, rpc) {
  const method = root.lookupService(service).methods[rpc];
  const requestType = method.resolvedRequestType;
  const responseType = method.resolvedResponseType;
  let itemsField = null;
  if (requestType.fields.page_token && responseType.fields.next_page_token) {
    const repeated = responseType.fieldsArray.filter((f) => f.repeated && f.resolvedType && f.resolvedType.fields);
    if (repeated.length === 1) itemsField = repeated[0].name;
  }
  const hasCommandId = Boolean(requestType.fields.command_id);
  // ExecuteCommandRequest: a union of command requests; the set member's command_id is the one to fill.
  const commandMembers = requestType.fieldsArray
    .filter((f) => f.partOf && f.resolvedType && f.resolvedType.fields && f.resolvedType.fields.command_id)
    .map((f) => f.name);
  return { requestType, itemsField, hasCommandId, commandMembers };
}

module.exports = { loadRoot, checkRequest, describeRpc };
