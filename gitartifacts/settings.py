"""Every setting, read in one place: `.gitartifacts.yaml`, `git config artifacts.*`, environment.

Nothing here runs git: callers pass the `git config` values (as `Repo.config_get_regexp`
gives them, section and variable names in lower case) and `os.environ`, and get typed
records back. Committed (`.gitartifacts.yaml`): remotes by name (URL and non-secret
options) and the default remote. Machine-local (`git config`): `artifacts.cache`,
`artifacts.directWrites`, `artifacts.link`, `artifacts.networkTimeout`, `artifacts.cacheSize`,
`artifacts.defaultRemote`, `artifacts.remote.<name>.<key>`. Environment: `GITARTIFACTS_*`
and the endpoint variables of the S3 and GCS clients. Credentials are never settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from gitartifacts.core import safeyaml
from gitartifacts.core.sizes import parse_size
from gitartifacts.errors import UsageError

CONFIG_FILE = ".gitartifacts.yaml"
CONFIG_LIMIT = 1 << 20
CACHE_ENV = "GITARTIFACTS_CACHE"
DIR_ENV = "GITARTIFACTS_DIR"
NETWORK_TIMEOUT_ENV = "GITARTIFACTS_NETWORK_TIMEOUT"
NETWORK_TIMEOUT_KEY = "artifacts.networkTimeout"
CACHE_SIZE_KEY = "artifacts.cacheSize"
LOCK_TIMEOUT_ENV = "GITARTIFACTS_LOCK_TIMEOUT"
DEFAULT_NETWORK_TIMEOUT = 120.0
DEFAULT_LOCK_TIMEOUT = 5.0
# The options a remote may carry, committed or in git config; never a credential.
REMOTE_OPTIONS = ("endpoint_url", "region", "profile")
# git config variable names allow no underscore: `artifacts.remote.<name>.endpointUrl`.
GIT_OPTION_NAMES = {k: k.replace("_", "") for k in REMOTE_OPTIONS}


@dataclass(frozen=True)
class Settings:
    """The machine-level settings of one repository: those the cache needs are read when it
    is opened; the rest when asked, so a bad value fails only the step that uses it and a
    script may still set GITARTIFACTS_DIR after opening."""

    cache_dir: Path | None  # GITARTIFACTS_CACHE, else artifacts.cache; None: inside .git
    direct_writes: bool  # artifacts.directWrites: O_DIRECT for very large files (auto: off)
    link: str | None  # artifacts.link: the default link type of a checkout
    config: Mapping[str, str] = field(repr=False, default_factory=dict)
    env: Mapping[str, str] = field(repr=False, default_factory=dict)

    @property
    def artifacts_dir(self) -> str:
        """GITARTIFACTS_DIR: where downloads go by default; a relative path is taken from the
        repository root (default `artifacts`, kept out of `git status` by the checkout)."""
        return self.env.get(DIR_ENV, "artifacts")

    @property
    def network_timeout(self) -> float:
        """GITARTIFACTS_NETWORK_TIMEOUT, else artifacts.networkTimeout."""
        return network_timeout(self.config, self.env)

    @property
    def cache_size(self) -> int | None:
        """artifacts.cacheSize: the local cache's cap in bytes (`50G`), None when unset."""
        value = self.config.get(CACHE_SIZE_KEY.lower())
        if value is None:
            return None
        return parse_size(value, f"git config {CACHE_SIZE_KEY}")


class Remote(NamedTuple):
    name: str
    url: str
    options: dict[str, str]
    source: str  # "committed", "local" (git config) or "origin" (zero-setup default)


class RemoteSettings(NamedTuple):
    """The configured remotes (each with a URL) and the default remote's name, if any."""

    remotes: dict[str, Remote]
    default: str | None


def load(config: Mapping[str, str], env: Mapping[str, str]) -> Settings:
    """The settings from `git config artifacts.*` values and the environment."""
    cache_dir = env.get(CACHE_ENV) or config.get("artifacts.cache")
    return Settings(
        cache_dir=Path(cache_dir).expanduser() if cache_dir else None,
        direct_writes=direct_policy(config.get("artifacts.directwrites")),
        link=config.get("artifacts.link"),
        config=config,
        env=env,
    )


