'use strict';
// Checks that need no server: the shipped protos, the method table and error decoding.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const grpc = require('@grpc/grpc-js');
const { listMethods, loadDefinition, describeError, errorDetails, structToJson, createClient } = require('..');

test('the shipped protos load and define the five services', () => {
  const services = new Set(listMethods().map((m) => m.service));
  assert.deepEqual([...services].sort(),
    ['CallControl', 'CallControlApplications', 'CallEvents', 'Connections', 'EventStream']);
  assert.equal(listMethods().filter((m) => m.service === 'CallControl').length, 43);
  assert.ok(loadDefinition()['google.rpc.BadRequest']);
});

test('field names keep the proto spelling', () => {
  const type = loadDefinition()['voicesvc.v1.DialCallRequest'].type;
  const names = type.field.map((f) => f.name);
  assert.ok(names.includes('from'));
  assert.ok(names.includes('connection_id'));
});

test('errors with rich details are described like the Python client does', () => {
  const def = loadDefinition();
  const pack = (type, value) => ({
    type_url: `type.googleapis.com/${type}`, value: def[type].serialize(value),
  });
  const statusBytes = def['google.rpc.Status'].serialize({
    code: grpc.status.INVALID_ARGUMENT,
    message: 'invalid request: to',
    details: [
      pack('google.rpc.ErrorInfo', { reason: '10015', domain: 'api.telnyx.com', metadata: { http_status: '422' } }),
      pack('google.rpc.BadRequest', { field_violations: [{ field: 'to', description: 'is required' }] }),
      pack('google.rpc.RetryInfo', { retry_delay: { seconds: 1, nanos: 500000000 } }),
    ],
  });
  const metadata = new grpc.Metadata();
  metadata.set('grpc-status-details-bin', statusBytes);
  const err = Object.assign(new Error('x'), { code: grpc.status.INVALID_ARGUMENT, details: 'invalid request: to',
    metadata });
  assert.deepEqual(describeError(err).split('\n'), [
    'INVALID_ARGUMENT: invalid request: to',
    '  reason: 10015 (api.telnyx.com)',
    '    http_status: 422',
    '  field to: is required',
    '  retry after 1.5s',
  ]);
  assert.deepEqual(errorDetails(err).map((d) => d.type),
    ['google.rpc.ErrorInfo', 'google.rpc.BadRequest', 'google.rpc.RetryInfo']);
  assert.equal(describeError({ code: grpc.status.NOT_FOUND, details: '' }), 'NOT_FOUND');
});

test('Struct values become plain JSON', () => {
  const type = loadDefinition()['voicesvc.v1.Event'];
  const decoded = type.deserialize(type.serialize({ raw: { fields: {
    event_type: { stringValue: 'call.answered' },
    payload: { structValue: { fields: { n: { numberValue: 2 }, ok: { boolValue: true },
      list: { listValue: { values: [{ stringValue: 'a' }, { nullValue: 'NULL_VALUE' }] } } } } },
  } } }));
  assert.deepEqual(structToJson(decoded.raw),
    { event_type: 'call.answered', payload: { n: 2, ok: true, list: ['a', null] } });
  assert.deepEqual(structToJson({ fields: { a: { string_value: 'b' } } }), { a: 'b' });
});

test('the bearer token and deadline are attached to calls', async () => {
  const seen = [];
  const server = new grpc.Server();
  const def = loadDefinition();
  server.addService(def['voicesvc.v1.CallControl'], {
    GetCallStatus(call, callback) {
      seen.push({ auth: call.metadata.get('authorization'), deadline: call.getDeadline(),
        request: call.request });
      callback(null, { call_control_id: call.request.call_control_id, is_alive: false });
    },
  });
  const port = await new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  const client = createClient({ target: `127.0.0.1:${port}`, token: 's3cret', deadlineMs: 30000 });
  try {
    const reply = await client.getCallStatus({ call_control_id: 'v3:abc' });
    assert.deepEqual(reply, { call_control_id: 'v3:abc', is_alive: false });
    await client.getCallStatus({ call_control_id: 'v3:def' }, { deadlineMs: null, metadata: { 'x-extra': '1' } });
  } finally {
    client.close();
    server.forceShutdown();
  }
  assert.deepEqual(seen[0].auth, ['Bearer s3cret']);
  assert.notEqual(seen[0].deadline, Infinity);
  assert.equal(seen[0].request.call_control_id, 'v3:abc');
  assert.equal(seen[1].deadline, Infinity);
});

async function startEventServer(handler) {
  const server = new grpc.Server();
  server.addService(loadDefinition()['voicesvc.v1.EventStream'], { WatchEvents: handler });
  const port = await new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return { server, target: `127.0.0.1:${port}` };
}

const event = (cursor, type = 'call.answered') => ({ event: { cursor, id: `id-${cursor}`, event_type: type } });
const heartbeat = (cursor) => ({ heartbeat: { cursor } });

test('watch() skips heartbeats and reconnects after the last cursor when the server is unavailable', async () => {
  const requests = [];
  const { server, target } = await startEventServer((call) => {
    requests.push(call.request);
    if (requests.length === 1) {
      call.write(heartbeat('c0'));
      call.write(event('c1'));
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'shutting down' });
    } else {
      call.write(event('c2', 'call.hangup'));
      call.write(heartbeat('c3'));
      call.end();
    }
  });
  const client = createClient({ target });
  try {
    const watch = client.watch({ eventTypes: ['call.'], startOldest: true, reconnect: true, initialBackoffMs: 10 });
    const cursors = [];
    for await (const e of watch) cursors.push(e.cursor);
    assert.deepEqual(cursors, ['c1', 'c2']);
    assert.equal(watch.lastCursor, 'c3');
    assert.equal(watch.reconnects, 1);
    assert.equal(requests[0].start, 'START_POSITION_OLDEST');
    assert.deepEqual(requests[0].filter.event_types, ['call.']);
    assert.equal(requests[1].after_cursor, 'c1');
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('watch() without reconnect rejects with the stream error; close() ends it quietly', async () => {
  let calls = 0;
  const { server, target } = await startEventServer((call) => {
    calls += 1;
    call.write(event(`c${calls}`));
    if (calls === 1) call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'gone' });
  });
  const client = createClient({ target });
  try {
    const failing = client.watch({ afterCursor: 'c0' });
    const seen = [];
    await assert.rejects((async () => {
      for await (const e of failing) seen.push(e.cursor);
    })(), (err) => err.code === grpc.status.UNAVAILABLE);
    assert.deepEqual(seen, ['c1']);

    const open = client.watch();
    const got = [];
    for await (const e of open) {
      got.push(e.cursor);
      open.close();
    }
    assert.deepEqual(got, ['c2']);
  } finally {
    client.close();
    server.forceShutdown();
  }
});
