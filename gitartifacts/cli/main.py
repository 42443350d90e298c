"""`git artifacts`: parses options, calls gitartifacts.ops.api, prints. Nothing else lives here."""

from __future__ import annotations

import functools
import importlib
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from gitartifacts.core import diff as adiff
from gitartifacts.core import textsafe
from gitartifacts.core.progress import Progress
from gitartifacts.core.redaction import redact
from gitartifacts.core.textsafe import echo
from gitartifacts.errors import GitArtifactsError, UsageError, user_error
from gitartifacts.gitmodel import versions as ver
from gitartifacts.ops import api
from gitartifacts.project import Project
from gitartifacts.remote import config, transfer, watchdog

F = TypeVar("F", bound=Callable[..., Any])
_SHOWN_FILES = 20


class Ctx:
    def __init__(self, quiet: bool, debug: bool) -> None:
        self.quiet = quiet
        self.debug = debug
        self._project: Project | None = None

    def project(self) -> Project:
        if self._project is None:
            self._project = Project.open()
            ver.sync(self._project)
        return self._project

    def progress(self) -> Progress:
        return Progress(enabled=False) if self.quiet else Progress()

    def say(self, msg: str) -> None:
        if not self.quiet:
            echo(msg)


def _command(fn: F) -> F:
    """Run a verb with the shared context; turn our errors into one line and an exit code."""

    @click.pass_obj
    @functools.wraps(fn)
    def wrapper(ctx: Ctx, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(ctx, *args, **kwargs)
        except GitArtifactsError as exc:
            if ctx.debug:
                _traceback(exc)
            echo(redact(f"error: {textsafe.line(str(exc))}"), err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # no space, a file size limit, permissions, a bad state.db
            project = ctx._project
            err = user_error(exc, project._state_path if project is not None else None)
            if err is None or ctx.debug:
                raise
            echo(redact(f"error: {textsafe.line(str(err))}"), err=True)
            sys.exit(err.exit_code)
        finally:
            if ctx._project is not None:
                ctx._project.close()

    return wrapper  # type: ignore[return-value]


def _traceback(exc: BaseException) -> None:
    """--debug: the traceback, with every secret-looking string masked like any message."""
    import traceback

    click.echo(redact("".join(traceback.format_exception(exc))).rstrip("\n"), err=True)


def _json(data: Any) -> None:
    # Indented for a person at a terminal; compact (and C-fast) when piped to a program.
    indent = 2 if sys.stdout.isatty() else None
    # ensure_ascii: JSON escapes every control character itself, so JSON is never re-escaped.
    click.echo(json.dumps(data, indent=indent, default=str, ensure_ascii=True))


class _Main(click.Group):
    """The verb group. The runs and review verbs live in their own modules, imported only
    when one of them (or the full list, for --help) is asked for: a plain `status` or
    `push` does not pay for them."""

    extensions = ("gitartifacts.cli.runs", "gitartifacts.cli.review")

    def _load(self) -> None:
        for module in self.extensions:
            importlib.import_module(module)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is None:
            self._load()
            cmd = super().get_command(ctx, cmd_name)
        return cmd

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-q", "--quiet", is_flag=True, help="Print only errors; no progress bars.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("-C", "directory", type=click.Path(file_okay=False), help="Run as if started in DIR.")
@click.version_option(package_name="gitartifacts")
@click.pass_context
def main(ctx: click.Context, quiet: bool, debug: bool, directory: str | None) -> None:
    """Versioned data and models in Git: artifacts, versions, aliases and lineage."""
    if directory:
        try:
            os.chdir(directory)
        except OSError as exc:
            click.echo(
                f"error: cannot enter {directory}: {exc.strerror} (check the -C path)", err=True
            )
            sys.exit(2)
    ctx.obj = Ctx(quiet, debug)
    # Past a file size limit (`ulimit -f`) the kernel kills the writer with SIGXFSZ, which
    # says nothing; ignored, the write fails with EFBIG instead and is reported as an error.
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    watchdog.EXIT_ON_STALL = True  # a thread stuck in a socket must not hold the exit
    # An unexpected failure's traceback is masked like every other message.
    sys.excepthook = lambda _t, exc, _tb: _traceback(exc)


# ---------------------------------------------------------------- init


@main.command()
@click.option(
    "--hooks", "with_hooks", is_flag=True, help="Also install the git hooks (see install-hooks)."
)
@_command
def init(ctx: Ctx, with_hooks: bool) -> None:
    """Set up gitartifacts in this repository: config file, fetch refspecs, notes settings,
    readable `git diff` of manifests, and, with --hooks, the git hooks."""
    from gitartifacts.ops import hooks

    project = ctx.project()
    done = api.init(project)
    done += hooks.setup_textconv(project)
    if with_hooks:
        done += hooks.install(project)
    elif done:
        done.append(
            "tip: git artifacts install-hooks uploads content on git push and updates data on checkout"
        )
    ctx.say("\n".join(done) if done else "already set up")


# ---------------------------------------------------------------- add


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


@main.command()
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
    "-f", "--force", is_flag=True, help="Move the artifact to another folder or drop its folders."
)
@_command
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
    force: bool,
) -> None:
    """Snapshot files and folders as a version of artifact NAME.

    Several paths from one folder go into one artifact; with no path, re-snapshot the
    artifact's own files. The manifest is staged: commit it to make the version.
    """
    if code_:
        art = api.add_code(ctx.project(), paths[0] if paths else ".", name, aliases)
        dirty = ", dirty" if art.metadata.get("dirty") else ""
        ctx.say(
            f"{name}: staged code artifact pinning {art.metadata['commit'][:12]} ({art.file_count} files{dirty})"
        )
        return
    r = api.add(
        ctx.project(),
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
        progress=ctx.progress(),
    )
    summary = f"{r.files} files, {adiff.human_size(r.size)}, {r.digest[:19]}"
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


