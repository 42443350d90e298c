"""The project verbs: project add/list/remove (other repositories whose artifacts we use),
import and update."""

from __future__ import annotations

import click

from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.core import manifest as mf
from gitartifacts.core.redaction import redact
from gitartifacts.core.textsafe import echo
from gitartifacts.ops import imports
from gitartifacts.ops import projects as project_ops


@click.group()
def project() -> None:
    """Other repositories whose artifacts specs name as NAME/artifact:spec."""


@project.command(name="add")
@click.argument("name")
@click.argument("url")
@click.option("-f", "--force", is_flag=True, help="Replace a project of the same name.")
@command
def project_add(ctx: Ctx, name: str, url: str, force: bool) -> None:
    """Add project NAME at git URL (a path, ssh or https; committed in .gitartifacts.yaml)."""
    p = project_ops.add(ctx.project(), name, url, force=force)
    ctx.say(redact(f"project {name} -> {p.url} in .gitartifacts.yaml (commit it)"))


@project.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@command
def project_list(ctx: Ctx, as_json: bool) -> None:
    """List the projects and whether each is mirrored here."""
    rows = [{**r._asdict(), "url": redact(r.url)} for r in project_ops.list_projects(ctx.project())]
    if as_json:
        print_json(rows)
        return
    if not rows:
        ctx.say("no projects (git artifacts project add NAME URL)")
    for row in rows:
        echo(f"{row['name']}\t{row['url']}\t{'mirrored' if row['mirrored'] else 'not fetched'}")


@project.command(name="remove")
@click.argument("name")
@command
def project_remove(ctx: Ctx, name: str) -> None:
    """Remove project NAME and its mirror."""
    project_ops.remove(ctx.project(), name)
    ctx.say(f"removed project {name}")


@click.command(name="import")
@click.argument("spec")
@click.option("--path", "path", help="Where its files go (default: its path in the project).")
@click.option("--as", "as_name", help="The artifact's name here (default: its name there).")
@click.option("--refresh", is_flag=True, help="Fetch the project's newest tags first.")
@click.option("--json", "as_json", is_flag=True)
@command
def import_(
    ctx: Ctx, spec: str, path: str | None, as_name: str | None, refresh: bool, as_json: bool
) -> None:
    """Import PROJECT/artifact:spec: a manifest here recording its source, and its files."""
    r = imports.import_artifact(ctx.project(), spec, path=path, as_name=as_name, refresh=refresh)
    if as_json:
        print_json(_row(r))
        return
    rec = r.record
    ctx.say(
        f"{r.name}: imported {rec.origin}{rec.spec} ({rec.version}) into {r.path};"
        f" staged {mf.manifest_path(r.name)} (commit it)"
    )


@click.command()
@click.argument("name")
@click.option("--to", "to", help="Another version or alias of the source (pins `vN`).")
@click.option("--json", "as_json", is_flag=True)
@command
def update(ctx: Ctx, name: str, to: str | None, as_json: bool) -> None:
    """Move import NAME to what its source spec names now (or to --to)."""
    r = imports.update(ctx.project(), name, to)
    if as_json:
        print_json(_row(r))
        return
    rec = r.record
    if not r.changed:
        ctx.say(f"{name}: {rec.origin}{rec.spec} is still {rec.version}; nothing to update")
        return
    ctx.say(
        f"{name}: {r.previous} -> {rec.version} of {rec.origin}{rec.spec};"
        f" staged {mf.manifest_path(name)} (commit it)"
    )


def _row(r: imports.Imported) -> dict[str, object]:
    return {
        "name": r.name,
        "path": r.path,
        "source": {**r.record._asdict(), "url": redact(r.record.url)},
        "previous": r.previous,
        "changed": r.changed,
    }


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {"project": project, "import": import_, "update": update}
