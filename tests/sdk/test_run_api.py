"""The module-level run API a W&B script touches (`ga.config`, `ga.summary`, `ga.log`,
`ga.save`, `ga.define_metric`, `dir(ga)`), each script in its own process as a job runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import GitRepo, make_repo


@pytest.fixture
def proj(tmp_path: Path) -> GitRepo:
    repo = make_repo(tmp_path / "proj")
    (repo.root / "train.py").write_text("print('train')\n")
    repo.commit("code", "train.py")
    return repo


def wandb_script(repo: GitRepo, code: str, rc: int = 0) -> subprocess.CompletedProcess[str]:
    """Run a script as a ported W&B script would be: `import gitartifacts as wandb`."""
    proc = subprocess.run(
        [sys.executable, "-c", "import gitartifacts as wandb\n" + textwrap.dedent(code)],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == rc, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def only_run(repo: GitRepo) -> dict[str, Any]:
    (rec,) = repo.ga_json("runs")
    assert isinstance(rec, dict)
    return rec


def test_dir_lists_the_public_names_and_config_is_a_placeholder_before_init() -> None:
    import gitartifacts as ga

    names = dir(ga)
    for name in ("init", "finish", "log", "config", "summary", "save", "define_metric", "Api"):
        assert name in names
    assert not any(n.startswith("_") and n != "__version__" for n in names)
    assert "init()" in repr(ga.config) and not ga.config
    with pytest.raises(ga.UsageError, match=r"init\(\) before gitartifacts.config.batch_size"):
        _ = ga.config.batch_size
    with pytest.raises(ga.UsageError, match=r"before gitartifacts.summary\['acc'\]"):
        _ = ga.summary["acc"]
    with pytest.raises(ga.UsageError, match=r"before gitartifacts.log\(\)"):
        ga.log({"loss": 1.0})
    with pytest.raises(ga.UsageError, match="init"):
        dict(ga.config)


@pytest.mark.slow
def test_a_seed_like_script_runs_with_config_log_summary_and_save(proj: GitRepo) -> None:
    (proj.root / "notes.txt").write_text("kept with the run\n")
    (proj.root / "other.txt").write_text("second\n")
    out = wandb_script(
        proj,
        """
        train_config = {"batch_size": 128, "epochs": 2, "optimizer": "Adam"}
        with wandb.init(job_type="train", config=train_config) as run:
            config = wandb.config
            assert config.batch_size == 128 and config["epochs"] == 2
            assert dict(wandb.config) == train_config
            config.update({"kernels": [16, 32]})
            example_ct = 0
            for epoch in range(config.epochs):
                example_ct += 64
                wandb.log({"epoch": epoch, "train/loss": 1.0 / (epoch + 1)}, step=example_ct)
            run.summary.update({"loss": 0.25, "accuracy": 0.9})
            print(sorted(wandb.save("*.txt")))
            assert wandb.summary["accuracy"] == 0.9
        assert wandb.run is None
        """,
    )
    assert out.stdout.strip() == "['notes.txt', 'other.txt']"
    rec = only_run(proj)
    assert rec["config"] == {
        "batch_size": 128,
        "epochs": 2,
        "optimizer": "Adam",
        "kernels": [16, 32],
    }
    assert rec["summary"] == {"epoch": 1, "train/loss": 0.5, "loss": 0.25, "accuracy": 0.9}
    files = {f["path"]: f for f in rec["files"]}
    assert set(files) == {"notes.txt", "other.txt"}
    digest = files["notes.txt"]["digest"]
    obj = proj.cache / "sha256" / digest[7:9] / digest[9:]
    assert obj.read_text() == "kept with the run\n" and files["notes.txt"]["size"] == 18


@pytest.mark.slow
def test_save_policies_and_base_path(proj: GitRepo) -> None:
    (proj.root / "out" / "sub").mkdir(parents=True)
    (proj.root / "out" / "sub" / "a.bin").write_text("first")
    (proj.root / "late.log").write_text("before")
    wandb_script(
        proj,
        """
        from pathlib import Path
        with wandb.init(job_type="t") as run:
            assert wandb.save("out/sub/*.bin", base_path="out", policy="now") == ["sub/a.bin"]
            wandb.save("late.log", policy="end")
            Path("out/sub/a.bin").write_text("changed after now")
            Path("late.log").write_text("at the end")
        """,
    )
    files = {f["path"]: f["digest"] for f in only_run(proj)["files"]}
    assert set(files) == {"sub/a.bin", "late.log"}

    def content(d: str) -> str:
        return (proj.cache / "sha256" / d[7:9] / d[9:]).read_text()

    assert content(files["sub/a.bin"]) == "first"  # "now": the bytes when save was called
    assert content(files["late.log"]) == "at the end"


@pytest.mark.slow
def test_save_refuses_a_bad_policy_and_a_glob_outside_its_base(proj: GitRepo) -> None:
    out = wandb_script(
        proj,
        """
        with wandb.init(job_type="t"):
            for args, kw in ((("*.txt",), {"policy": "sometimes"}),
                             (("../*.txt",), {}), (("x/*.txt",), {"base_path": "y"})):
                try:
                    wandb.save(*args, **kw)
                except wandb.UsageError as exc:
                    print(exc)
        """,
    )
    got = out.stdout.splitlines()
    assert len(got) == 3
    assert "policies" in got[0] and "'sometimes'" in got[0]
    assert all("not inside the base path" in line for line in got[1:])


@pytest.mark.slow
def test_define_metric_sets_what_the_summary_keeps(proj: GitRepo) -> None:
    wandb_script(
        proj,
        """
        with wandb.init(job_type="t"):
            wandb.define_metric("loss", summary="min")
            wandb.define_metric("acc", summary="best", goal="maximize")
            wandb.define_metric("val/*", summary="mean,max")
            wandb.define_metric("hidden", summary="none")
            wandb.define_metric("score", step_metric="epoch")
            for i, (loss, acc) in enumerate([(3.0, 0.2), (1.0, 0.7), (2.0, 0.5)]):
                wandb.log({"epoch": i, "loss": loss, "acc": acc, "val/x": i, "hidden": 1})
            wandb.log({"score": 5})
            try:
                wandb.define_metric("x", summary="median")
            except wandb.UsageError as exc:
                print(exc)
        """,
    )
    rec = only_run(proj)
    assert rec["summary"] == {
        "epoch": 2,
        "loss": {"min": 1.0},
        "acc": {"best": 0.7},
        "val/x": {"mean": 1.0, "max": 2},
        "score": 5,
    }
    assert rec["metrics"]["acc"]["goal"] == "maximize"
    rows = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import gitartifacts as ga; print(ga.Api().run('{rec['id']}')"
            ".history(keys=['score'], pandas=False))",
        ],
        cwd=proj.root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert rows.strip() == "[{'_step': 3, 'score': 5}]"  # history(keys=) has only its keys
