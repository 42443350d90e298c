"""Artifact names and types as W&B accepts them, and W&B's reserved names and types."""

from __future__ import annotations

import pytest

from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.core import names
from gitartifacts.errors import UsageError

WANDB_NAMES = [".hidden", "-x", "_private", "a..b", "x.lock", "a.", "...", "--", "x" * 128]


@pytest.mark.parametrize("name", WANDB_NAMES)
def test_names_wandb_accepts_are_accepted_and_kept_verbatim_in_the_manifest(name: str) -> None:
    assert names.validate_artifact_name(name) == name
    assert names.is_artifact_name(name)
    m = mf.build(name, "dataset", {})
    assert mparse.loads(mf.dumps(m), source="t").name == name


def test_a_name_over_128_characters_gets_wandbs_text() -> None:
    with pytest.raises(UsageError) as err:
        names.validate_artifact_name("x" * 129)
    assert err.value.message == f"Artifact name is longer than 128 characters: '{'x' * 128} ...'"


def test_a_name_with_a_slash_gets_wandbs_text() -> None:
    with pytest.raises(UsageError) as err:
        names.validate_artifact_name("a/b")
    assert err.value.message == (
        "Artifact names must not contain any of the following characters: '/'.  Got: 'a/b'"
    )


@pytest.mark.parametrize("name", ["reference model", "a:b", "ä", "a\n", "a%2E", "a\x1b"])
def test_a_name_outside_wandbs_characters_gets_wandbs_text(name: str) -> None:
    with pytest.raises(UsageError) as err:
        names.validate_artifact_name(name)
    assert err.value.message == (
        "Artifact name may only contain alphanumeric characters, dashes, underscores, and dots. "
        f"Invalid name: {name!r}"
    )
    assert not names.is_artifact_name(name)


@pytest.mark.parametrize("name", [".", "..", "", None, 3])
def test_folder_names_and_non_text_are_no_names(name: object) -> None:
    with pytest.raises(UsageError, match="invalid artifact name"):
        names.validate_artifact_name(name)
    assert not names.is_artifact_name(name)


@pytest.mark.parametrize(
    "type_", ["reference model", "dataset", "Model v2 (fp16)", "模型", "x" * 128]
)
def test_types_with_spaces_and_any_printable_text_are_accepted(type_: str) -> None:
    assert names.validate_artifact_type(type_) == type_
    m = mf.build("bikes", type_, {})
    assert mparse.loads(mf.dumps(m), source="t").type == type_


@pytest.mark.parametrize("type_", ["a/b", "a:b"])
def test_a_type_with_a_slash_or_colon_gets_wandbs_text(type_: str) -> None:
    with pytest.raises(UsageError, match="Artifact types must not contain any of the following "):
        names.validate_artifact_type(type_)


def test_a_type_over_128_characters_gets_wandbs_text() -> None:
    with pytest.raises(UsageError, match="must be less than or equal to 128 characters"):
        names.validate_artifact_type("x" * 129)


@pytest.mark.parametrize("type_", ["", "a\nb", "\x1b[2J", "a\u202eb", " model", "model ", None])
def test_types_that_would_garble_a_terminal_line_are_refused(type_: object) -> None:
    with pytest.raises(UsageError, match="invalid artifact type"):
        names.validate_artifact_type(type_)


RESERVED = [
    ("bikes", "wandb-history"),
    ("wandb-x", "wandb-"),
    ("anything", "job"),
    ("", "job"),
    ("source-train.py", "code"),
    ("run-3nq3ctyy-table", "run_table"),
]


@pytest.mark.parametrize(("name", "type_"), RESERVED)
def test_wandbs_reserved_names_and_types_are_refused_with_wandbs_text(
    name: str, type_: str
) -> None:
    with pytest.raises(UsageError) as err:
        names.check_not_reserved(name, type_)
    assert err.value.message == (
        f"Artifact type {type_!r} is reserved for internal use. Please use a different type."
    )
    assert err.value.fix


ALLOWED = [
    ("my-code", "code"),
    ("table", "run_table"),
    ("run-3nq3ctyy-bike-model", "model"),  # the walkthrough's own example
    ("wandb-name", "dataset"),  # W&B reserves the prefix for types only
    ("jobs", "jobs"),
    ("source-x", "Code"),
]


@pytest.mark.parametrize(("name", "type_"), ALLOWED)
def test_names_and_types_wandb_does_not_reserve_are_allowed(name: str, type_: str) -> None:
    names.check_not_reserved(name, type_)


def test_manifests_read_back_may_hold_reserved_types() -> None:
    m = mf.build("source-train", "code", {})
    assert mparse.loads(mf.dumps(m), source="t").type == "code"
