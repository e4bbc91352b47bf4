"""A workstation process that syncs one slice while another of its threads journals
searches, as the desk does: each search's event id is printed (and flushed) once its
commit has returned, i.e. once the entry is acknowledged.

    python -m tests.support.sync_with_searches PROFILE SLICE_ID
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from app.cache.journal import JournalRepository
from app.workstation import Workstation


def main() -> None:
    profile, slice_id = Path(sys.argv[1]), sys.argv[2]
    workstation = Workstation.open(profile_dir=profile)
    core = workstation.core
    stop = threading.Event()

    def searches() -> None:
        count = 0
        while not stop.is_set():
            db = core.db()
            with db.atomic():
                event = JournalRepository(db).append(
                    core.actor(), "search", object_refs={"case_number": "kill"}, params={"n": count}
                )
            print(event["event_id"], flush=True)  # acknowledged: its commit returned
            count += 1
            stop.wait(0.01)
        core.db().close()

    searcher = threading.Thread(target=searches, name="searches")
    searcher.start()
    try:
        workstation.sync(slice_id=slice_id)
    finally:
        stop.set()
        searcher.join()
        workstation.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
