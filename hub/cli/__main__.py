"""`python -m hub.cli`: the same as `platedesk-hub`."""

import sys

from hub.cli import main

sys.exit(main())
