"""Signing deliveries as the Standard Webhooks specification says, with its reference
library (standardwebhooks): the webhook-id, webhook-timestamp and webhook-signature
headers, one `v1,` signature per active secret, space-separated."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def secret_generate() -> str:
    """A new signing secret: whsec_ and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(
    *, msg_id: str, timestamp: datetime, payload: str, secrets: Sequence[str]
) -> dict[str, str]:
    """The three headers of a delivery of `payload` (the exact body sent)."""
    signatures = [
        Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=payload) for secret in secrets
    ]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
