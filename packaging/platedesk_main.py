"""The bundle's entry point: `platedesk` as PyInstaller freezes it.

`multiprocessing.freeze_support()` runs first, before any of Platedesk is imported: a
process the sync's page parser spawns starts this same executable, and must become
that child at once instead of opening a second window or parsing the command line.
`--smoke-desk PATH` (packaging/smoke_desk.py) is the bundle's own check of the
supervisor's main window; everything else is `platedesk` as app/__main__.py runs it.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    if "--smoke-desk" in sys.argv[1:]:
        from smoke_desk import main
    else:
        from app.__main__ import main

    sys.exit(main())
