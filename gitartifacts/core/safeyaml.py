"""Untrusted YAML (manifests, committed configuration) parsed safely and at bounded cost."""

from __future__ import annotations

import contextlib
from typing import Any

import yaml

from gitartifacts.errors import ManifestError

# Bounds on what untrusted YAML may cost (manifests arrive in pull requests): its size, the
# aliases in it and the nodes they expand to.
MAX_MANIFEST_BYTES = 16 << 20
MAX_YAML_ALIASES = 64
MAX_YAML_NODES = 1 << 20
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, source: str, limit: int = MAX_MANIFEST_BYTES) -> Any:
    """Untrusted YAML (a manifest, committed configuration) parsed safely and at bounded
    cost: at most `limit` bytes, `MAX_YAML_ALIASES` aliases expanding to at most
    `MAX_YAML_NODES` nodes (a few hundred bytes of "billion laughs" would otherwise take
    all memory). Errors are ManifestErrors naming `source`."""
    fix = "restore the file with git checkout or re-run git artifacts add"
    try:
        check_yaml(text, source, limit)
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ManifestError(
            f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})", fix
        ) from None
    except RecursionError:
        raise ManifestError(f"{source}: nested too deeply", fix) from None


def check_yaml(text: str | bytes, source: str, limit: int = MAX_MANIFEST_BYTES) -> None:
    """Refuse YAML that would cost too much to build (see `load_yaml`), before a loader
    builds it; the YAML parser's own errors are left to that loader."""
    if len(text) > limit:
        raise ManifestError(
            f"{source}: larger than {limit >> 20} MiB",
            "restore the file with git checkout or re-run git artifacts add",
        )
    if (text.find("*") if isinstance(text, str) else text.find(b"*")) >= 0:  # alias needs one
        # Not valid YAML: the loader reports it with its line.
        with contextlib.suppress(yaml.YAMLError):
            _check_aliases(text, source)


def _check_aliases(text: str | bytes, source: str) -> None:
    """Count aliases and the nodes they stand for, from the parser's events, before
    anything is built."""
    sizes: dict[str, int] = {}  # anchor -> nodes under it, aliases expanded
    starts: list[tuple[str | None, int]] = []  # open collections: (anchor, nodes before)
    nodes = aliases = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            nodes += sizes.get(event.anchor or "", 1)
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            nodes += 1
            starts.append((event.anchor, nodes))
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, before = starts.pop()
            if anchor:
                sizes[anchor] = nodes - before + 1
        if aliases > MAX_YAML_ALIASES or nodes > MAX_YAML_NODES:
            raise ManifestError(
                f"{source}: YAML aliases expand too far (more than {MAX_YAML_ALIASES} aliases "
                f"or {MAX_YAML_NODES} nodes)",
                "write the values out instead of using anchors and aliases",
            )
