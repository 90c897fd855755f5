"""NATS JetStream event log: one stream shared by every replica."""

from voicesvc.events.nats.log import NatsEventLog

__all__ = ["NatsEventLog"]
