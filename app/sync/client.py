"""The hub client (httpx): one place that turns HTTP into records and clear errors.

Every failure the user can act on becomes a HubError naming the hub and the
problem, with its kind (app.core.errors.ErrorKind) set here, where it is made:
code decides on the kind, never on the sentence. The access token is refreshed
once on a 401 and the request retried.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.core.audit_trail import AuditSearchPage, DeviceChainPublic
from app.core.canonical import utc_iso
from app.core.errors import KIND_FIELD, ErrorKind, KnownError
from app.core.evidence import unframe_images
from app.core.hub_address import check_hub_address
from app.core.image_batch import BatchFormatError, frames
from app.core.insights import InsightItemCreate, OperatorInsightsPublic, OversightChartsPublic
from app.core.schemas import (
    API_PREFIX,
    AlertAcknowledgeCreate,
    AlertPage,
    AlertPublic,
    AuditAck,
    AuditBatch,
    AuditCheckpointPublic,
    AuditConsistencyProofPublic,
    AuditInclusionProofPublic,
    CameraPublic,
    CasePublic,
    CustodyEventPublic,
    DeviceCreate,
    DeviceKeyPublic,
    DevicePublic,
    EvidenceImagesRequest,
    EvidenceReadsPublic,
    EvidenceReadsRequest,
    HoldCreate,
    HoldDecision,
    HoldPublic,
    HoldRelease,
    JustificationAnswerCreate,
    JustificationRequestPublic,
    LoginRequest,
    PacketReceiptCreate,
    PacketReceiptPublic,
    PurposePublic,
    RecentSearchPublic,
    RefreshRequest,
    ReviewBulkApproveCreate,
    ReviewDecisionCreate,
    ReviewItemPublic,
    ReviewReadsPublic,
    SliceCreate,
    SlicePublic,
    TokenPublic,
    TransparencyPublic,
    UserPublic,
)
from app.sync.tls import CaBundle, is_untrusted_certificate

log = logging.getLogger(__name__)
T = TypeVar("T")
TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class HubError(KnownError):
    """The hub said no, or could not be reached; the message is for the user, `kind`
    for code."""

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.HUB_FAILED) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


class HubUnreachable(HubError):
    """No answer: the connection failed (UNREACHABLE) or the hub was silent (TIMED_OUT)."""

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.UNREACHABLE) -> None:
        super().__init__(message, kind)


class HubRefused(HubError):
    def __init__(self, message: str, status: int, kind: ErrorKind = ErrorKind.REFUSED) -> None:
        super().__init__(message, kind)
        self.status = status


class SessionEnded(HubRefused):
    """The tokens are no longer good: the user must sign in again."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message, status, ErrorKind.SESSION_EXPIRED)


class CorruptResponse(HubError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorKind.CORRUPT)


