"""`platedesk-hub camera add|move|disable` and `case add|close|assign|unassign|import`.

Each change is a hub audit event by `platedesk-hub` (hub.admin, hub.admin_catalog);
an unknown camera, case or user, or a bad line of an RMS export, is one line on
stderr and exit code 1, and nothing is changed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.core.errors import KnownError
from app.core.schemas import CameraPublic, CasePublic
from hub.cli.common import HUB_CLI, Commands, _open, command, emit
from hub.context import system_clock


def _write(args: argparse.Namespace, change: Any) -> tuple[Any, str]:
    """Run `change(connection, now, pattern)` in one write transaction."""
    settings, database = _open(args)
    try:
        with database.write() as connection:
            result = change(connection, system_clock(), settings.case_number_pattern)
    finally:
        database.dispose()
    return result, settings.case_number_pattern


def _camera_text(camera: CameraPublic) -> str:
    state = "active" if camera.active else "disabled"
    return (
        f"Camera {camera.camera_id} ({camera.name}, {camera.agency}) at "
        f"{camera.latitude:.6f}, {camera.longitude:.6f} facing {camera.direction}: {state}."
    )


def cmd_camera_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.core.schemas import CameraCreate
    from hub.admin import register_camera

    try:
        body = CameraCreate(
            camera_id=args.camera_id,
            name=args.name,
            agency=args.agency,
            latitude=args.latitude,
            longitude=args.longitude,
            direction=args.direction,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise KnownError(f"The camera is not valid: {where}: {first['msg']}.") from None
    camera, _ = _write(
        args,
        lambda c, now, _p: register_camera(
            c, CameraPublic(**body.model_dump()), by=HUB_CLI, now=now
        ),
    )
    emit(args, camera.model_dump(mode="json"), _camera_text(camera))
    return 0


def cmd_camera_move(args: argparse.Namespace) -> int:
    from hub.admin_catalog import move_camera

    camera, _ = _write(
        args,
        lambda c, now, _p: move_camera(
            c, camera_id=args.camera_id, latitude=args.latitude, longitude=args.longitude,
            direction=args.direction, name=args.name, agency=args.agency, by=HUB_CLI, now=now,
        ),
    )  # fmt: skip
    emit(args, camera.model_dump(mode="json"), _camera_text(camera))
    return 0


def cmd_camera_disable(args: argparse.Namespace) -> int:
    from hub.admin_catalog import set_camera_active

    camera, _ = _write(
        args,
        lambda c, now, _p: set_camera_active(
            c, camera_id=args.camera_id, active=bool(args.enable), by=HUB_CLI, now=now
        ),
    )
    emit(args, camera.model_dump(mode="json"), _camera_text(camera))
    return 0


def _case_text(case: CasePublic) -> str:
    people = ", ".join(case.assigned) or "no one"
    return f"Case {case.case_number} ({case.status}): {case.title}; assigned to {people}."


def cmd_case_add(args: argparse.Namespace) -> int:
    from hub.admin_catalog import CaseSpec, add_case, case_unit

    spec = CaseSpec(
        number=args.number,
        title=args.title,
        offense=args.offense,
        unit=args.unit,
        assigned=tuple(args.assign),
    )

    def change(connection: Any, now: Any, pattern: str) -> tuple[CasePublic, str | None]:
        case = add_case(connection, spec, pattern=pattern, by=HUB_CLI, now=now)
        return case, case_unit(connection, case.case_number)

    (case, unit), _ = _write(args, change)
    emit(args, {**case.model_dump(mode="json"), "unit": unit}, _case_text(case))
    return 0


def cmd_case_close(args: argparse.Namespace) -> int:
    from hub.admin_catalog import close_case

    case, _ = _write(
        args,
        lambda c, now, pattern: close_case(
            c, case_number=args.number, pattern=pattern, by=HUB_CLI, now=now
        ),
    )
    emit(args, case.model_dump(mode="json"), _case_text(case))
    return 0


def _assignment(args: argparse.Namespace, *, assigned: bool) -> int:
    from hub.admin_catalog import set_assignment

    case, _ = _write(
        args,
        lambda c, now, pattern: set_assignment(
            c, case_number=args.number, username=args.username, assigned=assigned,
            pattern=pattern, by=HUB_CLI, now=now,
        ),
    )  # fmt: skip
    emit(args, case.model_dump(mode="json"), _case_text(case))
    return 0


def cmd_case_assign(args: argparse.Namespace) -> int:
    return _assignment(args, assigned=True)


def cmd_case_unassign(args: argparse.Namespace) -> int:
    return _assignment(args, assigned=False)


def read_csv_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnownError(
            f"Cannot read {path} ({exc.__class__.__name__}); give a UTF-8 CSV file."
        ) from None


def cmd_case_import(args: argparse.Namespace) -> int:
    from hub.admin_catalog import import_cases

    path = Path(args.file)
    text = read_csv_file(path)
    report, _ = _write(
        args,
        lambda c, now, pattern: import_cases(
            c, text, pattern=pattern, origin=f"cli:{path.name}", by=HUB_CLI, now=now
        ),
    )
    emit(
        args,
        report.as_json(),
        f"Imported {len(report.imported)} case(s) with {report.assignments} assignment(s) "
        f"from {path.name}.",
    )
    return 0


def register(commands: Commands) -> None:
    camera = commands.add_parser("camera", help="cameras: add, move, disable")
    cameras = camera.add_subparsers(dest="camera_command", required=True)
    add = command(cameras, "add", cmd_camera_add, "register a camera (audited)")
    add.add_argument("--camera-id", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--agency", required=True)
    add.add_argument("--latitude", type=float, required=True)
    add.add_argument("--longitude", type=float, required=True)
    add.add_argument("--direction", required=True, help="e.g. N, SB, eastbound")
    move = command(
        cameras, "move", cmd_camera_move, "record a camera's new place (its old reads keep theirs)"
    )
    move.add_argument("--camera-id", required=True)
    move.add_argument("--latitude", type=float, required=True)
    move.add_argument("--longitude", type=float, required=True)
    move.add_argument("--direction", default=None)
    move.add_argument("--name", default=None)
    move.add_argument("--agency", default=None)
    disable = command(
        cameras, "disable", cmd_camera_disable, "refuse a camera's new reads (--enable: accept)"
    )
    disable.add_argument("--camera-id", required=True)
    disable.add_argument("--enable", action="store_true", help="enable it again instead")

    case = commands.add_parser("case", help="cases: add, close, assign, unassign, import")
    cases = case.add_subparsers(dest="case_command", required=True)
    case_add = command(cases, "add", cmd_case_add, "open a case (the agency's number format)")
    case_add.add_argument("--number", required=True)
    case_add.add_argument("--title", required=True)
    case_add.add_argument("--offense", required=True, help="the offense category")
    case_add.add_argument("--unit", default=None)
    case_add.add_argument(
        "--assign", action="append", default=[], metavar="USERNAME", help="repeatable"
    )
    close = command(cases, "close", cmd_case_close, "close a case (no new slices name it)")
    close.add_argument("--number", required=True)
    for name, handler, text in (
        ("assign", cmd_case_assign, "assign a user to a case"),
        ("unassign", cmd_case_unassign, "take a user off a case"),
    ):
        sub = command(cases, name, handler, text)
        sub.add_argument("--number", required=True)
        sub.add_argument("--username", required=True)
    imported = command(
        cases,
        "import",
        cmd_case_import,
        "open the cases of an RMS export (CSV: number,title,offense,unit,assigned; "
        "users separated by ';'); all lines or none",
    )
    imported.add_argument("file", metavar="FILE.csv")
