"""Fault injection: rules that delay, fail, throttle or drop REST requests and webhook deliveries.

A rule applies to requests whose path matches `path` (a regular expression searched in the path
after `/v2`, e.g. `/actions/answer$`) and whose method matches `method`, both optional. `count`
limits it to the next N matching requests (then it is spent); `rate` is the probability that a
matching request is hit (default 1, so tests stay deterministic). Kinds:

- `latency`: sleep `latency_ms` before handling (stacks with other rules);
- `error`: answer `status` (default 500) with a Telnyx error body, without executing;
- `rate_limit`: answer 429 with `Retry-After: retry_after`, without executing;
- `drop_before`: close the connection before the request body is read, without executing;
- `drop_after`: execute the request, then close the connection instead of answering;
- `webhook_fail`: fail a webhook delivery attempt as if the receiver answered `status`
  (0 means a timeout) without sending it; `event_type` (exact, or a prefix ending in `.`) scopes it;
- `webhook_reorder`: hold a webhook back and deliver it after the call's next one (or after `hold_ms`
  when no other comes), as Telnyx, which does not guarantee order, sometimes does;
- `webhook_duplicate`: deliver a webhook, and the same event (same id) once more after the call's next
  one (or after `hold_ms`), as Telnyx's at-least-once delivery sometimes does.

The webhook kinds are decided once per event (not per attempt), are scoped by `event_type` like
`webhook_fail`, and never hold back more than one event of a call at a time.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = (
    "latency",
    "error",
    "rate_limit",
    "drop_before",
    "drop_after",
    "webhook_fail",
    "webhook_reorder",
    "webhook_duplicate",
)
_WEBHOOK_KINDS = ("webhook_fail", "webhook_reorder", "webhook_duplicate")
_ORDER_KINDS = ("webhook_reorder", "webhook_duplicate")
_REQUEST_TERMINAL = ("error", "rate_limit", "drop_before")


@dataclass
class FaultRule:
    """One fault rule; see the module docstring for the meaning of each field."""

    kind: str
    path: str | None = None
    method: str | None = None
    event_type: str | None = None
    count: int | None = None
    rate: float = 1.0
    latency_ms: int = 0
    status: int = 500
    retry_after: int = 1
    hold_ms: int = 500
    id: str = ""
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        for name in ("path", "method", "event_type"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        for name in ("status", "latency_ms", "retry_after", "count", "hold_ms"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValueError(f"{name} must be a non-negative integer")
        numeric = isinstance(self.rate, int | float) and not isinstance(self.rate, bool)
        if not numeric or not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if self.kind == "error" and not 400 <= self.status <= 599:
            raise ValueError("status of an error must be from 400 to 599")
        if self.kind == "webhook_fail" and self.status != 0 and not 100 <= self.status <= 599:
            raise ValueError("status of a webhook failure must be 0 (a timeout) or from 100 to 599")
        if self.path is not None:
            try:
                re.compile(self.path)
            except re.error as exc:
                raise ValueError(f"path is not a regular expression: {exc}") from None
        if self.kind == "rate_limit":
            self.status = 429

    @property
    def spent(self) -> bool:
        """True once a `count`-limited rule has fired `count` times."""
        return self.count is not None and self.hits >= self.count

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the admin API."""
        data = asdict(self)
        data["remaining"] = None if self.count is None else max(self.count - self.hits, 0)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        """Build a rule from admin JSON; raises ValueError/TypeError for bad input."""
        allowed = {f for f in cls.__dataclass_fields__ if f not in ("id", "hits")}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass
class RequestFaults:
    """What the injector decided for one request."""

    latency_ms: int = 0
    terminal: FaultRule | None = None
    drop_after: bool = False
    applied: list[str] = field(default_factory=list)


class FaultInjector:
    """Holds the active rules and decides, per request or delivery, which of them fire."""

    def __init__(self, seed: int | None = None):
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._random = random.Random(seed)

    @property
    def rules(self) -> list[FaultRule]:
        """Active rules in the order they were added."""
        return list(self._rules)

    def add(self, rule: FaultRule) -> FaultRule:
        """Add a rule and give it an id."""
        rule.id = f"fault-{next(self._ids)}"
        self._rules.append(rule)
        return rule

    def remove(self, rule_id: str) -> bool:
        """Remove one rule; False if there was none with that id."""
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) != before

    def reset(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def _fires(self, rule: FaultRule) -> bool:
        if rule.spent:
            return False
        if rule.rate < 1.0 and self._random.random() >= rule.rate:
            return False
        rule.hits += 1
        return True

    def for_request(self, method: str, path: str) -> RequestFaults:
        """Decide the faults for one REST request (path relative to `/v2`)."""
        decision = RequestFaults()
        for rule in self._rules:
            if rule.kind in _WEBHOOK_KINDS or rule.spent:
                continue
            if rule.method and rule.method.upper() != method.upper():
                continue
            if rule.path and not re.search(rule.path, path):
                continue
            # One request ends one way: answered by a terminal rule, or executed then dropped.
            if rule.kind in _REQUEST_TERMINAL and (decision.terminal is not None or decision.drop_after):
                continue
            if rule.kind == "drop_after" and (decision.drop_after or decision.terminal is not None):
                continue
            if not self._fires(rule):
                continue
            decision.applied.append(rule.kind)
            if rule.kind == "latency":
                decision.latency_ms += rule.latency_ms
            elif rule.kind == "drop_after":
                decision.drop_after = True
            else:
                decision.terminal = rule
        return decision

    def for_delivery(self, event_type: str) -> FaultRule | None:
        """The webhook_fail rule that fails this delivery attempt, if any."""
        return self._webhook_rule(("webhook_fail",), event_type)

    def for_order(self, event_type: str) -> FaultRule | None:
        """The webhook_reorder or webhook_duplicate rule that applies to this event, if any."""
        return self._webhook_rule(_ORDER_KINDS, event_type)

    def _webhook_rule(self, kinds: tuple[str, ...], event_type: str) -> FaultRule | None:
        for rule in self._rules:
            if rule.kind not in kinds or rule.spent:
                continue
            if rule.event_type:
                scope = rule.event_type
                if not (event_type == scope or (scope.endswith(".") and event_type.startswith(scope))):
                    continue
            if self._fires(rule):
                return rule
        return None
