"""The hook and review verbs: validate, install-hooks, uninstall-hooks, hook, review, textconv."""

from __future__ import annotations

import os
import sys

import click

from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.core import diff as adiff
from gitartifacts.core.textsafe import count, echo
from gitartifacts.errors import GitArtifactsError
from gitartifacts.gitmodel import publish
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import hooks, staged
from gitartifacts.ops import inspect as ops_inspect
from gitartifacts.ops import merge as ops_merge
from gitartifacts.ops import review as ops_review
from gitartifacts.ops import validate as checks
from gitartifacts.review import checks as review_checks
from gitartifacts.review import markdown as review
from gitartifacts.settings import CONFIG_FILE

# ---------------------------------------------------------------- validate


@click.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option(
    "--data-not-committed",
    is_flag=True,
    help="Instead: refuse staged FILES (default: all staged) inside an artifact's folders or "
    "over --max-size.",
)
@click.option(
    "--max-size",
    default="5MB",
    show_default=True,
    help="With --data-not-committed: the largest file git may take (5MB, 500k, 1MiB).",
)
@click.option(
    "--pushed",
    is_flag=True,
    help="Instead: check that the remote cache holds everything the commits being pushed "
    "name (pre-push; the only check that uses the network).",
)
@click.option(
    "--rev",
    "revs",
    multiple=True,
    help="With --pushed: the commits being pushed (default: $PRE_COMMIT_TO_REF, else HEAD).",
)
@click.option(
    "--git-remote",
    help="With --pushed: the git remote pushed to (default: $PRE_COMMIT_REMOTE_NAME, else origin).",
)
@click.option("-r", "--remote", "remote_name", help="With --pushed: the remote cache.")
@click.option("--json", "as_json", is_flag=True)
@command
def validate(
    ctx: Ctx,
    files: tuple[str, ...],
    data_not_committed: bool,
    max_size: str,
    pushed: bool,
    revs: tuple[str, ...],
    git_remote: str | None,
    remote_name: str | None,
    as_json: bool,
) -> None:
    """Check manifests FILES (default: all) for pre-commit: schema, names, types, digests,
    entry paths, listings in the local cache. No network. Exit 1 on a problem.
    """
    limit = staged.parse_size(max_size)
    project = Project.open()
    findings: list[review_checks.Finding] = []
    warnings: list[str] = []
    try:
        if data_not_committed:
            findings += staged.data_not_committed(project, files, limit)
            what, fix = "staged files belong in the artifact cache", "unstage them"
        if pushed:
            report = _pushed(project, revs, git_remote, remote_name)
            findings += report.findings
            what = f"content of the commits being pushed is not on remote cache {report.remote}"
            fix = "run git artifacts push, then push again"
            if report.manifests and not report.findings:
                ctx.say(
                    f"all {count(report.objects, 'object')} of"
                    f" {count(report.manifests, 'manifest')} are on remote cache {report.remote}"
                )
        if not data_not_committed and not pushed:
            # pre-commit also passes the settings file: its remotes are warned about below.
            named = [f for f in files if project.relpath(f) != CONFIG_FILE]
            if named or not files:
                findings += checks.manifests(project, named)
            what, fix = "artifact manifests are invalid", "fix the lines named above"
        if not data_not_committed:  # before a commit, and before a push uploads anywhere
            warnings = checks.remote_warnings(project)
    finally:
        project.close()
    for w in warnings:  # not a failure: moving a remote is a legitimate change, if it is yours
        echo(w, err=True)
    if as_json:
        print_json([f._asdict() for f in findings])
    else:
        for f in findings:
            echo(str(f))
    if findings:
        raise checks.CheckFailed(f"{len(findings)} problem(s): {what}", fix)


