"""Shared names of the operations' callbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

OnSuccess = Callable[[Any], None]
OnFailure = Callable[[BaseException], None]
