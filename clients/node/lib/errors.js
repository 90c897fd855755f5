'use strict';
// Readable failures: the gRPC status name plus the google.rpc rich error details the server attached.

const grpc = require('@grpc/grpc-js');
const { loadDefinition } = require('./definitions');

const STATUS_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([name, code]) => [code, name]));
const DETAILS_KEY = 'grpc-status-details-bin';

/** The name of a gRPC status code (`3` → `INVALID_ARGUMENT`). */
function statusName(code) {
  return STATUS_NAMES[code] || `CODE_${code}`;
}

/**
 * The rich error details of a failed call, decoded: a list of objects whose `type` names the detail
 * (`google.rpc.ErrorInfo`, `google.rpc.BadRequest`, `google.rpc.RetryInfo`, …). Unknown types are skipped.
 */
function errorDetails(err) {
  const values = err && err.metadata && typeof err.metadata.get === 'function' ? err.metadata.get(DETAILS_KEY) : [];
  if (!values || values.length === 0) return [];
  const definition = loadDefinition();
  let status;
  try {
    status = definition['google.rpc.Status'].deserialize(Buffer.from(values[0]));
  } catch {
    return [];
  }
  const out = [];
  for (const any of status.details || []) {
    const type = String(any.type_url || '').split('/').pop();
    const entry = definition[type];
    if (!entry || typeof entry.deserialize !== 'function') continue;
    try {
      out.push({ type, ...entry.deserialize(Buffer.from(any.value || [])) });
    } catch {
      // a detail that does not decode is left out; the status code and message still describe the failure
    }
  }
  return out;
}

function seconds(duration) {
  if (!duration) return '0s';
  return `${Number(duration.seconds || 0) + Number(duration.nanos || 0) / 1e9}s`;
}

function describeDetail(detail) {
  switch (detail.type) {
    case 'google.rpc.ErrorInfo': {
      const lines = [`reason: ${detail.reason || '-'}${detail.domain ? ` (${detail.domain})` : ''}`];
      for (const key of Object.keys(detail.metadata || {}).sort()) lines.push(`  ${key}: ${detail.metadata[key]}`);
      return lines;
    }
    case 'google.rpc.BadRequest':
      return (detail.field_violations || []).map((v) => `field ${v.field || '/'}: ${v.description || ''}`);
    case 'google.rpc.RetryInfo':
      return [`retry after ${seconds(detail.retry_delay)}`];
    case 'google.rpc.RequestInfo':
      return [`request id: ${detail.request_id || ''}`];
    case 'google.rpc.LocalizedMessage':
      return [detail.message || ''];
    default:
      return [];
  }
}

/** `CODE: message` followed by one indented line per rich detail, like the Python client's describe_error. */
function describeError(err) {
  const head = err && err.details ? `${statusName(err.code)}: ${err.details}` : statusName(err && err.code);
  const lines = [head];
  for (const detail of errorDetails(err)) {
    for (const line of describeDetail(detail)) lines.push(`  ${line}`);
  }
  return lines.join('\n');
}

module.exports = { statusName, errorDetails, describeError };
