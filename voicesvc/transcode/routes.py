"""One `Route` per RPC, read from the services' `google.api.http` annotations."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from urllib.parse import unquote

from google.api import annotations_pb2
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from voicesvc.rest.retry import RetryMode, retry_mode_for
from voicesvc.transcode.descriptors import MODULES
from voicesvc.transcode.wire import message_class

if TYPE_CHECKING:
    from google.api.http_pb2 import HttpRule
    from google.protobuf.descriptor_pb2 import MethodOptions
    from google.protobuf.internal.extension_dict import _ExtensionFieldDescriptor

_PARAM = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_VERBS = ("get", "put", "post", "delete", "patch")
# googleapis-common-protos' stubs type extensions as plain FieldDescriptors; say what this one extends
# and holds so `Extensions[...]` type-checks.
_HTTP_RULE = cast("_ExtensionFieldDescriptor[MethodOptions, HttpRule]", annotations_pb2.http)


@dataclass(frozen=True)
class Route:
    """How one RPC maps onto the Telnyx REST API."""

    service: str  # full service name, e.g. voicesvc.v1.CallControl
    rpc: str  # method name, e.g. AnswerCall
    http_method: str  # GET, POST, …
    path_template: str  # e.g. /calls/{call_control_id}/actions/answer
    path_params: tuple[str, ...]
    has_body: bool
    request_cls: type[Message]
    response_cls: type[Message]
    method: MethodDescriptor
    retry_mode: RetryMode
    """How the REST client may retry this RPC's request, decided once here (see `retry_mode_for`)."""

    @property
    def full_method(self) -> str:
        """The gRPC method path, e.g. `/voicesvc.v1.CallControl/AnswerCall`."""
        return f"/{self.service}/{self.rpc}"

    @functools.cached_property
    def path_fields(self) -> frozenset[str]:
        """The request fields the path carries (`path_params`), as a set."""
        return frozenset(self.path_params)

    @functools.cached_property
    def is_list(self) -> bool:
        """True for list RPCs (AIP-158 paging)."""
        return "page_token" in self.request_cls.DESCRIPTOR.fields_by_name

    @functools.cached_property
    def dedup_field(self) -> str | None:
        """The request field Telnyx uses to drop duplicate commands, if the RPC has one."""
        return _dedup_field(self.request_cls)

    @functools.cached_property
    def _regex(self) -> re.Pattern[str]:
        pattern = _PARAM.sub(
            lambda m: f"(?P<{m.group(1)}>[^/]+)",
            re.escape(self.path_template).replace(r"\{", "{").replace(r"\}", "}"),
        )
        return re.compile(f"^{pattern}$")

    def match(self, http_method: str, path: str) -> dict[str, str] | None:
        """Path parameters (percent-decoded) when `path` is this route's, else None."""
        if http_method.upper() != self.http_method:
            return None
        m = self._regex.match(path)
        return None if m is None else {k: unquote(v) for k, v in m.groupdict().items()}


def _dedup_field(request_cls: type[Message]) -> str | None:
    return "command_id" if "command_id" in request_cls.DESCRIPTOR.fields_by_name else None


def _route(service: ServiceDescriptor, method: MethodDescriptor) -> Route:
    rule = method.GetOptions().Extensions[_HTTP_RULE]
    verb = rule.WhichOneof("pattern")
    if verb not in _VERBS:
        raise ValueError(f"{method.full_name} has no supported google.api.http rule")
    template = getattr(rule, verb)
    request_cls = message_class(method.input_type)
    return Route(
        service=service.full_name,
        rpc=method.name,
        http_method=verb.upper(),
        path_template=template,
        path_params=tuple(_PARAM.findall(template)),
        has_body=bool(rule.body),
        request_cls=request_cls,
        response_cls=message_class(method.output_type),
        method=method,
        # The server fills an empty dedup field before sending, so every request of such an RPC has one.
        retry_mode=retry_mode_for(verb, has_dedup_key=_dedup_field(request_cls) is not None),
    )


def _build() -> tuple[Route, ...]:
    out = []
    for module in MODULES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.GetOptions().HasExtension(_HTTP_RULE):
                    out.append(_route(service, method))
    return tuple(out)


ROUTES: tuple[Route, ...] = _build()
BY_METHOD: dict[str, Route] = {r.full_method: r for r in ROUTES}


def match_route(http_method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route serving `http_method path` (path relative to the API base, still percent-encoded)."""
    for route in ROUTES:
        params = route.match(http_method, path)
        if params is not None:
            return route, params
    return None
