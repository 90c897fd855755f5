'use strict';
// Runs against a real voicesvc whose gRPC address is in VOICESVC_TARGET (tests/test_node_client.py
// starts one on the embedded sandbox and runs `node --test` here).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { createClient, describeError, errorDetails, listMethods, status, structToJson } = require('..');

const TARGET = process.env.VOICESVC_TARGET;
const DIAL = { connection_id: '1684641123236054244', from: '+18005550101', to_string: '+18005550100' };

const SKIP = TARGET ? false : 'VOICESVC_TARGET is not set (host:port of a running voicesvc)';
// Tests that need the server; without VOICESVC_TARGET they are reported as skipped, with the reason.
const live = (name, fn) => test(name, { skip: SKIP }, fn);

let client;

before(() => {
  if (TARGET) client = createClient({ target: TARGET, deadlineMs: 15000 });
});

after(() => client && client.close());

async function collectUntil(iterator, lastType, limit = 50) {
  const events = [];
  for await (const event of iterator) {
    events.push(event);
    if (event.event_type === lastType || events.length >= limit) break;
  }
  return events;
}

live('every RPC of the contract has a camelCase method', () => {
  const methods = listMethods();
  assert.equal(client.methods.length, methods.length);
  for (const name of ['dialCall', 'getCallStatus', 'answerCall', 'speakText', 'hangupCall',
    'listCallControlApplications', 'listActiveCalls', 'listCallEvents', 'watchEvents']) {
    assert.equal(typeof client[name], 'function', name);
  }
  const dial = client.methods.find((m) => m.name === 'dialCall');
  assert.deepEqual(dial.http, { method: 'POST', path: '/calls', body: '*' });
  // Every RPC maps onto Telnyx but the streams and the services of voicesvc's own state (Calls, Subscriptions).
  const local = client.methods.filter((m) => m.service === 'Calls' || m.service === 'Subscriptions' || m.responseStream);
  assert.equal(client.methods.filter((m) => m.http).length, methods.length - local.length);
});

live('dial, get status, speak and hang up, with the events streamed back', async () => {
  // Waits for the answer: Telnyx refuses media on a call that is still ringing.
  const answered = await client.dial(DIAL, { wait: true });
  assert.equal(answered.outcome.event_type, 'call.answered');
  const call = answered.response;
  assert.match(call.call_control_id, /.+/);
  assert.equal(call.is_alive, true);

  const statusReply = await client.getCallStatus({ call_control_id: call.call_control_id });
  assert.equal(statusReply.call_control_id, call.call_control_id);
  assert.equal(statusReply.call_session_id, call.call_session_id);

  const spoke = await client.speakText({ call_control_id: call.call_control_id, payload: 'Hello from Node',
    voice: 'female', language: 'en-US' });
  assert.equal(spoke.result, 'ok');
  const hung = await client.hangupCall({ call_control_id: call.call_control_id });
  assert.equal(hung.result, 'ok');

  const stream = client.watchEvents({
    filter: { call_control_ids: [call.call_control_id] },
    start: 'START_POSITION_OLDEST',
  });
  const events = [];
  for await (const message of stream) {
    if (!message.event) continue;
    events.push(message.event);
    if (message.event.event_type === 'call.hangup') break;
  }
  const types = events.map((e) => e.event_type);
  assert.equal(types[0], 'call.initiated');
  assert.equal(types[types.length - 1], 'call.hangup');
  for (const event of events) {
    assert.equal(event.call_control_id, call.call_control_id);
    assert.match(event.cursor, /.+/);
  }
  const data = structToJson(events[0].raw);
  assert.equal(data.event_type, 'call.initiated');
  assert.equal(data.payload.call_control_id, call.call_control_id);
});

