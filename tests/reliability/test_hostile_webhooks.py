"""10,000+ generated webhooks, most of them hostile, against a running service: none wrongly accepted.

Each case is built together with the answer the service must give (the oracle knows how it was made:
which bytes were signed, by which key, when). Valid deliveries must all be accepted (duplicates recognised
as such); everything else must be refused with the status of its reason. Afterwards the log holds exactly
the valid events, once each.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from tests.reliability.support import FIGURES, SecretScan, captured_service_logs
from tests.support.stack import API_KEY, start_stack
from voicesvc.server.http import WEBHOOK_PATH
from voicesvc.webhooks import Signer

CASES = 10_500
SEED = 20261201
MAX_BODY = 64 * 1024
# Small enough that a body within MAX_BODY can expand beyond it as a stream message (a JSON array of
# zeros takes 2 bytes per item, its protobuf form several times that).
MAX_EVENT = 48 * 1024
TOLERANCE_S = 300
CONCURRENCY = 24

_EVENT_TYPES = ["call.initiated", "call.answered", "call.hangup", "call.dtmf.received", "call.speak.ended"]


@dataclass
class Case:
    """One request and the status the service must answer."""

    kind: str
    body: bytes
    headers: dict[str, str]
    expect: int
    event_id: str | None = None
    duplicate: bool = False


class Generator:
    """Builds cases from a seeded random source, so a failing run can be replayed exactly."""

    def __init__(self, rng: random.Random, trusted: Signer, stranger: Signer) -> None:
        self.rng = rng
        self.trusted = trusted
        self.stranger = stranger
        self.accepted: list[tuple[bytes, str]] = []
        self.kinds: list[tuple[str, Callable[[], Case], int]] = [
            ("valid_telnyx", self.valid_telnyx, 20),
            ("valid_standard", self.valid_standard, 6),
            ("redelivery", self.redelivery, 6),
            ("body_flipped", self.body_flipped, 8),
            ("signature_flipped", self.signature_flipped, 6),
            ("foreign_key", self.foreign_key, 6),
            ("signature_garbage", self.signature_garbage, 5),
            ("timestamp_changed", self.timestamp_changed, 5),
            ("stale", self.stale, 5),
            ("future", self.future, 4),
            ("timestamp_garbage", self.timestamp_garbage, 4),
            ("headers_missing", self.headers_missing, 4),
            ("standard_wrong_version", self.standard_wrong_version, 3),
            ("standard_id_swapped", self.standard_id_swapped, 3),
            ("signed_not_json", self.signed_not_json, 4),
            ("signed_bad_envelope", self.signed_bad_envelope, 5),
            ("signed_unrelayable", self.signed_unrelayable, 3),
            ("oversized", self.oversized, 2),
            ("expands_too_large", self.expands_too_large, 2),
            ("replayed_signature", self.replayed_signature, 3),
        ]

    def next(self) -> Case:
        """One more case, its kind chosen by weight."""
        _, make, _ = self.rng.choices(self.kinds, weights=[w for _, _, w in self.kinds])[0]
        return make()

    # ---------------------------------------------------------------- bodies and signatures

    def now(self) -> int:
        return int(time.time())

    def envelope(self, event_id: str | None = None, **data: object) -> tuple[bytes, str]:
        event_id = event_id or f"ev-{uuid.UUID(int=self.rng.getrandbits(128))}"
        payload = {
            "call_control_id": f"v3:{self.rng.getrandbits(48):x}",
            "client_state": base64.b64encode(self.rng.randbytes(self.rng.randint(0, 24))).decode(),
            "digit": self.rng.choice("0123456789*#"),
            "n": self.rng.randint(-(2**40), 2**40),
            "text": "".join(self.rng.choice('aé€😀"\\/\u2028 ') for _ in range(self.rng.randint(0, 12))),
        }
        body = {
            "data": {
                "id": event_id,
                "event_type": self.rng.choice(_EVENT_TYPES),
                "occurred_at": "2026-12-01T09:00:00.000Z",
                "payload": payload,
                "record_type": "event",
                **data,
            },
            "meta": {"attempt": self.rng.randint(1, 3)},
        }
        return json.dumps(body, ensure_ascii=self.rng.random() < 0.5).encode(), event_id

    def telnyx_headers(
        self, body: bytes, signer: Signer | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        stamp = (
            self.now() - self.rng.randint(-TOLERANCE_S + 30, TOLERANCE_S - 30)
            if timestamp is None
            else timestamp
        )
        return (signer or self.trusted).sign_telnyx(body, stamp)

    def standard_headers(self, body: bytes) -> dict[str, str]:
        stamp = self.now() - self.rng.randint(-200, 200)
        return self.trusted.sign_standard(body, f"msg_{self.rng.getrandbits(64):x}", stamp)

    def flip(self, data: bytes) -> bytes:
        at = self.rng.randrange(len(data))
        return data[:at] + bytes([data[at] ^ (1 << self.rng.randrange(8))]) + data[at + 1 :]

    # ---------------------------------------------------------------- valid deliveries

    def valid_telnyx(self) -> Case:
        body, event_id = self.envelope()
        self.accepted.append((body, event_id))
        return Case("valid_telnyx", body, self.telnyx_headers(body), 200, event_id)

    def valid_standard(self) -> Case:
        body, event_id = self.envelope()
        self.accepted.append((body, event_id))
        return Case("valid_standard", body, self.standard_headers(body), 200, event_id)

    def redelivery(self) -> Case:
        if not self.accepted:
            return self.valid_telnyx()
        body, event_id = self.rng.choice(self.accepted)
        return Case("redelivery", body, self.telnyx_headers(body), 200, event_id, duplicate=True)

    # ---------------------------------------------------------------- forgeries

    def body_flipped(self) -> Case:
        body, _ = self.envelope()
        headers = self.telnyx_headers(body)
        return Case("body_flipped", self.flip(body), headers, 401)

    def signature_flipped(self) -> Case:
        body, _ = self.envelope()
        headers = self.telnyx_headers(body)
        signature = base64.b64decode(headers["telnyx-signature-ed25519"])
        headers["telnyx-signature-ed25519"] = base64.b64encode(self.flip(signature)).decode()
        return Case("signature_flipped", body, headers, 401)

    def foreign_key(self) -> Case:
        body, _ = self.envelope()
        return Case("foreign_key", body, self.telnyx_headers(body, self.stranger), 401)

    def signature_garbage(self) -> Case:
        body, _ = self.envelope()
        headers = self.telnyx_headers(body)
        headers["telnyx-signature-ed25519"] = self.rng.choice(
            ["", "!!!", "AAAA", base64.b64encode(self.rng.randbytes(63)).decode(), "é" * 88, " " * 3]
        )
        # An empty (or blank) header counts as a missing one: 401 either way.
        return Case("signature_garbage", body, headers, 401)

    def timestamp_changed(self) -> Case:
        body, _ = self.envelope()
        headers = self.telnyx_headers(body)
        headers["telnyx-timestamp"] = str(int(headers["telnyx-timestamp"]) + self.rng.choice([-1, 1, 7]))
        return Case("timestamp_changed", body, headers, 401)

    def stale(self) -> Case:
        body, _ = self.envelope()
        stamp = self.now() - self.rng.choice([TOLERANCE_S + 5, 3600, 10**6, self.now()])
        return Case("stale", body, self.telnyx_headers(body, timestamp=stamp), 401)

    def future(self) -> Case:
        body, _ = self.envelope()
        stamp = self.now() + self.rng.choice([TOLERANCE_S + 5, 86400, 10**9])
        return Case("future", body, self.telnyx_headers(body, timestamp=stamp), 401)

    def timestamp_garbage(self) -> Case:
        body, _ = self.envelope()
        headers = self.telnyx_headers(body)
        headers["telnyx-timestamp"] = self.rng.choice(
            ["-5", "1e9", "12345678901234567890", "٣٣٣", "0x10", "now"]
        )
        return Case("timestamp_garbage", body, headers, 401)

    def headers_missing(self) -> Case:
        body, _ = self.envelope()
        headers = self.telnyx_headers(body)
        del headers[self.rng.choice(sorted(headers))]
        return Case("headers_missing", body, headers, 401)

    def standard_wrong_version(self) -> Case:
        body, _ = self.envelope()
        headers = self.standard_headers(body)
        signature = headers["webhook-signature"].partition(",")[2]
        headers["webhook-signature"] = self.rng.choice(["v1", "v2", "v1b", ""]) + "," + signature
        return Case("standard_wrong_version", body, headers, 401)

    def standard_id_swapped(self) -> Case:
        body, _ = self.envelope()
        headers = self.standard_headers(body)
        headers["webhook-id"] = headers["webhook-id"] + "x"
        return Case("standard_id_swapped", body, headers, 401)

    def replayed_signature(self) -> Case:
        if not self.accepted:
            return self.foreign_key()
        original, _ = self.rng.choice(self.accepted)
        headers = self.telnyx_headers(original)
        other, _ = self.envelope()
        return Case("replayed_signature", other, headers, 401)

    # ---------------------------------------------------------------- signed, but not an event

    def signed_not_json(self) -> Case:
        body = self.rng.choice(
            [
                b"",
                b"{",
                b"[]",
                b"null",
                b'"data"',
                b"\xff\xfe{}",
                b'{"data": {"id": "x"}',
                self.rng.randbytes(40),
            ]
        )
        if body == b"":
            body = b" "
        return Case("signed_not_json", body, self.telnyx_headers(body), 400)

    def signed_bad_envelope(self) -> Case:
        data: dict[str, object] = {"id": "ev-ok", "event_type": "call.answered"}
        broken = self.rng.choice(["no_data", "data_list", "no_id", "bad_id", "bad_type", "type_number"])
        if broken == "no_data":
            body = json.dumps({"meta": {}}).encode()
        elif broken == "data_list":
            body = json.dumps({"data": [data]}).encode()
        else:
            if broken == "no_id":
                del data["id"]
            elif broken == "bad_id":
                data["id"] = self.rng.choice(["", "a b", "x" * 300, "\u00e9", 7])
            elif broken == "bad_type":
                data["event_type"] = self.rng.choice(["", "call..answered", "call answered", "call.>", "*"])
            else:
                data["event_type"] = 42
            body = json.dumps({"data": data}).encode()
        return Case("signed_bad_envelope", body, self.telnyx_headers(body), 400)

    def signed_unrelayable(self) -> Case:
        event_id = f"ev-{self.rng.getrandbits(64):x}"
        body = self.rng.choice(
            [
                b'{"data": {"id": "%s", "event_type": "call.answered", "payload": {"x": NaN}}}',
                b'{"data": {"id": "%s", "event_type": "call.answered", "payload": {"x": 1e999}}}',
                b'{"data": {"id": "%s", "event_type": "call.answered", "payload": {"x": "\\ud800"}}}',
                b'{"data": {"id": "%s", "event_type": "call.answered", "payload": '
                + b"[" * 200
                + b"]" * 200
                + b"}}",
            ]
        ).replace(b"%s", event_id.encode())
        return Case("signed_unrelayable", body, self.telnyx_headers(body), 400)

    def expands_too_large(self) -> Case:
        zeros = self.rng.randint(MAX_EVENT // 2, MAX_BODY // 2 - 200)
        body, _ = self.envelope(x=[0] * zeros)
        return Case("expands_too_large", body, self.telnyx_headers(body), 413)

    def oversized(self) -> Case:
        body, _ = self.envelope(pad="x" * (MAX_BODY + self.rng.randint(1, 4096)))
        return Case("oversized", body, self.telnyx_headers(body), 413)


async def test_generated_hostile_webhooks_none_wrongly_accepted_none_valid_refused(scan: SecretScan) -> None:
    trusted, stranger = Signer.generate(), Signer.generate()
    for secret in (API_KEY, trusted.private_key_b64, stranger.private_key_b64):
        scan.add_secret(secret)
    generator = Generator(random.Random(SEED), trusted, stranger)
    outcomes: Counter[str] = Counter()
    mismatches: list[str] = []
    wrongly_accepted = valid_refused = 0
    with captured_service_logs(scan, [API_KEY]):
        async with (
            start_stack(
                webhooks__public_keys=(trusted.public_key_b64,),
                webhooks__max_body_bytes=MAX_BODY,
                webhooks__max_event_bytes=MAX_EVENT,
            ) as stack,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http,
        ):
            url = stack.http_url + WEBHOOK_PATH
            gate = asyncio.Semaphore(CONCURRENCY)
            first_cursor: dict[str, str] = {}

            async def send(case: Case) -> None:
                nonlocal wrongly_accepted, valid_refused
                async with gate, http.post(url, data=case.body, headers=case.headers) as response:
                    text = await response.text()
                scan.add("webhook answer", text)
                outcomes[f"{case.kind}:{response.status}"] += 1
                if response.status == 200 and case.expect != 200:
                    wrongly_accepted += 1
                if case.expect == 200 and response.status != 200:
                    valid_refused += 1
                if response.status != case.expect:
                    mismatches.append(
                        f"{case.kind}: expected {case.expect}, got {response.status}: {text[:200]}"
                    )
                    return
                if case.expect == 200:
                    answer = json.loads(text)
                    assert case.event_id is not None
                    seen = first_cursor.setdefault(case.event_id, answer["cursor"])
                    if answer["duplicate"] is not case.duplicate:
                        mismatches.append(f"{case.kind}: duplicate={answer['duplicate']} for {case.event_id}")
                    if answer["cursor"] != seen:
                        mismatches.append(f"{case.kind}: second cursor for {case.event_id}")

            # Redeliveries pick from what was already sent: send in waves so the first copy is stored first.
            sent = 0
            started = time.perf_counter()
            while sent < CASES:
                wave = [generator.next() for _ in range(min(500, CASES - sent))]
                await asyncio.gather(*(send(case) for case in wave if not case.duplicate))
                await asyncio.gather(*(send(case) for case in wave if case.duplicate))
                sent += len(wave)
            elapsed = time.perf_counter() - started

            unique = {event_id for _, event_id in generator.accepted}
            oldest, latest = await stack.service.event_log.bounds()
    assert not mismatches, f"{len(mismatches)} wrong answers, first: {mismatches[:5]}"
    assert wrongly_accepted == 0
    assert valid_refused == 0
    # Exactly the valid events were stored, each once.
    assert latest == len(unique)
    assert oldest == 1
    FIGURES.record(
        "hostile_webhooks",
        requests=sent,
        valid=sum(v for k, v in outcomes.items() if k.startswith(("valid", "redelivery"))),
        hostile=sum(v for k, v in outcomes.items() if not k.startswith(("valid", "redelivery"))),
        stored=len(unique),
        wrongly_accepted=wrongly_accepted,
        valid_refused=valid_refused,
        kinds=len({k.partition(":")[0] for k in outcomes}),
        requests_per_s=round(sent / elapsed),
    )
