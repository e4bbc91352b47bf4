"""`platedesk` subcommands: the engine's actions from a shell, JSON out with --json.

Errors go to stderr as one sentence naming the problem, with a non-zero exit;
a traceback never reaches the user (it goes to the log).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from app import __version__
from app.cli import audit_trail, connect, evidence, read_plate, review, transparency
from app.cli.output import print_result
from app.config.settings import load_settings
from app.core.canonical import parse_utc
from app.core.errors import ErrorKind, KnownError
from app.core.plates import parse_pattern
from app.core.records import (
    ALERT_OUTCOMES,
    NEWEST_FIRST,
    SearchOrder,
    SearchQuery,
    SortKey,
    parse_order,
)
from app.export.verify import HubLookup, HubRecord, TrustedKey, load_trusted_keys, verify_packet
from app.services.hub_link import profile_ca
from app.sync.client import HubClient, HubError, HubRefused
from app.vision.redact import load_spec_file, merge_specs, parse_redaction
from app.workstation import Workstation

log = logging.getLogger("platedesk")
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_ORIGIN_NOT_CHECKED = 3  # verify: intact, but no trusted key or hub said who made it
COMMANDS = (
    "status",
    "login",
    "logout",
    "cases",
    "slice",
    "sync",
    "search",
    "journal",
    "purge",
    evidence.NAME,
    "export",
    "verify",
    "alerts",
    connect.NAME,
    review.NAME,
    audit_trail.NAME,
    transparency.NAME,
    read_plate.NAME,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="platedesk", description="Platedesk workstation (no subcommand opens the window)."
    )
    parser.add_argument("--hub", help="the hub's address, e.g. https://hub.example:8750")
    parser.add_argument("--profile", type=Path, help="the profile folder (one per user and hub)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--version", action="version", version=f"platedesk {__version__}")
    commands = parser.add_subparsers(dest="command")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
        return sub

    command(
        "status",
        "whether the hub answers (within 5 s), the last contact, unsent audit events, the user",
    )
    login = command("login", "sign in (the password is read from standard input)")
    login.add_argument("--user", required=True)
    login.add_argument("--totp", required=True, help="the 6-digit code from your authenticator")
    command("logout", "sign out and remove this profile's tokens from the keyring")
    command("cases", "the cases assigned to you")

    slice_cmd = command("slice", "request or list slices")
    slice_sub = slice_cmd.add_subparsers(dest="slice_command", required=True)
    request = slice_sub.add_parser("request", help="ask the hub for the reads a case needs")
    request.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    request.add_argument("--case", required=True)
    request.add_argument("--purpose", required=True)
    request.add_argument("--justification", required=True)
    request.add_argument("--from", dest="time_from", required=True, type=_time)
    request.add_argument("--to", dest="time_to", required=True, type=_time)
    request.add_argument("--camera", action="append", dest="cameras")
    request.add_argument("--plate")
    listing = slice_sub.add_parser("list", help="the slices in this profile")
    listing.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    listing.add_argument("--case")

    sync = command("sync", "pull slices' change feeds into the cache")
    sync.add_argument("--slice")
    sync.add_argument("--images", action="store_true", help="also fetch every image now")

    search = command("search", "search the cached reads of a case")
    search.add_argument("--case", required=True)
    search.add_argument("--purpose", help="default: the purpose of your latest slice for the case")
    search.add_argument("--plate", help="exact, prefix (ABC*), or wildcard (*7K2*, AB?123)")
    search.add_argument("--from", dest="time_from", type=_time)
    search.add_argument("--to", dest="time_to", type=_time)
    search.add_argument("--camera", action="append", dest="cameras")
    search.add_argument("--fuzzy", action="store_true", help="also find likely misreads")
    search.add_argument("--color")
    search.add_argument("--make")
    search.add_argument("--limit", type=int, default=50)
    search.add_argument(
        "--sort",
        type=_order,
        default=NEWEST_FIRST,
        metavar="KEY[:asc|desc]",
        help=f"order by one of {', '.join(k.value for k in SortKey)} (default: time:desc)",
    )

    journal = command("journal", "the audit journal")
    journal_sub = journal.add_subparsers(dest="journal_command", required=True)
    for name in ("status", "upload"):
        sub = journal_sub.add_parser(name)
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    command("purge", "delete cached reads past the retention period")

    export = command("export", "write the case's evidence as a signed packet (a BagIt bag)")
    export.add_argument("--case", required=True)
    export.add_argument("--out", required=True, type=Path, help="the folder to write it in")
    export.add_argument("--zip", action="store_true", help="write one ZIP instead of a folder")
    export.add_argument(
        "--redact",
        action="append",
        default=[],
        metavar="READ_ID:x,y,w,h",
        help="blur this rectangle (pixels) in a derived copy of the read's image (repeatable)",
    )
    export.add_argument(
        "--redactions",
        type=Path,
        metavar="FILE",
        help='a JSON redaction spec: {"READ_ID": {"regions": [[x, y, w, h]], "enhance": {}}}',
    )

    verify = command(
        "verify",
        "check a packet (exit 0: intact and signed by a trusted key or the hub's key for the "
        "device; 3: intact, but its origin was not checked; 1: not intact or not from them)",
    )
    verify.add_argument("packet", type=Path, metavar="PACKET", help="a packet folder or ZIP")
    verify.add_argument(
        "--public-key",
        "--key",
        type=Path,
        help="a file with the device's public key (base64 or PEM): the packet must be signed by it",
    )
    verify.add_argument(
        "--trusted-keys",
        type=Path,
        metavar="FILE",
        help="a file of keys you trust (e.g. your agency's published device keys): one a line, "
        "base64 of the 32 raw bytes and an optional name, or PEM blocks; the packet must be "
        "signed by one of them",
    )
    verify.add_argument(
        "--hub",
        default=argparse.SUPPRESS,
        help="also check at this hub (or at the --profile's hub): its receipt for the packet "
        "and the public key it holds for the exporting device",
    )
    alerts = command("alerts", "hotlist alerts for your cases: list them, acknowledge one")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True)
    alerts_list = alerts_sub.add_parser("list", help="your alerts after an alert id")
    alerts_list.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    alerts_list.add_argument("--after", type=int, default=0, help="an alert id (default 0)")
    alerts_list.add_argument("--limit", type=int, default=100)
    ack = alerts_sub.add_parser(
        "ack", help="record the verification steps and the outcome of an alert"
    )
    ack.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    ack.add_argument("alert_id", type=int, metavar="ALERT_ID")
    ack.add_argument("--outcome", required=True, choices=ALERT_OUTCOMES)
    ack.add_argument("--visual", action="store_true", help="you confirmed the plate in the image")
    ack.add_argument(
        "--state-match", action="store_true", help="the plate's state matches the entry"
    )
    ack.add_argument(
        "--entry-confirmed", action="store_true", help="you re-confirmed the hotlist entry"
    )
    ack.add_argument("--note", default="")
    connect.add_parser(command)
    review.add_parser(command, _time)
    audit_trail.add_parser(command, _time)
    transparency.add_parser(command)
    evidence.add_parser(command)
    read_plate.add_parser(command)
    return parser


def _time(text: str) -> datetime:
    try:
        return parse_utc(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a time; give ISO 8601 in UTC, e.g. 2026-11-20T08:00:00Z"
        ) from exc


def _order(text: str) -> SearchOrder:
    try:
        return parse_order(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "verify":
        return _verify(args)
    if args.command == read_plate.NAME:
        return read_plate.run(args)
    if audit_trail.wants_no_session(args):
        return _verify_excerpt(args)
    handler = HANDLERS[args.command]
    workstation: Workstation | None = None
    try:
        profile = args.profile
        if profile is None and args.command == connect.NAME:
            profile = connect.default_profile(args.url)  # not the last used: another hub's
        workstation = Workstation.open(
            profile_dir=profile,
            hub_url=args.hub,
            username=getattr(args, "user", None),
        )
        result = handler(workstation, args)
        if args.command != "status":  # status answers within 5 s, whatever the hub does
            _deliver_journal(workstation)
    except KnownError as exc:
        print(f"platedesk: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception:
        log.exception("platedesk %s failed", args.command)
        print(
            "platedesk: something went wrong inside Platedesk; the details are in the log. "
            "Please report it.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    finally:
        if workstation is not None:
            workstation.close()
    print_result(result, as_json=args.json)
    if (
        workstation is not None
        and workstation.session is not None
        and workstation.session.insecure_keyring
    ):
        print(
            "platedesk: warning: secrets are kept in a plaintext keyring file (keyrings.alt); "
            "use the desktop keyring on a real workstation.",
            file=sys.stderr,
        )
    return 0


def _verify_excerpt(args: argparse.Namespace) -> int:
    """`audit verify-excerpt`: 0 when the excerpt is as exported, 1 when not."""
    try:
        result, ok = audit_trail.verify(args)
    except KnownError as exc:
        print(f"platedesk: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print_result(result, as_json=args.json)
    if not ok:
        print("platedesk: the audit excerpt was changed after it was exported.", file=sys.stderr)
        return EXIT_ERROR
    return 0


def _deliver_journal(workstation: Workstation) -> None:
    """Send what the command journaled; offline or refused, the events wait for next time."""
    if workstation.session is None:
        return
    try:
        workstation.audit.upload()
    except KnownError as exc:
        log.warning("audit events wait for delivery: %s", exc.__class__.__name__)


def _status(ws: Workstation, args: argparse.Namespace) -> Any:
    """Online or offline (with the reason's kind), last contact, unsent events, user, role.
    Exit 0 either way: offline is an answer. Two calls: the hub (remote), then the cache."""
    contact = ws.audit.check_hub()
    if contact.online and contact.at is not None and ws.session is not None:
        ws.audit.note_contact(contact.at)
    return ws.audit.desk_status(contact)


def _login(ws: Workstation, args: argparse.Namespace) -> Any:
    password = (
        getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )
    if not password:
        raise KnownError("No password was given on standard input.")
    session = ws.login(username=args.user, password=password, totp=args.totp, hub_url=args.hub)
    return {
        "username": session.username,
        "role": session.role,
        "device_id": session.device_id,
        "profile": str(ws.profile_dir),
        "session_expires_at": session.session_expires_at,
    }


def _logout(ws: Workstation, args: argparse.Namespace) -> Any:
    ws.logout()
    return {"signed_out": True}


def _cases(ws: Workstation, args: argparse.Namespace) -> Any:
    return {"cases": ws.catalog.cases()}


def _slice(ws: Workstation, args: argparse.Namespace) -> Any:
    if args.slice_command == "list":
        return {"slices": ws.slices.list(case_number=args.case)}
    created = ws.slices.request(
        case_number=args.case,
        purpose=args.purpose,
        justification=args.justification,
        time_from=args.time_from,
        time_to=args.time_to,
        camera_ids=args.cameras,
        plate_pattern=args.plate,
    )
    return {"slice_id": created.slice_id, "estimated_reads": created.estimated_reads}


def _sync(ws: Workstation, args: argparse.Namespace) -> Any:
    result = ws.sync(slice_id=args.slice, images=args.images)
    return {
        "reads": result.reads,
        "images": result.images,
        "deleted": result.deleted,
        "images_remaining": result.images_remaining,
        "cancelled": result.cancelled,
    }


def _search(ws: Workstation, args: argparse.Namespace) -> Any:
    pattern = parse_pattern(args.plate) if args.plate else None
    purpose = args.purpose
    if purpose is None:
        slices = ws.slices.list(case_number=args.case)
        if not slices:
            raise KnownError(
                f"You hold no reads for case {args.case}; request a slice first "
                "(platedesk slice request ...)."
            )
        purpose = slices[0].purpose
    query = SearchQuery(
        case_number=args.case,
        purpose=purpose,
        pattern=pattern,
        time_from=args.time_from,
        time_to=args.time_to,
        camera_ids=tuple(args.cameras or ()),
        color=args.color,
        make=args.make,
        fuzzy=args.fuzzy,
    )
    page = ws.search.run(query, order=args.sort, limit=max(1, args.limit))
    return {
        "count": page.total,
        "purpose": purpose,
        "results": [
            {
                "read_id": row.read_id,
                "plate": row.plate,
                "state": row.state,
                "captured_at": row.captured_at,
                "camera": row.camera_id,
                "make": row.make,
                "model": row.model,
                "color": row.color,
                "confidence": row.confidence,
            }
            for row in page.rows
        ],
    }


def _journal(ws: Workstation, args: argparse.Namespace) -> Any:
    if args.journal_command == "upload":
        return {"delivered": ws.audit.upload()}
    status = ws.audit.status(full=True)
    return {
        "pending": status.pending,
        "delivered": status.delivered,
        "chain_ok": status.chain_ok,
        "problems": list(status.problems),
    }


def _purge(ws: Workstation, args: argparse.Namespace) -> Any:
    return ws.audit.purge()


def _export(ws: Workstation, args: argparse.Namespace) -> Any:
    specs = load_spec_file(args.redactions) if args.redactions is not None else {}
    redactions = merge_specs(specs, [parse_redaction(text) for text in args.redact])
    result = ws.export_packet(
        case_number=args.case, out_dir=args.out, zip=args.zip, redactions=redactions
    )
    return {
        "packet": str(result.packet),
        "packet_id": result.packet_id,
        "reads": result.reads,
        "files": result.files,
        "receipt": result.receipt,
    }


def _verify(args: argparse.Namespace) -> int:
    """Offline, without a profile: the packet alone (and the keys given, when given); with
    --hub URL (or --online and a profile) also the hub's receipt and device key."""
    try:
        public_key = (
            args.public_key.read_text(encoding="utf-8") if args.public_key is not None else None
        )
    except OSError as exc:
        print(f"platedesk: the public key file cannot be read: {exc}", file=sys.stderr)
        return EXIT_ERROR
    trusted: list[TrustedKey] = []
    if args.trusted_keys is not None:
        try:
            trusted = load_trusted_keys(
                args.trusted_keys.read_text(encoding="utf-8"), source=str(args.trusted_keys)
            )
        except (OSError, UnicodeDecodeError) as exc:
            print(f"platedesk: the trusted keys file cannot be read: {exc}", file=sys.stderr)
            return EXIT_ERROR
        except KnownError as exc:
            print(f"platedesk: {exc}", file=sys.stderr)
            return EXIT_ERROR
    hub_url = args.hub
    if hub_url is None and args.profile is not None:
        hub_url = load_settings(args.profile).hub_url or None
        if hub_url is None:
            print(f"platedesk: the profile {args.profile} names no hub; give --hub URL.",
                  file=sys.stderr)  # fmt: skip
            return EXIT_ERROR
    client: HubClient | None = None
    try:
        if hub_url:
            ca = None  # the profile's agency CA bundle, when the profile keeps one
            if args.profile is not None:
                ca = profile_ca(args.profile, load_settings(args.profile))
            client = HubClient(hub_url, ca_bundle=ca)
        report = verify_packet(
            args.packet,
            public_key=public_key,
            trusted_keys=trusted,
            hub=None if client is None else _hub_lookup(client),
        )
    except KnownError as exc:
        print(f"platedesk: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if client is not None:
            client.close()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for check in report.checked:
            print(f"checked: {check}")
        if report.valid:
            print(f"valid: {args.packet} is intact and {report.origin}")
        elif report.intact and not report.problems:
            print(f"INTACT, ORIGIN NOT CHECKED: {args.packet} is consistent with itself, but "
                  f"who made it was {report.origin}")  # fmt: skip
        else:
            print(("INTACT, ORIGIN NOT VERIFIED: " if report.intact else "INVALID: ")
                  + report.problems[0])  # fmt: skip
            for problem in report.problems[1:]:
                print(f"  also: {problem}")
    if report.valid:
        return 0
    return EXIT_ORIGIN_NOT_CHECKED if report.intact and not report.problems else EXIT_ERROR


def _alerts(ws: Workstation, args: argparse.Namespace) -> Any:
    if args.alerts_command == "list":
        return {"alerts": ws.alerts.list(after=args.after, limit=args.limit)}
    return ws.alerts.acknowledge(
        alert_id=args.alert_id,
        outcome=args.outcome,
        visual_confirmed=args.visual,
        state_match=args.state_match,
        entry_confirmed=args.entry_confirmed,
        note=args.note,
    )


def _hub_lookup(client: HubClient) -> HubLookup:
    """What the hub holds for a packet: its receipt and the exporting device's key."""

    def lookup(packet_id: str, device_id: str) -> HubRecord:
        try:
            receipt = client.receipt(packet_id)
        except HubRefused as exc:
            if exc.kind not in (ErrorKind.NOT_FOUND, ErrorKind.INVALID):
                return HubRecord(hub_url=client.base_url, unreachable=str(exc))
            receipt = None
        except HubError as exc:
            return HubRecord(hub_url=client.base_url, unreachable=str(exc))
        try:
            device = client.device_key(device_id)
            device_key: str | None = device.public_key
        except HubRefused:
            device_key = None
        except HubError as exc:
            return HubRecord(hub_url=client.base_url, unreachable=str(exc))
        return HubRecord(
            hub_url=client.base_url,
            receipt_manifest_sha256=None if receipt is None else receipt.manifest_sha256,
            receipt_device_id=None if receipt is None else receipt.device_id,
            device_public_key=device_key,
        )

    return lookup


HANDLERS: dict[str, Callable[[Workstation, argparse.Namespace], Any]] = {
    "status": _status,
    "login": _login,
    "logout": _logout,
    "cases": _cases,
    "slice": _slice,
    "sync": _sync,
    "search": _search,
    "journal": _journal,
    "purge": _purge,
    evidence.NAME: evidence.run,
    "export": _export,
    "alerts": _alerts,
    connect.NAME: connect.run,
    review.NAME: review.run,
    audit_trail.NAME: audit_trail.run,
    transparency.NAME: transparency.run,
}
