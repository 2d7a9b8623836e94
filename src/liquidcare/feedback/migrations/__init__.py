"""Alembic migrations of the feedback store, run by `open_store` (never by hand).

To add one: write `versions/NNNN_what.py` with `revision`, `down_revision` and `upgrade()`; keep
`models.py` in step (tests/test_store_schema.py compares the two).
"""
