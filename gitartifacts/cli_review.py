"""Hook and review verbs of `git artifacts` (validate, install-hooks, ...), registered on the main group."""

from __future__ import annotations
