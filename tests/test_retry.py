"""Retry arithmetic and decisions: `Backoff`, the policies built on it, and each route's retry mode."""

from __future__ import annotations

from typing import Any

import pytest

from voicesvc.backoff import Backoff, Jitter
from voicesvc.client.watch import EventWatch
from voicesvc.rest import RestRequest, RetryMode, RetryPolicy
from voicesvc.sandbox.delivery import WebhookRetryPolicy, webhook_backoff
from voicesvc.transcode import http, routes

# --- Backoff -----------------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_and_is_capped() -> None:
    backoff = Backoff(initial_s=0.1, max_s=1.0, multiplier=2.0)
    assert [backoff.delay_s(n, rand=lambda: 1.0) for n in (1, 2, 3, 4, 5, 60, 5000)] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    )
    assert backoff.delay_s(3, rand=lambda: 0.0) == 0.0
    assert backoff.delay_s(3, rand=lambda: 0.5) == pytest.approx(0.2)


def test_jitter_modes() -> None:
    def delays(jitter: Jitter, rand: float) -> list[float]:
        backoff = Backoff(initial_s=0.2, max_s=5.0, jitter=jitter)
        return [backoff.delay_s(n, rand=lambda: rand) for n in (1, 2, 6, 7)]

    assert delays(Jitter.NONE, 0.3) == pytest.approx([0.2, 0.4, 5.0, 5.0])
    assert delays(Jitter.FULL, 0.5) == pytest.approx([0.1, 0.2, 2.5, 2.5])
    assert delays(Jitter.EQUAL, 0.0) == pytest.approx([0.1, 0.2, 2.5, 2.5])
    assert delays(Jitter.EQUAL, 1.0) == pytest.approx([0.2, 0.4, 5.0, 5.0])


def test_huge_retry_numbers_do_not_overflow() -> None:
    assert Backoff(initial_s=1.0, max_s=3.0, multiplier=10.0, jitter=Jitter.NONE).delay_s(10**9) == 3.0
    assert Backoff(initial_s=0.0, max_s=3.0, multiplier=10.0, jitter=Jitter.NONE).delay_s(10**9) == 0.0


@pytest.mark.parametrize(
    "options",
    [
        {"initial_s": -1.0, "max_s": 1.0},
        {"initial_s": 1.0, "max_s": -1.0},
        {"initial_s": 1, "max_s": 2, "multiplier": 0.5},
    ],
)
def test_backoff_rejects_nonsense(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Backoff(**options)


def test_retry_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        Backoff(initial_s=1.0, max_s=1.0).delay_s(0)


# --- the three users ---------------------------------------------------------------------------------------


def test_default_rest_policy() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.max_retry_after_s) == (4, 60.0)
    assert policy.backoff == Backoff(initial_s=0.1, max_s=5.0, multiplier=2.0, jitter=Jitter.FULL)
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(max_retry_after_s=-1.0)


def test_webhook_retries_double_without_jitter() -> None:
    policy = WebhookRetryPolicy()
    assert (policy.max_attempts, policy.timeout_s) == (5, 10.0)
    assert [policy.delay_s(n) for n in (1, 2, 3, 7, 8)] == [0.5, 1.0, 2.0, 30.0, 30.0]
    assert webhook_backoff(0.01).delay_s(3) == pytest.approx(0.04)


def test_client_reconnects_wait_between_half_and_all_of_the_ceiling() -> None:
    watch = EventWatch(None, initial_backoff=0.2, max_backoff=1.0)  # type: ignore[arg-type]
    for failures, ceiling in [(0, 0.2), (1, 0.4), (2, 0.8), (3, 1.0), (50, 1.0)]:
        for _ in range(20):
            assert ceiling / 2 <= watch._backoff(failures) <= ceiling


# --- the retry mode, decided once per route ----------------------------------------------------------------


def test_every_route_carries_its_retry_mode() -> None:
    for route in routes.ROUTES:
        if route.http_method in ("GET", "PUT", "PATCH") or route.dedup_field is not None:
            assert route.retry_mode is RetryMode.IDEMPOTENT, route.rpc
        else:
            assert route.retry_mode is RetryMode.UNSAFE, route.rpc


@pytest.mark.parametrize(
    ("rpc", "mode"),
    [
        ("/voicesvc.v1.CallControl/AnswerCall", RetryMode.IDEMPOTENT),
        ("/voicesvc.v1.CallControl/DialCall", RetryMode.IDEMPOTENT),
        ("/voicesvc.v1.CallControlApplications/CreateCallControlApplication", RetryMode.UNSAFE),
        ("/voicesvc.v1.CallControlApplications/DeleteCallControlApplication", RetryMode.UNSAFE),
        ("/voicesvc.v1.CallEvents/ListCallEvents", RetryMode.IDEMPOTENT),
    ],
)
def test_encoded_requests_carry_the_route_mode(rpc: str, mode: RetryMode) -> None:
    route = routes.BY_METHOD[rpc]
    message = route.request_cls()
    for name in route.path_params:
        setattr(message, name, "x")
    sent = http.encode_request(route, message)
    assert sent.retry_mode is route.retry_mode is mode
    assert (sent.deadline, sent.request_id) == (None, None)


def test_rest_request_normalises_the_method_and_wants_an_absolute_path() -> None:
    assert RestRequest("post", "/calls", RetryMode.UNSAFE).method == "POST"
    with pytest.raises(ValueError):
        RestRequest("GET", "calls", RetryMode.NONE)
