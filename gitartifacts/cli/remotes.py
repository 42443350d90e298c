"""The remote verbs: remote add/list/remove/default/modify, push, fetch."""

from __future__ import annotations

import click

from gitartifacts.cli import options
from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.core.redaction import redact
from gitartifacts.core.textsafe import count, echo
from gitartifacts.errors import UsageError
from gitartifacts.ops import projects as project_ops
from gitartifacts.ops import remotes as remote_ops
from gitartifacts.remote import remotes as remote_config
from gitartifacts.remote import transfer


@click.group()
def remote() -> None:
    """Remote caches: a folder, s3://bucket/prefix or gs://bucket/prefix."""


@remote.command(name="add")
@click.argument("name")
@click.argument("url")
@click.option("--default", "make_default", is_flag=True, help="Use it when --remote is not given.")
@click.option("--endpoint-url", help="S3-compatible endpoint, e.g. http://127.0.0.1:9000.")
@click.option("--region", help="Bucket region.")
@click.option("--profile", help="AWS/GCP profile name (credentials stay in the profile).")
@click.option(
    "--local", "local", is_flag=True, help="Only for this clone (git config), not committed."
)
@click.option("-f", "--force", is_flag=True, help="Replace a remote of the same name.")
@click.option("--create", is_flag=True, help="Create the remote folder and its missing parents.")
@command
def remote_add(
    ctx: Ctx,
    name: str,
    url: str,
    make_default: bool,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    local: bool,
    force: bool,
    create: bool,
) -> None:
    """Add remote NAME at URL (committed in .gitartifacts.yaml unless --local)."""
    opts = {"endpoint_url": endpoint_url, "region": region, "profile": profile}
    r = remote_ops.add(
        ctx.project(),
        name,
        url,
        default=make_default,
        options={k: v for k, v in opts.items() if v},
        local=local,
        force=force,
        create=create,
    )
    where = "git config (this clone)" if r.source == "local" else ".gitartifacts.yaml (commit it)"
    ctx.say(redact(f"remote {name} -> {url} in {where}"))


