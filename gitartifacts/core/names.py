"""Artifact names and types as W&B accepts them, and the names and types W&B reserves.

A name is W&B's `^[a-zA-Z0-9_\\-.]+$` of at most 128 characters (so `.hidden`, `-x` and
`_private` are names); `.` and `..` alone are refused because they name folders. A type is
any printable text of at most 128 characters without `/` or `:` (so `reference model` is a
type). Error texts are W&B's where W&B has one. Git's ref rules are not checked here: the ref
grammar (`gitmodel/refs.py`) escapes what git refuses.
"""

from __future__ import annotations

import re

from gitartifacts.errors import UsageError

MAX_LENGTH = 128
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}\Z")
# Names a folder path already means: never an artifact's name.
FOLDER_NAMES = frozenset({".", ".."})
RESERVED_TYPE_PREFIX = "wandb-"
# W&B's own artifacts: every name of type `job`, `run-*` tables, `source-*` code.
RESERVED_NAME_PREFIX_BY_TYPE = {"job": "", "run_table": "run-", "code": "source-"}

_NAME_FIX = "use 1-128 letters, digits, '-', '_' or '.'"
_TYPE_FIX = "use up to 128 printable characters other than '/' and ':', e.g. dataset or model"


def is_artifact_name(value: object) -> bool:
    """True for a valid artifact name (no exception: for names read from git or a remote)."""
    return isinstance(value, str) and bool(NAME_RE.match(value)) and value not in FOLDER_NAMES


def validate_artifact_name(value: object) -> str:
    """An artifact name, or a UsageError with W&B's text."""
    if not isinstance(value, str) or not value:
        raise UsageError(f"invalid artifact name {value!r}", _NAME_FIX)
    if len(value) > MAX_LENGTH:
        shown = f"{value[:MAX_LENGTH]} ..."
        raise UsageError(
            f"Artifact name is longer than {MAX_LENGTH} characters: {shown!r}", _NAME_FIX
        )
    if "/" in value:
        raise UsageError(
            f"Artifact names must not contain any of the following characters: '/'.  "
            f"Got: {value!r}",
            _NAME_FIX,
        )
    if not NAME_RE.match(value):
        raise UsageError(
            "Artifact name may only contain alphanumeric characters, dashes, underscores, "
            f"and dots. Invalid name: {value!r}",
            _NAME_FIX,
        )
    if value in FOLDER_NAMES:
        raise UsageError(
            f"invalid artifact name {value!r}", "'.' and '..' name folders; choose another name"
        )
    return value


def validate_artifact_type(value: object) -> str:
    """An artifact type, or a UsageError (W&B's text for '/', ':' and the length)."""
    if not isinstance(value, str) or not value:
        raise UsageError(f"invalid artifact type {value!r}", _TYPE_FIX)
    if "/" in value or ":" in value:
        raise UsageError(
            f"invalid artifact type {value!r}: Artifact types must not contain any of the "
            "following characters: '/', ':'",
            _TYPE_FIX,
        )
    if len(value) > MAX_LENGTH:
        raise UsageError(
            f"invalid artifact type {value[:MAX_LENGTH]!r}...: Artifact types must be less "
            f"than or equal to {MAX_LENGTH} characters",
            _TYPE_FIX,
        )
    # A type is printed on terminal lines: no control, format or line-breaking characters.
    if not value.isprintable() or value != value.strip():
        raise UsageError(
            f"invalid artifact type {value!r}: control characters or surrounding spaces",
            _TYPE_FIX,
        )
    return value


def check_not_reserved(name: str, type: str) -> None:
    """Refuse what W&B keeps for its own artifacts, with W&B's text.

    Only where a user names an artifact (the SDK, `git artifacts add`): the tool's own code
    artifacts are `source-*` of type `code`, and manifests read back keep what they hold."""
    prefix = RESERVED_NAME_PREFIX_BY_TYPE.get(type)
    if type.startswith(RESERVED_TYPE_PREFIX) or (prefix is not None and name.startswith(prefix)):
        raise UsageError(
            f"Artifact type {type!r} is reserved for internal use. Please use a different type.",
            _reserved_fix(type),
        )


def _reserved_fix(type: str) -> str:
    if type.startswith(RESERVED_TYPE_PREFIX):
        return f"types starting with {RESERVED_TYPE_PREFIX!r} are W&B's own"
    if type == "job":
        return "every artifact of type 'job' is W&B's own"
    if type == "code":
        return "code artifacts named 'source-...' come from run.log_code or add --code"
    return f"{type!r} artifacts named {RESERVED_NAME_PREFIX_BY_TYPE[type]!r}... are W&B's own"
