"""Run and lineage verbs of `git artifacts` (runs, lineage, run, link), registered on the main group."""

from __future__ import annotations
