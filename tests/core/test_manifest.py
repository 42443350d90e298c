"""Manifest schema 1: canonical digest, YAML round trips, key order, validation messages."""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

import pytest
import yaml
from helpers import expected_digest, sha
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.errors import GitArtifactsError, ManifestError, UsageError

SOURCE = ".artifacts/bikes.yaml"
SCHEMA_KEYS = [
    "gitartifacts",
    "name",
    "type",
    "description",
    "metadata",
    "path",
    "digest",
    "size",
    "files",
    "ttl",
    "entries",
    "listing",
]

# A fixed example, its digest computed once from the DESIGN.md rule and written down here,
# so that any change of the rule (header, separator, order, encoding) is caught.
PINNED_ENTRIES = {
    "images/cat.png": sha(b"cat"),
    "images/dog.png": sha(b"dog"),
    "Zebra.txt": sha(b"zebra"),
    "raw/a.csv": sha(b"a,b\n1,2\n"),
    "ünïcode/é.txt": sha(b"e"),
    "a-b": sha(b""),
    "a/b": sha(b"x"),
}
PINNED_DIGEST = "sha256:9181886ae78dd14df853bd7be2d467fe9eecd6b7e196ca56fe3bb50137b76dfb"
EMPTY_DIGEST = "sha256:87b23ea4ba01b42c4b2e71d254ef3e8fb814f19e738fc2cb12b3d86e7667aca5"


def entries_of(digests: dict[str, str], size: int = 1) -> dict[str, mf.Entry]:
    return {p: mf.Entry(d, size) for p, d in digests.items()}


def sample_manifest(**overrides: Any) -> mf.Manifest:
    kwargs: dict[str, Any] = {
        "description": "Bike photos, train/val split",
        "metadata": {"source": "camera-3", "classes": 12},
        "path": "data",
        "ttl": "30d",
    }
    kwargs.update(overrides)
    return mf.build("bikes", "dataset", entries_of(PINNED_ENTRIES, 5), **kwargs)


def top_level_keys(text: str) -> list[str]:
    return [ln.split(":", 1)[0] for ln in text.splitlines() if ln and not ln.startswith(" ")]


# ---------------------------------------------------------------- canonical digest


def test_pinned_example_digest_matches_the_independent_rule_and_the_written_down_value() -> None:
    assert expected_digest(PINNED_ENTRIES) == PINNED_DIGEST
    assert mf.canonical_digest(PINNED_ENTRIES.items()) == PINNED_DIGEST


def test_built_manifest_carries_the_pinned_digest_size_and_file_count() -> None:
    m = mf.build("bikes", "dataset", entries_of(PINNED_ENTRIES, 5))
    assert m.digest == PINNED_DIGEST
    assert m.size == 5 * len(PINNED_ENTRIES)
    assert m.files == len(PINNED_ENTRIES)
    assert f"digest: {PINNED_DIGEST}\n" in mf.dumps(m)


def test_digest_of_no_entries_is_the_hash_of_the_header_alone() -> None:
    assert mf.canonical_digest([]) == EMPTY_DIGEST
    assert mf.build("empty", "dataset", {}).digest == EMPTY_DIGEST


def test_digest_sorts_paths_by_utf8_bytes_not_by_utf16_or_case() -> None:
    # U+FF61 sorts before U+1F600 in UTF-8 bytes (EF < F0) but after it in UTF-16 (FF61 > D83D).
    entries = {"\uff61": sha(b"1"), "\U0001f600": sha(b"2"), "B": sha(b"3"), "a": sha(b"4")}
    body = (
        f"B\t{sha(b'3')}\na\t{sha(b'4')}\n\uff61\t{sha(b'1')}\n\U0001f600\t{sha(b'2')}\n".encode()
    )
    want = sha(b"gitartifacts-manifest-v1\n" + body)
    assert mf.canonical_digest(entries.items()) == want == expected_digest(entries)


def test_metadata_description_ttl_and_size_do_not_change_the_digest() -> None:
    plain = mf.build("bikes", "dataset", entries_of(PINNED_ENTRIES, 1))
    dressed = mf.build(
        "bikes",
        "dataset",
        entries_of(PINNED_ENTRIES, 999),
        description="other",
        metadata={"x": 1},
        ttl="7d",
        path="elsewhere",
    )
    assert plain.digest == dressed.digest == PINNED_DIGEST


