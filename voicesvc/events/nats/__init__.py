"""NATS JetStream event log: one stream shared by every replica.

Appends publish to `<prefix>.<event_type>` with `Nats-Msg-Id` set to the event id, so JetStream assigns the
sequence (the cursor) and drops redeliveries inside its duplicate window. Each subscription reads through
its own ephemeral pull consumer (no acks, start sequence = position + 1, subject filters pushed down), asking
for at most `pull_batch` events at a time: the server never pushes more than the reader asked for, so a slow
reader holds only one batch and never slows appends or other readers. Every pull is answered on one inbox
subscription the connection shares, which hands each message to the reader of the consumer it names: an
idle reader has no client-side subscription, queue or task of its own.

JetStream silently skips messages that the retention removed before a consumer reached them, so each
subscription tracks its own position and, whenever it sees a gap in sequences or advances over an idle
period, compares it with the stream's first sequence; a reader whose next position was removed gets
`CursorExpired`. Those stream-state lookups are shared: concurrent readers wait on one request.

Modules, each depending only on those before it: `errors` (NATS failures as `LogUnavailable`), `messages`
(subjects and headers), `spec` (stream configuration and state), `inbox` (the client, with a fast lane for
the shared inbox), `connection` (the client and stream shared by the log and its subscriptions), `pull`
(pull requests), `subscription` (a reader), `log` (`NatsEventLog`).
"""

from voicesvc.events.nats.log import NatsEventLog

__all__ = ["NatsEventLog"]
