"""``python -m recsys_core.migrate OUT``: the schema v1 → v2 migration command, kept at the
path earlier releases documented (the code is :mod:`recsys_core.publishing.migrate`)."""

import sys

from recsys_core.publishing.migrate import main

if __name__ == "__main__":
    sys.exit(main())
