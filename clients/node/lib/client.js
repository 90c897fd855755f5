'use strict';
// createClient(): one channel, a promise-returning method per unary RPC and an async iterator per
// server-streaming RPC, all generated from the loaded service definitions.

const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const { loadDefinition, listMethods, PACKAGE } = require('./definitions');
const { callsHelpers, execute } = require('./calls');
const { fromGrpcError, REQUEST_ID_KEY } = require('./errors');
const { loadRoot, checkRequest, describeRpc } = require('./schema');

const DEFAULT_TARGET = '127.0.0.1:50051';
const DEFAULT_DEADLINE_MS = 10000;
// Retries of UNAVAILABLE: attempts in all, and the full-jitter backoff between them (doubling, capped).
const DEFAULT_RETRY = Object.freeze({ maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 2000 });

function deadlineFrom(ms) {
  return ms === null || ms === undefined || ms === Infinity ? Infinity : new Date(Date.now() + ms);
}

function buildMetadata(token, extra) {
  let metadata;
  if (extra instanceof grpc.Metadata) {
    metadata = extra.clone();
  } else {
    metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(extra || {})) {
      for (const item of Array.isArray(value) ? value : [value]) metadata.add(key, item);
    }
  }
  if (token && metadata.get('authorization').length === 0) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

const DONE = Object.freeze({ done: true, value: undefined });

// Wraps a grpc-js readable call as an async iterator that cancels the call when the consumer stops early.
function iterateStream(call) {
  const inner = call[Symbol.asyncIterator]();
  let done = false;
  let cancelled = false; // by the consumer: cancel() or return()
  const finish = () => {
    if (done) return;
    done = true;
    cancelled = true;
    call.on('error', () => {}); // the CANCELLED status that follows our own cancel is expected
    call.cancel();
  };
  return {
    call,
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (done) return { ...DONE };
      try {
        const item = await inner.next();
        if (cancelled) return { ...DONE }; // a message that raced the cancel is dropped with the stream
        if (item.done) done = true;
        return item;
      } catch (err) {
        done = true;
        // grpc-js fails a pending read with the CANCELLED status our own cancel produced: that is
        // the end the consumer asked for, not an error. Any other failure still rejects.
        if (cancelled && err.code === grpc.status.CANCELLED) return { ...DONE };
        throw fromGrpcError(err);
      }
    },
    async return(value) {
      finish();
      return { done: true, value };
    },
    /** Stop the stream; a pending or later `next()` resolves as done. */
    cancel() {
      finish();
    },
  };
}

/**
 * Connect to voicesvc.
 *
 * @param {object} [options]
 * @param {string} [options.target='127.0.0.1:50051'] host:port of the gRPC endpoint
 * @param {string} [options.token] bearer token, sent as `authorization: Bearer <token>` on every call
 * @param {number|null} [options.deadlineMs=10000] default deadline of unary calls; null for none.
 *   Streams have no default deadline.
 * @param {grpc.ChannelCredentials} [options.credentials] e.g. grpc.credentials.createSsl(...); plaintext
 *   when omitted
 * @param {object} [options.channelOptions] grpc-js channel options
 */
const KEEPALIVE_OPTIONS = Object.freeze({
  'grpc.keepalive_time_ms': 30000,
  'grpc.keepalive_timeout_ms': 10000,
});

