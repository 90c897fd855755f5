"""Python client for voicesvc.

```python
from voicesvc.client import VoiceClient, describe_error

async with VoiceClient("127.0.0.1:50051", token="secret") as client:
    answered = await client.dial("+18005550100", "+18005550101", connection_id="1234", wait=True)
    call_control_id = answered.response.call_control_id
    await client.speak(call_control_id, "Hello", wait=True)
    print(await client.calls.get(call_control_id))
    async for event in client.watch(["call."], call_control_ids=[call_control_id]):
        print(event.event_type)
```

- `VoiceClient`: the channel, the generated stubs and shortcuts for the common call flow.
- `EventWatch`: what `VoiceClient.watch` returns; an async iterator of events that tracks its cursor.
- `CallsClient`, `CallWatch`, `CommandResult`: `client.calls` (get, list, watch, execute), what
  `client.watch_calls` returns, and a command's response with its outcome event.
- `SyncVoiceClient`: the same on grpc's blocking channel.
- `VoiceError` and one subclass per status code (`NotFound`, `InvalidArgument`, `FailedPrecondition`,
  `ResourceExhausted`, `Unavailable`, …): what every RPC raises; `from_grpc_error` makes one.
- `RetryPolicy`, `DEFAULT_RETRY`, `NO_RETRY`: the client's retries of UNAVAILABLE.
- `AsyncPager`, `Pager`, `LIST_METHODS`: every list RPC, page after page (`client.list_calls(...)`).
- `describe_error`, `error_details`: readable failures with the server's rich error details.
- `cli`: the `voicesvc call` and `voicesvc watch` commands.
"""

from voicesvc.client.calls import CallsClient, CallWatch, CommandResult
from voicesvc.client.client import DEFAULT_TARGET, VoiceClient
from voicesvc.client.errors import (
    ERROR_CLASSES,
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
    VoiceError,
    describe_error,
    error_details,
    from_grpc_error,
    rich_status,
)
from voicesvc.client.interceptors import DEFAULT_RETRY, NO_RETRY, RetryPolicy, client_defaults, open_channel
from voicesvc.client.paging import LIST_METHODS, AsyncPager, Pager
from voicesvc.client.sync import SyncVoiceClient
from voicesvc.client.watch import EventWatch

__all__ = [
    "DEFAULT_RETRY",
    "DEFAULT_TARGET",
    "ERROR_CLASSES",
    "LIST_METHODS",
    "NO_RETRY",
    "Aborted",
    "AlreadyExists",
    "AsyncPager",
    "CallWatch",
    "CallsClient",
    "Cancelled",
    "CommandResult",
    "DataLoss",
    "DeadlineExceeded",
    "EventWatch",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "Pager",
    "PermissionDenied",
    "ResourceExhausted",
    "RetryPolicy",
    "SyncVoiceClient",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "VoiceClient",
    "VoiceError",
    "client_defaults",
    "describe_error",
    "error_details",
    "from_grpc_error",
    "open_channel",
    "rich_status",
]
