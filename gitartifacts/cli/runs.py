"""The run and lineage verbs: runs, lineage, run, link."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from gitartifacts.cli import run_show
from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.core import textsafe
from gitartifacts.core.textsafe import echo
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel import refs, registry
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import runs as run_ops
from gitartifacts.sdk.api import Api
from gitartifacts.sdk.records import version_ref
from gitartifacts.tracking import graph, lineage


@click.group(invoke_without_command=True)
@click.option("--job-type", help="Only runs of this job type.")
@click.option("--group", help="Only runs of this group.")
@click.option("--state", type=click.Choice(["running", "finished", "failed", "crashed"]))
@click.option("--order", help="Sort by a dotted field, '-' for descending, e.g. -summary.val_acc.")
@click.option("--json", "as_json", is_flag=True)
@command
def runs(
    ctx: Ctx,
    job_type: str | None,
    group: str | None,
    state: str | None,
    order: str | None,
    as_json: bool,
) -> None:
    """Recorded runs, oldest first (or by --order); `runs show ID` shows one."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    recs = lineage.select_runs(
        ctx.project(), job_type=job_type, group=group, state=state, order=order
    )
    if as_json:
        print_json([r.record for r in recs])
        return
    if not recs:
        ctx.say("no runs recorded yet (start one with gitartifacts.init or git artifacts run)")
    for r in recs:
        rec = r.record
        ins = ", ".join(_label(a) for a in rec.get("inputs", []))
        outs = ", ".join(_label(a) for a in rec.get("outputs", []))
        summary = json.dumps(rec.get("summary") or {}, sort_keys=True)
        row = (
            f"{rec['id']}  {rec.get('job_type') or '-':12} {rec.get('state'):9} "
            f"group={rec.get('group') or '-'}  in=[{ins}]  out=[{outs}]  {summary}"
        )
        echo(textsafe.line(row))  # a run record comes through git: one line, whatever it holds


runs.add_command(run_show.show)


def _label(a: dict[str, Any]) -> str:
    return f"{a.get('name')}:{a.get('version') or str(a.get('digest', ''))[7:15]}"