function createClient(options = {}) {
  const {
    target = DEFAULT_TARGET,
    token,
    deadlineMs = DEFAULT_DEADLINE_MS,
    credentials = grpc.credentials.createInsecure(),
    channelOptions = {},
    protoDir,
    retry: retryOption = {},
  } = options;
  const definition = loadDefinition(protoDir);
  const root = loadRoot(protoDir);
  const retry = retryOption === false ? null : { ...DEFAULT_RETRY, ...retryOption };
  // Keepalive pings on by default (given options win): a connection that died without a reset is noticed,
  // so a watcher that reconnects gets a fresh one. The server accepts pings this often.
  const channel = new grpc.Client(target, credentials, { ...KEEPALIVE_OPTIONS, ...channelOptions });
  const client = {
    target,
    channel,
    grpc,
    methods: [],
    close() {
      channel.close();
    },
    /** Resolves once the channel is connected, rejects after `timeoutMs`. */
    waitForReady(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        channel.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
      });
    },
  };

  for (const method of listMethods(definition)) {
    if (method.requestStream && !method.responseStream) {
      throw new Error(`${method.service}.${method.rpc}: client-streaming RPCs are not supported by this client`);
    }
    if (Object.prototype.hasOwnProperty.call(client, method.name)) {
      throw new Error(`two RPCs map to the client method ${method.name}`);
    }
    const def = method.definition;
    const callOptions = (opts, defaultMs) => ({
      deadline: deadlineFrom(opts.deadlineMs === undefined ? defaultMs : opts.deadlineMs),
    });
    if (method.requestStream) {
      // Bidirectional (StreamingPull): the grpc-js duplex call itself — write() requests, iterate responses.
      client[method.name] = (opts = {}) =>
        channel.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize,
          buildMetadata(token, opts.metadata), callOptions(opts, null));
    } else if (method.responseStream) {
      const { requestType } = describeRpc(root, `${PACKAGE}.${method.service}`, method.rpc);
      client[method.name] = (request = {}, opts = {}) => {
        checkRequest(requestType, request);
        return iterateStream(
          channel.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request,
            buildMetadata(token, opts.metadata), callOptions(opts, null)),
        );
      };
    } else {
      const info = describeRpc(root, `${PACKAGE}.${method.service}`, method.rpc);
      const safe = info.hasCommandId || info.commandMembers.length > 0 || readOnly(method);
      client[method.name] = (request = {}, opts = {}) =>
        unary(channel, def, info, request, opts, { token, deadlineMs, retry: safe ? retry : null });
      if (info.itemsField) {
        /** Every item of every page, as an async iterator (`page_size` sets the page, `page_token` the start). */
        client[`${method.name}All`] = (request = {}, opts = {}) =>
          eachItem(client[method.name], info.itemsField, request, opts);
      }
    }
    client.methods.push({ name: method.name, service: method.service, rpc: method.rpc, path: method.path,
      responseStream: method.responseStream, http: method.http });
  }

  client.watch = (watchOptions = {}) => watch(client, watchOptions);
  client.calls = callsHelpers(client);
  client.execute = (rpc, request, opts) => execute(client, rpc, request, opts);
  /** DialCall; with `{wait: true}` resolves once answered: `{response, outcome, succeeded}`. */
  client.dial = (request, opts = {}) => {
    const { wait = false, ...callOpts } = opts;
    return wait ? execute(client, 'DialCall', request, callOpts) : client.dialCall(request, callOpts);
  };
  client.pull = (subscription, pullOptions = {}) => pull(client, subscription, pullOptions);
  client.subscribe = (subscription, handler, subscribeOptions = {}) =>
    subscribe(client, subscription, handler, subscribeOptions);
  return client;
}

// RPCs that change nothing: a GET to Telnyx, or a Get/List of voicesvc's own state.
function readOnly(method) {
  if (method.http) return method.http.method === 'GET';
  return /^(Get|List)[A-Z]/.test(method.rpc);
}

// A fresh command id for a request that can carry one and was given none (the member's, for
// ExecuteCommand), so that every attempt of this call sends the same one: Telnyx acts on it once.
function withCommandId(info, request) {
  if (info.hasCommandId) {
    return request.command_id ? request : { ...request, command_id: crypto.randomUUID() };
  }
  const member = info.commandMembers.find((name) => request[name]);
  if (!member || request[member].command_id) return request;
  return { ...request, [member]: { ...request[member], command_id: crypto.randomUUID() } };
}

function attempt(channel, def, request, metadata, deadline) {
  return new Promise((resolve, reject) => {
    let echoed = '';
    const call = channel.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request,
      metadata, { deadline }, (err, response) => {
        if (err) reject(fromGrpcError(err, echoed || metadata.get(REQUEST_ID_KEY).map(String)[0]));
        else resolve(response);
      });
    call.on('metadata', (initial) => {
      echoed = initial.get(REQUEST_ID_KEY).map(String)[0] || '';
    });
  });
}

