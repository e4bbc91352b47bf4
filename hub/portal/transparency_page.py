"""The /transparency page: rendered by app.core.transparency_page, which the
supervisor's desk uses too for its preview of exactly what the public sees."""

from __future__ import annotations

from app.core.transparency_page import render_transparency

__all__ = ["render_transparency"]