def remote_settings(
    committed: Mapping[str, Any], config: Mapping[str, str], root: Path
) -> RemoteSettings:
    """Remotes from the committed file's mapping, overridden or added to by
    `git config artifacts.remote.<name>.*`; relative folders are relative to `root`."""
    remotes = _committed_remotes(committed)
    for key, value in config.items():
        rest = key.partition("artifacts.remote.")[2]
        name, _, opt = rest.rpartition(".")
        if not key.startswith("artifacts.remote.") or not name:
            continue
        r = remotes.get(name, Remote(name, "", {}, "local"))
        option = next((k for k, g in GIT_OPTION_NAMES.items() if g == opt.lower()), None)
        if opt == "url":
            r = r._replace(url=value)
        elif option is not None:
            r = r._replace(options={**r.options, option: value})
        remotes[name] = r
    default = config.get("artifacts.defaultremote") or committed.get("default_remote")
    for n, r in remotes.items():
        if r.url and "://" not in r.url and not os.path.isabs(r.url):
            # A relative folder in the committed file means relative to the repository root.
            remotes[n] = r._replace(url=os.path.normpath(os.path.join(root, r.url)))
    return RemoteSettings({n: r for n, r in remotes.items() if r.url}, default)


def read_committed(root: Path) -> dict[str, Any]:
    """The committed settings file as a mapping; empty when there is none."""
    try:
        text = (root / CONFIG_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return parse_committed(text)


def parse_committed(text: str, source: str = CONFIG_FILE) -> dict[str, Any]:
    """A settings file's text as a mapping, with the checks of any YAML we read."""
    import yaml

    safeyaml.check_yaml(text, source, CONFIG_LIMIT)
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UsageError(
            f"{source} is not valid YAML ({exc})", "fix or restore it with git checkout"
        ) from None
    if not isinstance(doc, dict):
        raise UsageError(f"{source} is not a mapping", "restore it with git checkout")
    return doc


def network_timeout(config: Mapping[str, str], env: Mapping[str, str]) -> float:
    """The stall limit of network steps, in seconds: the environment, else git config."""
    limit = parse_seconds(env.get(NETWORK_TIMEOUT_ENV), NETWORK_TIMEOUT_ENV)
    if limit is None:
        key = NETWORK_TIMEOUT_KEY
        limit = parse_seconds(config.get(key.lower()), key)
    return limit or DEFAULT_NETWORK_TIMEOUT


def parse_seconds(value: str | None, source: str) -> float | None:
    """Seconds from a setting, None when unset; a bad value is refused."""
    if value is None or not value.strip():
        return None
    try:
        limit = float(value)
    except ValueError:
        limit = -1.0
    if not 0 < limit <= 86_400:
        raise UsageError(
            f"{source} is {value!r}, not a number of seconds", "set it to e.g. 120 (at most 86400)"
        )
    return limit


def lock_timeout(env: Mapping[str, str]) -> float:
    """The bound on waiting for a git lock file, from GITARTIFACTS_LOCK_TIMEOUT (seconds)."""
    raw = env.get(LOCK_TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise UsageError(
            f"{LOCK_TIMEOUT_ENV} is {raw!r}", "set it to a number of seconds from 0 to 3600"
        )
    return value


def s3_endpoint(env: Mapping[str, str]) -> str | None:
    """The S3 endpoint the AWS clients take from the environment, if any."""
    return env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")


def gcs_endpoint(env: Mapping[str, str]) -> str | None:
    """The GCS emulator the gcloud clients take from the environment, if any."""
    return env.get("STORAGE_EMULATOR_HOST")


def direct_policy(value: str | None) -> bool:
    """`artifacts.directWrites`: a git boolean, or auto (unset, the default: through the page
    cache, the faster way on an idle machine: see core/largewrite)."""
    if value is None or value.strip().lower() == "auto":
        return False
    fixed = git_bool(value)
    if fixed is None:
        raise UsageError(
            f"git config artifacts.directWrites is {value!r}, which is not true, false or auto",
            "set it to auto: git config artifacts.directWrites auto",
        )
    return fixed


def git_bool(value: str) -> bool | None:
    """A git boolean (true, yes, on, 1 / false, no, off, 0, empty; any case), else None."""
    word = value.strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0", ""):
        return False
    return None


def _committed_remotes(committed: Mapping[str, Any]) -> dict[str, Remote]:
    remotes: dict[str, Remote] = {}
    for name, spec in (committed.get("remotes") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("url"), str):
            raise UsageError(
                f"{CONFIG_FILE}: remote {name!r} has no url",
                "fix it with git artifacts remote add NAME URL",
            )
        opts = {k: str(v) for k, v in spec.items() if k in REMOTE_OPTIONS}
        remotes[name] = Remote(name, spec["url"], opts, "committed")
    return remotes
