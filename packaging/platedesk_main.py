"""The bundle's entry point: `platedesk` as PyInstaller freezes it.

`multiprocessing.freeze_support()` runs first, before any of Platedesk is imported: a
process the sync's page parser spawns starts this same executable, and must become
that child at once instead of opening a second window or parsing the command line.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from app.__main__ import main

    sys.exit(main())
