'use strict';
// Typed errors, unknown request fields, auto-paging and retries of UNAVAILABLE, against a real voicesvc
// (VOICESVC_TARGET) on its embedded sandbox (VOICESVC_SANDBOX_URL, for fault rules and the request journal).
// tests/test_node_client.py starts the server with VOICESVC_RETRY_MAX_ATTEMPTS=1, so every upstream
// failure reaches the client at once and only the client's own retries repeat a request.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const voicesvc = require('..');

const { createClient, VoicesvcError, NotFound, InvalidArgument, FailedPrecondition, ResourceExhausted,
  Unavailable, describeError } = voicesvc;

const TARGET = process.env.VOICESVC_TARGET;
const SANDBOX = process.env.VOICESVC_SANDBOX_URL;
const SKIP = TARGET && SANDBOX ? false : 'VOICESVC_TARGET and VOICESVC_SANDBOX_URL are not set';
const live = (name, fn) => test(name, { skip: SKIP }, fn);
const DIAL = { connection_id: 'node-sdk', from: '+18005550101', to_string: '+18005550100' };

let client;

before(() => {
  if (!SKIP) client = createClient({ target: TARGET, deadlineMs: 15000, retry: { initialBackoffMs: 10 } });
});

after(() => client && client.close());

async function admin(method, path, body) {
  const reply = await fetch(`${SANDBOX}/_sandbox${path}`, { method, body: body && JSON.stringify(body) });
  assert.ok(reply.ok, `${method} ${path}: ${reply.status}`);
  return (await reply.json()).data;
}

// Each test adds the fault rules it needs to none left over from another.
beforeEach(async () => {
  if (!SKIP) await admin('DELETE', '/faults');
});

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to fail');
}

live('an unknown call is NotFound, with the reason and the request id the call was sent with', async () => {
  const err = await rejection(client.getCall({ name: 'calls/v3:none' }, { metadata: { 'x-request-id': 'node-req-1' } }));
  assert.ok(err instanceof NotFound && err instanceof VoicesvcError && err instanceof Error);
  assert.equal(err.code, voicesvc.status.NOT_FOUND);
  assert.equal(err.codeName, 'NOT_FOUND');
  assert.equal(err.reason, 'CALL_NOT_FOUND');
  assert.equal(err.requestId, 'node-req-1');
  assert.match(describeError(err), /^NOT_FOUND: calls\/v3:none not found/);
});

live('a request missing required fields is InvalidArgument with one violation per field', async () => {
  const err = await rejection(client.dialCall({ connection_id: 'node-sdk' }));
  assert.ok(err instanceof InvalidArgument);
  assert.deepEqual(err.fieldViolations, [
    { field: 'from', description: 'is required' },
    { field: 'to', description: 'is required' },
  ]);
  assert.match(err.requestId, /^[0-9a-f-]{36}$/);
});

live('a command Telnyx refuses is FailedPrecondition with the Telnyx error code', async () => {
  const call = await client.dialCall(DIAL);
  await client.execute('HangupCall', { call_control_id: call.call_control_id });
  const err = await rejection(client.speakText({ call_control_id: call.call_control_id, payload: 'Hi', voice: 'female' }));
  assert.ok(err instanceof FailedPrecondition);
  assert.equal(err.telnyxCode, '90018');
  assert.equal(err.domain, 'api.telnyx.com');
});

live('a 429 with a long Retry-After is ResourceExhausted with the delay in retryDelayMs', async () => {
  const call = await client.dial(DIAL, { wait: true });
  await admin('POST', '/faults', { kind: 'rate_limit', path: '/actions/speak', count: 1, retry_after: 120 });
  const err = await rejection(client.speakText({ call_control_id: call.response.call_control_id, payload: 'Hi',
    voice: 'female' }));
  assert.ok(err instanceof ResourceExhausted);
  assert.equal(err.retryDelayMs, 120000);
  assert.equal(err.telnyxCode, '10011');
  await client.hangupCall({ call_control_id: call.response.call_control_id });
});

live('an unknown field is refused before anything is sent, naming the field', async () => {
  await admin('DELETE', '/requests');
  const err = await rejection(client.dialCall({ ...DIAL, conection_id: 'typo', to_list: { to: ['+18005550102'] } }));
  assert.ok(err instanceof InvalidArgument);
  assert.deepEqual(err.fieldViolations.map((v) => v.field), ['conection_id', 'to_list.to', 'to']);
  assert.match(err.message, /conection_id: unknown field of voicesvc\.v1\.DialCallRequest/);
  assert.throws(() => client.watchEvents({ filter: { event_type: ['call.'] } }),
    (e) => e instanceof InvalidArgument && e.fieldViolations[0].field === 'filter.event_type');
  assert.deepEqual(await admin('GET', '/requests?path=/calls&method=POST'), []);
});

