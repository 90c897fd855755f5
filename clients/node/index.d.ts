// Type declarations for @voicesvc/client. Messages are plain objects with the protos' field names
// (`call_control_id`, `from`); unset fields are absent, enums are their names, 64-bit integers strings.
import type { ChannelCredentials, ChannelOptions, Metadata, ServiceError, status as Status, credentials as Credentials } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';

export type Message = Record<string, any>;

export interface CallOptions {
  /** Deadline of this call in milliseconds; null for none. Defaults to the client's `deadlineMs` (unary only). */
  deadlineMs?: number | null;
  /** Extra metadata for this call. */
  metadata?: Metadata | Record<string, string | string[]>;
}

export interface MethodInfo {
  name: string;
  service: string;
  rpc: string;
  path: string;
  responseStream: boolean;
  http: { method: string; path: string; body: string } | null;
}

export interface StreamIterator<T> extends AsyncIterableIterator<T> {
  /** Stop the stream; a pending or later `next()` resolves as done. Other failures still reject. */
  cancel(): void;
}

export interface WatchOptions {
  eventTypes?: string[];
  callControlIds?: string[];
  callSessionIds?: string[];
  connectionIds?: string[];
  afterCursor?: string;
  startOldest?: boolean;
  /** Heartbeat interval to ask the server for; unset uses its default (15 s). Below 1 s counts as 1 s. */
  heartbeatIntervalMs?: number;
  /** Reopen a stream that ends with UNAVAILABLE (a silent stream included) after `lastCursor`. */
  reconnect?: boolean;
  /** Consecutive reopenings that deliver nothing before giving up; null for no limit. */
  maxReconnects?: number | null;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * A stream on which nothing (event or heartbeat) arrives for this long is cancelled and ends as
   * UNAVAILABLE. Defaults to 3 heartbeat intervals (3 × 15 s when `heartbeatIntervalMs` is unset);
   * null for no limit.
   */
  idleTimeoutMs?: number | null;
}

export interface EventWatch extends AsyncIterableIterator<Message> {
  readonly lastCursor: string;
  readonly reconnects: number;
  /** Stop the subscription; the iteration ends without error, at once, also during a reconnect backoff. */
  close(): void;
}

export interface CommandResult {
  /** The command's own response (`dial_call` of a dial …). */
  response: Message;
  /** The webhook event that reported the outcome, as WatchEvents delivers it. */
  outcome: Message;
  /** False when the outcome is a failure event (`call.refer.failed`, `streaming.failed` …). */
  succeeded: boolean;
}

export interface CallFilterOptions {
  /** Any of these states, by name (`CALL_STATE_ANSWERED`). */
  states?: string[];
  connectionId?: string;
  callSessionId?: string;
  /** `CALL_DIRECTION_INCOMING` or `CALL_DIRECTION_OUTGOING`. */
  direction?: string;
}

export interface CallWatch extends AsyncIterableIterator<Message> {
  readonly lastCursor: string;
  /** True once every existing call has been received. */
  readonly synced: boolean;
  close(): void;
}

export interface CallsHelpers {
  /** One call by call control id or name (`calls/{call_control_id}`). */
  get(call: string, options?: CallOptions): Promise<Message>;
  /** Every matching call, page after page. */
  list(options?: CallFilterOptions & { pageSize?: number }, callOptions?: CallOptions): AsyncIterableIterator<Message>;
  /** List-then-watch: the existing calls (kind CALL_CHANGE_KIND_EXISTING), then each change. */
  watch(options?: CallFilterOptions & { afterCursor?: string; heartbeatIntervalMs?: number }): CallWatch;
  /** Send a CallControl command (`'SpeakText'`, `'GatherDigits'` …) and wait for its outcome event. */
  execute(rpc: string, request?: Message, options?: CallOptions): Promise<CommandResult>;
}

export interface Delivery {
  readonly event: Message;
  /** Which delivery of the event this is, from 1. */
  readonly deliveryAttempt: number;
  readonly ackId: string;
  /** Done: never delivered again. */
  ack(): void;
  /** Give it back: delivered again at once. */
  nack(): void;
  /** Set its deadline to `seconds` from now (up to 600). */
  extend(seconds: number): void;
}

export interface PullOptions {
  memberId?: string;
  maxOutstanding?: number;
  heartbeatIntervalMs?: number;
  maxReconnects?: number | null;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface SubscriptionPull extends AsyncIterableIterator<Delivery> {
  readonly memberId: string;
  readonly reconnects: number;
  /** Leave the group; the iteration ends without error. */
  close(): void;
}

export interface SubscribeOptions extends PullOptions {
  concurrency?: number;
}

export interface Worker {
  /** Settles when the member has stopped; rejects on an error other than UNAVAILABLE. */
  readonly done: Promise<void>;
  readonly memberId: string;
  /** Leave the group once the running handlers have finished. */
  stop(): void;
}

export type UnaryMethod = (request?: Message, options?: CallOptions) => Promise<Message>;
export type StreamMethod = (request?: Message, options?: CallOptions) => StreamIterator<Message>;

export interface VoiceClient {
  readonly target: string;
  readonly methods: MethodInfo[];
  close(): void;
  waitForReady(timeoutMs?: number): Promise<void>;
  watch(options?: WatchOptions): EventWatch;
  pull(subscription: string, options?: PullOptions): SubscriptionPull;
  subscribe(subscription: string, handler: (event: Message) => unknown, options?: SubscribeOptions): Worker;
  watchEvents: StreamMethod;
  /** The Calls service: get, list, watch, execute. */
  calls: CallsHelpers;
  /** Same as `calls.execute`. */
  execute(rpc: string, request?: Message, options?: CallOptions): Promise<CommandResult>;
  /** DialCall, or with `{wait: true}` the dial and its `call.answered` event. */
  dial(request: Message, options: CallOptions & { wait: true }): Promise<CommandResult>;
  dial(request: Message, options?: CallOptions & { wait?: false }): Promise<Message>;
  dialCall: UnaryMethod;
  getCallStatus: UnaryMethod;
  answerCall: UnaryMethod;
  speakText: UnaryMethod;
  hangupCall: UnaryMethod;
  [method: string]: any;
}

export interface ClientOptions {
  target?: string;
  token?: string;
  deadlineMs?: number | null;
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  protoDir?: string;
}

export function createClient(options?: ClientOptions): VoiceClient;
export function describeError(err: ServiceError | { code: number; details?: string; metadata?: Metadata }): string;
export function errorDetails(err: ServiceError): Array<Message & { type: string }>;
export function statusName(code: number): string;
export function structToJson(struct: Message | null | undefined): Record<string, unknown>;
export function valueToJson(value: Message | null | undefined): unknown;
export function loadDefinition(protoDir?: string): PackageDefinition;
export function listMethods(definition?: PackageDefinition): Array<MethodInfo & { requestStream: boolean }>;
export const status: typeof Status;
export const credentials: typeof Credentials;
export { Metadata };
export const PROTO_DIR: string;
export const LOADER_OPTIONS: Record<string, unknown>;
export const DEFAULT_TARGET: string;
export const DEFAULT_DEADLINE_MS: number;
