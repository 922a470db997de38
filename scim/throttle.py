"""Rate limits on the SCIM endpoint, per token and per org, in one-second windows.

Counters live in the cache: Redis in production, so every web worker shares them;
in embedded mode each process counts for itself. If the cache is unreachable the
limiter lets requests through (it fails open) and says so in the log: provisioning
matters more than throttling."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

from commandcenter.cache import counters_hit
from directory.models import Org
from tokens.models import ScimToken

logger = logging.getLogger(__name__)


def scim_request_allowed(*, token: ScimToken, org: Org) -> bool:
    """Whether this request fits in the token's and the org's rate limits."""
    per_token = settings.SCIM_RATE_PER_TOKEN
    per_org = org.scim_rate_limit or settings.SCIM_RATE_PER_ORG
    window = int(time.time())  # one-second windows
    try:
        on_token, on_org = counters_hit(
            [f"scimrate:t:{token.pk}:{window}", f"scimrate:o:{org.pk}:{window}"], ttl=2
        )
    except Exception:
        logger.warning("SCIM rate limiter unavailable: letting the request through")
        return True
    return on_token <= per_token and on_org <= per_org


def throttle_event_due(*, org: Org) -> bool:
    """At most one Throttled event per org and minute, so a flood costs no writes."""
    try:
        return bool(cache.add(f"scimrate:event:{org.pk}", 1, 60))
    except Exception:
        return False