live('every list RPC pages by itself: <method>All yields every item of every page', async () => {
  const prefix = `node-paging-${process.pid}-`;
  const created = [];
  for (let n = 0; n < 5; n += 1) {
    const app = await client.createCallControlApplication({ application_name: `${prefix}${n}`,
      webhook_event_url: 'https://example.com/hook' });
    created.push(app.id);
  }
  await admin('DELETE', '/requests');
  const seen = [];
  const request = { filter: { application_name: { contains: prefix } }, page_size: 2 };
  for await (const app of client.listCallControlApplicationsAll(request)) seen.push(app.id);
  assert.deepEqual(seen.sort(), [...created].sort());
  const pages = await admin('GET', '/requests?path=/call_control_applications&method=GET');
  assert.deepEqual(pages.map((r) => r.query_string.includes('page%5Bnumber%5D=') || r.query_string.includes('page[number]=')),
    [false, true, true]);
  const methods = client.methods.filter((m) => typeof client[`${m.name}All`] === 'function').map((m) => m.name).sort();
  assert.deepEqual(methods, ['listActiveCalls', 'listCallControlApplications', 'listCallEvents', 'listCalls',
    'listDeadLetters', 'listSubscriptions']);
  for (const id of created) await client.deleteCallControlApplication({ id });
});

live('UNAVAILABLE is retried with the same command_id, so the command runs once', async () => {
  const call = await client.dial(DIAL, { wait: true });
  const id = call.response.call_control_id;
  await admin('DELETE', '/requests');
  await admin('POST', '/faults', { kind: 'drop_after', path: `/calls/${id}/actions/speak`, count: 2 });
  assert.deepEqual(await client.speakText({ call_control_id: id, payload: 'Once', voice: 'female' }), { result: 'ok' });
  const sent = await admin('GET', `/requests?path=/calls/${id}/actions/speak`);
  assert.equal(sent.length, 3);
  assert.match(sent[0].body.command_id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(sent.map((r) => r.body.command_id), Array(3).fill(sent[0].body.command_id));
  const executions = await admin('GET', '/executions');
  assert.deepEqual(executions.filter((e) => e.call_control_id === id && e.command === 'speak').map((e) => e.count), [1]);
  await client.hangupCall({ call_control_id: id });
});

live('a caller-chosen command_id is kept across retries; retry: false gives up at once', async () => {
  const call = await client.dial(DIAL, { wait: true });
  const id = call.response.call_control_id;
  await admin('DELETE', '/requests');
  await admin('POST', '/faults', { kind: 'drop_after', path: `/calls/${id}/actions/speak`, count: 1 });
  const err = await rejection(client.speakText({ call_control_id: id, payload: 'No', voice: 'female',
    command_id: 'mine-1' }, { retry: false }));
  assert.ok(err instanceof Unavailable);
  assert.equal(err.reason, 'UPSTREAM_UNAVAILABLE');
  assert.equal(err.telnyxCode, '');
  await admin('POST', '/faults', { kind: 'drop_after', path: `/calls/${id}/actions/speak`, count: 1 });
  await client.speakText({ call_control_id: id, payload: 'Yes', voice: 'female', command_id: 'mine-2' });
  const sent = await admin('GET', `/requests?path=/calls/${id}/actions/speak`);
  assert.deepEqual(sent.map((r) => r.body.command_id), ['mine-1', 'mine-2', 'mine-2']);
  await client.hangupCall({ call_control_id: id });
});

live('an RPC that is not safe to repeat is not retried unless the call asks for it', async () => {
  const name = `node-unsafe-${process.pid}`;
  await admin('DELETE', '/requests');
  await admin('POST', '/faults', { kind: 'drop_after', path: '/call_control_applications', method: 'POST', count: 1 });
  const err = await rejection(client.createCallControlApplication({ application_name: name,
    webhook_event_url: 'https://example.com/hook' }));
  assert.ok(err instanceof Unavailable);
  assert.equal((await admin('GET', '/requests?path=/call_control_applications&method=POST')).length, 1);
  // Asked for, the retry happens: each dropped attempt had reached Telnyx, so there are three applications now.
  await admin('POST', '/faults', { kind: 'drop_after', path: '/call_control_applications', method: 'POST', count: 1 });
  await client.createCallControlApplication({ application_name: name, webhook_event_url: 'https://example.com/hook' },
    { retry: { maxAttempts: 2 } });
  assert.equal((await admin('GET', '/requests?path=/call_control_applications&method=POST')).length, 3);
  const apps = [];
  for await (const app of client.listCallControlApplicationsAll({ filter: { application_name: { contains: name } } })) {
    apps.push(app.id);
  }
  assert.equal(apps.length, 3);
  for (const id of apps) await client.deleteCallControlApplication({ id });
});
