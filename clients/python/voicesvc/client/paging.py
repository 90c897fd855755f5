"""Auto-paging of every list RPC, found from the descriptors: a request with `page_token` and a response
with `next_page_token` (AIP-158).

`client.list_calls(...)`, `client.list_call_control_applications(...)`, `client.list_active_calls(...)` …
answer a pager: `async for item in pager` walks every item of every page, `async for page in pager.pages`
every response. The sync client's pagers do the same with plain `for`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from google.protobuf.descriptor import Descriptor, MethodDescriptor
from google.protobuf.message import Message

from voicesvc.v1 import (
    call_control_applications_pb2,
    call_control_pb2,
    call_events_pb2,
    calls_pb2,
    connections_pb2,
    events_pb2,
    subscriptions_pb2,
)

SERVICE_MODULES: tuple[ModuleType, ...] = (
    call_control_pb2,
    call_control_applications_pb2,
    call_events_pb2,
    calls_pb2,
    connections_pb2,
    events_pb2,
    subscriptions_pb2,
)
"""The generated modules of the contract that hold services."""


@dataclass(frozen=True)
class ListMethod:
    """A list RPC: where its stub lives on the client, its messages and the repeated field of its items."""

    python_name: str  # list_calls
    service: str  # voicesvc.v1.Calls
    rpc: str  # ListCalls
    request_cls: type[Message]
    items_field: str  # calls


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _items_field(output: Descriptor) -> str | None:
    repeated = [f.name for f in output.fields if f.is_repeated and f.message_type is not None]
    return repeated[0] if len(repeated) == 1 else None


def _is_list(method: MethodDescriptor) -> bool:
    return (
        not method.client_streaming
        and not method.server_streaming
        and "page_token" in method.input_type.fields_by_name
        and "next_page_token" in method.output_type.fields_by_name
        and _items_field(method.output_type) is not None
    )


def _list_methods() -> dict[str, ListMethod]:
    found: dict[str, ListMethod] = {}
    for module in SERVICE_MODULES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if not _is_list(method):
                    continue
                items = _items_field(method.output_type)
                assert items is not None
                request_cls = getattr(module, method.input_type.name)
                name = _snake(method.name)
                found[name] = ListMethod(name, service.full_name, method.name, request_cls, items)
    return found


LIST_METHODS: dict[str, ListMethod] = _list_methods()
"""Every list RPC of the contract by its client method name (`list_calls`, `list_dead_letters`, …)."""


def build_request(method: ListMethod, request: Message | None, fields: dict[str, Any]) -> Message:
    """The first page's request: `request` (copied), or one built from `fields` by their proto names."""
    if request is not None:
        if fields:
            raise TypeError(f"{method.python_name}: pass a request or fields, not both")
        copy = method.request_cls()
        copy.CopyFrom(request)
        return copy
    return method.request_cls(**fields)


class AsyncPager:
    """Every item of a list RPC, page after page: `async for item in pager`; `pager.pages` for the responses.

    Each iteration starts again at the request's own `page_token`; errors are the client's typed errors.
    """

    def __init__(self, call: Callable[[Any], Awaitable[Any]], request: Message, items_field: str) -> None:
        self._call = call
        self._request = request
        self._items_field = items_field

    @property
    def pages(self) -> AsyncIterator[Any]:
        """Every response, first page first."""
        return self._pages()

    async def _pages(self) -> AsyncIterator[Any]:
        request: Any = type(self._request)()
        request.CopyFrom(self._request)
        while True:
            page = await self._call(request)
            yield page
            token = page.next_page_token
            if not token or token == request.page_token:
                return
            request.page_token = token

    async def _items(self) -> AsyncIterator[Any]:
        async for page in self._pages():
            for item in getattr(page, self._items_field):
                yield item

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._items()

    async def all(self) -> list[Any]:
        """Every item in one list."""
        return [item async for item in self]


class Pager:
    """The sync client's pager: `for item in pager`, `for page in pager.pages`."""

    def __init__(self, call: Callable[[Any], Any], request: Message, items_field: str) -> None:
        self._call = call
        self._request = request
        self._items_field = items_field

    @property
    def pages(self) -> Iterator[Any]:
        """Every response, first page first."""
        request: Any = type(self._request)()
        request.CopyFrom(self._request)
        while True:
            page = self._call(request)
            yield page
            token = page.next_page_token
            if not token or token == request.page_token:
                return
            request.page_token = token

    def __iter__(self) -> Iterator[Any]:
        for page in self.pages:
            yield from getattr(page, self._items_field)

    def all(self) -> list[Any]:
        """Every item in one list."""
        return list(self)
