"""Quire's benchmarks: ``make bench`` (or ``python -m bench``) writes docs/benchmarks.md.

Every number is reported as a ratio against a baseline measured in the same run
on the same machine; absolute times are printed for context, never asserted.
Not part of ``make test``.
"""
