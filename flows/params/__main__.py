"""``python -m flows.params``: print the README's parameter table (``families``: its model
family table)."""

import sys

from flows.params import NightlyParams, family_table, parameter_table

print(family_table() if sys.argv[1:] == ["families"] else parameter_table(NightlyParams))