# ---------------------------------------------------------------- status


@main.command()
@click.argument("names", nargs=-1)
@click.option("--check", is_flag=True, help="Exit 1 when anything differs.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-a", "--all-files", is_flag=True, help="List every changed file.")
@_command
def status(ctx: Ctx, names: tuple[str, ...], check: bool, as_json: bool, all_files: bool) -> None:
    """Workspace and manifests against the committed versions."""
    rows = api.status(ctx.project(), names)
    if as_json:
        _json([{**r._asdict(), "clean": r.clean} for r in rows])
    else:
        if not rows:
            ctx.say(
                "no artifacts yet (add one with git artifacts add PATH --name NAME --type TYPE)"
            )
        for r in rows:
            _print_status(ctx, r, all_files)
    if any(r.error for r in rows):
        sys.exit(2)
    if check and any(not r.clean for r in rows):
        sys.exit(1)


def _print_status(ctx: Ctx, r: api.ArtifactStatus, all_files: bool) -> None:
    label = f"v{r.version}" if r.version is not None else "no version yet"
    head = f"{r.name} ({r.type}, {label})"
    if r.error:
        echo(f"error: {head}: {textsafe.line(r.error)}", err=True)
        return
    if r.clean:
        ctx.say(f"{head}: up to date")
        return
    echo(f"{head}:")
    if r.manifest != "committed":
        hints = {
            "new": "manifest not committed (git commit it)",
            "staged": "manifest staged, not committed (git commit it)",
            "modified": "manifest modified, not committed (git add and commit it)",
            "deleted": "manifest deleted",
        }
        echo(f"  {hints[r.manifest]}")
    for label_, files in (("modified", r.modified), ("added", r.added), ("deleted", r.deleted)):
        shown = files if all_files else files[:_SHOWN_FILES]
        for f in shown:
            echo(f"  {label_}: {_in(r.path, f)}")
        if len(files) > len(shown):
            echo(f"  ... and {len(files) - len(shown)} more {label_} (see --all-files)")
    if r.added or r.modified or r.deleted:
        echo(
            f"  (save with git artifacts add --name {r.name}; discard with git artifacts checkout {r.name})"
        )
    if r.not_in_cache:
        echo(f"  content not in cache: {r.not_in_cache} objects (run git artifacts pull)")