def test_changing_one_entry_digest_changes_the_artifact_digest() -> None:
    changed = dict(PINNED_ENTRIES, **{"raw/a.csv": sha(b"other")})
    assert mf.canonical_digest(changed.items()) != PINNED_DIGEST
    assert mf.canonical_digest(changed.items()) == expected_digest(changed)


# ---------------------------------------------------------------- hypothesis strategies

_SEGMENT = st.text(
    alphabet=st.characters(
        min_codepoint=32, blacklist_categories=("Cs",), blacklist_characters="/\\\x7f"
    ),
    min_size=1,
    max_size=10,
).filter(lambda s: s not in (".", "..") and s.lower() != ".git")
PATHS = st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join)
_DIGESTS = st.binary(max_size=8).map(sha)
FILE_ENTRIES = st.builds(
    mf.Entry, digest=_DIGESTS, size=st.integers(0, 2**63), ref=st.none(), version_id=st.none()
)
REF_ENTRIES = st.builds(
    mf.Entry,
    digest=st.one_of(
        st.binary(max_size=4).map(lambda b: "md5:" + hashlib.md5(b).hexdigest()),
        st.from_regex(r'etag:"[0-9a-f]{1,32}"', fullmatch=True),
        _DIGESTS,
    ),
    size=st.integers(0, 2**40),
    ref=st.from_regex(r"s3://[a-z0-9]{3,8}/[a-z0-9/._-]{1,20}", fullmatch=True),
    version_id=st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1),
)
_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
)
JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
METADATA = st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=10), JSON_VALUES, max_size=5
)
NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True).filter(
    lambda s: ".." not in s and not s.endswith((".", ".lock"))
)


def _no_file_dir_clash(entries: dict[str, mf.Entry]) -> bool:
    names = set(entries)
    for p in entries:
        parts = p.split("/")
        if any("/".join(parts[:i]) in names for i in range(1, len(parts))):
            return False
    return True


ENTRY_MAPS = st.dictionaries(PATHS, FILE_ENTRIES | REF_ENTRIES, max_size=8).filter(
    _no_file_dir_clash
)


@st.composite
def manifests(draw: st.DrawFn) -> mf.Manifest:
    return mf.build(
        draw(NAMES),
        draw(NAMES),
        draw(ENTRY_MAPS),
        description=draw(st.none() | st.text(st.characters(blacklist_categories=("Cs",)))),
        metadata=draw(METADATA),
        path=draw(st.none() | PATHS),
        ttl=draw(st.none() | st.from_regex(r"[1-9][0-9]{0,3}[smhdw]", fullmatch=True)),
    )


_SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- round trips (properties)


@_SETTINGS
@given(manifests())
@pytest.mark.slow
def test_dumps_then_loads_gives_an_equal_manifest(m: mf.Manifest) -> None:
    back = mparse.loads(mf.dumps(m), source=SOURCE)
    assert back == m


@_SETTINGS
@given(manifests())
@pytest.mark.slow
def test_loads_then_dumps_is_byte_identical(m: mf.Manifest) -> None:
    text = mf.dumps(m)
    assert mf.dumps(mparse.loads(text, source=SOURCE)) == text


@_SETTINGS
@given(ENTRY_MAPS, st.randoms(use_true_random=False))
@pytest.mark.slow
def test_digest_is_independent_of_entry_order(
    entries: dict[str, mf.Entry], rnd: random.Random
) -> None:
    pairs = [(p, e.digest) for p, e in entries.items()]
    shuffled = pairs[:]
    rnd.shuffle(shuffled)
    want = expected_digest(dict(pairs))
    assert mf.canonical_digest(pairs) == mf.canonical_digest(shuffled) == want
    rebuilt = mf.build("x", "t", dict(reversed(list(entries.items()))))
    assert rebuilt.digest == want
    assert mf.dumps(rebuilt) == mf.dumps(mf.build("x", "t", entries))


@_SETTINGS
@given(st.dictionaries(PATHS, FILE_ENTRIES, min_size=1, max_size=6).filter(_no_file_dir_clash))
@pytest.mark.slow
def test_unicode_paths_round_trip_and_keep_their_digest(entries: dict[str, mf.Entry]) -> None:
    m = mf.build("u", "t", entries)
    back = mparse.loads(mf.dumps(m), source=SOURCE)
    assert back.entries == entries
    assert back.digest == expected_digest({p: e.digest for p, e in entries.items()})


