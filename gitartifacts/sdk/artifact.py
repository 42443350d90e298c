"""`Artifact` after W&B: a draft you fill and save, or a logged version you read."""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

from gitartifacts.core import manifest as mf
from gitartifacts.core.names import (
    check_not_reserved,
    validate_artifact_name,
    validate_artifact_type,
)
from gitartifacts.core.workspace import scan as wscan
from gitartifacts.errors import UsageError, own_errors
from gitartifacts.gitmodel import publish, registry
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import LATEST, is_registry_spec, parse_registry_spec
from gitartifacts.gitmodel.resolve import Resolved, resolve
from gitartifacts.ops import add as ops_add
from gitartifacts.sdk.editable import Editable
from gitartifacts.sdk.linking import Linked
from gitartifacts.sdk.reading import Readable
from gitartifacts.sdk.records import (
    ArtifactEntry,
    ArtifactFinalizedError,
    ArtifactNotLoggedError,
)
from gitartifacts.sdk.values import Values


@own_errors
class Artifact(Editable, Readable, Linked, Values):
    """A named, typed set of files. Build a draft, then `save()`; or get a version from `Api`,
    change its aliases, tags, description, metadata or ttl, and `save()` that."""

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        incremental: bool = False,
        *,
        project: Project | None = None,
        _internal: bool = False,
    ) -> None:
        """`incremental=True`: the version this draft becomes also holds the files of the
        latest version of `name` (this draft's files replace those at the same path)."""
        validate_artifact_name(name)
        validate_artifact_type(type)
        if not _internal:  # the tool's own code artifacts and versions read back may be W&B's
            check_not_reserved(name, type)
        self._name = name
        self.type = type
        self.description = description
        self.metadata = dict(metadata or {})
        self._ttl: str | None = None
        self.tags: list[str] = []
        self._entries: dict[str, mf.Entry] = {}
        self._project = project
        self._final = False
        self._version: int | None = None
        self._commit: str | None = None
        self._digest: str | None = None
        self._path: str | None = None
        self._sources: list[str] = []  # local files and folders the entries were read from
        self.incremental = incremental
        self._with_latest = incremental  # the latest version's entries are still to be added

    # ------------------------------------------------------------------ identity

    @property
    def name(self) -> str:
        """`name:vN` once logged, as in W&B; the bare name for a draft."""
        return f"{self._name}:v{self._version}" if self._version is not None else self._name

    @property
    def collection_name(self) -> str:
        return self._name

    @property
    def version(self) -> str | None:
        return f"v{self._version}" if self._version is not None else None

    @property
    def digest(self) -> str:
        return self._digest or mf.entries_digest(self._entries)

    @property
    def size(self) -> int:
        return sum(e.size for e in self._entries.values())

    @property
    def file_count(self) -> int:
        return len(self._entries)

    @property
    def path(self) -> str | None:
        """Where the artifact lives in the workspace (None for artifacts made in Python)."""
        return self._path

    @property
    def commit_hash(self) -> str | None:
        return self._commit

    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = Project.open()
            publish.sync(self._project)
        return self._project

    def is_draft(self) -> bool:
        return not self._final

    def __repr__(self) -> str:
        return f"<Artifact {self.name} type={self.type} files={self.file_count}>"

    # ------------------------------------------------------------------ building a draft

    def add_file(
        self, local_path: str | os.PathLike[str], name: str | None = None, overwrite: bool = False
    ) -> ArtifactEntry:
        """Snapshot a file into the cache now, so later edits cannot change this artifact."""
        self._ensure_draft()
        local = os.fspath(local_path)
        if not os.path.isfile(local):
            raise UsageError(f"Path is not a file: {local!r}", "pass an existing file")
        name = name if name is not None else os.path.basename(local)
        mf.validate_entry_path(name)
        digest, size = self.project.cache.add_file(local, os.path.getsize(local))
        entry = self._put(name, mf.Entry(digest, size), overwrite)
        self._sources.append(os.path.abspath(local))
        return entry

    def add_dir(
        self, local_path: str | os.PathLike[str], name: str | None = None, merge: bool = False
    ) -> None:
        self._ensure_draft()
        local = os.fspath(local_path)
        if not os.path.isdir(local):
            raise UsageError(f"Path is not a directory: {local!r}", "pass an existing folder")
        prefix = name.strip("/") + "/" if name else ""
        if prefix:
            mf.validate_entry_path(prefix[:-1])
        scan = wscan.scan(local, sorted(os.listdir(local)), what=local)
        new = {}
        for rel, st in scan.files.items():
            digest, size = self.project.cache.add_file(os.path.join(local, rel), st[2])
            new[prefix + rel] = mf.Entry(digest, size)
        for p, e in new.items():
            self._put(p, e, merge)
        self._sources.append(os.path.abspath(local))

    def add_reference(
        self,
        uri: str | ArtifactEntry,
        name: str | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
    ) -> list[ArtifactEntry]:
        """Track `s3://`, `gs://`, `http(s)://` or `file://` objects by etag, version or checksum
        instead of copying them; a prefix expands to its objects (never truncated)."""
        self._ensure_draft()
        from gitartifacts.remote import references
        from gitartifacts.remote.remotes import reference_options

        ref = uri.ref if isinstance(uri, ArtifactEntry) else uri
        if not isinstance(ref, str) or "://" not in ref:
            raise UsageError(
                "References must be URIs. To reference a local file, use file://", "pass a URI"
            )
        found = references.resolve(
            str(ref),  # an entry's ref is a str subclass, which YAML would not write
            name,
            checksum=checksum,
            max_objects=max_objects,
            options=reference_options(self.project, ref),
        )
        return [self._put(p, e, False) for p, e in found.items()]

    @contextmanager
    def new_file(
        self, name: str, mode: str = "x", encoding: str | None = None
    ) -> Iterator[IO[Any]]:
        """Write a file straight into the artifact: `with art.new_file("a.txt") as f: ...`."""
        self._ensure_draft()
        mf.validate_entry_path(name)
        if "x" in mode and name in self._entries:
            raise UsageError(
                f"File with name {name!r} already exists at {name!r}", "use mode='w' to overwrite"
            )
        tmp = tempfile.mkdtemp(prefix="gitartifacts-")
        try:
            path = os.path.join(tmp, os.path.basename(name))
            with open(path, mode.replace("x", "w"), encoding=encoding) as f:
                yield f
            self.add_file(path, name=name, overwrite="x" not in mode)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def remove(self, item: str | ArtifactEntry) -> None:
        """Remove one entry, or every entry under a folder."""
        self._ensure_draft()
        path = item.path if isinstance(item, ArtifactEntry) else str(item).strip("/")
        gone = [p for p in self._entries if p == path or p.startswith(path + "/")]
        if not gone:
            raise FileNotFoundError(f"No such file or directory: {path}")
        for p in gone:
            del self._entries[p]

    def _put(self, path: str, entry: mf.Entry, overwrite: bool) -> ArtifactEntry:
        old = self._entries.get(path)
        if old is not None and old.digest != entry.digest and not overwrite:
            raise UsageError(
                f"Cannot add the same path twice: {path!r}", "pass overwrite=True to replace it"
            )
        self._entries[path] = entry
        return self._entry(path, entry)

    def _ensure_draft(self) -> None:
        if self._final:
            raise ArtifactFinalizedError(
                f"'{self.name}' used on logged artifact. Can't modify finalized artifact.",
                "make a new Artifact with the same name and save it for a new version",
            )

    def _built(self) -> mf.Manifest:
        """The manifest this artifact writes when saved."""
        return mf.build(
            self._name,
            self.type,
            self._entries,
            description=self.description,
            metadata=self.metadata,
            path=self._path,
            ttl=self._ttl,
        )

    # ------------------------------------------------------------------ saving

    def save(self, aliases: Sequence[str] = (), *, stage: bool = False) -> Artifact:
        """Make this draft a version now, as W&B's `save()`: a commit made with plumbing whose
        parent is HEAD (a run's commit for `Run.log_artifact`) and whose tree is the parent's
        with `.artifacts/<name>.yaml` written in; the version tag points at it. Your branch,
        index and work tree stay as they were; untracked local files you added are listed in
        `.git/info/exclude` (their bytes are in the cache now). New content gets the next
        version, `latest` and `aliases`; content already a version is that version, and
        `aliases` move to it. `version`, `commit_hash` and `digest` are set after saving.

        `stage=True` keeps the branch flow instead: `.artifacts/<name>.yaml` is written and
        staged for review, and new content becomes a version when you commit it.

        On a logged version: writes what changed (aliases, tags, description, metadata, ttl)
        as events; the digest and the version stay.
        """
        if self._final:
            self._save_edits(aliases)
            return self
        wanted = [*aliases, *(self._aliases or ())]  # aliases appended to the draft's list
        self._add_latest()
        if not stage:
            self._log(self.project.repo.head(), wanted)
            return self
        res = ops_add.save_draft(self.project, self._built(), wanted)
        if res.outcome != "new" and res.version is not None:
            commit = ver.histories(self.project)[self._name].versions.get(res.version)
            self._version, self._commit = res.version, commit
        self._digest, self._final = res.digest, True
        return self

    def _log(self, parent: str | None, aliases: Sequence[str]) -> None:
        """Record this draft as a version whose commit's parent is `parent`."""
        self._add_latest()
        done = ops_add.log_draft(
            self.project, self._built(), parent=parent, aliases=aliases, sources=self._sources
        )
        self._version, self._commit, self._digest = done.version, done.commit, self.digest
        self._final, self._aliases = True, None
        if self.tags:  # not in the manifest: the draft's tags are the version's first edit
            self._save_edits(())

    def new_draft(self) -> Artifact:
        """A draft of the same name and type holding this version's files, description and
        metadata (not its aliases, tags or ttl): change it and save it as the next version."""
        self._ensure_logged()
        art = Artifact._draft(
            self.project,
            self._name,
            self.type,
            self._entries,
            self.description,
            copy.deepcopy(self.metadata),
        )
        art._path = self._path
        return art

    def _add_latest(self) -> None:
        """For an incremental draft: take in the latest version's entries, once."""
        if not self._with_latest or self._final:
            return
        self._with_latest = False
        if self._name in ver.histories(self.project):
            base = resolve(self.project, f"{self._name}:{LATEST}").manifest.entries or {}
            self._entries = {**base, **self._entries}

    # ------------------------------------------------------------------ logged versions

    def _ensure_logged(self) -> None:
        if not self._final:
            raise ArtifactNotLoggedError(
                f"'{self.name}' used prior to logging artifact",
                "call Artifact.save() first, or get a version with Api().artifact('name:vN')",
            )

    @classmethod
    def _named(cls, project: Project, name: str, type: str | None) -> Artifact:
        """`Api.artifact`: `name:spec`, or a bare name for its latest version."""
        spec = name
        if ":" not in name and name in ver.histories(project):
            spec = f"{name}:{LATEST}"
        r = resolve(project, spec)
        if type is not None and r.manifest.type != type:
            raise UsageError(
                f"artifact {r.manifest.name!r} is of type {r.manifest.type!r}, not {type!r}",
                "drop the type argument or fix it",
            )
        art = cls._from_resolved(project, r)
        if is_registry_spec(spec):
            coll, _ = parse_registry_spec(spec)
            art._link = (coll, registry.resolve(project, spec).version)
        return art

    @classmethod
    def _draft(
        cls,
        project: Project,
        name: str,
        type: str,
        entries: dict[str, mf.Entry],
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Artifact:
        """A draft holding these entries already (a code artifact, a merged distributed one)."""
        art = cls(name, type, description, metadata, project=project, _internal=True)
        art._entries = dict(entries)
        return art

    @classmethod
    def _from_resolved(cls, project: Project, r: Resolved) -> Artifact:
        m = r.manifest
        art = cls(m.name, m.type, m.description, m.metadata, project=project, _internal=True)
        art._entries = dict(m.entries or {})
        art._ttl = m.ttl
        art._path = m.path
        art._final = True
        art._version = r.version
        art._commit = r.commit
        art._digest = m.digest
        art._remember(r.tags)
        if r.origin is not None:  # another repository's: its name says which, as specs do
            art._name = r.origin + m.name
        return art
