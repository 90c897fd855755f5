"""The JetStream stream behind an event log: its configuration, identity and reported state."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from nats.js import api

from voicesvc.events.nats.messages import LAYOUT_METADATA_KEY, SUBJECT_LAYOUT, stream_subjects

__all__ = ["StreamSpec", "StreamState"]

MAX_CONSUMERS = 1_000_000
"""Consumers (subscriptions, over every replica) a new stream admits at once."""

_SUBJECT_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """Name, subjects and retention of the stream; the retention applies only when the stream is created.

    `-1` means no limit for `max_bytes` and `max_msgs`; the duplicate window never exceeds `max_age_s`.
    """

    name: str
    subject_prefix: str
    max_age_s: float
    max_bytes: int = -1
    max_msgs: int = -1
    duplicate_window_s: float = 120
    replicas: int = 1

    def __post_init__(self) -> None:
        if not _STREAM_NAME.fullmatch(self.name):
            raise ValueError(f"invalid stream name: {self.name!r}")
        if not all(_SUBJECT_TOKEN.fullmatch(t) for t in self.subject_prefix.split(".")):
            raise ValueError(f"invalid subject prefix: {self.subject_prefix!r}")
        if self.max_age_s <= 0 or self.duplicate_window_s <= 0:
            raise ValueError("max_age_s and duplicate_window_s must be positive")

    @property
    def subjects(self) -> str:
        """The subject filter the stream holds: every event under the prefix."""
        return stream_subjects(self.subject_prefix)

    def config(self) -> api.StreamConfig:
        """Configuration of a new stream (limits retention on file, the oldest events dropped first)."""
        return api.StreamConfig(
            name=self.name,
            subjects=[self.subjects],
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.OLD,
            max_age=self.max_age_s,
            max_bytes=self.max_bytes,
            max_msgs=self.max_msgs,
            duplicate_window=min(self.duplicate_window_s, self.max_age_s),
            num_replicas=self.replicas,
            # Every subscription is a consumer: without an explicit limit, nats-server refuses consumers
            # beyond 1000 per stream ("maximum consumers limit reached"): more subscribers could not connect.
            max_consumers=MAX_CONSUMERS,
            metadata={LAYOUT_METADATA_KEY: SUBJECT_LAYOUT},
        )

    def layout_problem(self, info: api.StreamInfo) -> str | None:
        """Why an existing stream cannot be used with this version's subject layout, or None."""
        layout = (info.config.metadata or {}).get(LAYOUT_METADATA_KEY)
        if layout == SUBJECT_LAYOUT:
            return None
        found = f"subject layout {layout}" if layout else "no subject layout (the first one)"
        return (
            f"stream {self.name} holds {found}; this version writes layout {SUBJECT_LAYOUT}: "
            "use a new stream name or delete the stream"
        )

    def epoch_of(self, info: api.StreamInfo) -> int:
        """Identifies one incarnation of the stream: a stream deleted and created again is another log."""
        created = info.created.isoformat() if info.created else ""
        return zlib.crc32(f"{self.name}|{created}".encode())


@dataclass(frozen=True, slots=True)
class StreamState:
    """Sequence bounds and size of the stream as the server reported them."""

    first_seq: int
    last_seq: int
    messages: int

    @classmethod
    def of(cls, info: api.StreamInfo) -> StreamState:
        """The state part of a stream info answer."""
        return cls(info.state.first_seq, info.state.last_seq, info.state.messages)

    def lost_after(self, position: int) -> bool:
        """True if the retention already removed events that come after `position`."""
        return self.first_seq > position + 1
