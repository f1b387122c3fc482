"""`python -m mgi_roster`: the command line of mgi_roster.cli (also installed as `mgi-roster`)."""

import sys

from mgi_roster.cli import main

if __name__ == "__main__":
    sys.exit(main())