live('calls: get, list every page, watch, and commands that return their outcome', async () => {
  const watch = client.calls.watch({ states: ['CALL_STATE_ENDED'] });
  const { response: dialed, outcome } = await client.dial(DIAL, { wait: true });
  assert.equal(outcome.call_answered.call_control_id, dialed.call_control_id);
  const call = await client.calls.get(dialed.call_control_id);
  assert.equal(call.name, `calls/${dialed.call_control_id}`);
  assert.equal(call.state, 'CALL_STATE_ANSWERED');
  assert.equal(call.direction, 'CALL_DIRECTION_OUTGOING');

  const spoke = await client.execute('SpeakText', { call_control_id: dialed.call_control_id,
    payload: 'Hi', voice: 'female' });
  assert.equal(spoke.outcome.event_type, 'call.speak.ended');
  assert.equal(spoke.succeeded, true);
  assert.deepEqual(spoke.response, { result: 'ok' });
  await client.calls.execute('HangupCall', { call_control_id: dialed.call_control_id });

  const listed = [];
  for await (const item of client.calls.list({ pageSize: 1 })) listed.push(item.name);
  assert.ok(listed.includes(call.name));
  assert.deepEqual(listed, [...listed].sort());

  for await (const change of watch) {
    if (change.call.call_control_id !== dialed.call_control_id) continue;
    assert.equal(change.kind, 'CALL_CHANGE_KIND_ENDED');
    assert.equal(change.call.hangup_cause, 'HANGUP_CAUSE_NORMAL_CLEARING');
    break;
  }
  assert.equal(watch.synced, true);
  assert.match(watch.lastCursor, /.+/);

  await assert.rejects(client.dial({ ...DIAL, to_string: '+15550001486' }, { wait: true }), (err) => {
    assert.equal(err.code, status.FAILED_PRECONDITION);
    const info = errorDetails(err).find((d) => d.type === 'google.rpc.ErrorInfo');
    assert.equal(info.reason, 'CALL_ENDED');
    assert.equal(info.metadata.hangup_cause, 'user_busy');
    return true;
  });
});

live('watch() skips heartbeats, tracks the cursor and resumes after it', async () => {
  const call = await client.dialCall(DIAL);
  await client.hangupCall({ call_control_id: call.call_control_id });
  const first = client.watch({ callControlIds: [call.call_control_id], startOldest: true });
  const all = await collectUntil(first, 'call.hangup');
  assert.equal(all[0].event_type, 'call.initiated');
  assert.equal(first.lastCursor, all[all.length - 1].cursor);

  const resumed = client.watch({ callControlIds: [call.call_control_id], afterCursor: all[0].cursor });
  const rest = await collectUntil(resumed, 'call.hangup');
  assert.deepEqual(rest.map((e) => e.id), all.slice(1).map((e) => e.id));

  const typed = client.watch({ callControlIds: [call.call_control_id], eventTypes: ['call.hangup'],
    startOldest: true });
  const [hangup] = await collectUntil(typed, 'call.hangup');
  assert.equal(hangup.event_type, 'call.hangup');
});

live('a dial without `to` is INVALID_ARGUMENT naming the field', async () => {
  const { to_string: _omitted, ...withoutTo } = DIAL;
  await assert.rejects(client.dialCall(withoutTo), (err) => {
    assert.equal(err.code, status.INVALID_ARGUMENT);
    const text = describeError(err);
    assert.match(text, /^INVALID_ARGUMENT: /);
    assert.match(text, /field to: /);
    const badRequest = errorDetails(err).find((d) => d.type === 'google.rpc.BadRequest');
    assert.ok(badRequest, 'a BadRequest detail is attached');
    assert.ok(badRequest.field_violations.some((v) => v.field === 'to'));
    return true;
  });
});

live('an unknown call is NOT_FOUND', async () => {
  await assert.rejects(client.getCallStatus({ call_control_id: 'v3:no-such-call' }),
    (err) => err.code === status.NOT_FOUND);
});

live('a per-call deadline that has already passed fails with DEADLINE_EXCEEDED', async () => {
  await assert.rejects(client.getCallStatus({ call_control_id: 'v3:no-such-call' }, { deadlineMs: -1 }),
    (err) => err.code === status.DEADLINE_EXCEEDED);
});

