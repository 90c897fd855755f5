'use strict';
// Worker groups from Node against a real voicesvc (VOICESVC_TARGET, started by tests/test_node_client.py).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { createClient, status } = require('..');

const TARGET = process.env.VOICESVC_TARGET;
const SKIP = TARGET ? false : 'VOICESVC_TARGET is not set (host:port of a running voicesvc)';
const live = (name, fn) => test(name, { skip: SKIP }, fn);
const DIAL = { connection_id: 'node-subscriptions', from: '+18005550101', to_string: '+18005550100' };

let client;

before(() => {
  if (TARGET) client = createClient({ target: TARGET, deadlineMs: 15000 });
});

after(() => client && client.close());

const uniqueId = (prefix) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

live('subscribe: ack on return, nack on throw (redelivered with the next attempt), call order kept', async () => {
  const id = uniqueId('node-sub');
  const created = await client.createSubscription({ subscription_id: id, subscription: {} });
  assert.equal(created.name, `subscriptions/${id}`);
  assert.equal(created.ordering, 'ORDERING_PER_CALL');

  const seen = [];
  let failedOnce = false;
  let resolveHangup;
  const hungUp = new Promise((resolve) => { resolveHangup = resolve; });
  let callId = null;
  const worker = client.subscribe(id, async (event) => {
    if (event.call_control_id !== callId) return;
    if (event.event_type === 'call.answered' && !failedOnce) {
      failedOnce = true;
      throw new Error('first attempt fails');
    }
    seen.push(event.event_type);
    if (event.event_type === 'call.answered') await client.hangupCall({ call_control_id: callId });
    if (event.event_type === 'call.hangup') resolveHangup();
  });
  await new Promise((resolve) => setTimeout(resolve, 200)); // the member joins before the call starts
  const call = await client.dialCall(DIAL);
  callId = call.call_control_id;
  await hungUp;
  worker.stop();
  await worker.done;
  assert.deepEqual(seen, ['call.initiated', 'call.answered', 'call.hangup']);
  const figures = await client.getSubscription({ name: `subscriptions/${id}` });
  assert.ok(Number(figures.acked) >= 3, `acked: ${figures.acked}`); // the call's 3 events, and any other call's
  await client.deleteSubscription({ name: `subscriptions/${id}` });
});

live('pull: explicit acks, the delivery attempt, and NOT_FOUND when the subscription is deleted', async () => {
  const id = uniqueId('node-pull');
  await client.createSubscription({ subscription_id: id, subscription: { filter: { event_types: ['call.initiated'] } } });
  const stream = client.pull(id, { memberId: 'node-worker-1' });
  const iterator = stream[Symbol.asyncIterator]();
  const first = iterator.next();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const call = await client.dialCall(DIAL);
  const { value: message } = await first;
  assert.equal(message.event.event_type, 'call.initiated');
  assert.equal(message.event.call_control_id, call.call_control_id);
  assert.equal(message.deliveryAttempt, 1);
  assert.equal(stream.memberId, 'node-worker-1');
  message.ack();
  await client.hangupCall({ call_control_id: call.call_control_id });
  await client.deleteSubscription({ name: `subscriptions/${id}` });
  await assert.rejects(iterator.next(), (err) => err.code === status.NOT_FOUND);
  await assert.rejects(client.getSubscription({ name: `subscriptions/${id}` }), (err) => err.code === status.NOT_FOUND);
});
