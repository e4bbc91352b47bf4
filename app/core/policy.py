"""Agency policy figures the workstation and the hub both enforce."""

from __future__ import annotations

from datetime import timedelta

RETENTION = timedelta(days=30)
ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
IDLE_LOCK_DEFAULT = timedelta(minutes=15)
IDLE_LOCK_MAX = timedelta(minutes=30)
MAX_FAILED_SIGN_INS = 5
# A TOTP code is accepted once (RFC 6238, 5.2); the hub's answer to a code used before.
TOTP_CODE_USED = (
    "This code has been used already. Wait for your authenticator app to show the next "
    "code, then sign in with that one."
)
FAILED_SIGN_IN_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
SLICE_LIFETIME = timedelta(days=30)
FEED_PAGE_MAX = 1000
FEED_PAGE_DEFAULT = 1000  # the route serves about 60,000 reads per CPU-second at this size
