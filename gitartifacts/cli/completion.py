"""Shell completion: verbs, options and artifact names for `git artifacts` and `git-artifacts`.

Click's completion machinery answers (`_GIT_ARTIFACTS_COMPLETE=bash_complete`); the scripts of
`git artifacts completion SHELL` call it from git's completion (`_git_artifacts` in bash,
`_git-artifacts` in zsh) and for the `git-artifacts` script itself.
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem

from gitartifacts.cli.help import INTERNAL

# The arguments that take an artifact NAME or NAME:SPEC, per verb: these complete names and,
# after the ':', the versions and aliases.
ARTIFACT_ARGS = {
    "status": "names",
    "log": "name",
    "show": "spec",
    "checkout": "specs",
    "get": "spec",
    "verify": "spec",
    "pull": "specs",
    "fetch": "specs",
    "alias": "spec",
    "edit": "spec",
    "delete": "specs",
    "du": "spec",
    "lineage": "spec",
    "link": "spec",
    "update": "name",
}
SHELLS = ("bash", "zsh")


class ArtifactSpec(click.types.StringParamType):
    """A string that completes as an artifact name, or after NAME: as its versions and aliases."""

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        directory = ctx.find_root().params.get("directory")
        return [CompletionItem(c) for c in artifact_candidates(incomplete, directory)]


def with_artifact_completion(verb: str, cmd: click.Command) -> click.Command:
    """`cmd` with its artifact argument (if it has one) completing artifact names."""
    wanted = ARTIFACT_ARGS.get(verb)
    for param in cmd.params:
        if param.name == wanted and isinstance(param, click.Argument):
            param.type = ARTIFACT_SPEC
    return cmd


def verb_items(verbs: list[str], incomplete: str) -> list[CompletionItem]:
    """The verbs a word may complete to, without loading their modules; internal ones never."""
    return [CompletionItem(v) for v in verbs if v.startswith(incomplete) and v not in INTERNAL]


def artifact_candidates(incomplete: str, directory: str | None = None) -> list[str]:
    """Artifact names starting with `incomplete`, or NAME:LABEL for each version and alias
    once it holds a ':'. Outside a repository, or on any failure: none (completion never
    prints an error into the user's line)."""
    from gitartifacts.core.names import is_artifact_name
    from gitartifacts.errors import GitArtifactsError
    from gitartifacts.gitmodel import versions
    from gitartifacts.gitmodel.project import Project

    try:
        project = Project.open(directory)
    except (GitArtifactsError, OSError):
        return []
    try:
        hist = versions.histories(project)
        name, colon, label = incomplete.partition(":")
        if not colon:
            # Manifest file names come through git: only valid names reach the user's line.
            found = {n for n in project.names() if is_artifact_name(n)} | set(hist)
            return sorted(n for n in found if n.startswith(name))
        h = hist.get(name)
        if h is None:
            return []
        labels = [f"v{n}" for n in sorted(h.versions)] + sorted(h.aliases)
        return [f"{name}:{x}" for x in labels if x.startswith(label)]
    except (GitArtifactsError, OSError):
        return []
    finally:
        project.close()


@click.command(name="completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL: eval "$(git artifacts completion bash)".

    Put that line in ~/.bashrc (or the zsh one in ~/.zshrc); it completes verbs, options and
    artifact names (NAME: completes versions and aliases) for `git artifacts` and for
    `git-artifacts`. For bash, saving the script as
    ~/.local/share/bash-completion/completions/git-artifacts loads it on first use instead.
    """
    click.echo(BASH_SCRIPT if shell == "bash" else ZSH_SCRIPT, nl=False)


ARTIFACT_SPEC = ArtifactSpec()

BASH_SCRIPT = r"""# bash completion for git artifacts (git artifacts completion bash)

# __git_artifacts_reply SUFFIX WORD...: COMPREPLY for the words after the program name,
# the last being completed; SUFFIX ends each candidate (git's completion adds no space).
__git_artifacts_reply() {
    local suffix=$1 cur="${!#}" IFS=$'\n' line prefix=""
    shift
    # bash splits the line at ':' (COMP_WORDBREAKS): reply only what follows the last ':'.
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        prefix="${cur%"${cur##*:}"}"
    fi
    COMPREPLY=()
    while read -r line; do
        case ${line%%,*} in
            plain) line=${line#*,}; COMPREPLY+=("${line#"$prefix"}$suffix") ;;
            dir) compopt -o dirnames 2>/dev/null ;;
            file) compopt -o default 2>/dev/null ;;
        esac
    done < <(COMP_WORDS="git-artifacts"$'\n'"$*" COMP_CWORD=$# \
        _GIT_ARTIFACTS_COMPLETE=bash_complete git-artifacts 2>/dev/null)
}

# Called by git's completion for `git artifacts ...` (words and cword keep NAME:SPEC whole).
_git_artifacts() {
    local i=${__git_cmd_idx:-1}
    __git_artifacts_reply " " ${__git_C_args:+"${__git_C_args[@]}"} \
        "${words[@]:i+1:cword-i}"
}

# For the git-artifacts script: the words come from the line, so ':' stays in its word.
_git_artifacts_script() {
    local -a line_words
    read -r -a line_words <<< "${COMP_LINE:0:COMP_POINT}"
    [[ ${COMP_LINE:COMP_POINT-1:1} == " " ]] && line_words+=("")
    __git_artifacts_reply "" "${line_words[@]:1}"
}

complete -F _git_artifacts_script git-artifacts
"""

ZSH_SCRIPT = r"""#compdef git-artifacts
# zsh completion for git artifacts (git artifacts completion zsh); git's _git calls
# _git-artifacts for `git artifacts ...`, and compdef binds it to git-artifacts itself.

_git-artifacts() {
    local -a reply plain
    local i
    reply=("${(@f)$(COMP_WORDS="git-artifacts ${(j: :)${(@q)words[2,CURRENT]}}" \
        COMP_CWORD=$((CURRENT - 1)) _GIT_ARTIFACTS_COMPLETE=zsh_complete git-artifacts \
        2>/dev/null)}")
    for ((i = 1; i + 1 <= $#reply; i += 3)); do
        case $reply[i] in
            plain) plain+=("$reply[i+1]") ;;
            dir) _path_files -/ ;;
            file) _path_files -f ;;
        esac
    done
    (( $#plain )) && compadd -a plain
    return 0
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _git-artifacts "$@"
else
    compdef _git-artifacts git-artifacts
fi
"""

# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {"completion": completion}
