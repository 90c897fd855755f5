"""Fixtures of the reliability suite: a secret scan around every test, and the run's figures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.support import FIGURES, SecretScan


@pytest.fixture
def scan(request: pytest.FixtureRequest) -> Iterator[SecretScan]:
    """Everything the test adds (logs, error messages, response bodies) must hold none of its secrets."""
    collected = SecretScan()
    yield collected
    leaks = collected.leaks()
    FIGURES.record(
        "secret_scan",
        **{
            f"{request.node.name}.lines": collected.lines,
            f"{request.node.name}.bytes": collected.size,
            f"{request.node.name}.secrets": len(collected.secrets),
            f"{request.node.name}.leaks": len(leaks),
        },
    )
    assert not leaks, "secrets leaked:\n" + "\n".join(
        f"{x.source} ({x.form}): {x.excerpt!r}" for x in leaks[:10]
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Keep the figures of this run (the README quotes them)."""
    if FIGURES.by_test:
        FIGURES.write()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the run's figures after the results."""
    if not FIGURES.by_test:
        return
    terminalreporter.section("reliability figures")
    for test, values in sorted(FIGURES.by_test.items()):
        if test == "secret_scan":
            continue
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        terminalreporter.write_line(f"{test}: {shown}")
    scans = FIGURES.by_test.get("secret_scan", {})
    lines = sum(v for k, v in scans.items() if k.endswith(".lines"))
    size = sum(v for k, v in scans.items() if k.endswith(".bytes"))
    leaks = sum(v for k, v in scans.items() if k.endswith(".leaks"))
    terminalreporter.write_line(f"secret scan: {lines} lines, {size} bytes, {leaks} leaks")
