"""Python client for voicesvc.

```python
from voicesvc.client import VoiceClient, describe_error

async with VoiceClient("127.0.0.1:50051", token="secret") as client:
    call = await client.dial("+18005550100", "+18005550101", connection_id="1234")
    await client.speak(call.call_control_id, "Hello")
    async for event in client.watch(["call."], call_control_ids=[call.call_control_id]):
        print(event.event_type)
```

- `VoiceClient`: the channel, the generated stubs and shortcuts for the common call flow.
- `EventWatch`: what `VoiceClient.watch` returns; an async iterator of events that tracks its cursor.
- `describe_error`, `error_details`: readable failures with the server's rich error details.
- `cli`: the `voicesvc call` and `voicesvc watch` commands.
"""

from voicesvc.client.client import DEFAULT_TARGET, VoiceClient
from voicesvc.client.errors import describe_error, error_details, rich_status
from voicesvc.client.interceptors import client_defaults, open_channel
from voicesvc.client.watch import EventWatch

__all__ = [
    "DEFAULT_TARGET",
    "EventWatch",
    "VoiceClient",
    "client_defaults",
    "describe_error",
    "error_details",
    "open_channel",
    "rich_status",
]
