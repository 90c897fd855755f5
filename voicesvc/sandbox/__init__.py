"""The Telnyx Voice API sandbox: an emulator of the 50 Call Control endpoints that sends signed webhooks.

`Sandbox` runs it in-process (embedded mode and tests); `voicesvc.sandbox.cli` runs it alone.
"""

from voicesvc.sandbox.config import SandboxConfig
from voicesvc.sandbox.faults import FaultRule
from voicesvc.sandbox.server import Sandbox

__all__ = ["FaultRule", "Sandbox", "SandboxConfig"]
