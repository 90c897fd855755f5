"""Webhook reception: signature verification, signing (for the sandbox and tests) and the HTTP handler."""

from voicesvc.webhooks.ingress import make_webhook_handler
from voicesvc.webhooks.metrics import WebhookMetrics
from voicesvc.webhooks.sign import Signer
from voicesvc.webhooks.verify import RejectReason, WebhookRejected, WebhookVerifier

__all__ = [
    "RejectReason",
    "Signer",
    "WebhookMetrics",
    "WebhookRejected",
    "WebhookVerifier",
    "make_webhook_handler",
]
