"""`platedesk read-plate IMAGE... [--json]`: read plates offline with the plate reader model.

One model load for all the images. Each image gives one result: its plate, confidence,
box and alternatives; "plate": null with a reason when no plate is found; an error naming
the file when it cannot be read, and the other images are still read (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.errors import KnownError
from app.vision.decode import ImageError, decode_file
from app.vision.plate_reader import NO_MODEL, describe, load_plate_reader

log = logging.getLogger("platedesk")
NAME = "read-plate"
EXIT_ERROR = 1


def add_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    sub = command(NAME, "read the plate in images (crops or whole frames) with the local model")
    sub.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    sub.add_argument("--model", type=Path, help="an ONNX plate reader model (default: bundled)")
    sub.add_argument("--threads", type=int, default=1, help="CPU threads for the model")


def run(args: argparse.Namespace) -> int:
    try:
        reader = load_plate_reader(args.model)
    except KnownError as exc:
        print(f"platedesk: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if reader is None:
        print(f"platedesk: {NO_MODEL}", file=sys.stderr)
        return EXIT_ERROR
    results: list[dict[str, Any]] = []
    failed = 0
    for path in args.images:
        try:
            image = decode_file(path)
            results.append({"image": str(path), **describe(reader.read_image(image))})
        except ImageError as exc:
            failed += 1
            print(f"platedesk: {exc}", file=sys.stderr)
            results.append({"image": str(path), "plate": None, "error": str(exc),
                            "problem": exc.problem.value})  # fmt: skip
        except Exception:
            failed += 1
            log.exception("read-plate failed on one image")
            message = (
                f"{path} could not be read: something went wrong inside Platedesk (see the log)"
            )
            print(f"platedesk: {message}", file=sys.stderr)
            results.append({"image": str(path), "plate": None, "error": message, "kind": "bug"})
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            if r.get("error"):
                continue
            if r["plate"] is None:
                print(f"{r['image']}: {r['reason']}")
            else:
                others = ", ".join(f"{t} {c:.0%}" for t, c in r["alternatives"][1:])
                more = f"  (or {others})" if others else ""
                print(f"{r['image']}: {r['plate']} {r['confidence']:.0%}{more}")
    return EXIT_ERROR if failed else 0