function backoffMs(retry, failures, err) {
  const ceiling = Math.min(retry.maxBackoffMs, retry.initialBackoffMs * 2 ** failures);
  return Math.max(Math.random() * ceiling, err.retryDelayMs || 0);
}

// One unary call: the request checked against its type (unknown fields refused), one `x-request-id` for
// every attempt, and UNAVAILABLE retried with backoff within the call's deadline when the RPC is safe to
// repeat (read-only, or carrying a command id that Telnyx de-duplicates by).
async function unary(channel, def, info, request, opts, { token, deadlineMs, retry }) {
  checkRequest(info.requestType, request);
  const policy = opts.retry === false ? null : (opts.retry ? { ...DEFAULT_RETRY, ...retry, ...opts.retry } : retry);
  const sent = policy ? withCommandId(info, request) : request;
  const metadata = buildMetadata(token, opts.metadata);
  if (metadata.get(REQUEST_ID_KEY).length === 0) metadata.set(REQUEST_ID_KEY, crypto.randomUUID());
  const deadline = deadlineFrom(opts.deadlineMs === undefined ? deadlineMs : opts.deadlineMs);
  for (let failures = 0; ; failures += 1) {
    try {
      return await attempt(channel, def, sent, metadata, deadline);
    } catch (err) {
      if (!policy || err.code !== grpc.status.UNAVAILABLE || failures + 1 >= policy.maxAttempts) throw err;
      const wait = backoffMs(policy, failures, err);
      if (deadline !== Infinity && Date.now() + wait >= deadline.getTime()) throw err;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

async function* eachItem(list, itemsField, request, opts) {
  const pageRequest = { ...request };
  for (;;) {
    const page = await list(pageRequest, opts);
    for (const item of page[itemsField] || []) yield item;
    if (!page.next_page_token) return;
    pageRequest.page_token = page.next_page_token;
  }
}

// Resolves after `ms`, or at once when `signal` aborts; either way no timer is left running.
function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const wake = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal.addEventListener('abort', wake);
  });
}

// The server sends a heartbeat at least every interval (15 s unless the request sets one, never more
// often than every second), so a stream silent for IDLE_HEARTBEATS intervals is taken for dead: a
// network path that goes quiet without a reset would otherwise leave the watcher waiting forever.
const SERVER_DEFAULT_HEARTBEAT_MS = 15000;
const SERVER_MIN_HEARTBEAT_MS = 1000;
const IDLE_HEARTBEATS = 3;

function defaultIdleTimeoutMs(heartbeatIntervalMs) {
  const interval = heartbeatIntervalMs === undefined ? SERVER_DEFAULT_HEARTBEAT_MS
    : Math.max(heartbeatIntervalMs, SERVER_MIN_HEARTBEAT_MS);
  return IDLE_HEARTBEATS * interval;
}

