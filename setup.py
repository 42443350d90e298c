"""Build step: the manual pages, generated from the click definitions and installed as data
files in <prefix>/share/man/man1, where man finds them from <prefix>/bin on PATH (so that
`git help artifacts` and `man git-artifacts-push` work). Normal and editable installs alike:
both run build's sub-commands before they install the data files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import ClassVar

from setuptools import Command, setup
from setuptools.command.build import build

HERE = Path(__file__).resolve().parent
MAN_DIR = "build/man1"  # relative to this folder, as data_files wants
# Filled by build_man; setuptools keeps this very list, so pages written then get installed.
MAN_PAGES: list[str] = []


class build_man(Command):
    """Write build/man1/*.1 from the click definitions."""

    description = "generate the manual pages from the click definitions"
    user_options: ClassVar[list[tuple[str, str | None, str]]] = []

    def initialize_options(self) -> None:
        self.editable_mode = False  # set by editable_wheel on every build sub-command

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        sys.path.insert(0, str(HERE))  # this source tree, not an installed copy
        try:
            from gitartifacts.cli import manpages
        except ImportError as exc:
            # A build without isolation (pre-commit's) may lack click or PyYAML: install the
            # package without its pages rather than fail.
            print(f"warning: manual pages not built: {exc}", file=sys.stderr)
            return
        out = HERE / MAN_DIR
        out.mkdir(parents=True, exist_ok=True)
        pages = manpages.render_all()
        # Each page is replaced whole and only pages of removed verbs are deleted, so two
        # builds of this tree at once (the same pages) never see a file missing.
        for name, text in pages.items():
            part = out / f".{name}.{os.getpid()}"
            part.write_text(text, encoding="utf-8")
            os.replace(part, out / name)
        for stale in out.glob("*.1"):
            if stale.name not in pages:
                stale.unlink()
        MAN_PAGES[:] = [f"{MAN_DIR}/{name}" for name in sorted(pages)]
        if self.editable_mode:
            # setuptools' editable_wheel asks the distribution for `has_data`, which does not
            # exist, so it never installs data files: install them into its wheel here.
            self.run_command("install_data")


class build_with_man(build):
    sub_commands: ClassVar = [*build.sub_commands, ("build_man", None)]


setup(
    cmdclass={"build": build_with_man, "build_man": build_man},
    data_files=[("share/man/man1", MAN_PAGES)],
)
