"""``python -m flows.params``: print the README's parameter table."""

from flows.params import NightlyParams, parameter_table

print(parameter_table(NightlyParams))
