"""`platedesk [--profile DIR] connect URL [--ca-bundle FILE]`: the first run from a shell.

Checks the address (plain http:// only to this computer), reads the agency's CA bundle
and shows its fingerprints, checks that the hub answers over a connection that bundle
trusts, then keeps both in the profile. Without --profile, a profile for this hub is
made under the user's data folder and used by the next commands.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.config.paths import hub_profile_dir
from app.core.hub_address import check_hub_address
from app.services.hub_link import read_ca_file
from app.workstation import Workstation

NAME = "connect"


def add_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    sub = command(
        NAME,
        "set the hub this profile talks to (first run), with your agency's CA bundle when "
        "the hub's certificate comes from the agency's own certificate authority",
    )
    sub.add_argument("url", metavar="URL", help="the hub's address, e.g. https://hub.example.gov")
    sub.add_argument(
        "--ca-bundle",
        type=Path,
        metavar="FILE",
        help="the agency's CA certificates (PEM): kept in the profile and trusted for this hub",
    )


def default_profile(url: str) -> Path:
    """Without --profile: this hub's first-run profile (not the last used, another hub's)."""
    return hub_profile_dir(check_hub_address(url))


def run(ws: Workstation, args: argparse.Namespace) -> Any:
    """Check the bundle (local), the address and the hub (remote), then keep them (local)."""
    hub = check_hub_address(args.url)
    bundle = read_ca_file(args.ca_bundle) if args.ca_bundle is not None else None
    ws.hub_link.probe(hub, bundle)
    link = ws.hub_link.keep(hub, bundle)
    return {
        "hub": link.hub_url,
        "profile": link.profile,
        "ca_bundle": [
            {"subject": cert.subject, "sha256": cert.sha256, "expires": cert.not_after}
            for cert in link.ca_bundle
        ]
        or "the system's certificate authorities",
        "next": f"platedesk --profile {link.profile} login --user NAME --totp CODE",
    }
