"""A W&B-style pipeline stored entirely in Git: load-data, preprocess, a small sweep of
training runs, and an evaluation of the best model. Every stage is a run that uses and logs
artifacts; `git artifacts lineage model:best` then shows where the model came from.

Run it inside a git repository with at least one commit:

    python examples/pipeline.py

The data is synthetic and made here (no download); the whole pipeline takes seconds.
"""

from __future__ import annotations

import csv
import json
import random
import tempfile
from pathlib import Path

import gitartifacts as ga


def load_data(seed: int = 0, n: int = 200) -> ga.Artifact:
    with ga.init(job_type="load-data", config={"seed": seed, "n": n}) as run:
        rng = random.Random(seed)
        tmp = Path(tempfile.mkdtemp())
        with open(tmp / "points.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["x", "y"])
            for _ in range(n):
                x = rng.uniform(-5, 5)
                w.writerow([f"{x:.4f}", f"{3.0 * x + 1.0 + rng.gauss(0, 0.5):.4f}"])
        raw = ga.Artifact("raw-points", type="dataset", description="y = 3x + 1 + noise")
        raw.add_file(tmp / "points.csv")
        run.log_artifact(raw)
        return raw


def preprocess(split: float = 0.8) -> ga.Artifact:
    with ga.init(job_type="preprocess", config={"split": split}) as run:
        raw = run.use_artifact("raw-points:latest")
        with open(Path(raw.download()) / "points.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        cut = int(len(rows) * split)
        out = ga.Artifact(
            "points-split", type="dataset", metadata={"train": cut, "val": len(rows) - cut}
        )
        for name, part in (("train.json", rows[:cut]), ("val.json", rows[cut:])):
            with out.new_file(name) as f:
                json.dump([[float(r["x"]), float(r["y"])] for r in part], f)
        run.log_artifact(out)
        return out


def train(lr: float, epochs: int = 40, group: str = "sweep-1") -> str:
    with ga.init(job_type="train", config={"lr": lr, "epochs": epochs}, group=group) as run:
        data = Path(run.use_artifact("points-split:latest").download())
        train_rows = json.loads((data / "train.json").read_text())
        val_rows = json.loads((data / "val.json").read_text())
        w = b = 0.0
        for _ in range(epochs):
            for x, y in train_rows:
                err = w * x + b - y
                w -= lr * err * x / len(train_rows)
                b -= lr * err / len(train_rows)
            val_loss = sum((w * x + b - y) ** 2 for x, y in val_rows) / len(val_rows)
            run.log({"val_loss": val_loss, "val_acc": 1.0 / (1.0 + val_loss)})
        model = ga.Artifact("linear-model", type="model", metadata={"w": w, "b": b, "lr": lr})
        with model.new_file("model.json") as f:
            json.dump({"w": w, "b": b}, f)
        run.log_artifact(model)
        return run.id


def evaluate(group: str = "sweep-1") -> str:
    best = ga.Api().runs(group=group, job_type="train", order="-summary.val_acc")[0]
    model = best.logged_artifacts()[0]
    with ga.init(job_type="evaluate", config={"model": model.name}) as run:
        model = run.use_artifact(model)
        params = json.loads((Path(model.download()) / "model.json").read_text())
        run.summary["w"], run.summary["b"] = params["w"], params["b"]
        run.link_artifact(model, "linear-regressor", aliases=["production"])
        return run.id


def main() -> None:
    load_data()
    preprocess()
    for lr in (0.001, 0.01, 0.05):
        train(lr)
    evaluate()
    best = ga.Api().runs(group="sweep-1", order="-summary.val_acc")[0]
    print(f"best run {best.id}: val_acc={best.summary['val_acc']:.4f} lr={best.config['lr']}")


if __name__ == "__main__":
    main()