# ---------------------------------------------------------------- ls, log, show


@main.command(name="ls")
@click.option("--json", "as_json", is_flag=True)
@_command
def ls_(ctx: Ctx, as_json: bool) -> None:
    """List the artifacts of this repository."""
    rows = api.ls(ctx.project())
    if as_json:
        _json([r._asdict() for r in rows])
        return
    if not rows:
        ctx.say("no artifacts yet")
    for r in rows:
        v = f"v{r.version}" if r.version is not None else "uncommitted" if r.path else "-"
        latest = f"latest v{r.latest}" if r.latest is not None else "no versions"
        echo(
            f"{r.name:24} {r.type:12} {v:12} {latest:14} {r.files:>8} files {adiff.human_size(r.size):>10}  {r.path or ''}"
        )


@main.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@_command
def log(ctx: Ctx, name: str, as_json: bool) -> None:
    """Versions of artifact NAME, newest first."""
    rows = api.log(ctx.project(), name)
    if as_json:
        _json([r._asdict() for r in rows])
        return
    if not rows:
        ctx.say(f"{name} has no committed version yet (commit its manifest)")
    for r in rows:
        aliases = f" ({', '.join(r.aliases)})" if r.aliases else ""
        echo(
            f"v{r.version}{aliases}\n    digest {r.digest}\n    commit {r.commit[:12]}  {r.date}"
            f"\n    {r.files} files, {adiff.human_size(r.size)}"
        )


@main.command()
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True)
@click.option("-a", "--all-files", is_flag=True, help="List every entry.")
@_command
def show(ctx: Ctx, spec: str, as_json: bool, all_files: bool) -> None:
    """Details of one version: NAME, NAME:vN, NAME:ALIAS, NAME:DIGEST or REV:NAME."""
    d = api.show(ctx.project(), spec)
    if as_json:
        _json(d)
        return
    entries = d.pop("entries")
    for key in (
        "name",
        "type",
        "version",
        "aliases",
        "commit",
        "digest",
        "description",
        "path",
        "ttl",
    ):
        value = d.get(key)
        if value not in (None, [], ""):
            text = ", ".join(value) if isinstance(value, list) else str(value)
            # One line per field: a newline in a description must not forge the next field.
            echo(f"{key + ':':13}{textsafe.line(text)}")
    if d["metadata"]:
        echo(f"{'metadata:':13}{json.dumps(d['metadata'], sort_keys=True)}")
    echo(f"{'size:':13}{adiff.human_size(d['size'])} in {d['files']} files")
    items = list(entries.items())
    shown = items if all_files else items[:_SHOWN_FILES]
    for p, e in shown:
        echo(f"  {p}  {e['size']}  {textsafe.line(e['ref'] or e['digest'][:19])}")
    if len(items) > len(shown):
        echo(f"  ... and {len(items) - len(shown)} more (see --all-files)")


# ---------------------------------------------------------------- alias


@main.command()
@click.argument("spec")
@click.argument("alias_name", required=False)
@click.option("--delete", is_flag=True, help="Delete alias: NAME ALIAS or NAME:ALIAS.")
@_command
def alias(ctx: Ctx, spec: str, alias_name: str | None, delete: bool) -> None:
    """Point ALIAS at a version: git artifacts alias NAME:SPEC ALIAS."""
    project = ctx.project()
    if delete:
        name, _, a = spec.partition(":")
        a = alias_name or a
        if not a:
            raise UsageError("which alias?", "git artifacts alias --delete NAME ALIAS")
        ctx.say(api.delete_alias(project, name, a))
        return
    if not alias_name:
        raise UsageError("missing ALIAS", "git artifacts alias NAME:SPEC ALIAS")
    ctx.say(api.alias(project, spec, alias_name))


