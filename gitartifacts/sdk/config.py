"""A run's config and summary as W&B shows them: mappings with attribute access, and the
placeholders `ga.config` and `ga.summary` are before `ga.init`."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from gitartifacts.errors import UsageError


class Recorded(MutableMapping[str, Any]):
    """A dict with attribute access (`config.batch_size`), written with the run's record."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["_data"][key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        if key == "_data":
            super().__setattr__(key, value)
        else:
            self._data[key] = value

    def update(self, d: Any = (), /, allow_val_change: bool | None = None, **kw: Any) -> None:
        """As dict.update; `allow_val_change` is accepted for W&B scripts and changes nothing:
        a value may always change, and the record keeps the last one."""
        self._data.update(d, **kw)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __repr__(self) -> str:
        return repr(self._data)


class Placeholder:
    """`ga.config` or `ga.summary` while no run is active: any use says to call `ga.init()`
    first, as W&B's placeholder does; `repr` and `bool` work, and it is empty."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        raise self._error(f".{key}")

    def __setattr__(self, key: str, value: Any) -> None:
        if key == "_name":
            super().__setattr__(key, value)
        else:
            raise self._error(f".{key}")

    def __getitem__(self, key: str) -> Any:
        raise self._error(f"[{key!r}]")

    def __setitem__(self, key: str, value: Any) -> None:
        raise self._error(f"[{key!r}]")

    def __iter__(self) -> Iterator[str]:
        raise self._error("")

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"<{self._name}: no active run; call gitartifacts.init() first>"

    def _error(self, use: str) -> UsageError:
        return UsageError(
            f"You must call gitartifacts.init() before {self._name}{use}",
            "start a run first: run = gitartifacts.init(...)",
        )