def _pushed(
    project: Project, revs: tuple[str, ...], git_remote: str | None, remote_name: str | None
) -> checks.PushedReport:
    from gitartifacts.remote import transfer

    # pre-commit tells a pre-push hook what is pushed, and where, in its environment.
    env_rev, env_remote = (
        os.environ.get("PRE_COMMIT_TO_REF"),
        os.environ.get("PRE_COMMIT_REMOTE_NAME"),
    )
    targets = list(revs) or ([env_rev] if env_rev else ["HEAD"])
    if git_remote or not env_remote:
        gremote = transfer.git_remote(project, git_remote)
    else:  # a push to a URL names no remote
        gremote = env_remote if env_remote in project.repo.remotes() else None
    return checks.pushed(project, targets, gremote, remote_name)


# ---------------------------------------------------------------- hooks


@click.command(name="install-hooks")
@command
def install_hooks(ctx: Ctx) -> None:
    """Install git hooks: pre-push uploads content, post-checkout/post-merge update the
    workspace, post-commit tags versions. Hooks already there keep running. Also the merge
    driver for manifests (git config does not travel with a clone)."""
    for line in hooks.install(ctx.project()) + ops_merge.install_driver(ctx.project()):
        ctx.say(line)


@click.command(name="uninstall-hooks")
@command
def uninstall_hooks(ctx: Ctx) -> None:
    """Remove the hooks of install-hooks and restore the hooks they chained."""
    done = hooks.uninstall(ctx.project())
    ctx.say("\n".join(done) if done else "no gitartifacts hooks installed")


@click.command(
    name="hook",
    hidden=True,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("hook_name")
@click.argument("here")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def hook(hook_name: str, here: str, args: tuple[str, ...]) -> None:
    """Run by the installed hook scripts: HOOK_NAME HOOKS_FOLDER [GIT'S ARGS]."""
    stdin = sys.stdin.buffer.read() if hook_name == "pre-push" else b""
    sys.exit(hooks.run(hook_name, here, args, stdin))


# ---------------------------------------------------------------- review and textconv


@click.command(name="review")
@click.argument("a", required=False)
@click.argument("b", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="markdown"
)
@click.option(
    "--max-files",
    type=click.IntRange(0),
    default=review.DEFAULT_MAX_FILES,
    show_default=True,
    help="File rows per artifact; the rest are counted.",
)
@command
def review_(ctx: Ctx, a: str | None, b: str | None, fmt: str, max_files: int) -> None:
    """Changes per artifact from A to B, for a pull request (e.g. origin/main...HEAD).

    Listing objects missing locally are read from the remote cache; file content never is.
    """
    project = ops_review.ReviewProject.open()
    try:
        publish.sync(project)
        rows = ops_inspect.diff(project, a, b)
        remotes = ops_review.remote_changes(project, a, b)
    finally:
        project.close()
    if fmt == "markdown":
        echo(review.to_markdown(rows, max_files, remotes=remotes), nl=False)
        return
    for c in remotes:  # first, and on stderr beside JSON
        echo(f"warning: {CONFIG_FILE} changes where artifact content goes: {c}", err=fmt == "json")
    if fmt == "json":
        print_json([adiff.to_json(d) for d in rows])
    else:
        for d in rows:
            echo(adiff.to_text(d, limit=max_files))
        if not rows:
            ctx.say("no artifact changes")


@click.command(name="textconv")
@click.argument("file", type=click.Path(dir_okay=False))
def textconv(file: str) -> None:
    """Print a manifest as its fields and one line per entry (git's diff textconv)."""
    with open(file, encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        project: Project | None = Project.open()
    except GitArtifactsError:  # outside a repository: no listing expansion, still readable
        project = None
    try:
        echo(review.textconv(text, project.read_listing_object if project else None), nl=False)
    finally:
        if project is not None:
            project.close()


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {
    "validate": validate,
    "install-hooks": install_hooks,
    "uninstall-hooks": uninstall_hooks,
    "hook": hook,
    "review": review_,
    "textconv": textconv,
}
