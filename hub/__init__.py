"""The Platedesk hub: the system of record that workstations sync slices from."""

from __future__ import annotations

__version__ = "0.1.0"
