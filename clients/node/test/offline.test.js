'use strict';
// Checks that need no server: the shipped protos, the method table and error decoding.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const { listMethods, loadDefinition, describeError, errorDetails, structToJson, createClient } = require('..');

test('the shipped protos load and define the seven services', () => {
  const services = new Set(listMethods().map((m) => m.service));
  assert.deepEqual([...services].sort(),
    ['CallControl', 'CallControlApplications', 'CallEvents', 'Calls', 'Connections', 'EventStream',
      'Subscriptions']);
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

// Settles like `promise`, or rejects after `ms` so that a hang fails the test instead of stalling the suite.
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
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

test('watchEvents(): cancel() ends a pending next() as done; a server error still rejects', async () => {
  let calls = 0;
  const { server, target } = await startEventServer((call) => {
    calls += 1;
    call.write(heartbeat(`c${calls}`));
    if (calls === 2) call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'gone' });
    // the first call stays open until the client cancels it
  });
  const client = createClient({ target });
  try {
    const open = client.watchEvents({});
    assert.equal((await open.next()).value.heartbeat.cursor, 'c1');
    const pending = open.next();
    open.cancel();
    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.deepEqual(await open.next(), { done: true, value: undefined });

    const failing = client.watchEvents({});
    assert.equal((await failing.next()).value.heartbeat.cursor, 'c2');
    await assert.rejects(failing.next(), (err) => err.code === grpc.status.UNAVAILABLE);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

// Run in a process of its own, which must exit by itself: a timer left behind by close() would keep it up.
const BACKOFF_SCRIPT = `
const pkg = process.env.PACKAGE_DIR;
const grpc = require(require.resolve('@grpc/grpc-js', { paths: [pkg] }));
const { createClient, loadDefinition } = require(pkg);
let watch;
let closedAt;
const server = new grpc.Server();
server.addService(loadDefinition()['voicesvc.v1.EventStream'], {
  WatchEvents(call) {
    call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'down' });
    // The watcher now sleeps 30 to 60 s before reconnecting; close it during that sleep.
    setTimeout(() => { closedAt = Date.now(); watch.close(); }, 200);
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), async (err, port) => {
  if (err) throw err;
  const client = createClient({ target: '127.0.0.1:' + port });
  watch = client.watch({ reconnect: true, initialBackoffMs: 60000, maxBackoffMs: 60000 });
  const result = await watch.next();
  const afterCloseMs = Date.now() - closedAt;
  console.log(JSON.stringify({ done: result.done, afterCloseMs, reconnects: watch.reconnects }));
  client.close();
  server.forceShutdown();
});
`;

test('watch().close() interrupts the reconnect backoff at once and leaves no timer behind', async () => {
  const child = spawn(process.execPath, ['-e', BACKOFF_SCRIPT], {
    env: { ...process.env, PACKAGE_DIR: path.resolve(__dirname, '..') }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  const [code, signal] = await new Promise((resolve) => child.on('close', (...exit) => resolve(exit)));
  clearTimeout(timer);
  assert.deepEqual([code, signal], [0, null], `the process did not exit by itself:\n${stdout}${stderr}`);
  const result = JSON.parse(stdout);
  assert.equal(result.done, true);
  assert.equal(result.reconnects, 0);
  assert.ok(result.afterCloseMs < 1000, `next() settled ${result.afterCloseMs} ms after close()`);
});

test('watch() cancels a stream silent for idleTimeoutMs and resumes after the last cursor', async () => {
  const requests = [];
  let firstCancelled = false;
  const { server, target } = await startEventServer((call) => {
    requests.push(call.request);
    if (requests.length === 1) {
      call.on('cancelled', () => { firstCancelled = true; });
      call.write(heartbeat('c0'));
      call.write(event('c1'));
      // then nothing, neither event nor heartbeat, as on a connection that died silently
    } else {
      call.write(event('c2', 'call.hangup'));
      call.end();
    }
  });
  const client = createClient({ target });
  const watch = client.watch({ reconnect: true, initialBackoffMs: 10, idleTimeoutMs: 300 });
  try {
    const started = Date.now();
    const cursors = await within((async () => {
      const seen = [];
      for await (const e of watch) seen.push(e.cursor);
      return seen;
    })(), 5000, 'the watch');
    assert.ok(Date.now() - started >= 300);
    assert.deepEqual(cursors, ['c1', 'c2']);
    assert.equal(watch.reconnects, 1);
    assert.equal(requests[1].after_cursor, 'c1');
    assert.equal(firstCancelled, true);
  } finally {
    watch.close();
    client.close();
    server.forceShutdown();
  }
});

test('watch() without reconnect fails a silent stream with UNAVAILABLE', async () => {
  const { server, target } = await startEventServer((call) => {
    call.write(heartbeat('c0')); // and nothing after it
  });
  const client = createClient({ target });
  const watch = client.watch({ heartbeatIntervalMs: 100, idleTimeoutMs: 200 });
  try {
    await assert.rejects(within(watch.next(), 5000, 'watch.next()'), (err) => {
      assert.equal(err.code, grpc.status.UNAVAILABLE);
      assert.equal(describeError(err), 'UNAVAILABLE: nothing received for 0.2 s: the connection is presumed dead');
      return true;
    });
    assert.equal(watch.lastCursor, 'c0');
    assert.equal(watch.reconnects, 0);
  } finally {
    watch.close();
    client.close();
    server.forceShutdown();
  }
});
