// Type declarations for @voicesvc/client. Messages are plain objects with the protos' field names
// (`call_control_id`, `from`); unset fields are absent, enums are their names, 64-bit integers strings.
// The message types and the RPC methods are generated from the protos into lib/contract.d.ts.
import type { ChannelCredentials, ChannelOptions, Metadata, ServiceError, status as Status, credentials as Credentials } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import type { RpcMethods, Event, Call, CallChange, ExecuteCommandRequest, google_protobuf_Struct, google_protobuf_Value } from './lib/contract';

export * from './lib/contract';

/** Any message, for helpers whose shape depends on the RPC. */
export type Message = { [field: string]: unknown };

/** The requests of Calls.ExecuteCommand by member (`speak_text` → SpeakTextRequest …). */
type CommandRequests = Required<ExecuteCommandRequest>;
/** `'SpeakText'` (or `'speakText'`) → the member `speak_text` of ExecuteCommandRequest. */
type SnakeCase<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<T>}` : S;
type MemberOf<R extends string> = SnakeCase<Uncapitalize<R>>;
type PascalCase<S extends string> = S extends `${infer H}_${infer T}` ? `${Capitalize<H>}${PascalCase<T>}` : Capitalize<S>;
type CommandMember = { [K in keyof CommandRequests]: CommandRequests[K] extends object ? K : never }[keyof CommandRequests] & string;
/** The CallControl RPCs Calls.ExecuteCommand carries: `'SpeakText'` or `'speakText'` … */
export type CommandName = PascalCase<CommandMember> | Uncapitalize<PascalCase<CommandMember>>;
export type CommandRequest<R extends string> = MemberOf<R> extends keyof CommandRequests
  ? CommandRequests[MemberOf<R>] : never;

export interface RetryOptions {
  /** Attempts in all, the first included (default 4). */
  maxAttempts?: number;
  /** The first backoff's ceiling; each next one doubles (full jitter), up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface CallOptions {
  /** Deadline of this call in milliseconds, for all its attempts; null for none. Defaults to the client's `deadlineMs` (unary only). */
  deadlineMs?: number | null;
  /**
   * Retries of UNAVAILABLE for this call: false for none; an object also retries an RPC that is not
   * safe to repeat by itself (one without a command id that is not read-only).
   */
  retry?: false | RetryOptions;
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

export interface EventWatch extends AsyncIterableIterator<Event> {
  readonly lastCursor: string;
  readonly reconnects: number;
  /** Stop the subscription; the iteration ends without error, at once, also during a reconnect backoff. */
  close(): void;
}

export interface CommandResult<R = Message> {
  /** The command's own response (`dial_call` of a dial …). */
  response: R;
  /** The webhook event that reported the outcome, as WatchEvents delivers it. */
  outcome: Event;
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

export interface CallWatch extends AsyncIterableIterator<CallChange> {
  readonly lastCursor: string;
  /** True once every existing call has been received. */
  readonly synced: boolean;
  close(): void;
}

export interface CallsHelpers {
  /** One call by call control id or name (`calls/{call_control_id}`). */
  get(call: string, options?: CallOptions): Promise<Call>;
  /** Every matching call, page after page. */
  list(options?: CallFilterOptions & { pageSize?: number }, callOptions?: CallOptions): AsyncIterableIterator<Call>;
  /** List-then-watch: the existing calls (kind CALL_CHANGE_KIND_EXISTING), then each change. */
  watch(options?: CallFilterOptions & { afterCursor?: string; heartbeatIntervalMs?: number }): CallWatch;
  /** Send a CallControl command (`'SpeakText'`, `'GatherDigits'` …) and wait for its outcome event. */
  execute<R extends CommandName>(rpc: R, request?: CommandRequest<R>, options?: CallOptions): Promise<CommandResult>;
}

export interface Delivery {
  readonly event: Event;
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

export interface VoiceClient extends RpcMethods {
  readonly target: string;
  readonly methods: MethodInfo[];
  close(): void;
  waitForReady(timeoutMs?: number): Promise<void>;
  watch(options?: WatchOptions): EventWatch;
  pull(subscription: string, options?: PullOptions): SubscriptionPull;
  subscribe(subscription: string, handler: (event: Event) => unknown, options?: SubscribeOptions): Worker;
  /** The Calls service: get, list, watch, execute. */
  calls: CallsHelpers;
  /** Same as `calls.execute`. */
  execute<R extends CommandName>(rpc: R, request?: CommandRequest<R>, options?: CallOptions): Promise<CommandResult>;
  /** DialCall, or with `{wait: true}` the dial and its `call.answered` event. */
  dial(request: CommandRequests['dial_call'], options: CallOptions & { wait: true }): Promise<CommandResult<import('./lib/contract').DialCallResponse>>;
  dial(request: CommandRequests['dial_call'], options?: CallOptions & { wait?: false }): Promise<import('./lib/contract').DialCallResponse>;
}

export interface ClientOptions {
  target?: string;
  token?: string;
  deadlineMs?: number | null;
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  protoDir?: string;
  /** Retries of UNAVAILABLE (default: 4 attempts, 100 ms doubling to 2 s); false for none. */
  retry?: false | RetryOptions;
}

/**
 * A failed call. `code`/`details`/`metadata` are grpc-js's; the rest is decoded from the
 * google.rpc.Status details the server attached.
 */
export class VoicesvcError extends Error {
  readonly code: number;
  /** `NOT_FOUND`, `INVALID_ARGUMENT` … */
  readonly codeName: string;
  readonly details: string;
  readonly metadata: Metadata;
  /** The call's `x-request-id` (the server's log names it). */
  readonly requestId: string;
  /** ErrorInfo: the Telnyx error code, or voicesvc's own reason (`UPSTREAM_UNAVAILABLE` …). */
  readonly reason: string;
  readonly domain: string;
  readonly errorMetadata: { [key: string]: string };
  /** The Telnyx error code (`90034`) when Telnyx refused the request, else ''. */
  readonly telnyxCode: string;
  /** BadRequest: one per offending field. */
  readonly fieldViolations: Array<{ field: string; description: string }>;
  /** RetryInfo: how long to wait before trying again, in milliseconds; null when not given. */
  readonly retryDelayMs: number | null;
  /** Every decoded detail, each with its `type` (`google.rpc.ErrorInfo` …). */
  readonly statusDetails: Array<Message & { type: string }>;
}
export class Cancelled extends VoicesvcError {}
export class Unknown extends VoicesvcError {}
export class InvalidArgument extends VoicesvcError {}
export class DeadlineExceeded extends VoicesvcError {}
export class NotFound extends VoicesvcError {}
export class AlreadyExists extends VoicesvcError {}
export class PermissionDenied extends VoicesvcError {}
export class ResourceExhausted extends VoicesvcError {}
export class FailedPrecondition extends VoicesvcError {}
export class Aborted extends VoicesvcError {}
export class OutOfRange extends VoicesvcError {}
export class Unimplemented extends VoicesvcError {}
export class Internal extends VoicesvcError {}
export class Unavailable extends VoicesvcError {}
export class DataLoss extends VoicesvcError {}
export class Unauthenticated extends VoicesvcError {}
/** The typed error of a grpc-js failure; other values are returned as they are. */
export function fromGrpcError<E>(err: E, requestId?: string): E | VoicesvcError;

export function createClient(options?: ClientOptions): VoiceClient;
export function describeError(err: ServiceError | { code: number; details?: string; metadata?: Metadata }): string;
export function errorDetails(err: ServiceError | VoicesvcError): Array<Message & { type: string }>;
export function statusName(code: number): string;
export function structToJson(struct: google_protobuf_Struct | null | undefined): Record<string, unknown>;
export function valueToJson(value: google_protobuf_Value | null | undefined): unknown;
export function loadDefinition(protoDir?: string): PackageDefinition;
export function listMethods(definition?: PackageDefinition): Array<MethodInfo & { requestStream: boolean }>;
export const status: typeof Status;
export const credentials: typeof Credentials;
export { Metadata };
export const PROTO_DIR: string;
export const LOADER_OPTIONS: Record<string, unknown>;
export const DEFAULT_TARGET: string;
export const DEFAULT_DEADLINE_MS: number;
