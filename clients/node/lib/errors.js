'use strict';
// Failed calls as typed errors: one class per gRPC status code, decoded from the google.rpc.Status the
// server attaches in the `grpc-status-details-bin` trailer (ErrorInfo, BadRequest, RetryInfo …).

const grpc = require('@grpc/grpc-js');
const { loadDefinition } = require('./definitions');

const STATUS_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([name, code]) => [code, name]));
const DETAILS_KEY = 'grpc-status-details-bin';
const REQUEST_ID_KEY = 'x-request-id';
const TELNYX_DOMAIN = 'api.telnyx.com';

/** The name of a gRPC status code (`3` → `INVALID_ARGUMENT`). */
function statusName(code) {
  return STATUS_NAMES[code] || `CODE_${code}`;
}

function metadataValues(metadata, key) {
  return metadata && typeof metadata.get === 'function' ? metadata.get(key) : [];
}

/**
 * The rich error details of a failed call, decoded: a list of objects whose `type` names the detail
 * (`google.rpc.ErrorInfo`, `google.rpc.BadRequest`, `google.rpc.RetryInfo`, …). Unknown types are skipped.
 */
function errorDetails(err) {
  if (err instanceof VoicesvcError) return err.statusDetails;
  const values = metadataValues(err && err.metadata, DETAILS_KEY);
  if (!values || values.length === 0) return [];
  const definition = loadDefinition();
  let decoded;
  try {
    decoded = definition['google.rpc.Status'].deserialize(Buffer.from(values[0]));
  } catch {
    return [];
  }
  const out = [];
  for (const any of decoded.details || []) {
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

function durationMs(duration) {
  if (!duration) return 0;
  return Number(duration.seconds || 0) * 1000 + Number(duration.nanos || 0) / 1e6;
}

/**
 * A failed voicesvc call. `code` and `details` are grpc-js's (status code and message); the rest is
 * decoded from the status details: `reason`, `domain` and `errorMetadata` (ErrorInfo), `telnyxCode` (the
 * Telnyx error code when Telnyx refused the request), `fieldViolations` (BadRequest), `retryDelayMs`
 * (RetryInfo), `statusDetails` (every decoded detail) and `requestId` (the call's `x-request-id`).
 */
class VoicesvcError extends Error {
  constructor(fields) {
    const { code, details = '', metadata = new grpc.Metadata(), requestId = '', statusDetails = [], cause } = fields;
    super(`${statusName(code)}: ${details}`, cause ? { cause } : undefined);
    this.name = this.constructor.name;
    this.code = code;
    this.codeName = statusName(code);
    this.details = details;
    this.metadata = metadata;
    this.statusDetails = statusDetails;
    const info = statusDetails.find((d) => d.type === 'google.rpc.ErrorInfo');
    const badRequest = statusDetails.find((d) => d.type === 'google.rpc.BadRequest');
    const retry = statusDetails.find((d) => d.type === 'google.rpc.RetryInfo');
    const requestInfo = statusDetails.find((d) => d.type === 'google.rpc.RequestInfo');
    this.reason = (info && info.reason) || '';
    this.domain = (info && info.domain) || '';
    this.errorMetadata = (info && info.metadata) || {};
    // Telnyx's own codes are numeric; voicesvc's reasons for upstream failures (UPSTREAM_…) are not.
    this.telnyxCode = this.domain === TELNYX_DOMAIN && /^\d+$/.test(this.reason) ? this.reason : '';
    this.fieldViolations = ((badRequest && badRequest.field_violations) || [])
      .map((v) => ({ field: v.field || '', description: v.description || '' }));
    this.retryDelayMs = retry ? durationMs(retry.retry_delay) : null;
    this.requestId = requestId || (requestInfo && requestInfo.request_id)
      || metadataValues(metadata, REQUEST_ID_KEY).map(String)[0] || '';
  }
}

const CLASS_NAMES = {
  CANCELLED: 'Cancelled',
  UNKNOWN: 'Unknown',
  INVALID_ARGUMENT: 'InvalidArgument',
  DEADLINE_EXCEEDED: 'DeadlineExceeded',
  NOT_FOUND: 'NotFound',
  ALREADY_EXISTS: 'AlreadyExists',
  PERMISSION_DENIED: 'PermissionDenied',
  RESOURCE_EXHAUSTED: 'ResourceExhausted',
  FAILED_PRECONDITION: 'FailedPrecondition',
  ABORTED: 'Aborted',
  OUT_OF_RANGE: 'OutOfRange',
  UNIMPLEMENTED: 'Unimplemented',
  INTERNAL: 'Internal',
  UNAVAILABLE: 'Unavailable',
  DATA_LOSS: 'DataLoss',
  UNAUTHENTICATED: 'Unauthenticated',
};

// One subclass per status code, named as google-api-core names them (`NotFound`, `InvalidArgument` …).
const classes = {};
const byCode = new Map();
for (const [status, className] of Object.entries(CLASS_NAMES)) {
  const cls = { [className]: class extends VoicesvcError {} }[className];
  classes[className] = cls;
  byCode.set(grpc.status[status], cls);
}

/**
 * The typed error of a grpc-js failure (`err.code`, `err.details`, `err.metadata`); an error that is
 * already typed, or is no gRPC status at all, is returned as it is.
 */
function fromGrpcError(err, requestId = '') {
  if (!err || err instanceof VoicesvcError || typeof err.code !== 'number') return err;
  const Cls = byCode.get(err.code) || VoicesvcError;
  return new Cls({ code: err.code, details: err.details || '', metadata: err.metadata, requestId,
    statusDetails: errorDetails(err), cause: err });
}

/** A request refused before it was sent: INVALID_ARGUMENT with one violation per offending field. */
function invalidRequest(typeName, violations) {
  const details = `invalid ${typeName}: ${violations.map((v) => `${v.field}: ${v.description}`).join('; ')}`;
  const statusDetails = [{ type: 'google.rpc.BadRequest', field_violations: violations }];
  return new classes.InvalidArgument({ code: grpc.status.INVALID_ARGUMENT, details, statusDetails });
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
      return [`retry after ${durationMs(detail.retry_delay) / 1000}s`];
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
  const hasRequestInfo = errorDetails(err).some((d) => d.type === 'google.rpc.RequestInfo');
  if (err instanceof VoicesvcError && err.requestId && !hasRequestInfo) lines.push(`  request id: ${err.requestId}`);
  return lines.join('\n');
}

module.exports = {
  VoicesvcError, ...classes, errorClasses: classes, fromGrpcError, invalidRequest, statusName, errorDetails,
  describeError, REQUEST_ID_KEY,
};
