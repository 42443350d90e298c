"""The verbs that make versions: init, add, alias."""

from __future__ import annotations

import json
from typing import Any

import click

from gitartifacts.cli.context import Ctx, command
from gitartifacts.core import diff as adiff
from gitartifacts.core.textsafe import count
from gitartifacts.errors import UsageError
from gitartifacts.ops import add as ops_add
from gitartifacts.ops import alias as ops_alias
from gitartifacts.ops import cachecap
from gitartifacts.ops import init as ops_init


@click.command()
@click.option(
    "--hooks", "with_hooks", is_flag=True, help="Also install the git hooks (see install-hooks)."
)
@command
def init(ctx: Ctx, with_hooks: bool) -> None:
    """Set up gitartifacts in this repository: config file, fetch refspecs, notes settings,
    readable `git diff` of manifests, and, with --hooks, the git hooks."""
    from gitartifacts.ops import hooks

    project = ctx.project()
    done = ops_init.init(project)
    done += hooks.setup_textconv(project)
    if with_hooks:
        done += hooks.install(project)
    elif done:
        done.append(
            "tip: git artifacts install-hooks uploads content on git push"
            " and updates data on checkout"
        )
    ctx.say("\n".join(done) if done else "already set up")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-n", "--name", required=True, help="Artifact name.")
@click.option(
    "-t", "--type", "type_", help="Artifact type, e.g. dataset or model (required when new)."
)
@click.option("-d", "--description", help="Free text.")
@click.option("-m", "--metadata", multiple=True, help="JSON object or key=value; repeatable.")
@click.option(
    "-a", "--alias", "aliases", multiple=True, help="Alias to set on this version; repeatable."
)
@click.option("--ttl", help="Time to live, e.g. 30d.")
@click.option(
    "--ref",
    "refs",
    multiple=True,
    metavar="[NAME=]URI",
    help="Reference s3://, gs://, http(s):// or file:// instead of copying; repeatable.",
)
@click.option(
    "--no-checksum", is_flag=True, help="References: record the URI only, not an etag or checksum."
)
@click.option(
    "--max-objects",
    type=click.IntRange(1),
    help="References: fail when a prefix holds more objects.",
)
@click.option(
    "--code",
    "code_",
    is_flag=True,
    help="A code artifact pinning HEAD: tracked files under PATH (default .), no upload.",
)
@click.option(
    "--prefix",
    default="",
    metavar="NAME",
    help="Put the entries under NAME/ (W&B's add_dir(path, name=NAME)).",
)
@click.option(
    "-f", "--force", is_flag=True, help="Move the artifact to another folder or drop its folders."
)
@command
def add(
    ctx: Ctx,
    paths: tuple[str, ...],
    name: str,
    type_: str | None,
    description: str | None,
    metadata: tuple[str, ...],
    aliases: tuple[str, ...],
    ttl: str | None,
    refs: tuple[str, ...],
    no_checksum: bool,
    max_objects: int | None,
    code_: bool,
    prefix: str,
    force: bool,
) -> None:
    """Snapshot files and folders as a version of artifact NAME.

    One folder becomes the artifact: `add data/bikes` stores data/bikes/cat.png as cat.png
    (W&B's add_dir). Several paths from one folder, or single files, are stored by their
    names. With no path, re-snapshot the artifact's own files. The manifest is staged:
    commit it to make the version.
    """
    if code_:
        art = ops_add.add_code(ctx.project(), paths[0] if paths else ".", name, aliases)
        dirty = ", dirty" if art.metadata.get("dirty") else ""
        ctx.say(
            f"{name}: staged code artifact pinning {art.metadata['commit'][:12]}"
            f" ({count(art.files, 'file')}{dirty})"
        )
        return
    project = ctx.project()
    with cachecap.capped(project) as said:
        r = ops_add.add(
            project,
            paths,
            name=name,
            type=type_,
            description=description,
            metadata=_parse_metadata(metadata),
            aliases=aliases,
            ttl=ttl,
            refs=refs,
            checksum=not no_checksum,
            max_objects=max_objects,
            force=force,
            prefix=prefix,
            progress=ctx.progress(),
        )
    ctx.warn(said)
    ctx.detail(f"{r.name}: digest {r.digest}, manifest {r.manifest}")
    summary = f"{count(r.files, 'file')}, {adiff.human_size(r.size)}, {r.digest[:19]}"
    if r.outcome == "unchanged":
        where = f"still v{r.version}" if r.version is not None else "not committed yet"
        ctx.say(f"{r.name}: unchanged, {where} ({summary})")
    elif r.outcome == "existing":
        ctx.say(
            f"{r.name}: same content as v{r.version}; latest now points to v{r.version} ({summary})"
        )
    else:
        ctx.say(
            f"{r.name}: staged {r.manifest} ({summary}); it becomes v{r.version} when you commit it"
        )


@click.command()
@click.argument("spec")
@click.argument("alias_name", required=False)
@click.option("--delete", is_flag=True, help="Delete alias: NAME ALIAS or NAME:ALIAS.")
@command
def alias(ctx: Ctx, spec: str, alias_name: str | None, delete: bool) -> None:
    """Point ALIAS at a version: git artifacts alias NAME:SPEC ALIAS."""
    project = ctx.project()
    if delete:
        name, _, a = spec.partition(":")
        a = alias_name or a
        if not a:
            raise UsageError("which alias?", "git artifacts alias --delete NAME ALIAS")
        ctx.say(ops_alias.delete_alias(project, name, a))
        return
    if not alias_name:
        raise UsageError("missing ALIAS", "git artifacts alias NAME:SPEC ALIAS")
    ctx.say(ops_alias.alias(project, spec, alias_name))


def _parse_metadata(values: tuple[str, ...]) -> dict[str, Any] | None:
    if not values:
        return None
    meta: dict[str, Any] = {}
    for v in values:
        s = v.strip()
        if s.startswith("{"):
            try:
                parsed = json.loads(s)
            except json.JSONDecodeError as exc:
                raise UsageError(
                    f"--metadata is not valid JSON: {exc.msg}", "pass a JSON object or key=value"
                ) from None
            if not isinstance(parsed, dict):
                raise UsageError("--metadata JSON must be an object", "wrap it in {...}")
            meta.update(parsed)
            continue
        key, eq, raw = s.partition("=")
        if not eq or not key:
            raise UsageError(
                f"--metadata {v!r} is neither JSON nor key=value", "e.g. --metadata classes=12"
            )
        try:
            meta[key] = json.loads(raw)
        except json.JSONDecodeError:
            meta[key] = raw
    return meta


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {
    "init": init,
    "add": add,
    "alias": alias,
}