def test_known_unicode_paths_are_written_as_text_and_round_trip() -> None:
    entries = entries_of({"données/été.csv": sha(b"1"), "日本/猫.png": sha(b"2"), "a b": sha(b"3")})
    text = mf.dumps(mf.build("u", "t", entries))
    assert "données/été.csv" in text and "日本/猫.png" in text
    assert mparse.loads(text).entries == entries


# ---------------------------------------------------------------- the YAML text


def test_keys_are_written_in_schema_order() -> None:
    text = mf.dumps(sample_manifest())
    keys = top_level_keys(text)
    assert keys == [k for k in SCHEMA_KEYS if k in keys]
    assert keys == [k for k in SCHEMA_KEYS if k != "listing"]


def test_optional_keys_are_left_out_when_unset() -> None:
    m = mf.build("bikes", "dataset", entries_of({"a": sha(b"a")}))
    assert top_level_keys(mf.dumps(m)) == [
        "gitartifacts",
        "name",
        "type",
        "digest",
        "size",
        "files",
        "entries",
    ]


def test_entries_are_sorted_one_a_line_in_flow_style() -> None:
    text = mf.dumps(sample_manifest())
    entry_lines = [ln for ln in text.splitlines() if ln.startswith("  ")]
    assert len(entry_lines) == len(PINNED_ENTRIES)
    paths = [yaml.safe_load(ln.strip()).popitem()[0] for ln in entry_lines]
    assert paths == sorted(PINNED_ENTRIES, key=str.encode)
    assert all(ln.rstrip().endswith("size: 5}") for ln in entry_lines)


def test_reference_entry_keys_are_ref_digest_version_id_size_in_that_order() -> None:
    ref = mf.Entry('etag:"abc"', 2048, "s3://bucket/raw/a.csv", "3HL4kq")
    text = mf.dumps(mf.build("r", "t", {"raw/a.csv": ref}))
    node = yaml.compose(text)
    entries_node = next(v for k, v in node.value if k.value == "entries")
    ((_, entry_node),) = entries_node.value
    assert [k.value for k, _ in entry_node.value] == ["ref", "digest", "version_id", "size"]
    assert mparse.loads(text).entries == {"raw/a.csv": ref}


def test_hand_written_canonical_manifest_round_trips_byte_for_byte() -> None:
    d1, d2 = sha(b"cat"), sha(b"a")
    digest = expected_digest({"images/cat.png": d1, "raw/a.csv": d2})
    text = (
        "gitartifacts: 1\n"
        "name: bike-dataset\n"
        "type: dataset\n"
        "description: Bike photos, train/val split\n"
        "metadata: {classes: 12, source: camera-3}\n"
        "path: data/bikes\n"
        f"digest: {digest}\n"
        "size: 3282\n"
        "files: 2\n"
        "ttl: 30d\n"
        "entries:\n"
        f"  images/cat.png: {{digest: '{d1}', size: 1234}}\n"
        f"  raw/a.csv: {{digest: '{d2}', size: 2048}}\n"
    )
    m = mparse.loads(text, source=SOURCE)
    assert m.digest == digest and m.metadata == {"classes": 12, "source": "camera-3"}
    assert mf.dumps(m) == text


def test_metadata_keys_are_written_sorted_so_equal_metadata_gives_equal_text() -> None:
    a = sample_manifest(metadata={"b": 1, "a": {"y": 2, "x": 1}})
    b = sample_manifest(metadata={"a": {"x": 1, "y": 2}, "b": 1})
    assert mf.dumps(a) == mf.dumps(b)


def test_manifest_is_loaded_with_the_c_safe_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    assert hasattr(yaml, "CSafeLoader"), "PyYAML was built without libyaml"
    used: list[type] = []
    real_load = yaml.load

    def spy(stream: Any, Loader: type) -> Any:
        used.append(Loader)
        return real_load(stream, Loader=Loader)

    monkeypatch.setattr(yaml, "load", spy)
    mparse.loads(mf.dumps(sample_manifest()), source=SOURCE)
    assert used and all(issubclass(loader, yaml.CSafeLoader) for loader in used)