# ---------------------------------------------------------------- checkout, get, verify

_ALLOW_CHANGED = click.option(
    "--allow-changed-references",
    is_flag=True,
    help="Accept reference sources whose etag, version or size changed.",
)
_LINK = click.option(
    "--link",
    type=click.Choice(["copy", "reflink", "hardlink", "symlink"]),
    help="How files come out of the cache (default: git config artifacts.link, else copy; "
    "reflink falls back to copy).",
)


@main.command()
@click.argument("specs", nargs=-1)
@_LINK
@click.option("-f", "--force", is_flag=True, help="Overwrite local changes not saved anywhere.")
@_ALLOW_CHANGED
@_command
def checkout(
    ctx: Ctx, specs: tuple[str, ...], link: str | None, force: bool, allow_changed_references: bool
) -> None:
    """Make the workspace hold versions: all artifacts, NAME, or NAME:SPEC.

    NAME:SPEC also writes that version's manifest into .artifacts/ (and stages it).
    """
    rows = api.checkout(
        ctx.project(),
        specs,
        link=link,
        force=force,
        allow_changed_references=allow_changed_references,
        progress=ctx.progress(),
    )
    for r in rows:
        v = f"v{r.version}" if r.version is not None else "uncommitted"
        ctx.say(f"{r.name} ({v}) at {r.path}: {r.written} written, {r.deleted} removed")


@main.command()
@click.argument("spec")
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(file_okay=False),
    help="Folder (default artifacts/NAME-vN).",
)
@click.option(
    "--link", type=click.Choice(["copy", "reflink", "hardlink", "symlink"]), default="copy"
)
@click.option(
    "-f", "--force", is_flag=True, help="Replace files there whose bytes are saved nowhere."
)
@click.option("--json", "as_json", is_flag=True)
@_ALLOW_CHANGED
@_command
def get(
    ctx: Ctx,
    spec: str,
    out: str | None,
    link: str,
    force: bool,
    as_json: bool,
    allow_changed_references: bool,
) -> None:
    """Download a version into a folder (never deletes files there)."""
    target, written = api.get(
        ctx.project(),
        spec,
        out,
        link=link,
        force=force,
        allow_changed_references=allow_changed_references,
        progress=ctx.progress(),
    )
    if as_json:
        _json({"path": target, "written": written})
    else:
        ctx.say(f"{spec} -> {target} ({written} files written)")


@main.command()
@click.argument("spec")
@click.option(
    "--root",
    type=click.Path(file_okay=False),
    help="Check this folder instead of the workspace path.",
)
@click.option("--json", "as_json", is_flag=True)
@_command
def verify(ctx: Ctx, spec: str, root: str | None, as_json: bool) -> None:
    """Re-hash a version's cached objects and its files on disk; exit 1 on any problem."""
    r, problems = api.verify(ctx.project(), spec, root)
    if as_json:
        _json({"spec": spec, "ok": not problems, "problems": [p._asdict() for p in problems]})
    else:
        for p in problems:
            echo(f"{p.problem}: {p.path}")
        if not problems:
            ctx.say(f"{spec}: OK ({r.manifest.files} files, {r.manifest.digest[:19]})")
    if problems:
        sys.exit(1)


# ---------------------------------------------------------------- diff