@click.command(name="lineage")
@click.argument("spec")
@click.option("--up", "direction", flag_value="up", help="Only what it came from.")
@click.option("--down", "direction", flag_value="down", help="Only what came from it.")
@click.option("--depth", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid", "dot", "json", "html"]),
    default="text",
    help="html: one self-contained page with the graph (and an Explode button); needs -o.",
)
@click.option(
    "--explode", is_flag=True, help="Show every node; by default large groups of one type fold."
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
@command
def lineage_(
    ctx: Ctx,
    spec: str,
    direction: str | None,
    depth: int,
    fmt: str,
    explode: bool,
    as_json: bool,
    output: str | None,
) -> None:
    """The graph of runs and artifact versions around NAME:SPEC."""
    if fmt == "html":
        _lineage_html(ctx, spec, depth, explode, output)
        return
    if output:
        raise UsageError("-o is for --format html", "redirect the output: > FILE")
    g, start = graph.graph(
        ctx.project(), spec, up=direction != "down", down=direction != "up", depth=depth
    )
    fmt = "json" if as_json else fmt
    if not explode and fmt != "json":
        g = graph.group_by_type(g, start)
    echo(graph.render(g, start, fmt))


def _lineage_html(ctx: Ctx, spec: str, depth: int, explode: bool, output: str | None) -> None:
    """The lineage page of `ui` as one file, for a CI artifact or a link in a pull request."""
    from gitartifacts.core.fsio import write_atomic
    from gitartifacts.web import graphview

    if not output:
        raise UsageError(
            "--format html needs -o FILE", f"git artifacts lineage {spec} --format html -o g.html"
        )
    data = graphview.graph_data(ctx.project(), spec, depth=depth, links=False)
    data["explode"] = explode  # which of the two graphs the page opens with
    write_atomic(Path(output), graphview.standalone(data, f"Lineage of {spec}").encode("utf-8"))
    ctx.say(f"wrote {output}")


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--job-type", help="Job type of the run, e.g. preprocess.")
@click.option("--name", "run_name", help="Run name.")
@click.option("--group", help="Run group.")
@click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    metavar="NAME:SPEC",
    help="Artifact version to check out first.",
)
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    metavar="NAME=PATH[:TYPE]",
    help="Path to save as an artifact after a zero exit.",
)
@click.option(
    "-c",
    "--config",
    "config",
    multiple=True,
    metavar="KEY=VALUE",
    help="Recorded in the run's config.",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
@command
def run(
    ctx: Ctx,
    job_type: str | None,
    run_name: str | None,
    group: str | None,
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
    config: tuple[str, ...],
    command: tuple[str, ...],
) -> None:
    """Record COMMAND as a run: inputs checked out first, outputs added after a zero exit.

    git artifacts run --job-type train -i bikes:v3 -o model=out/model.pt:model -- python train.py
    """
    project = ctx.project()
    outs = [_parse_output(o) for o in outputs]
    cfg: dict[str, Any] = {"command": list(command)}
    for kv in config:
        k, eq, v = kv.partition("=")
        if not eq:
            raise UsageError(f"--config {kv!r} is not KEY=VALUE", "e.g. -c lr=0.01")
        try:
            cfg[k] = json.loads(v)
        except json.JSONDecodeError:
            cfg[k] = v
    r = run_ops.record_command(
        project,
        command,
        job_type=job_type,
        name=run_name,
        group=group,
        inputs=inputs,
        outputs=outs,
        config=cfg,
    )
    if r.exit_code != 0:
        echo(f"run {r.run_id} failed (exit {r.exit_code}); no output versions were made", err=True)
        sys.exit(r.exit_code)
    names = ", ".join(o.name for o in outs)
    ctx.say(f"run {r.run_id} finished" + (f"; outputs: {names}" if outs else ""))


def _parse_output(spec: str) -> run_ops.Output:
    name, eq, rest = spec.partition("=")
    if not eq or not name or not rest:
        raise UsageError(f"-o {spec!r} is not NAME=PATH[:TYPE]", "e.g. -o model=out/model.pt:model")
    path, _, type_ = rest.partition(":")
    return run_ops.Output(name, path, type_ or None)


@click.command()
@click.argument("spec", required=False)
@click.argument("collection", required=False)
@click.option(
    "-a", "--alias", "aliases", multiple=True, help="Alias in the collection; repeatable."
)
@click.option("--list", "list_", is_flag=True, help="List COLLECTION (or SPEC as a collection).")
@click.option(
    "--unlink", is_flag=True, help="Remove the link SPEC (COLLECTION:vN or :ALIAS) and its aliases."
)
@click.option("--json", "as_json", is_flag=True)
@command
def link(
    ctx: Ctx,
    spec: str | None,
    collection: str | None,
    aliases: tuple[str, ...],
    list_: bool,
    unlink: bool,
    as_json: bool,
) -> None:
    """Link a version into a registry collection: git artifacts link NAME:SPEC COLLECTION."""
    project = ctx.project()
    if unlink:
        _unlink(ctx, project, spec, collection)
        return
    if list_:
        coll = registry.collection_name(collection or spec or "")
        links = registry.collection(project, coll)
        al = registry.aliases(project, coll)
        rows = [
            {
                **lk._asdict(),
                "version": f"v{n}",
                "aliases": sorted(
                    a
                    for a, sha in al.items()
                    if sha == project.repo.rev_parse(refs.registry_ref(coll, f"v{n}"))
                ),
            }
            for n, lk in sorted(links.items())
        ]
        if as_json:
            print_json(rows)
        for row in rows if not as_json else []:
            echo(
                f"{coll}:{row['version']}  -> {row['source']}:{row['source_version']}"
                f"  {row['digest'][:19]}  {', '.join(row['aliases'])}"
            )
        return
    if not spec or not collection:
        raise UsageError(
            "link needs NAME:SPEC and COLLECTION",
            "git artifacts link bike-model:best bike-detector",
        )
    art = Api(project.root).artifact(spec)
    if art.version is None:
        raise UsageError(f"{spec} is not a committed version", "commit its manifest first")
    n = registry.link(project, version_ref(art), collection, list(aliases))
    ctx.say(f"{registry.collection_name(collection)}:v{n} -> {art.name}")


def _unlink(ctx: Ctx, project: Project, spec: str | None, extra: str | None) -> None:
    if not spec or extra or ":" not in spec:
        raise UsageError(
            "link --unlink needs one COLLECTION:vN", "git artifacts link --unlink bike-detector:v0"
        )
    full = spec if refs.is_registry_spec(spec) else refs.REGISTRY_SPEC_PREFIX + spec
    coll, _ = refs.parse_registry_spec(full)
    found = registry.resolve(project, full)
    registry.unlink(project, coll, found.version)
    ctx.say(f"unlinked {coll}:v{found.version} (was {found.source}:{found.source_version})")


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {
    "runs": runs,
    "lineage": lineage_,
    "run": run,
    "link": link,
}
