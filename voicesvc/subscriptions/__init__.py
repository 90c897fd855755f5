"""Subscriptions: durable worker groups over the event log (storage and delivery; no gRPC).

`model` holds the configuration, deliveries, errors and the backend interface; `engine` the group engine
(affinity, deadlines, redelivery, dead letters, flow control); `memory` and `nats` the two backends (the
second keeps the group state in JetStream). The gRPC face is `voicesvc.server.subscriptions`.
"""

from voicesvc.subscriptions.memory import MemorySubscriptions
from voicesvc.subscriptions.model import (
    AlreadyExists,
    Correlation,
    DeadLetter,
    Delivery,
    Figures,
    InvalidField,
    MemberSession,
    NotFound,
    SubscriptionBackend,
    SubscriptionConfig,
    SubscriptionError,
    SubscriptionState,
)

__all__ = [
    "AlreadyExists",
    "Correlation",
    "DeadLetter",
    "Delivery",
    "Figures",
    "InvalidField",
    "MemberSession",
    "MemorySubscriptions",
    "NotFound",
    "SubscriptionBackend",
    "SubscriptionConfig",
    "SubscriptionError",
    "SubscriptionState",
]
