"""A remote's identity object: which remote this is, and which layout features it uses.

`gitartifacts-remote.json` at a remote's root, written by the first push:
`{"format": 2, "id": "<32 hex>", "features": ["packs"]}`. Format 1 (no features) is what
versions before packs wrote; the next push upgrades it (under a new id) before it sends a
pack. A clone trusts its record of what a remote holds only while the remote shows the id it
last saw; a feature this version does not know is an error asking for an upgrade, never a
remote that looks empty.
"""

from __future__ import annotations

import json
import re

from gitartifacts.core.redaction import redact
from gitartifacts.errors import CacheError

IDENTITY = "gitartifacts-remote.json"
IDENTITY_FORMAT = 2
FEATURES = ("packs",)
IDENTITY_LIMIT = 4096
_IDENTITY_RE = re.compile(r"^[0-9a-f]{32}$")


def identity_doc(ident: str) -> bytes:
    """The identity object's bytes for id `ident`."""
    return json.dumps({"format": IDENTITY_FORMAT, "id": ident, "features": list(FEATURES)}).encode()


def parse_identity(raw: bytes | None, url: str) -> tuple[str, int]:
    """(id, format) of an identity object's bytes."""
    try:
        doc = json.loads(raw or b"")
    except ValueError:
        doc = None
    if (
        not isinstance(doc, dict)
        or doc.get("format") not in (1, IDENTITY_FORMAT)
        or not isinstance(doc.get("id"), str)
        or not _IDENTITY_RE.match(doc["id"])
        or not isinstance(doc.get("features", []), list)
    ):
        raise CacheError(
            f"remote {redact(url)} has an unreadable {IDENTITY}",
            "delete it there: the next push writes a new one and checks every object",
        )
    unknown = [str(f) for f in doc.get("features", []) if f not in FEATURES]
    if unknown:
        raise CacheError(
            f"remote {redact(url)} uses features this version of gitartifacts does "
            f"not know: {', '.join(unknown)[:200]}",
            "upgrade gitartifacts",
        )
    return str(doc["id"]), int(doc["format"])
