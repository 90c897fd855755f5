'use strict';
// createClient(): one channel, a promise-returning method per unary RPC and an async iterator per
// server-streaming RPC, all generated from the loaded service definitions.

const grpc = require('@grpc/grpc-js');
const { loadDefinition, listMethods } = require('./definitions');

const DEFAULT_TARGET = '127.0.0.1:50051';
const DEFAULT_DEADLINE_MS = 10000;

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

// Wraps a grpc-js readable call as an async iterator that cancels the call when the consumer stops early.
function iterateStream(call) {
  const inner = call[Symbol.asyncIterator]();
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    call.on('error', () => {}); // the CANCELLED status that follows our own cancel is expected
    call.cancel();
  };
  return {
    call,
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (done) return { done: true, value: undefined };
      try {
        const item = await inner.next();
        if (item.done) done = true;
        return item;
      } catch (err) {
        done = true;
        throw err;
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
function createClient(options = {}) {
  const {
    target = DEFAULT_TARGET,
    token,
    deadlineMs = DEFAULT_DEADLINE_MS,
    credentials = grpc.credentials.createInsecure(),
    channelOptions = {},
    protoDir,
  } = options;
  const definition = loadDefinition(protoDir);
  const channel = new grpc.Client(target, credentials, channelOptions);
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
    if (method.requestStream) {
      throw new Error(`${method.service}.${method.rpc}: client-streaming RPCs are not supported by this client`);
    }
    if (Object.prototype.hasOwnProperty.call(client, method.name)) {
      throw new Error(`two RPCs map to the client method ${method.name}`);
    }
    const def = method.definition;
    const callOptions = (opts, defaultMs) => ({
      deadline: deadlineFrom(opts.deadlineMs === undefined ? defaultMs : opts.deadlineMs),
    });
    if (method.responseStream) {
      client[method.name] = (request = {}, opts = {}) =>
        iterateStream(
          channel.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request,
            buildMetadata(token, opts.metadata), callOptions(opts, null)),
        );
    } else {
      client[method.name] = (request = {}, opts = {}) =>
        new Promise((resolve, reject) => {
          channel.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request,
            buildMetadata(token, opts.metadata), callOptions(opts, deadlineMs),
            (err, response) => (err ? reject(err) : resolve(response)));
        });
    }
    client.methods.push({ name: method.name, service: method.service, rpc: method.rpc, path: method.path,
      responseStream: method.responseStream, http: method.http });
  }

  client.watch = (watchOptions = {}) => watch(client, watchOptions);
  return client;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Events only (heartbeats skipped) of one subscription, as an async iterator with `lastCursor`.
 * With `reconnect: true` a stream ending with UNAVAILABLE is reopened after `lastCursor`.
 */
function watch(client, options) {
  const {
    eventTypes = [], callControlIds = [], callSessionIds = [], connectionIds = [],
    afterCursor = '', startOldest = false, heartbeatIntervalMs, reconnect = false, maxReconnects = null,
    initialBackoffMs = 200, maxBackoffMs = 5000,
  } = options;
  const state = { lastCursor: afterCursor || '', reconnects: 0, closed: false, stream: null };

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
      state.stream = stream;
      try {
        for await (const message of stream) {
          failures = 0;
          if (message.heartbeat) {
            if (message.heartbeat.cursor) state.lastCursor = message.heartbeat.cursor;
          } else if (message.event) {
            if (message.event.cursor) state.lastCursor = message.event.cursor;
            yield message.event;
          }
        }
        return;
      } catch (err) {
        if (state.closed) return;
        const retryable = reconnect && err.code === grpc.status.UNAVAILABLE;
        if (!retryable || (maxReconnects !== null && failures >= maxReconnects)) throw err;
        const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** failures);
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
        failures += 1;
        state.reconnects += 1;
      } finally {
        stream.cancel();
      }
    }
  }

  const inner = events();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => inner.next(),
    return: (value) => {
      state.closed = true;
      if (state.stream) state.stream.cancel();
      return inner.return(value);
    },
    /** Stop the subscription; the iteration ends without error. */
    close() {
      state.closed = true;
      if (state.stream) state.stream.cancel();
    },
    get lastCursor() {
      return state.lastCursor;
    },
    get reconnects() {
      return state.reconnects;
    },
  };
}

module.exports = { createClient, DEFAULT_TARGET, DEFAULT_DEADLINE_MS };