// A one-shot timer that calls `onIdle` once it has run `ms` without being stopped; `ms` null or
// Infinity never fires.
function idleTimer(ms, onIdle) {
  let timer = null;
  const idle = {
    fired: false,
    start() {
      idle.stop();
      if (ms === null || ms === Infinity) return;
      timer = setTimeout(() => {
        timer = null;
        idle.fired = true;
        onIdle();
      }, ms);
    },
    stop() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
  return idle;
}

// What a silent stream ends with: shaped like a grpc-js ServiceError, so it is handled (and described)
// as any other UNAVAILABLE.
function idleError(ms) {
  const code = grpc.status.UNAVAILABLE;
  const details = `nothing received for ${ms / 1000} s: the connection is presumed dead`;
  return Object.assign(new Error(`${code} UNAVAILABLE: ${details}`),
    { code, details, metadata: new grpc.Metadata() });
}

/**
 * Events only (heartbeats skipped) of one subscription, as an async iterator with `lastCursor`.
 * With `reconnect: true` a stream ending with UNAVAILABLE is reopened after `lastCursor`. A stream on
 * which nothing (event or heartbeat) arrives for `idleTimeoutMs` (default: 3 heartbeat intervals) is
 * cancelled and ends as UNAVAILABLE.
 */
function watch(client, options) {
  const {
    eventTypes = [], callControlIds = [], callSessionIds = [], connectionIds = [],
    afterCursor = '', startOldest = false, heartbeatIntervalMs, reconnect = false, maxReconnects = null,
    initialBackoffMs = 200, maxBackoffMs = 5000, idleTimeoutMs = defaultIdleTimeoutMs(heartbeatIntervalMs),
  } = options;
  const state = { lastCursor: afterCursor || '', reconnects: 0, closed: false, stream: null, idle: null };
  const closing = new AbortController(); // cuts a reconnect backoff short

  const request = () => {
    const req = {
      filter: {
        event_types: eventTypes, call_control_ids: callControlIds,
        call_session_ids: callSessionIds, connection_ids: connectionIds,
      },
    };
    if (state.lastCursor) req.after_cursor = state.lastCursor;
    else req.start = startOldest ? 'START_POSITION_OLDEST' : 'START_POSITION_NOW';
    if (heartbeatIntervalMs !== undefined) {
      req.heartbeat_interval = { seconds: Math.floor(heartbeatIntervalMs / 1000),
        nanos: (heartbeatIntervalMs % 1000) * 1e6 };
    }
    return req;
  };

  async function* events() {
    let failures = 0;
    while (!state.closed) {
      const stream = client.watchEvents(request());
      // Cancelling ends the stream's iteration quietly; `idle.fired` tells that apart from a normal end.
      const idle = idleTimer(idleTimeoutMs, () => stream.cancel());
      state.stream = stream;
      state.idle = idle;
      try {
        idle.start();
        for await (const message of stream) {
          // The clock runs only while waiting for the server: not while the consumer holds an event.
          idle.stop();
          failures = 0;
          if (message.heartbeat) {
            if (message.heartbeat.cursor) state.lastCursor = message.heartbeat.cursor;
          } else if (message.event) {
            if (message.event.cursor) state.lastCursor = message.event.cursor;
            yield message.event;
          }
          idle.start();
        }
        if (idle.fired && !state.closed) throw idleError(idleTimeoutMs);
        return;
      } catch (err) {
        if (state.closed) return;
        const retryable = reconnect && err.code === grpc.status.UNAVAILABLE;
        if (!retryable || (maxReconnects !== null && failures >= maxReconnects)) throw fromGrpcError(err);
        const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** failures);
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2), closing.signal);
        if (state.closed) return;
        failures += 1;
        state.reconnects += 1;
      } finally {
        idle.stop();
        stream.cancel();
      }
    }
  }

  // Ends the subscription at once, whatever it is doing: waiting for a message or for a reconnect.
  const stop = () => {
    state.closed = true;
    closing.abort();
    if (state.idle) state.idle.stop();
    if (state.stream) state.stream.cancel();
  };

  const inner = events();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => inner.next(),
    return: (value) => {
      stop();
      return inner.return(value);
    },
    /** Stop the subscription; the iteration ends without error, even during a reconnect backoff. */
    close() {
      stop();
    },
    get lastCursor() {
      return state.lastCursor;
    },
    get reconnects() {
      return state.reconnects;
    },
  };
}

function subscriptionName(subscription) {
  return subscription.startsWith('subscriptions/') ? subscription : `subscriptions/${subscription}`;
}

function durationOf(ms) {
  return { seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) };
}

/**
 * A member of a subscription's worker group: an async iterator of deliveries, each with `event`,
 * `deliveryAttempt`, `ackId` and `ack()`, `nack()`, `extend(seconds)`. The stream reconnects with the same
 * member id when it ends with UNAVAILABLE (what it held is delivered again by the server); `close()` leaves
 * the group. A stream silent for 3 heartbeat intervals is taken for dead and reopened.
 */