@remote.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@command
def remote_list(ctx: Ctx, as_json: bool) -> None:
    """List remote caches."""
    project = ctx.project()
    remotes, default = remote_config.load(project)
    rows = [
        {
            **r._asdict(),
            "url": redact(r.url),
            "options": {k: redact(v) for k, v in r.options.items()},
            "default": r.name == default,
        }
        for r in remotes.values()
    ]
    if not rows:
        origin = remote_config.origin_cache(project)
        if origin:
            rows = [
                {
                    "name": "origin",
                    "url": origin,
                    "options": {},
                    "source": "origin",
                    "default": True,
                }
            ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        ctx.say("no remotes (git artifacts remote add NAME URL --default)")
    for row in rows:
        mark = " (default)" if row["default"] else ""
        opts = " ".join(f"{k}={v}" for k, v in row["options"].items())
        echo(
            redact(
                f"{row['name']}{mark}\t{row['url']}\t{row['source']}{'  ' + opts if opts else ''}"
            )
        )


@remote.command(name="remove")
@click.argument("name")
@command
def remote_remove(ctx: Ctx, name: str) -> None:
    """Remove remote NAME."""
    remote_ops.remove(ctx.project(), name)
    ctx.say(f"removed remote {name}")


@remote.command(name="default")
@click.argument("name", required=False)
@click.option("--local", is_flag=True, help="Only for this clone (git config), not committed.")
@click.option("--unset", is_flag=True, help="Make no remote the default.")
@command
def remote_default(ctx: Ctx, name: str | None, local: bool, unset: bool) -> None:
    """Make remote NAME the default (committed in .gitartifacts.yaml unless --local); without
    NAME, print the default."""
    if name is not None and unset:
        raise UsageError("--unset takes no remote name", "git artifacts remote default --unset")
    d = remote_ops.set_default(ctx.project(), name, local=local, unset=unset)
    where = "git config (this clone)" if d.source == "local" else ".gitartifacts.yaml"
    if name is None and not unset:
        echo(f"{d.name}\t{where}" if d.name else "no default remote")
        return
    ctx.say(f"default remote: {d.name} in {where}" if d.name else "no default remote")
    if not local and d.source == "local" and d.name != name:
        # The committed setting changed, but this clone's own setting still wins here.
        ctx.say(
            f"note: this clone's git config keeps {d.name} the default here"
            " (git artifacts remote default --local --unset)"
        )


@remote.command(name="modify")
@click.argument("name")
@click.argument("key", metavar="KEY")
@click.argument("value", required=False)
@click.option("--local", is_flag=True, help="Only for this clone (git config), not committed.")
@click.option("--unset", is_flag=True, help="Remove option KEY.")
@command
def remote_modify(
    ctx: Ctx, name: str, key: str, value: str | None, local: bool, unset: bool
) -> None:
    """Set option KEY of remote NAME to VALUE: url, endpoint_url, region or profile
    (credentials never: they come from the environment or a profile)."""
    if unset == (value is not None):
        fix = f"git artifacts remote modify {name} {key} --unset" if unset else "give a VALUE"
        raise UsageError("--unset takes no VALUE" if unset else f"no value for option {key}", fix)
    r = remote_ops.modify(ctx.project(), name, key, value, local=local)
    where = "git config (this clone)" if local else ".gitartifacts.yaml (commit it)"
    change = f"{key} unset" if value is None else f"{key} = {r.url if key == 'url' else value}"
    ctx.say(redact(f"remote {name}: {change} in {where}"))


@click.command()
@options.REMOTE
@click.option("--all", "all_commits", is_flag=True, help="Everything any branch or tag needs.")
@options.JOBS
@click.option("--no-tags", is_flag=True, help="Upload content only; do not publish tags.")
@click.option("--git-remote", help="Git remote for tags (default: origin).")
@click.option(
    "--check-remote",
    is_flag=True,
    help="Ask the remote about every object, not only those this clone has not pushed "
    "(after objects were lost or deleted there).",
)
@command
def push(
    ctx: Ctx,
    remote_name: str | None,
    all_commits: bool,
    jobs: int,
    no_tags: bool,
    git_remote: str | None,
    check_remote: bool,
) -> None:
    """Upload the content of HEAD and of unpushed commits, then publish version tags."""
    r = transfer.push(
        ctx.project(ref_snapshot=True),
        remote_name=remote_name,
        all_commits=all_commits,
        jobs=jobs,
        tags=not no_tags,
        git_remote_name=git_remote,
        progress=ctx.progress(),
        check_remote=check_remote,
    )
    for m in r.messages:
        echo(m, err=True)
    ctx.detail_remote(r.remote)
    ctx.say(_pushed(r.remote, r.uploaded, r.already, r.manifests))


def _pushed(remote: str, uploaded: int, already: int, manifests: int) -> str:
    return (
        f"pushed to {remote}: {count(uploaded, 'object')} uploaded, {already} already there"
        f" ({count(manifests, 'manifest')})"
    )


@click.command()
@click.argument("specs", nargs=-1)
@options.REMOTE
@options.JOBS
@click.option("--git-remote", help="Git remote for tags (default: origin).")
@click.option(
    "--projects", "of_projects", is_flag=True, help="Update the mirrors of projects instead."
)
@command
def fetch(
    ctx: Ctx,
    specs: tuple[str, ...],
    remote_name: str | None,
    jobs: int,
    git_remote: str | None,
    of_projects: bool,
) -> None:
    """Bring tags and the content of versions (default: the work tree's) into the cache;
    with --projects, the tags of the named projects (default: all) into their mirrors."""
    if of_projects:
        for name, refs in project_ops.fetch(ctx.project(), list(specs)):
            ctx.say(f"fetched project {name}: {refs} artifact tags")
        return
    r = transfer.fetch(
        ctx.project(ref_snapshot=True),
        specs,
        remote_name=remote_name,
        jobs=jobs,
        git_remote_name=git_remote,
        progress=ctx.progress(),
    )
    for m in r.messages:
        echo(m, err=True)
    ctx.detail_remote(r.remote)
    ctx.say(
        f"fetched from {r.remote}: {count(r.downloaded, 'object')}"
        f" for {count(r.manifests, 'manifest')}"
    )


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {
    "remote": remote,
    "push": push,
    "fetch": fetch,
}
