"""Application logging: a file in the user's log folder, never plates, tokens or keys.

Only messages Platedesk writes itself go there, and they name counts, ids and
error classes; the audit journal, not the log, records what a user did.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

import platformdirs

LOG_NAME = "platedesk.log"


def configure_logging(level: int = logging.INFO) -> Path | None:
    folder = Path(platformdirs.user_log_dir("platedesk", appauthor=False))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            folder / LOG_NAME, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(handler)
    for noisy in ("httpx", "httpcore"):  # request lines carry image hashes and tokens' paths
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return folder / LOG_NAME