function pull(client, subscription, options) {
  const {
    memberId = '', maxOutstanding = 0, heartbeatIntervalMs = 5000, maxReconnects = null,
    initialBackoffMs = 200, maxBackoffMs = 5000,
  } = options;
  const name = subscriptionName(subscription);
  const state = { memberId: memberId || crypto.randomUUID(), closed: false, call: null, reconnects: 0, idle: null };
  const closing = new AbortController();
  const idleTimeoutMs = IDLE_HEARTBEATS * Math.max(heartbeatIntervalMs, SERVER_MIN_HEARTBEAT_MS);

  const send = (request) => {
    if (state.call && !state.closed) state.call.write(request);
  };
  const delivery = (received) => ({
    event: received.event,
    deliveryAttempt: received.delivery_attempt,
    ackId: received.ack_id,
    ack: () => send({ ack_ids: [received.ack_id] }),
    nack: () => send({ nack_ids: [received.ack_id] }),
    extend: (seconds) => send({ modify_deadline_ack_ids: [received.ack_id], modify_deadline: durationOf(seconds * 1000) }),
  });

  async function* messages() {
    let failures = 0;
    while (!state.closed) {
      const call = client.streamingPull();
      call.on('error', () => {}); // reported through the iteration below
      state.call = call;
      call.write({ subscription: name, member_id: state.memberId, max_outstanding_events: maxOutstanding,
        heartbeat_interval: durationOf(heartbeatIntervalMs) });
      const idle = idleTimer(idleTimeoutMs, () => call.cancel());
      state.idle = idle;
      try {
        idle.start();
        for await (const response of call) {
          idle.stop();
          if (response.member_id) state.memberId = response.member_id;
          for (const received of response.received_events || []) {
            failures = 0;
            yield delivery(received);
          }
          idle.start();
        }
        if (idle.fired && !state.closed) throw idleError(idleTimeoutMs);
        return;
      } catch (err) {
        if (state.closed) return;
        const retryable = err.code === grpc.status.UNAVAILABLE;
        if (!retryable || (maxReconnects !== null && failures >= maxReconnects)) throw fromGrpcError(err);
        const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** failures);
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2), closing.signal);
        if (state.closed) return;
        failures += 1;
        state.reconnects += 1;
      } finally {
        idle.stop();
        state.call = null;
        call.cancel();
      }
    }
  }

  const stop = () => {
    if (state.call) state.call.end(); // leave the group: the server ends the stream
    state.closed = true;
    closing.abort();
    if (state.idle) state.idle.stop();
    const call = state.call;
    if (call) setTimeout(() => call.cancel(), 1000).unref();
  };

  const inner = messages();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => inner.next(),
    return: (value) => {
      stop();
      return inner.return(value);
    },
    /** Leave the group; the iteration ends without error. */
    close() {
      stop();
    },
    get memberId() {
      return state.memberId;
    },
    get reconnects() {
      return state.reconnects;
    },
  };
}

/**
 * Run `handler(event)` for every delivery, `concurrency` at a time: ack when it resolves, nack when it
 * throws, the deadline extended every half ack deadline while it runs. Answers `{ done, stop(), memberId }`:
 * `done` settles when the member stops (rejects on an error other than UNAVAILABLE).
 */
function subscribe(client, subscription, handler, options) {
  const { concurrency = 16, ...pullOptions } = options;
  const stream = pull(client, subscription, pullOptions);
  const running = new Set();
  let stopped = false;
  const done = (async () => {
    const found = await client.getSubscription({ name: subscriptionName(subscription) });
    const deadline = found.ack_deadline || {};
    const deadlineS = Number(deadline.seconds || 0) + (deadline.nanos || 0) / 1e9 || 30;
    if (stopped) return;
    for await (const message of stream) {
      while (running.size >= concurrency) await Promise.race(running);
      const task = (async () => {
        const keepAlive = setInterval(() => message.extend(deadlineS), deadlineS * 500);
        try {
          await handler(message.event);
          message.ack();
        } catch (err) {
          message.nack();
        } finally {
          clearInterval(keepAlive);
        }
      })();
      running.add(task);
      task.finally(() => running.delete(task));
    }
    await Promise.all(running);
  })();
  return {
    done,
    /** Leave the group once the handlers running now have finished (and their acks are sent). */
    stop() {
      stopped = true;
      Promise.allSettled(running).then(() => stream.close());
    },
    get memberId() {
      return stream.memberId;
    },
  };
}

module.exports = { createClient, DEFAULT_TARGET, DEFAULT_DEADLINE_MS };
