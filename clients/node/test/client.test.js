'use strict';
// Runs against a real voicesvc whose gRPC address is in VOICESVC_TARGET (tests/test_node_client.py
// starts one on the embedded sandbox and runs `node --test` here).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
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
  assert.equal(client.methods.filter((m) => m.http).length, methods.length - 1);
});

live('dial, get status, speak and hang up, with the events streamed back', async () => {
  const call = await client.dialCall(DIAL);
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
