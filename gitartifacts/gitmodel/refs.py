"""The ref grammar: every ref name gitartifacts writes or reads is built and parsed here.

  refs/tags/artifacts/<name>/v<N>          version N: the commit that first held a digest
  refs/tags/artifacts/<name>/<alias>       alias: moved on re-alias; `latest` kept by the tool
  refs/artifacts/remotes/<remote>/tags/<name>/<label>   a remote's tags, as last fetched
  refs/tags/registry/<collection>/v<N>     registry link N (a blob); its aliases beside it
  refs/artifacts/pins/<commit>             keeps a code artifact's commit reachable
  refs/notes/artifacts                     run records and events (git notes)
  refs/notes/remotes/<remote>/artifacts    a remote's notes, as last fetched
  refs/notes/artifacts-tmp/<unique>        a notes commit while it is written

Specs name a registry link as `registry/<collection>:<vN or alias>`.

An artifact name is written in a ref as `name_component(name)`: each '.' git refuses there
(leading, trailing, doubled, or starting a final `.lock`) becomes `%2E`. W&B names hold no
'%', so this is reversible, and every name valid before (letter or digit first, no '..', no
'.' or '.lock' at the end) is its own component. A component read back is taken only if it
decodes to a valid name that encodes to exactly it.
"""

from __future__ import annotations

import re

from gitartifacts.core import manifest as mf
from gitartifacts.core import names

TAG_PREFIX = "refs/tags/artifacts/"
TRACKING_PREFIX = "refs/artifacts/remotes/"
REGISTRY_PREFIX = "refs/tags/registry/"
PIN_PREFIX = "refs/artifacts/pins/"
NOTES_REF = "refs/notes/artifacts"
NOTES_TRACKING_PREFIX = "refs/notes/remotes/"
NOTES_TMP_PREFIX = "refs/notes/artifacts-tmp/"
REGISTRY_SPEC_PREFIX = "registry/"
LATEST = "latest"
# The namespaces a ref snapshot holds: ours, and notes.
SNAPSHOT_SPACES = ("refs/tags/artifacts", "refs/artifacts", "refs/tags/registry", "refs/notes")
# Pushed and fetched as they are (on fetch the remote's win): registry links and pins.
_MIRRORED = (REGISTRY_PREFIX, PIN_PREFIX)
ESCAPED_DOT = "%2E"
# A '.' git refuses in a ref component: first, after another '.', last, or opening `.lock$`.
_REFUSED_DOT_RE = re.compile(r"^\.|(?<=\.)\.|\.$|\.(?=lock$)")


# ---------------------------------------------------------------- version and alias tags


def version_ref(name: str, n: int) -> str:
    return f"{TAG_PREFIX}{name_component(name)}/v{n}"


def alias_ref(name: str, alias: str) -> str:
    return f"{TAG_PREFIX}{name_component(name)}/{alias}"


def parse_ref(ref: str) -> tuple[str, str] | None:
    """(name, 'vN' or alias) of an artifact tag, or None (also for a component that is no
    name: refs arrive from remotes)."""
    if not ref.startswith(TAG_PREFIX):
        return None
    component, _, label = ref[len(TAG_PREFIX) :].rpartition("/")
    name = parse_name_component(component)
    return (name, label) if name is not None and label else None


def name_component(name: str) -> str:
    """The ref component of a valid artifact name (the name itself unless git refuses it)."""
    return _REFUSED_DOT_RE.sub(ESCAPED_DOT, names.validate_artifact_name(name))


def parse_name_component(component: str) -> str | None:
    """The artifact name a ref component encodes, or None if it encodes none canonically."""
    name = component.replace(ESCAPED_DOT, ".")
    if not names.is_artifact_name(name) or _REFUSED_DOT_RE.sub(ESCAPED_DOT, name) != component:
        return None
    return name


def version_number(label: str) -> int | None:
    """N of a version label `vN`, or None for an alias."""
    return int(label[1:]) if mf.VERSION_RE.match(label) else None


def version_label(n: int | None) -> str | None:
    """The one spelling of version N for people and JSON alike: `vN` (None stays None)."""
    return None if n is None else f"v{n}"


# ---------------------------------------------------------------- a remote's tags, as fetched


def tracking_prefix(remote: str) -> str:
    return f"{TRACKING_PREFIX}{remote}/tags/"


def tracking_ref(remote: str, tag_ref: str) -> str:
    """Where the remote's copy of our tag `tag_ref` is tracked."""
    return tracking_prefix(remote) + tag_ref[len(TAG_PREFIX) :]


def tracked_tag(remote: str, ref: str) -> str:
    """Our tag ref that the tracking ref `ref` of `remote` mirrors."""
    return TAG_PREFIX + ref[len(tracking_prefix(remote)) :]


def parse_tracking(ref: str) -> tuple[str, str] | None:
    """(remote, our tag ref) of a tracking ref, or None."""
    if not ref.startswith(TRACKING_PREFIX):
        return None
    remote, sep, rest = ref[len(TRACKING_PREFIX) :].partition("/tags/")
    return (remote, TAG_PREFIX + rest) if sep and remote else None


def fetch_refspec(remote: str) -> str:
    """Brings the remote's artifact tags into its tracking namespace, never over ours."""
    return f"+{TAG_PREFIX}*:{tracking_prefix(remote)}*"


def mirror_refspecs() -> list[str]:
    """Fetch refspecs of the refs taken as they are: registry links and pins."""
    return [f"+{p}*:{p}*" for p in _MIRRORED]


def mirror_patterns() -> list[str]:
    """ls-remote patterns of the refs taken as they are."""
    return [f"{p}*" for p in _MIRRORED]


def mirror_spaces() -> list[str]:
    """for-each-ref prefixes of the refs taken as they are."""
    return [p.rstrip("/") for p in _MIRRORED]


# ---------------------------------------------------------------- registry links and pins


def registry_ref(collection: str, label: str) -> str:
    return f"{REGISTRY_PREFIX}{collection}/{label}"


def registry_space(collection: str) -> str:
    """The for-each-ref prefix of one collection's links and aliases."""
    return f"{REGISTRY_PREFIX}{collection}"


def is_registry_spec(spec: str) -> bool:
    return spec.startswith(REGISTRY_SPEC_PREFIX)


def parse_registry_spec(spec: str) -> tuple[str, str]:
    """(collection, 'vN' or alias, `latest` if none) of `registry/<collection>[:<label>]`."""
    coll, _, label = spec[len(REGISTRY_SPEC_PREFIX) :].partition(":")
    return coll, label or LATEST


def label_of(ref: str) -> str:
    """The last part of a ref: the version label or alias of a tag or registry link."""
    return ref.rsplit("/", 1)[1]


def pin_ref(commit: str) -> str:
    return f"{PIN_PREFIX}{commit}"


# ---------------------------------------------------------------- notes


def notes_tracking_ref(remote: str) -> str:
    return f"{NOTES_TRACKING_PREFIX}{remote}/artifacts"


def notes_fetch_refspec(remote: str) -> str:
    return f"+{NOTES_REF}:{notes_tracking_ref(remote)}"


def notes_tmp_ref(unique: str) -> str:
    return f"{NOTES_TMP_PREFIX}{unique}"