@main.command()
@click.argument("a", required=False)
@click.argument("b", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@_command
def diff(ctx: Ctx, a: str | None, b: str | None, fmt: str, as_json: bool) -> None:
    """Changes per artifact from A to B (revisions, ranges like main...HEAD, or NAME:SPEC).

    Default: HEAD against the manifests in the work tree.
    """
    rows = api.diff(ctx.project(), a, b)
    if fmt == "markdown":
        from gitartifacts.review import markdown as review

        echo(review.to_markdown(rows), nl=False)
        return
    if as_json or fmt == "json":
        _json([adiff.to_json(d) for d in rows])
        return
    if not rows:
        ctx.say("no artifact changes")
    for d in rows:
        echo(adiff.to_text(d))


# ---------------------------------------------------------------- remotes, push, fetch, pull


@main.group()
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
@_command
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
    r = config.add(
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
@_command
def remote_list(ctx: Ctx, as_json: bool) -> None:
    """List remote caches."""
    project = ctx.project()
    remotes, default = config.load(project)
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
        origin = config.origin_cache(project)
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
        _json(rows)
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
@_command
def remote_remove(ctx: Ctx, name: str) -> None:
    """Remove remote NAME."""
    config.remove(ctx.project(), name)
    ctx.say(f"removed remote {name}")


_REMOTE = click.option(
    "-r", "--remote", "remote_name", help="Remote cache (default: the default remote)."
)
_JOBS = click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 256),
    default=transfer.JOBS,
    show_default=True,
    help="Parallel transfers.",
)


@main.command()
@_REMOTE
@click.option("--all", "all_commits", is_flag=True, help="Everything any branch or tag needs.")
@_JOBS
@click.option("--no-tags", is_flag=True, help="Upload content only; do not publish tags.")
@click.option("--git-remote", help="Git remote for tags (default: origin).")
@click.option(
    "--check-remote",
    is_flag=True,
    help="Ask the remote about every object, not only those this clone has not pushed "
    "(after objects were lost or deleted there).",
)
@_command
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
        ctx.project(),
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
    ctx.say(_pushed(r.remote, r.uploaded, r.already, r.manifests))


def _pushed(remote: str, uploaded: int, already: int, manifests: int) -> str:
    return f"pushed to {remote}: {uploaded} objects uploaded, {already} already there ({manifests} manifests)"


@main.command()
@click.argument("specs", nargs=-1)
@_REMOTE
@_JOBS
@click.option("--git-remote", help="Git remote for tags (default: origin).")
@_command
def fetch(
    ctx: Ctx, specs: tuple[str, ...], remote_name: str | None, jobs: int, git_remote: str | None
) -> None:
    """Bring tags and the content of versions (default: the work tree's) into the cache."""
    r = transfer.fetch(
        ctx.project(),
        specs,
        remote_name=remote_name,
        jobs=jobs,
        git_remote_name=git_remote,
        progress=ctx.progress(),
    )
    for m in r.messages:
        echo(m, err=True)
    ctx.say(f"fetched from {r.remote}: {r.downloaded} objects for {r.manifests} manifests")


@main.command()
@click.argument("specs", nargs=-1)
@_REMOTE
@_JOBS
@_LINK
@click.option("-f", "--force", is_flag=True, help="Overwrite local changes not saved anywhere.")
@_ALLOW_CHANGED
@_command
def pull(
    ctx: Ctx,
    specs: tuple[str, ...],
    remote_name: str | None,
    jobs: int,
    link: str | None,
    force: bool,
    allow_changed_references: bool,
) -> None:
    """fetch, then checkout."""
    fetched, rows = api.pull(
        ctx.project(),
        specs,
        remote_name=remote_name,
        jobs=jobs,
        link=link,
        force=force,
        allow_changed_references=allow_changed_references,
        progress=ctx.progress(),
    )
    for m in fetched.messages:
        echo(m, err=True)
    ctx.say(f"fetched {fetched.downloaded} objects from {fetched.remote}")
    for r in rows:
        v = f"v{r.version}" if r.version is not None else "uncommitted"
        ctx.say(f"{r.name} ({v}) at {r.path}: {r.written} written, {r.deleted} removed")


# ---------------------------------------------------------------- helpers


def _in(path: str | None, rel: str) -> str:
    return rel if path in (None, ".", "") else f"{path}/{rel}"


if __name__ == "__main__":
    main()
