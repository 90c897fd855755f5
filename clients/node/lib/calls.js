'use strict';
// Helpers of the Calls service: calls read from voicesvc's projection of the event log, list-then-watch,
// and commands that return the webhook event reporting their outcome (one RPC: Calls.ExecuteCommand).

// `SpeakText` / `speakText` → `speak_text`, the member of ExecuteCommandRequest that carries it.
function memberOf(rpc) {
  const name = rpc.includes('.') ? rpc.slice(rpc.lastIndexOf('.') + 1) : rpc;
  return name.charAt(0).toLowerCase() + name.slice(1).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function callName(call) {
  return call.startsWith('calls/') ? call : `calls/${call}`;
}

function filterOf(options = {}) {
  const { states = [], connectionId = '', callSessionId = '', direction } = options;
  const filter = { states, connection_id: connectionId, call_session_id: callSessionId };
  if (direction) filter.direction = direction;
  return filter;
}

/** Send a CallControl command by its RPC name and wait for its outcome: `{response, outcome, succeeded}`. */
async function execute(client, rpc, request = {}, opts = {}) {
  const member = memberOf(rpc);
  const reply = await client.executeCommand({ [member]: request }, opts);
  return { response: reply[member] || {}, outcome: reply.outcome, succeeded: Boolean(reply.succeeded) };
}

// Changes only (heartbeats skipped) of one WatchCalls stream, with `lastCursor` and `synced`.
function watchCalls(client, options = {}) {
  const { afterCursor = '', heartbeatIntervalMs } = options;
  const request = { filter: filterOf(options), after_cursor: afterCursor };
  if (heartbeatIntervalMs !== undefined) {
    request.heartbeat_interval = { seconds: Math.floor(heartbeatIntervalMs / 1000),
      nanos: (heartbeatIntervalMs % 1000) * 1e6 };
  }
  const stream = client.watchCalls(request);
  const state = { lastCursor: afterCursor, synced: Boolean(afterCursor) };
  async function* changes() {
    for await (const message of stream) {
      if (message.heartbeat) {
        state.synced = true;
        if (message.heartbeat.cursor) state.lastCursor = message.heartbeat.cursor;
      } else if (message.change) {
        state.lastCursor = message.change.cursor;
        yield message.change;
      }
    }
  }
  const inner = changes();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => inner.next(),
    return: (value) => {
      stream.cancel();
      return inner.return(value);
    },
    /** Stop the stream; the iteration ends without error. */
    close() {
      stream.cancel();
    },
    get lastCursor() {
      return state.lastCursor;
    },
    /** True once every existing call has been received (the first heartbeat). */
    get synced() {
      return state.synced;
    },
  };
}

/** `client.calls`: get, list (every page), watch (list-then-watch) and execute. */
function callsHelpers(client) {
  return {
    get: (call, opts = {}) => client.getCall({ name: callName(call) }, opts),
    list: (options = {}, opts = {}) =>
      client.listCallsAll({ filter: filterOf(options), page_size: options.pageSize || 0 }, opts),
    watch: (options) => watchCalls(client, options),
    execute: (rpc, request, opts) => execute(client, rpc, request, opts),
  };
}

module.exports = { callsHelpers, execute, memberOf, watchCalls };
