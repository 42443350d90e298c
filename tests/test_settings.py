"""settings: typed records from git config values and the environment, no git started."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitartifacts import settings
from gitartifacts.errors import UsageError


def test_defaults_when_nothing_is_set() -> None:
    s = settings.load({}, {})
    assert (s.cache_dir, s.direct_writes, s.link) == (None, False, None)
    assert (s.artifacts_dir, s.network_timeout) == ("artifacts", 120.0)


def test_environment_wins_over_git_config() -> None:
    config = {"artifacts.cache": "/c", "artifacts.networktimeout": "30"}
    env = {"GITARTIFACTS_CACHE": "/e", "GITARTIFACTS_NETWORK_TIMEOUT": "7"}
    s = settings.load(config, env)
    assert (s.cache_dir, s.network_timeout) == (Path("/e"), 7.0)
    assert settings.load(config, {}).network_timeout == 30.0


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("artifacts.directwrites", "sometimes", "artifacts.directWrites"),
        ("artifacts.networktimeout", "soon", "artifacts.networkTimeout"),
    ],
)
def test_a_bad_value_is_refused_with_its_name(key: str, value: str, named: str) -> None:
    with pytest.raises(UsageError, match=named):
        settings.load({key: value}, {}).network_timeout  # noqa: B018 - read when a step needs it


def test_git_config_overrides_and_adds_to_committed_remotes(tmp_path: Path) -> None:
    committed = {
        "remotes": {"a": {"url": "rel/folder", "region": "eu"}, "b": {"url": "s3://b/p"}},
        "default_remote": "a",
    }
    config = {
        "artifacts.remote.b.endpointurl": "http://127.0.0.1:9000",
        "artifacts.remote.Local.url": "/x",
        "artifacts.defaultremote": "b",
    }
    got = settings.remote_settings(committed, config, tmp_path)
    assert got.default == "b"
    assert got.remotes["a"].url == str(tmp_path / "rel" / "folder")
    assert got.remotes["b"].options == {"endpoint_url": "http://127.0.0.1:9000"}
    assert got.remotes["Local"] == settings.Remote("Local", "/x", {}, "local")


def test_a_committed_remote_without_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="has no url"):
        settings.remote_settings({"remotes": {"a": {}}}, {}, tmp_path)
