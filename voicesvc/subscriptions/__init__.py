"""Subscriptions: durable worker groups over the event log (storage and delivery; no gRPC).

`model` holds the configuration, deliveries, errors and the backend interface; `memory` the group engine
inside one process. The gRPC face is `voicesvc.server.subscriptions`.
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
