"""gitartifacts: versioned data and models whose history lives in Git."""

from __future__ import annotations

__version__ = "0.1.0"