def test_python_object_tags_are_rejected_not_executed(tmp_path: Any) -> None:
    marker = tmp_path / "pwned"
    text = mf.dumps(sample_manifest()).replace(
        "description: Bike photos, train/val split",
        f"description: !!python/object/apply:os.system ['touch {marker}']",
    )
    with pytest.raises(ManifestError, match=re.escape(SOURCE)):
        mparse.loads(text, source=SOURCE)
    assert not marker.exists()


# ---------------------------------------------------------------- validation messages


def _valid_text() -> str:
    return mf.dumps(sample_manifest())


def _replace_line(text: str, key: str, new: str) -> str:
    out = [new if ln.startswith(key + ":") else ln for ln in text.splitlines()]
    assert out != text.splitlines(), f"no line {key}"
    return "\n".join(out) + "\n"


def _drop_line(text: str, key: str) -> str:
    return "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith(key + ":"))


BROKEN = [
    pytest.param(lambda t: t + "colour: red\n", "colour", id="unknown-key"),
    pytest.param(
        lambda t: _replace_line(t, "digest", "digest: sha256:" + "0" * 64),
        "digest",
        id="wrong-digest",
    ),
    pytest.param(
        lambda t: _replace_line(t, "digest", "digest: md5:abc"), "digest", id="malformed-digest"
    ),
    pytest.param(lambda t: _replace_line(t, "size", "size: 7"), "size", id="wrong-size"),
    pytest.param(lambda t: _replace_line(t, "files", "files: 99"), "files", id="wrong-files"),
    pytest.param(lambda t: _replace_line(t, "size", "size: -1"), "size", id="negative-size"),
    pytest.param(
        lambda t: _replace_line(t, "gitartifacts", "gitartifacts: 2"),
        "gitartifacts",
        id="future-schema",
    ),
    pytest.param(lambda t: _replace_line(t, "name", "name: bad name"), "name", id="bad-name"),
    pytest.param(lambda t: _replace_line(t, "type", "type: ../x"), "type", id="bad-type"),
    pytest.param(lambda t: _replace_line(t, "ttl", "ttl: forever"), "ttl", id="bad-ttl"),
    pytest.param(lambda t: _replace_line(t, "path", "path: ../outside"), "path", id="path-escapes"),
    pytest.param(
        lambda t: _replace_line(t, "metadata", "metadata: [1, 2]"), "metadata", id="metadata-list"
    ),
    pytest.param(lambda t: _drop_line(t, "name"), "name", id="missing-name"),
    pytest.param(lambda t: _drop_line(t, "digest"), "digest", id="missing-digest"),
    pytest.param(
        lambda t: t + "listing: sha256:" + "a" * 64 + "\n", "listing", id="entries-and-listing"
    ),
    pytest.param(
        lambda t: t.replace("  raw/a.csv:", "  ../evil.csv:"), "../evil.csv", id="entry-escapes"
    ),
    pytest.param(
        lambda t: t.replace("size: 5}", "size: 5, colour: red}", 1),
        "colour",
        id="unknown-entry-key",
    ),
    pytest.param(
        lambda t: t.replace("{digest: 'sha256:", "{digest: 'sha257:", 1),
        "sha257",
        id="bad-entry-digest",
    ),
]


@pytest.mark.parametrize(("breaker", "named"), BROKEN)
def test_invalid_manifest_error_names_the_file_the_key_and_a_fix(breaker: Any, named: str) -> None:
    text = breaker(_valid_text())
    with pytest.raises(ManifestError) as info:
        mparse.loads(text, source=SOURCE)
    err = info.value
    assert SOURCE in str(err)
    assert named in err.message
    assert err.fix, "a validation error must say how to fix it"


def test_bad_yaml_error_names_the_file_and_line() -> None:
    text = _valid_text().replace("type: dataset", "type: [dataset")
    with pytest.raises(ManifestError) as info:
        mparse.loads(text, source=SOURCE)
    assert SOURCE in info.value.message
    assert "YAML" in info.value.message
    assert info.value.fix