class DeviceRevoked(HubRefused):
    """The agency revoked this workstation; its cache and keys must be wiped."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message, status, ErrorKind.DEVICE_REVOKED)


STATUS_KINDS = {
    403: ErrorKind.FORBIDDEN,
    404: ErrorKind.NOT_FOUND,
    409: ErrorKind.CONFLICT,
    422: ErrorKind.INVALID,
}
PROBE_TIMEOUT = httpx.Timeout(3.0)  # a liveness check answers within 5 s, hub or not
DEVICE_HEADER = "X-Platedesk-Device"


class HubClient:
    """A thread-safe client for one hub; `tokens` supplies and renews the access token."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        ca_bundle: CaBundle | None = None,
    ) -> None:
        # Refused before any connection: not an address, or plain http:// off this computer.
        self.base_url = check_hub_address(base_url)
        self.ca_bundle = ca_bundle
        verify: ssl.SSLContext | bool = True if ca_bundle is None else ca_bundle.ssl_context()
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=TIMEOUT,
            transport=transport,
            follow_redirects=False,
            verify=verify,
        )
        self.access_token: str | None = None
        self.device_id: str | None = None  # sent with every request once registered
        self.on_unauthorized: Callable[[], str | None] | None = None
        self.on_device_revoked: Callable[[], None] | None = None
        self.last_contact: datetime | None = None  # when the hub last answered (any answer)

    def close(self) -> None:
        self._http.close()

    # transport ------------------------------------------------------------------
    def _send(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        for attempt in (1, 2):
            headers = dict(kwargs.pop("headers", {}) or {})
            if auth and self.access_token:
                headers["Authorization"] = f"Bearer {self.access_token}"
            if self.device_id:
                headers[DEVICE_HEADER] = self.device_id
            try:
                response = self._http.request(method, path, headers=headers, **kwargs)
            except httpx.TimeoutException as exc:
                raise HubUnreachable(
                    f"The hub at {self.base_url} did not answer in time; check your network "
                    "and try again.",
                    ErrorKind.TIMED_OUT,
                ) from exc
            except httpx.TransportError as exc:
                if is_untrusted_certificate(exc):
                    raise HubError(self._untrusted_message(), ErrorKind.UNTRUSTED) from exc
                raise HubUnreachable(
                    f"Cannot reach the hub at {self.base_url} ({exc.__class__.__name__}); "
                    "check the address and your network.",
                    ErrorKind.UNREACHABLE,
                ) from exc
            self.last_contact = datetime.now(UTC)
            if response.status_code == 401 and auth and attempt == 1 and self.on_unauthorized:
                renewed = self.on_unauthorized()
                if renewed:
                    self.access_token = renewed
                    continue
            return self._checked(response)
        raise AssertionError("unreachable")

    def _untrusted_message(self) -> str:
        if self.ca_bundle is None:
            return (
                f"The hub at {self.base_url} presented a certificate this computer does not "
                "trust. If your agency uses its own certificate authority, add its CA bundle "
                "(platedesk connect URL --ca-bundle FILE, or the first-run dialog); otherwise "
                "check the address with your IT staff. Nothing was sent."
            )
        return (
            f"The hub at {self.base_url} presented a certificate that the agency CA bundle "
            "Platedesk was given did not sign (or one for another name). Check the address "
            "and the CA bundle with your IT staff. Nothing was sent."
        )

    def _checked(self, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if status < 400:
            return response
        detail, sent_kind = _detail(response)
        if status == 401:
            raise SessionEnded(detail or "Your session has ended; sign in again.", status)
        if sent_kind is ErrorKind.DEVICE_REVOKED:
            if self.on_device_revoked is not None:
                self.on_device_revoked()
            raise DeviceRevoked(
                "This workstation was revoked by the agency: its cache and keys have been "
                "wiped. Ask your administrator to register it again.",
                status,
            )
        if status >= 500:
            raise HubError(
                f"The hub at {self.base_url} had an internal problem (HTTP {status}); "
                "try again later, and tell your administrator if it persists.",
                ErrorKind.HUB_FAILED,
            )
        kind = sent_kind or STATUS_KINDS.get(status, ErrorKind.REFUSED)
        raise HubRefused(detail or f"The hub refused the request (HTTP {status}).", status, kind)

    def _json(self, method: str, path: str, model: type[T] | Any, **kwargs: Any) -> T:
        response = self._send(method, path, **kwargs)
        try:
            adapter: TypeAdapter[T] = TypeAdapter(model)
            return adapter.validate_json(response.content)
        except ValidationError as exc:
            raise CorruptResponse(
                f"The hub at {self.base_url} sent a reply Platedesk cannot read ({path}); "
                "it may be a different version. Nothing was changed."
            ) from exc

    @staticmethod
    def _body(model: BaseModel) -> dict[str, Any]:
        return {"content": model.model_dump_json(), "headers": {"Content-Type": "application/json"}}

    # routes ----------------------------------------------------------------------
    def ping(self) -> None:
        """Whether the hub answers at all, within PROBE_TIMEOUT: raises HubUnreachable
        (kind UNREACHABLE or TIMED_OUT) when it does not. No sign-in needed."""
        self._send("GET", "/healthz", auth=False, timeout=PROBE_TIMEOUT)

    def login(self, request: LoginRequest) -> TokenPublic:
        return self._json(
            "POST", f"{API_PREFIX}/auth/login", TokenPublic, auth=False, **self._body(request)
        )

    def refresh(self, refresh_token: str) -> TokenPublic:
        body = RefreshRequest(refresh_token=refresh_token)
        return self._json(
            "POST", f"{API_PREFIX}/auth/refresh", TokenPublic, auth=False, **self._body(body)
        )

    def logout(self, refresh_token: str) -> None:
        body = RefreshRequest(refresh_token=refresh_token)
        self._send("POST", f"{API_PREFIX}/auth/logout", auth=False, **self._body(body))

    def me(self) -> UserPublic:
        return self._json("GET", f"{API_PREFIX}/me", UserPublic)

    def register_device(self, request: DeviceCreate) -> DevicePublic:
        return self._json("POST", f"{API_PREFIX}/devices", DevicePublic, **self._body(request))

    def purposes(self) -> list[PurposePublic]:
        return self._json("GET", f"{API_PREFIX}/purposes", list[PurposePublic])

    def cases(self) -> list[CasePublic]:
        return self._json("GET", f"{API_PREFIX}/cases", list[CasePublic])

    def cameras(self) -> list[CameraPublic]:
        return self._json("GET", f"{API_PREFIX}/cameras", list[CameraPublic])

    def create_slice(self, request: SliceCreate) -> SlicePublic:
        return self._json("POST", f"{API_PREFIX}/slices", SlicePublic, **self._body(request))

    def changes(self, slice_id: str, *, cursor: str | None, limit: int) -> bytes:
        """One raw feed page (a FeedPage's JSON body): the caller parses it and checks its
        checksum before trusting it."""
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self._send("GET", f"{API_PREFIX}/slices/{slice_id}/changes", params=params).content

    def image(self, sha256: str) -> bytes:
        data = self._send("GET", f"{API_PREFIX}/images/{sha256}").content
        if hashlib.sha256(data).hexdigest() != sha256:
            raise CorruptResponse(
                "An image from the hub does not match its fingerprint (SHA-256); it was not kept."
            )
        return data

    def images(self, shas: Sequence[str]) -> list[tuple[str, bytes | None]]:
        """Up to MAX_IMAGES images in one request (POST /images:batch), in the order
        asked: each one's bytes as sent (None: the hub will not give it). The caller
        checks each against its SHA-256 (app.sync.images)."""
        response = self._send("POST", f"{API_PREFIX}/images:batch", json={"sha256": list(shas)})
        try:
            return list(frames(response.content))
        except BatchFormatError as exc:
            raise CorruptResponse(
                f"A batch of images from the hub was cut short or garbled ({exc}); none of "
                "it was kept. Sync again."
            ) from exc

    def post_audit(self, batch: AuditBatch) -> AuditAck:
        return self._json("POST", f"{API_PREFIX}/audit/events", AuditAck, **self._body(batch))

    def audit_checkpoint(self) -> AuditCheckpointPublic:
        return self._json("GET", f"{API_PREFIX}/audit/checkpoint", AuditCheckpointPublic)

    def audit_inclusion_proof(self, *, event_id: str, tree_size: int) -> AuditInclusionProofPublic:
        return self._json(
            "GET",
            f"{API_PREFIX}/audit/proof/inclusion",
            AuditInclusionProofPublic,
            params={"event_id": event_id, "tree_size": tree_size},
        )

    def audit_consistency_proof(self, *, first: int, second: int) -> AuditConsistencyProofPublic:
        return self._json(
            "GET",
            f"{API_PREFIX}/audit/proof/consistency",
            AuditConsistencyProofPublic,
            params={"first": first, "second": second},
        )

    # evidence: holds, packet receipts, device keys, custody (issue 7) --------------
    def place_holds(self, request: HoldCreate) -> list[HoldPublic]:
        return self._json("POST", f"{API_PREFIX}/holds", list[HoldPublic], **self._body(request))

    def holds(self, *, case_number: str) -> list[HoldPublic]:
        return self._json(
            "GET", f"{API_PREFIX}/holds", list[HoldPublic], params={"case_number": case_number}
        )

    def confirm_hold(self, hold_id: str, *, note: str = "") -> HoldPublic:
        return self._json(
            "POST", f"{API_PREFIX}/holds/{hold_id}/confirm", HoldPublic,
            **self._body(HoldDecision(note=note)),
        )  # fmt: skip

    def refuse_hold(self, hold_id: str, *, note: str = "") -> HoldPublic:
        return self._json(
            "POST", f"{API_PREFIX}/holds/{hold_id}/refuse", HoldPublic,
            **self._body(HoldDecision(note=note)),
        )  # fmt: skip

    def release_hold(self, hold_id: str, *, reason: str) -> HoldPublic:
        return self._json(
            "POST", f"{API_PREFIX}/holds/{hold_id}/release", HoldPublic,
            **self._body(HoldRelease(reason=reason)),
        )  # fmt: skip

    def evidence_reads(self, *, case_number: str, read_ids: list[str]) -> EvidenceReadsPublic:
        """The case's confirmed-evidence reads under the evidence grant (no slice)."""
        return self._json(
            "POST", f"{API_PREFIX}/evidence/reads", EvidenceReadsPublic,
            params={"case_number": case_number},
            **self._body(EvidenceReadsRequest(read_ids=read_ids)),
        )  # fmt: skip

    def evidence_images(self, sha256s: list[str], *, case_number: str) -> dict[str, bytes]:
        """Images of confirmed-evidence reads of the case (evidence grant), each checked
        against its SHA-256; at most 100 at once."""
        body = self._send(
            "POST", f"{API_PREFIX}/evidence/images", params={"case_number": case_number},
            **self._body(EvidenceImagesRequest(sha256s=sha256s)),
        ).content  # fmt: skip
        return unframe_images(body, sha256s)

    def post_receipt(self, request: PacketReceiptCreate) -> PacketReceiptPublic:
        return self._json(
            "POST", f"{API_PREFIX}/packets/receipts", PacketReceiptPublic, **self._body(request)
        )

    def receipt(self, packet_id: str) -> PacketReceiptPublic:
        """A packet's receipt (no sign-in needed)."""
        return self._json(
            "GET", f"{API_PREFIX}/packets/{packet_id}/receipt", PacketReceiptPublic, auth=False
        )

    def device_key(self, device_id: str) -> DeviceKeyPublic:
        """The public key the hub holds for a device (no sign-in needed)."""
        return self._json(
            "GET", f"{API_PREFIX}/devices/{device_id}/public-key", DeviceKeyPublic, auth=False
        )

    def custody_events(self, *, case_number: str) -> list[CustodyEventPublic]:
        return self._json(
            "GET",
            f"{API_PREFIX}/packets/custody",
            list[CustodyEventPublic],
            params={"case_number": case_number},
        )

    # hotlist alerts (hub 0005) ---------------------------------------------------------
    def alerts(self, *, after: int = 0, limit: int = 100) -> AlertPage:
        """My alerts with an id above `after`, oldest first."""
        return self._json(
            "GET", f"{API_PREFIX}/alerts", AlertPage, params={"after": after, "limit": limit}
        )

    def acknowledge_alert(self, alert_id: int, request: AlertAcknowledgeCreate) -> AlertPublic:
        return self._json(
            "POST",
            f"{API_PREFIX}/alerts/{alert_id}/acknowledge",
            AlertPublic,
            **self._body(request),
        )

    # review (issue 4): a supervisor's questions about this user's flagged searches -----
    def justification_requests(self) -> list[JustificationRequestPublic]:
        """The justification requests waiting for this user's answer."""
        return self._json("GET", f"{API_PREFIX}/review/requests", list[JustificationRequestPublic])

    def answer_justification(self, item_id: str, answer: str) -> None:
        """Answer one request; the hub attaches it and returns the item to the supervisor."""
        body = JustificationAnswerCreate(answer=answer)
        self._send("POST", f"{API_PREFIX}/review/requests/{item_id}/answer", **self._body(body))

    # review, the supervisor's side: the seam for the supervisor desk (issue 8) ----------
    def review_items(
        self,
        *,
        status: str = "pending",
        limit: int = 100,
        user: str | None = None,
        case_number: str | None = None,
        rule: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: str | None = None,
    ) -> list[ReviewItemPublic]:
        """The flagged searches of this supervisor's unit (never their own), with context,
        most severe then newest first; only one user's, one case's, one rule's, or
        searches in [since, until); the page after the item `after`."""
        params: dict[str, str | int] = {"status": status, "limit": limit}
        for name, value in (
            ("user", user),
            ("case", case_number),
            ("rule", rule),
            ("after", after),
        ):
            if value is not None:
                params[name] = value
        for name, moment in (("since", since), ("until", until)):
            if moment is not None:
                params[name] = utc_iso(moment)
        return self._json(
            "GET", f"{API_PREFIX}/review/items", list[ReviewItemPublic], params=params
        )

    def review_item(self, item_id: str) -> ReviewItemPublic:
        return self._json("GET", f"{API_PREFIX}/review/items/{item_id}", ReviewItemPublic)

    def review_reads(self, item_id: str) -> ReviewReadsPublic:
        """The reads the flagged search returned (the hub audits the viewing)."""
        return self._json("GET", f"{API_PREFIX}/review/items/{item_id}/reads", ReviewReadsPublic)

    def review_searches(self, item_id: str, *, hours: int = 24) -> list[RecentSearchPublic]:
        """The flagged user's searches from `hours` before to `hours` after this one."""
        return self._json(
            "GET",
            f"{API_PREFIX}/review/items/{item_id}/searches",
            list[RecentSearchPublic],
            params={"hours": hours},
        )

    def approve_sample(self, body: ReviewBulkApproveCreate) -> list[ReviewItemPublic]:
        """Approve low-severity random-sample items together (the hub: all or none)."""
        return self._json(
            "POST",
            f"{API_PREFIX}/review/items/approve-sample",
            list[ReviewItemPublic],
            **self._body(body),
        )

    def transparency(self) -> TransparencyPublic:
        """The public transparency figures, exactly as /transparency.json gives them."""
        return self._json("GET", "/transparency.json", TransparencyPublic, auth=False)

    def transparency_report(self, month: str) -> bytes:
        """The council's monthly report (PDF) for YYYY-MM."""
        response = self._send(
            "GET", f"{API_PREFIX}/review/transparency-report", params={"month": month}
        )
        if not response.content.startswith(b"%PDF"):
            raise CorruptResponse(
                f"The hub at {self.base_url} sent something other than a PDF report; "
                "nothing was saved."
            )
        return response.content

    def decide_review(self, item_id: str, decision: ReviewDecisionCreate) -> ReviewItemPublic:
        """Approve, ask for a justification (the note is the question) or refer; audited."""
        return self._json(
            "POST",
            f"{API_PREFIX}/review/items/{item_id}/decision",
            ReviewItemPublic,
            **self._body(decision),
        )

    # supervisor desk (issue 21): operator insights, charts, the audit trail -------------
    def operator_insights(self, *, days: int) -> OperatorInsightsPublic:
        return self._json(
            "GET", f"{API_PREFIX}/review/operators", OperatorInsightsPublic, params={"days": days}
        )

    def file_insight(self, body: InsightItemCreate) -> ReviewItemPublic:
        """Turn an insight into an open review item of the user's unit; audited."""
        return self._json(
            "POST", f"{API_PREFIX}/review/operators/items", ReviewItemPublic, **self._body(body)
        )

    def oversight_charts(self, *, days: int) -> OversightChartsPublic:
        return self._json(
            "GET", f"{API_PREFIX}/review/charts", OversightChartsPublic, params={"days": days}
        )

    def audit_search(self, params: dict[str, str | int | list[str]]) -> AuditSearchPage:
        """A page of the audit events matching `params` (user, device, case, action, from,
        to, cursor, limit), newest first."""
        return self._json("GET", f"{API_PREFIX}/audit/search", AuditSearchPage, params=params)

    def audit_chains(self) -> list[DeviceChainPublic]:
        return self._json("GET", f"{API_PREFIX}/audit/chains", list[DeviceChainPublic])


def _detail(response: httpx.Response) -> tuple[str, ErrorKind | None]:
    """The sentence of an error reply, and the kind the hub named for it (if any)."""
    try:
        body = response.json()
    except ValueError:
        return "", None
    if not isinstance(body, dict):
        return "", None
    kind: ErrorKind | None = None
    named = body.get(KIND_FIELD)
    if isinstance(named, str):
        with contextlib.suppress(ValueError):
            kind = ErrorKind(named)
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail, kind
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        where = ".".join(str(p) for p in first.get("loc", [])[1:])
        text = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
        return text, kind
    return "", kind
