"""`edit`: change the description, metadata, tags or ttl of a logged version."""

from __future__ import annotations

import json
from typing import Any

import click

from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.errors import UsageError
from gitartifacts.ops import edit as ops_edit


@click.command()
@click.argument("spec")
@click.option("--description", help="New description ('' clears it).")
@click.option("--metadata", "metadata_json", metavar="JSON", help="Replace all metadata.")
@click.option("--set-metadata", multiple=True, metavar="KEY=VALUE", help="Set one key (repeat).")
@click.option("--unset-metadata", multiple=True, metavar="KEY", help="Remove one key (repeat).")
@click.option("--tag", multiple=True, metavar="TAG", help="Add a tag (repeat).")
@click.option("--untag", multiple=True, metavar="TAG", help="Remove a tag (repeat).")
@click.option("--ttl", metavar="DURATION", help="Time to live (30d, 12h, 2w), or 'none'.")
@click.option("--json", "as_json", is_flag=True, help="Print the values after the edit.")
@command
def edit(
    ctx: Ctx,
    spec: str,
    description: str | None,
    metadata_json: str | None,
    set_metadata: tuple[str, ...],
    unset_metadata: tuple[str, ...],
    tag: tuple[str, ...],
    untag: tuple[str, ...],
    ttl: str | None,
    as_json: bool,
) -> None:
    """Edit version NAME:SPEC in place: no new version, one event in the notes (pushed with
    `git artifacts push`). A VALUE of --set-metadata is read as JSON when it parses (12, true,
    [1,2]), else as text."""
    change = ops_edit.Change(
        description=description,
        metadata=_json_object(metadata_json) if metadata_json is not None else None,
        set_metadata=dict(_key_value(v) for v in set_metadata) or None,
        unset_metadata=unset_metadata,
        add_tags=tag,
        remove_tags=untag,
        ttl=ttl,
    )
    done = ops_edit.edit(ctx.project(), spec, change)
    if as_json:
        print_json({"name": done.name, "version": f"v{done.version}", **done.values._asdict()})
        return
    label = f"{done.name}:v{done.version}"
    if done.event is None:
        ctx.say(f"{label}: nothing to change")
        return
    changed = [k for k in ("description", "metadata", "tags", "ttl") if k in done.event]
    ctx.say(f"{label}: edited {', '.join(changed)} (see git artifacts show {label} --history)")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--metadata is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            "pass a JSON object, e.g. --metadata '{\"classes\": 12}'",
        ) from None
    if not isinstance(value, dict):
        raise UsageError(
            f"--metadata must be a JSON object, not {type(value).__name__}", "wrap it in {...}"
        )
    return value


def _key_value(text: str) -> tuple[str, Any]:
    key, eq, raw = text.partition("=")
    if not eq or not key:
        raise UsageError(f"--set-metadata {text!r} is not KEY=VALUE", "e.g. --set-metadata lr=0.1")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {"edit": edit}
