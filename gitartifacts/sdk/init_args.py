"""What `ga.init` is given: its arguments merged with `settings=`, checked, with one warning
line for the arguments and settings it ignores (W&B-only ones, typos)."""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitartifacts.errors import UsageError

MODES = {"online": "online", "offline": "offline", "disabled": "disabled"}
# W&B's older spellings of the modes.
MODES.update({"run": "online", "dryrun": "offline", "shared": "online"})
REINIT = ("finish_previous", "return_previous", "create_new")
# W&B settings that map to an init argument, and the argument each sets.
SETTINGS = {
    "mode": "mode",
    "project": "project",
    "entity": "entity",
    "run_name": "name",
    "run_notes": "notes",
    "run_tags": "tags",
    "run_group": "group",
    "run_job_type": "job_type",
    "run_id": "id",
    "resume": "resume",
    "root_dir": "dir",
    "save_code": "save_code",
    "reinit": "reinit",
}
# The init arguments this tool acts on (for the "did you mean" of a typo).
KNOWN = [
    *("job_type", "config", "group", "name", "id", "resume", "tags", "notes", "project"),
    *("entity", "dir", "reinit", "mode", "save_code", "settings", "allow_val_change"),
    *("config_exclude_keys", "config_include_keys"),
]


class Settings(dict[str, Any]):
    """W&B's `wandb.Settings(...)`: the keys `init` uses (`mode`, `project`, `run_name`,
    `root_dir`, ...) are honoured, any other is ignored with a warning."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(settings)

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


@dataclass
class InitArgs:
    """The arguments `init` acts on, settings merged in."""

    job_type: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    group: str | None = None
    name: str | None = None
    id: str | None = None
    resume: str | bool | None = None
    tags: list[str] = field(default_factory=list)
    notes: str | None = None
    project: str | None = None
    entity: str | None = None
    dir: str | None = None
    reinit: str = "finish_previous"
    mode: str = "online"
    save_code: bool = False


def parse(given: dict[str, Any], settings: Any, wandb_only: Mapping[str, Any]) -> InitArgs:
    """The init arguments `given` (None where not passed), with `settings` (a dict or
    `Settings`) filling what was not passed. Prints one warning line naming every ignored
    argument or setting; raises UsageError for a value it cannot use."""
    values = {k: v for k, v in given.items() if v is not None}
    ignored = [*_ignored_arguments(wandb_only)]
    for key, value in _settings_items(settings):
        target = SETTINGS.get(key)
        if target is None:
            ignored.append(f"settings[{key!r}]")
        elif value is not None:
            values.setdefault(target, value)
    if ignored:
        print(
            f"warning: gitartifacts.init() ignores {', '.join(ignored)}"
            " (unknown here, or W&B options with no meaning here)",
            file=sys.stderr,
        )
    args = InitArgs(
        job_type=values.get("job_type"),
        config=_config(values),
        group=values.get("group"),
        name=values.get("name"),
        id=values.get("id"),
        resume=values.get("resume"),
        tags=_tags(values.get("tags")),
        notes=values.get("notes"),
        project=values.get("project"),
        entity=values.get("entity"),
        dir=os.fspath(values["dir"]) if "dir" in values else None,
        reinit=_reinit(values.get("reinit")),
        mode=_mode(values.get("mode")),
        save_code=bool(values.get("save_code", False)),
    )
    _check_resume(args.resume)
    return args


# ---------------------------------------------------------------- helpers


def _ignored_arguments(wandb_only: Mapping[str, Any]) -> Iterable[str]:
    for key in wandb_only:
        close = difflib.get_close_matches(key, KNOWN, n=1, cutoff=0.8)
        yield f"{key}= (did you mean {close[0]}=?)" if close else f"{key}="


def _settings_items(settings: Any) -> Iterable[tuple[str, Any]]:
    if settings is None:
        return []
    if isinstance(settings, Mapping):
        return [(str(k), v) for k, v in settings.items()]
    found = getattr(settings, "__dict__", None)
    if isinstance(found, dict):  # another settings object: its public fields
        return [(k, v) for k, v in found.items() if not k.startswith("_")]
    raise UsageError(
        f"settings must be a dict or gitartifacts.Settings, not {type(settings).__name__}",
        "pass settings=gitartifacts.Settings(mode='offline', ...) or a dict",
    )


def _config(values: Mapping[str, Any]) -> dict[str, Any]:
    config = values.get("config") or {}
    if not isinstance(config, Mapping):
        if not hasattr(config, "__dict__"):
            raise UsageError(
                f"config must be a dict, not {type(config).__name__}", "pass config={...}"
            )
        config = vars(config)  # an argparse.Namespace, as W&B takes
    out = {str(k): v for k, v in dict(config).items()}
    include, exclude = values.get("config_include_keys"), values.get("config_exclude_keys")
    if include is not None and exclude is not None:
        raise UsageError(
            "config_include_keys and config_exclude_keys are mutually exclusive",
            "pass one of them",
        )
    if include is not None:
        out = {k: v for k, v in out.items() if k in set(include)}
    if exclude is not None:
        out = {k: v for k, v in out.items() if k not in set(exclude)}
    return out


def _tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        raise UsageError(f"tags must be a list of strings, not {tags!r}", "pass tags=[...]")
    return [str(t) for t in tags]


def _reinit(value: Any) -> str:
    if value is None or value == "default" or value is True:
        return "finish_previous"
    if value is False:
        return "return_previous"
    if value not in REINIT:
        raise UsageError(
            f"reinit={value!r} is not supported", f"use True, False or one of {', '.join(REINIT)}"
        )
    return str(value)


def _mode(value: Any) -> str:
    if value is None:
        return "online"
    if value not in MODES:
        raise UsageError(
            f"mode={value!r} is not supported", "use 'online', 'offline' or 'disabled'"
        )
    return MODES[value]


def _check_resume(resume: Any) -> None:
    if resume not in (None, False, True, "allow", "must", "never"):
        raise UsageError(f"resume={resume!r} is not supported", "use 'allow', 'must' or 'never'")
