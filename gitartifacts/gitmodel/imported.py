"""Import records: where an imported artifact came from, kept in its manifest's metadata.

`git artifacts import vision/bike-model:v0` writes `.artifacts/bike-model.yaml` with the
source version's entries (so the same digest) and, under the metadata key `imported_from`,
the project (name, or URL for a `<url>#` spec), its URL, the spec as asked (`bike-model:v0`
or `bike-model:latest`: what `update` follows), and the version and digest taken. The record
is committed, so it is untrusted input like any manifest: checked before it is used.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.errors import GitArtifactsError, ManifestError
from gitartifacts.gitmodel import projects
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import version_number
from gitartifacts.gitmodel.resolve import resolve

IMPORT_KEY = "imported_from"


class ImportRecord(NamedTuple):
    project: str  # the project's name here, or its URL when the spec gave the URL
    url: str
    spec: str  # `artifact:selector` in the project: what `update` follows
    version: str  # `vN` taken
    digest: str

    @property
    def origin(self) -> str:
        """How specs name the project: `NAME/` or `<url>#`."""
        return f"{self.url}#" if self.project == self.url else f"{self.project}/"

    @property
    def pinned(self) -> bool:
        """The spec names one version (`vN`), which `update` keeps unless told otherwise."""
        return version_number(self.spec.partition(":")[2]) is not None

    def as_metadata(self) -> dict[str, str]:
        return self._asdict()


def record_of(m: mf.Manifest) -> ImportRecord | None:
    """The import record of a manifest, None when it was not imported; a malformed one is
    refused."""
    raw: Any = m.metadata.get(IMPORT_KEY)
    if raw is None:
        return None
    fields = ImportRecord._fields
    if not isinstance(raw, dict) or set(raw) != set(fields):
        raise _bad(m, f"it needs exactly the keys {', '.join(fields)}")
    if not all(isinstance(raw[k], str) for k in fields):
        raise _bad(m, "every value is a string")
    rec = ImportRecord(**{k: raw[k] for k in fields})
    name, _, selector = rec.spec.partition(":")
    if not mf.NAME_RE.match(name) or not selector or "/" in selector:
        raise _bad(m, f"spec {rec.spec!r} is not artifact:version-or-alias")
    if not mf.VERSION_RE.match(rec.version) or not mf.SHA256_RE.match(rec.digest):
        raise _bad(m, "version is vN and digest is sha256:<64 hex>")
    if rec.project != rec.url:
        projects.check_name(rec.project)
    return rec


def moved_on(project: Project, m: mf.Manifest) -> str | None:
    """A line saying the source of an imported artifact names another version now, from the
    mirror as last fetched (no network); None when it has not moved, is pinned, or is not
    known here."""
    try:
        rec = record_of(m)
        if rec is None or rec.pinned:
            return None
        source = projects.source_of(project.root, rec.origin)
        if not (projects.mirror_dir(project, source) / "HEAD").is_file():
            return None
        mirror = projects.open_mirror(project, source)
        try:
            now = resolve(mirror, rec.spec, entries=False)
        finally:
            mirror.close()
    except GitArtifactsError:
        return None
    if now.manifest.digest == rec.digest:
        return None
    label = f"v{now.version}" if now.version is not None else now.manifest.digest[:19]
    return (
        f"source {rec.origin}{rec.spec} is {label} now, imported {rec.version}"
        f" (git artifacts update {m.name})"
    )


def _bad(m: mf.Manifest, why: str) -> ManifestError:
    return ManifestError(
        f"{mf.manifest_path(m.name)}: metadata {IMPORT_KEY} is malformed: {why}",
        "restore it with git checkout, or import the artifact again",
    )
