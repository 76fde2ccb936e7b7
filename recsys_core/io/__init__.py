"""Readers per input format, the canonical interactions Parquet and the id maps."""
