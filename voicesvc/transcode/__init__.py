"""RPC ⇄ REST translation driven by the protos' descriptors and `google.api.http` rules.

- `routes`: one `Route` per RPC, read from the http annotations.
- `wire`: any message ⇄ the exact Telnyx JSON (wire names, enum strings, unions, presence).
- `pointer`: JSON pointers (`/assistant/tools/0`) and the field paths and parameter names they render as.
- `query`: deepObject query strings (`filter[occurred_at][gte]=…`).
- `http`: a request message ⇄ method, path, query and body; a Telnyx response ⇄ a response message.
- `validate`: required fields and path identifiers, checked before anything is sent.
"""
