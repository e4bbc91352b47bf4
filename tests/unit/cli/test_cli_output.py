"""`platedesk` output: records as a table for people, and a reader that goes away (`| head`)
ends the command quietly, with no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.output import print_result

HOLDS = {
    "case_number": "2026-004211",
    "holds": [
        {"read_id": "3f2a9c0d", "status": "confirmed", "hold_id": 12, "detail": None},
        {"read_id": "77b1e4aa", "status": "refused", "hold_id": None, "detail": "Not in the case"},
    ],
}


def test_evidence_holds_without_json_is_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    print_result(HOLDS, as_json=False)
    assert capsys.readouterr().out.splitlines() == [
        "case_number: 2026-004211",
        "holds:",
        "  read_id   status     hold_id  detail",
        "  3f2a9c0d  confirmed  12       -",
        "  77b1e4aa  refused    -        Not in the case",
    ]


def test_with_json_it_stays_json(capsys: pytest.CaptureFixture[str]) -> None:
    print_result(HOLDS, as_json=True)
    assert capsys.readouterr().out.startswith('{"case_number": "2026-004211", "holds": [{')


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """As `platedesk verify ... --json | head` when head has read what it wanted."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "verify", str(tmp_path), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()  # nobody reads any more, before it writes a line
    _, err = process.communicate(timeout=120)
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
    assert process.returncode == 141
