"""Calls as live resources: every call's state folded from its webhook events (no gRPC here).

`reducer` is one call's state machine, `store` holds every call and the feed of their changes,
`projection` feeds a store from the event log, and `outcome` waits in the log for a command's outcome.
"""

from voicesvc.calls.projection import CallProjection
from voicesvc.calls.reducer import CallEvent, CallRecord, apply, parse_event
from voicesvc.calls.store import CallFilterSpec, CallStore, Change, ChangeFeed

__all__ = [
    "CallEvent",
    "CallFilterSpec",
    "CallProjection",
    "CallRecord",
    "CallStore",
    "Change",
    "ChangeFeed",
    "apply",
    "parse_event",
]
