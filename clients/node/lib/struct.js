'use strict';
// google.protobuf.Struct as decoded by proto-loader ⇄ plain JSON values. protobufjs defines the
// well-known types itself with camelCase field names (`stringValue`), whatever `keepCase` says; the
// snake_case spelling is accepted too.

function member(value, camel, snake) {
  if (camel in value) return { found: true, inner: value[camel] };
  if (snake in value) return { found: true, inner: value[snake] };
  return { found: false, inner: undefined };
}

/** A decoded `google.protobuf.Value` as plain JSON. */
function valueToJson(value) {
  if (!value || typeof value !== 'object') return null;
  let m = member(value, 'structValue', 'struct_value');
  if (m.found) return structToJson(m.inner);
  m = member(value, 'listValue', 'list_value');
  if (m.found) return ((m.inner && m.inner.values) || []).map(valueToJson);
  for (const [camel, snake] of [['stringValue', 'string_value'], ['numberValue', 'number_value'],
    ['boolValue', 'bool_value']]) {
    m = member(value, camel, snake);
    if (m.found) return m.inner;
  }
  return null;
}

/** A decoded `google.protobuf.Struct` (for example `Event.raw`, the webhook's `data`) as a plain object. */
function structToJson(struct) {
  const out = {};
  for (const [key, value] of Object.entries((struct && struct.fields) || {})) out[key] = valueToJson(value);
  return out;
}

module.exports = { structToJson, valueToJson };
