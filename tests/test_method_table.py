"""The server's method table: every method found by its full name, once, and nothing else."""

from __future__ import annotations

from types import SimpleNamespace

import grpc
import pytest

from voicesvc.server.methods import MethodTable


def _handler() -> grpc.RpcMethodHandler:
    async def behaviour(request: object, context: object) -> object:
        return request

    return grpc.unary_unary_rpc_method_handler(behaviour)


def _call(method: str) -> SimpleNamespace:
    return SimpleNamespace(method=method, invocation_metadata=())


def test_generated_registration_puts_each_method_in_the_table() -> None:
    table = MethodTable()
    check, watch = _handler(), _handler()
    generic = grpc.method_handlers_generic_handler("pkg.Health", {"Check": check, "Watch": watch})
    # What generated `add_*Servicer_to_server` functions do with the server they are given.
    table.add_generic_rpc_handlers((generic,))
    table.add_registered_method_handlers("pkg.Health", {"Check": check, "Watch": watch})
    assert table.service(_call("/pkg.Health/Check")) is check
    assert table.service(_call("/pkg.Health/Watch")) is watch
    assert "/pkg.Health/Check" in table
    assert table.service(_call("/pkg.Health/Nope")) is None


def test_a_generic_handler_alone_is_asked_for_methods_the_table_lacks() -> None:
    table = MethodTable()
    only_generic = _handler()
    table.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("pkg.Old", {"Call": only_generic}),))
    assert table.service(_call("/pkg.Old/Call")) is only_generic
    assert table.service(_call("/pkg.Old/Other")) is None


def test_a_method_is_served_once() -> None:
    table = MethodTable()
    table.add("/pkg.S/M", _handler())
    with pytest.raises(ValueError, match="already served"):
        table.add_registered_method_handlers("pkg.S", {"M": _handler()})
