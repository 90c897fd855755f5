"""Webhook reception: signature verification, signing (for the sandbox and tests), ingress."""

from voicesvc.webhooks.ingress import WebhookIngress, make_webhook_handler
from voicesvc.webhooks.metrics import WebhookMetrics
from voicesvc.webhooks.sign import Signer
from voicesvc.webhooks.verify import RejectReason, WebhookRejected, WebhookVerifier

__all__ = [
    "RejectReason",
    "Signer",
    "WebhookIngress",
    "WebhookMetrics",
    "WebhookRejected",
    "WebhookVerifier",
    "make_webhook_handler",
]
