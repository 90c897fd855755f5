"""Every list RPC pages by itself: `async for` walks every item of every page, `.pages` every response."""

from __future__ import annotations

import uuid

from conftest import TOKEN, Server

from voicesvc.client import LIST_METHODS, SyncVoiceClient, VoiceClient
from voicesvc.client.paging import SERVICE_MODULES
from voicesvc.v1 import call_control_applications_pb2 as apps_pb2
from voicesvc.v1 import calls_pb2


def test_every_list_rpc_of_the_contract_has_a_pager() -> None:
    found = {
        f"{service.full_name}.{method.name}"
        for module in SERVICE_MODULES
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
        if "page_token" in method.input_type.fields_by_name
    }
    paged = {f"{m.service}.{m.rpc}" for m in LIST_METHODS.values()}
    assert paged == found
    assert {
        "list_calls",
        "list_subscriptions",
        "list_dead_letters",
        "list_call_control_applications",
        "list_active_calls",
        "list_call_events",
    } <= set(LIST_METHODS)


async def _create_applications(client: VoiceClient, prefix: str, count: int) -> set[str]:
    ids = set()
    for n in range(count):
        created = await client.applications.CreateCallControlApplication(
            apps_pb2.CreateCallControlApplicationRequest(
                application_name=f"{prefix}-{n}", webhook_event_url="https://example.com/hook"
            )
        )
        ids.add(created.id)
    return ids


async def test_applications_are_listed_across_every_page(sandbox: Server) -> None:
    prefix = f"pg-{uuid.uuid4().hex[:6]}"
    async with VoiceClient(sandbox.target, token=TOKEN) as client:
        created = await _create_applications(client, prefix, 5)
        pager = client.list_call_control_applications(page_size=2)
        listed = [app async for app in pager]
        pages = [page async for page in pager.pages]
    assert created <= {app.id for app in listed}
    assert len(listed) == len({app.id for app in listed})  # no item twice
    assert all(len(page.call_control_applications) <= 2 for page in pages)
    assert len(pages) >= 3
    assert sum(len(page.call_control_applications) for page in pages) == len(listed)


async def test_calls_are_listed_across_every_page_with_a_filter(sandbox: Server) -> None:
    connection = f"conn-{uuid.uuid4().hex[:8]}"
    async with VoiceClient(sandbox.target, token=TOKEN) as client:
        dialed = set()
        for _ in range(3):
            answered = await client.dial("+15552220000", "+15551110000", connection, wait=True)
            dialed.add(answered.response.call_control_id)
        request = calls_pb2.ListCallsRequest(
            filter=calls_pb2.CallFilter(connection_id=connection), page_size=1
        )
        pager = client.list_calls(request)
        names = [call.name async for call in pager]
        pages = [page async for page in pager.pages]
    assert sorted(names) == sorted(f"calls/{ccid}" for ccid in dialed)
    assert [len(page.calls) for page in pages] == [1, 1, 1]


def test_the_sync_client_pages_the_same(sandbox: Server) -> None:
    with SyncVoiceClient(sandbox.target, token=TOKEN) as client:
        listed = list(client.list_call_control_applications(page_size=1))
        pages = list(client.list_call_control_applications(page_size=1).pages)
    assert len(listed) == len(pages) >= 1
