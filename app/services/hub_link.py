"""The hub this workstation talks to: its address and the agency CA bundle that vouches
for its certificate, checked (remote) and kept in the profile (local).

Plain http:// is refused before connecting unless the hub is on this computer
(app.core.hub_address). The CA bundle is a certificate, not a secret: it is kept as a
PEM file in the profile folder, named in the profile's settings.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.config.paths import hub_profile_dir
from app.config.settings import ProfileSettings
from app.core.errors import KnownError
from app.core.hub_address import check_hub_address
from app.sync.client import HubClient
from app.sync.tls import CaBundle, CaCertificate, read_ca_bundle

if TYPE_CHECKING:
    from app.services.session import Session

CA_FILE = "hub-ca.pem"


@dataclass(frozen=True, slots=True)
class HubLink:
    """What `platedesk connect` and the first-run dialog report."""

    hub_url: str
    profile: str
    ca_bundle: list[CaCertificate]  # empty: the system's trusted authorities


def read_ca_file(path: Path) -> CaBundle:
    """A CA bundle file the user chose; KnownError names the file and the problem."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KnownError(
            f"The CA bundle {path} cannot be read ({exc.strerror or exc.__class__.__name__}); "
            "check the file's name and that you may read it."
        ) from exc
    return read_ca_bundle(data, source=str(path))


def profile_ca(profile_dir: Path, settings: ProfileSettings) -> CaBundle | None:
    """The CA bundle kept in the profile, or None when the profile keeps none."""
    if not settings.hub_ca_file:
        return None
    path = profile_dir / Path(settings.hub_ca_file).name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KnownError(
            f"The agency CA bundle this profile uses ({path}) cannot be read; give it again: "
            "platedesk --profile DIR connect URL --ca-bundle FILE."
        ) from exc
    return read_ca_bundle(data, source=str(path))


def keep_ca(profile_dir: Path, settings: ProfileSettings, bundle: CaBundle | None) -> None:
    """Write the bundle into the profile (atomically) and name it in `settings`; None
    removes it. The caller saves the settings."""
    path = profile_dir / CA_FILE
    if bundle is None:
        settings.hub_ca_file = ""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    profile_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=profile_dir, prefix=".hub-ca-", suffix=".pem")
    with os.fdopen(fd, "wb") as handle:
        handle.write(bundle.pem)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    settings.hub_ca_file = CA_FILE


class HubLinkService:
    """Check a hub address (remote), then keep it for the profile (local)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def probe(self, hub_url: str, ca_bundle: CaBundle | None) -> str:
        """Whether the hub answers over a connection this bundle (or the system) trusts
        (remote). Returns the normalized address; raises HubAddressError before
        connecting for a refused address, HubError when the hub cannot be reached or
        its certificate is not trusted (kind UNTRUSTED)."""
        hub = check_hub_address(hub_url)
        client = HubClient(hub, ca_bundle=ca_bundle, transport=self._s.transport)
        try:
            client.ping()
        finally:
            if self._s.transport is None:  # an injected transport is the caller's to close
                client.close()
        return hub

    def keep(
        self, hub_url: str, ca_bundle: CaBundle | None, *, profile_dir: Path | None = None
    ) -> HubLink:
        """Use this hub (and CA bundle) from now on, kept in the profile (local). A
        workstation with no profile yet takes `profile_dir`, by default the hub's
        first-run profile (the first user to sign in takes it)."""
        if profile_dir is None and not self._s.has_profile:
            profile_dir = hub_profile_dir(check_hub_address(hub_url))
        self._s.use_hub(hub_url, ca_bundle, profile_dir=profile_dir)
        return self.current()

    def current(self) -> HubLink:
        bundle = self._s.ca_bundle
        return HubLink(
            hub_url=self._s.hub_url or "",
            profile=str(self._s.profile_dir) if self._s.has_profile else "",
            ca_bundle=list(bundle.certificates) if bundle is not None else [],
        )