@pytest.mark.parametrize("text", ["", "just a string\n", "- a list\n", "42\n"])
def test_a_manifest_that_is_not_a_mapping_is_rejected(text: str) -> None:
    with pytest.raises(ManifestError, match=re.escape(SOURCE)):
        mparse.loads(text, source=SOURCE)


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "..", "a/../b", "a//b", "a/", "./a", "a\\b", ".git/config", "x/.GIT/y", "a\nb"],
)
def test_entry_paths_that_could_escape_or_touch_git_are_rejected(path: str) -> None:
    with pytest.raises(GitArtifactsError):
        mf.build("bikes", "dataset", {path: mf.Entry(sha(b"x"), 1)})
    good = mf.dumps(mf.build("bikes", "dataset", {"placeholder": mf.Entry(sha(b"x"), 1)}))
    bad = good.replace("placeholder", yaml.safe_dump(path).strip().removesuffix("...").strip())
    with pytest.raises(ManifestError):
        mparse.loads(bad, source=SOURCE)


def test_a_file_and_a_folder_of_the_same_name_are_rejected() -> None:
    with pytest.raises(GitArtifactsError, match="'a'"):
        mf.build("bikes", "dataset", {"a": mf.Entry(sha(b"1"), 1), "a/b": mf.Entry(sha(b"2"), 1)})


@pytest.mark.parametrize(
    "name", ["a", "bike-dataset", "A_1.2-x", "0", "x" * 128, "model.v2", "a.locked"]
)
def test_valid_names_are_accepted(name: str) -> None:
    assert mf.build(name, name, {}).name == name


@pytest.mark.parametrize("name", ["", ".", "..", "a b", "a/b", "a:b", "x" * 129, "ä", "a\n"])
def test_invalid_names_are_rejected(name: str) -> None:
    with pytest.raises(GitArtifactsError):
        mf.build(name, "dataset", {})


@pytest.mark.parametrize("type_", ["", "a/b", "a:b", "x" * 129, "a\n", "\x1b[2J", " a"])
def test_invalid_types_are_rejected(type_: str) -> None:
    with pytest.raises(GitArtifactsError):
        mf.build("bikes", type_, {})


def test_metadata_with_more_than_100_top_level_keys_is_rejected() -> None:
    mf.build("a", "t", {}, metadata={f"k{i}": i for i in range(100)})
    with pytest.raises(GitArtifactsError, match="100"):
        mf.build("a", "t", {}, metadata={f"k{i}": i for i in range(101)})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, object()])
def test_metadata_that_is_not_json_serialisable_is_rejected(value: object) -> None:
    with pytest.raises(GitArtifactsError):
        mf.build("a", "t", {}, metadata={"k": value})


@pytest.mark.parametrize(
    ("folder", "names", "bad"),
    [
        ("a/b", ["x", "y\\z", "w"], "a/b/y\\z"),
        ("a/b", ["x", ".git", "w"], "a/b/.git"),
        ("a/b", ["x", "..", "w"], "a/b/.."),
        ("a/b", ["x", "", "w"], "a/b/"),
        ("a/b", ["x", "tab\there"], "a/b/tab\there"),
        ("a/.GIT", ["x", "y"], "a/.GIT/x"),
        ("", ["x", "."], "."),
    ],
)
def test_a_folders_names_are_checked_as_each_of_its_paths(
    folder: str, names: list[str], bad: str
) -> None:
    with pytest.raises(UsageError) as info:
        mf.validate_entry_names(folder, names, "file name under data")
    assert str(info.value).startswith(f"invalid file name under data {bad!r}")
    mf.validate_entry_names(folder if ".GIT" not in folder else "a/b", ["x", "y.git", "..z"])


_SEGMENT = st.sampled_from(["a", ".", "..", ".git", ".Git", "", "b\\c", "d\x01", "e.git", "..f"])


@given(
    st.lists(_SEGMENT.filter(bool), max_size=3),
    st.lists(_SEGMENT, min_size=1, max_size=6),
)
def test_a_folders_check_refuses_exactly_what_the_check_of_each_path_refuses(
    folder: list[str], names: list[str]
) -> None:
    prefix = "/".join(folder)

    def refused(path: str) -> bool:
        try:
            mf.validate_entry_path(path)
        except UsageError:
            return True
        return False

    paths = [f"{prefix}/{n}" if prefix else n for n in names]
    try:
        mf.validate_entry_names(prefix, names)
    except UsageError as exc:
        first = next(p for p in paths if refused(p))
        assert str(exc).startswith(f"invalid entry path {first!r}")
    else:
        assert not any(refused(p) for p in paths)