// Settles like `promise`, or rejects after `ms` so that a hang fails the test instead of stalling the suite.
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function waitFor(predicate, ms, what) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// A TCP proxy in front of `target` that can go silent: it then stops moving bytes either way but keeps
// every socket open, as a network path that dies without a reset does. resume() delivers what it held.
async function startProxy(target) {
  const sep = target.lastIndexOf(':');
  const [host, port] = [target.slice(0, sep), Number(target.slice(sep + 1))];
  const links = new Set();
  let silent = false;
  const flow = ([a, b]) => {
    a.pipe(b);
    b.pipe(a);
  };
  const server = net.createServer((downstream) => {
    const link = [downstream, net.connect(port, host)];
    links.add(link);
    const drop = () => {
      links.delete(link);
      for (const socket of link) socket.destroy();
    };
    for (const socket of link) socket.on('error', drop).on('close', drop);
    if (!silent) flow(link); // a socket nobody pipes stays paused: accepted, but silent
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    target: `127.0.0.1:${server.address().port}`,
    silence() {
      silent = true;
      for (const [a, b] of links) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    resume() {
      silent = false;
      for (const link of links) flow(link);
    },
    close() {
      for (const link of links) for (const socket of link) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

live('watchEvents(): cancel() makes a pending next() resolve as done', async () => {
  const stream = client.watchEvents({ filter: { call_control_ids: ['v3:no-such-call'] } });
  const opening = await within(stream.next(), 5000, 'the opening heartbeat');
  assert.ok(opening.value.heartbeat, 'every stream opens with a heartbeat');
  const pending = stream.next();
  stream.cancel();
  assert.deepEqual(await within(pending, 5000, 'the pending next()'), { done: true, value: undefined });
  assert.deepEqual(await stream.next(), { done: true, value: undefined });
});

live('watch() fails with UNAVAILABLE when its connection goes silent for 3 heartbeat intervals', async () => {
  const proxy = await startProxy(TARGET);
  const proxied = createClient({ target: proxy.target });
  const watch = proxied.watch({ callControlIds: ['v3:no-such-call'], heartbeatIntervalMs: 1000 });
  try {
    const pending = watch.next();
    pending.catch(() => {}); // examined below, once the connection has gone quiet
    await waitFor(() => watch.lastCursor !== '', 5000, 'the opening heartbeat');
    proxy.silence();
    const silentAt = Date.now();
    await assert.rejects(within(pending, 10000, 'watch.next() on a silent connection'), (err) => {
      assert.equal(err.code, status.UNAVAILABLE);
      assert.match(describeError(err), /^UNAVAILABLE: nothing received for 3 s/);
      return true;
    });
    // The last heartbeat came at most one interval before the silence, three intervals before the timeout.
    assert.ok(Date.now() - silentAt >= 1500, `gave up ${Date.now() - silentAt} ms into the silence`);
    assert.equal(watch.reconnects, 0);
    assert.notEqual(watch.lastCursor, '');
  } finally {
    watch.close();
    proxied.close();
    await proxy.close();
  }
});

live('watch() reconnects after the last cursor when its connection goes silent', async () => {
  const call = await client.dialCall(DIAL);
  const id = call.call_control_id;
  const proxy = await startProxy(TARGET);
  const proxied = createClient({ target: proxy.target });
  const watch = proxied.watch({ callControlIds: [id], startOldest: true, heartbeatIntervalMs: 1000,
    reconnect: true, initialBackoffMs: 10 });
  try {
    const first = await within(watch.next(), 5000, 'the first event');
    assert.equal(first.value.event_type, 'call.initiated');
    proxy.silence();
    await client.hangupCall({ call_control_id: id }); // its events reach the server, not the watcher
    const rest = collectUntil(watch, 'call.hangup');
    rest.catch(() => {}); // awaited below
    await waitFor(() => watch.reconnects === 1, 10000, 'the watcher to give up on the silent stream');
    proxy.resume(); // the reopened stream (and the stale bytes of the cancelled one) now get through
    const events = [first.value, ...await within(rest, 10000, 'the events after the reconnect')];
    assert.equal(watch.reconnects, 1);
    // Nothing missed, nothing repeated: the same events as one uninterrupted read of the call.
    const expected = await collectUntil(client.watch({ callControlIds: [id], startOldest: true }), 'call.hangup');
    assert.deepEqual(events.map((e) => e.id), expected.map((e) => e.id));
    assert.equal(events[events.length - 1].event_type, 'call.hangup');
  } finally {
    watch.close();
    proxied.close();
    await proxy.close();
  }
});
