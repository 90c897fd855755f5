"""`voicesvc sandbox` run alone: one JSON line on stdout, then a working API."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from pathlib import Path

import aiohttp
from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parents[1]
SEED = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


async def test_cli_prints_its_address_and_serves() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voicesvc.sandbox.cli",
        "--port",
        "0",
        "--api-key",
        "KEY_cli",
        "--private-key",
        SEED,
        "--answer-delay",
        "0.01",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        info = json.loads(line)
        assert set(info) == {"base_url", "api_key", "public_key"}
        assert info["api_key"] == "KEY_cli"
        assert info["base_url"].startswith("http://127.0.0.1:")
        assert info["base_url"].endswith("/v2")
        expected = base64.b64encode(bytes(SigningKey(base64.b64decode(SEED)).verify_key)).decode()
        assert info["public_key"] == expected
        async with (
            aiohttp.ClientSession(headers={"Authorization": "Bearer KEY_cli"}) as session,
            session.post(
                info["base_url"] + "/calls", json={"connection_id": "c", "from": "+1", "to": "+2"}
            ) as resp,
        ):
            assert resp.status == 200
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
    assert proc.stderr is not None
    logs = (await proc.stderr.read()).decode()
    assert '"event": "sandbox_started"' in logs


def test_help_documents_every_option() -> None:
    import argparse

    from voicesvc.sandbox.cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for action in parser._actions:
        assert action.help, action.option_strings
