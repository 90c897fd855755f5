"""Commands under 30% injected upstream faults: none executed twice, every success executed exactly once.

The sandbox fails about 30% of the requests in every way Telnyx or the network can (5xx, 429, a dropped
connection before or after executing, a slow answer beyond the client's timeout). voicesvc retries what is
safe to retry (commands carry a `command_id` Telnyx de-duplicates by); the sandbox counts what really ran.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import grpc

from tests.reliability.support import FIGURES, SecretScan, captured_service_logs
from tests.support.rpc_requests import build_request, unary
from tests.support.stack import API_KEY, Stack, eventually, start_stack
from voicesvc.sandbox import FaultRule
from voicesvc.transcode.routes import BY_METHOD

LEGS = 60
SEED = 7
FAULT_SHARE = 0.30
# Distinct commands, so that any leg running one of them twice is a double execution.
COMMANDS = [
    "SpeakText",
    "StartPlayback",
    "SendDtmf",
    "StartRecording",
    "UpdateClientState",
    "GatherDigits",
    "StartForking",
    "StartNoiseSuppression",
]
_KINDS: list[dict[str, Any]] = [
    {"kind": "error", "status": 500},
    {"kind": "error", "status": 503},
    {"kind": "rate_limit", "retry_after": 1},
    {"kind": "drop_before"},
    {"kind": "drop_after"},
    {"kind": "latency", "latency_ms": 1500},
]


def _add_faults(stack: Stack, path: str) -> list[FaultRule]:
    # Each kind takes an equal share; together they hit FAULT_SHARE of the matching requests.
    share = 1 - (1 - FAULT_SHARE) ** (1 / len(_KINDS))
    return [stack.add_fault(path=path, method="POST", rate=share, **kind) for kind in _KINDS]


async def test_commands_under_30_percent_faults_never_execute_twice(scan: SecretScan) -> None:
    scan.add_secret(API_KEY)
    random.seed(SEED)  # the fault rules draw from the module-level generator
    outcomes: Counter[str] = Counter()
    with captured_service_logs(scan, [API_KEY]):
        # A client timeout below the slow answers, so some requests execute after voicesvc gave up on them.
        async with start_stack(telnyx__request_timeout_s=1.0, telnyx__retry_max_attempts=4) as stack:
            dial = BY_METHOD["/voicesvc.v1.CallControl/DialCall"]
            dial_rules = _add_faults(stack, r"^/calls$")

            async def dial_one(n: int) -> str | None:
                built = build_request(dial, {}, {"connection_id": f"conn-rel-{n}", "to": f"+1555020{n:04d}"})
                try:
                    reply = await unary(stack.channel, dial)(built.message, timeout=20)
                except grpc.aio.AioRpcError as error:
                    scan.add_rpc_error("DialCall", error)
                    outcomes[f"DialCall:{error.code().name}"] += 1
                    return None
                outcomes["DialCall:OK"] += 1
                return str(reply.call_control_id)

            dialled = await asyncio.gather(*(dial_one(n) for n in range(LEGS)))
            for rule in dial_rules:
                stack.sandbox.faults.remove(rule.id)
            legs = [leg for leg in dialled if leg is not None]
            # Every dial that succeeded made one leg; none made two.
            per_connection = Counter(leg.connection_id for leg in stack.sandbox.engine.calls.values())
            assert all(per_connection[f"conn-rel-{n}"] <= 1 for n in range(LEGS)), per_connection
            assert sum(per_connection[f"conn-rel-{n}"] for n in range(LEGS)) >= len(legs)

            def answered() -> bool:
                return all(stack.sandbox.engine.calls[leg].state == "answered" for leg in legs)

            await eventually(answered, limit=10)
            command_rules = _add_faults(stack, r"/actions/")

            async def command(leg: str, rpc: str) -> None:
                route = BY_METHOD[f"/voicesvc.v1.CallControl/{rpc}"]
                built = build_request(route, {"call_control_id": leg})
                try:
                    await unary(stack.channel, route)(built.message, timeout=20)
                except grpc.aio.AioRpcError as error:
                    scan.add_rpc_error(rpc, error)
                    outcomes[f"{rpc}:{error.code().name}"] += 1
                    return
                outcomes[f"{rpc}:OK"] += 1
                succeeded.append((leg, rpc))

            succeeded: list[tuple[str, str]] = []
            jobs = [command(leg, rpc) for leg in legs for rpc in COMMANDS]
            random.shuffle(jobs)
            await asyncio.gather(*jobs)
            executions = dict(stack.sandbox.engine.executions)
            faults = sum(rule.hits for rule in command_rules + dial_rules)
            requests = len(stack.journal("/calls", "POST"))
    twice = {key: n for key, n in executions.items() if n > 1}
    assert not twice, f"executed more than once: {twice}"
    # Every command that answered OK ran exactly once (the name the sandbox counts differs per RPC, so
    # count per leg: a leg ran as many commands as it got successes for).
    ran_per_leg = Counter(leg for (leg, name), n in executions.items() if name != "dial" for _ in range(n))
    ok_per_leg = Counter(leg for leg, _ in succeeded)
    assert all(ran_per_leg[leg] >= ok for leg, ok in ok_per_leg.items())
    commands = LEGS + len(legs) * len(COMMANDS)
    FIGURES.record(
        "faults",
        commands=commands,
        upstream_requests=requests,
        faults_injected=faults,
        fault_share=round(faults / requests, 3),
        succeeded=sum(v for k, v in outcomes.items() if k.endswith(":OK")),
        failed=sum(v for k, v in outcomes.items() if not k.endswith(":OK")),
        executed_twice=len(twice),
        failures=dict(sorted((k, v) for k, v in outcomes.items() if not k.endswith(":OK"))),
    )
