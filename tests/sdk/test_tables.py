"""`Table` and `PartitionedTable`: W&B's table API, stored in an artifact as Parquet or JSON
lines (both writers run: JSON lines in a process where pyarrow cannot be imported) and read
back by the bare name, and seed 002's parallel writers with a partitioned table."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import GitRepo

import gitartifacts as ga
import gitartifacts as wandb
from gitartifacts.sdk import tableformat

NO_PYARROW = "import sys\nsys.modules['pyarrow'] = None\n"

ROWS = [
    [1, 0.5, "a", True, None, [1, 2], 7],
    [2, 1.5, "b", False, "x", [[3], []], "mixed"],
]
COLUMNS = ["i", "f", "s", "b", "maybe", "nested", "any"]


@pytest.fixture
def in_repo(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    monkeypatch.chdir(repo.root)
    return repo


def without_pyarrow(repo: GitRepo, code: str) -> str:
    """Run `code` in a process where `import pyarrow` fails, as where it is not installed."""
    proc = subprocess.run(
        [sys.executable, "-c", NO_PYARROW + textwrap.dedent(code)],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def entry_bytes(repo: GitRepo, spec: str, path: str) -> bytes:
    art = ga.Api().artifact(spec)
    return Path(art.get_entry(path).download(str(repo.root / "out"))).read_bytes()


# ---------------------------------------------------------------- the table API


def test_table_api_as_wandb() -> None:
    t = ga.Table(columns=["a", "b"], data=[[1, "x"]])
    t.add_data(np.int64(2), "y")  # numpy values become Python values
    t.add_column("c", np.array([0.5, 1.5]))
    assert t.columns == ["a", "b", "c"]
    assert t.data == [[1, "x", 0.5], [2, "y", 1.5]]
    assert type(t.data[1][0]) is int
    assert t.get_column("a") == [1, 2]
    assert t.get_column("c", convert_to="numpy").tolist() == [0.5, 1.5]
    assert list(t.iterrows()) == [(0, [1, "x", 0.5]), (1, [2, "y", 1.5])]
    df = t.get_dataframe()
    assert list(df.columns) == ["a", "b", "c"] and df["b"].tolist() == ["x", "y"]
    assert ga.Table(dataframe=df) == t
    assert ga.Table(data=df) == t  # W&B takes a DataFrame as data too
    with pytest.raises(ga.UsageError, match=r"This table expects 3 columns: \['a', 'b', 'c'\]"):
        t.add_data(1, 2)
    with pytest.raises(ga.UsageError, match="cannot hold a dict"):
        t.add_data(1, {"k": 1}, 2)
    with pytest.raises(ga.UsageError, match="already in use"):
        t.add_column("a", [1, 2])
    with pytest.raises(ga.UsageError, match="Expected length 2, found 1"):
        t.add_column("d", [1])
    with pytest.raises(ga.UsageError, match="Expected length 0, found 1"):
        ga.Table(columns=["a"]).add_column("b", [1])


def test_parquet_round_trip_by_bare_name_and_by_entry_path(in_repo: GitRepo) -> None:
    art = ga.Artifact("results", type="eval")
    entry = art.add(ga.Table(columns=COLUMNS, data=ROWS), "tables/scores")
    assert entry.path == "tables/scores.table.parquet"
    assert art.get("tables/scores") == ga.Table(columns=COLUMNS, data=ROWS)  # a draft reads too
    art.save()
    logged = ga.Api().artifact("results:latest")
    assert [e.path for e in logged.files()] == ["tables/scores.table.parquet"]
    for name in ("tables/scores", "tables/scores.table.parquet"):
        back = logged.get(name)
        assert isinstance(back, ga.Table)
        assert back.columns == COLUMNS
        assert back.data == ROWS
    assert logged.get("tables/nothing") is None
    data = entry_bytes(in_repo, "results:latest", "tables/scores.table.parquet")
    assert data[:4] == b"PAR1"
    df = pd.read_parquet(io.BytesIO(data))  # an open format: any Parquet reader reads it
    assert list(df.columns) == COLUMNS
    assert df["s"].tolist() == ["a", "b"]
    assert df["any"].tolist() == ["7", '"mixed"']  # no one Arrow type: JSON text per cell


def test_the_json_lines_writer_runs_without_pyarrow_and_any_reader_reads_it(
    in_repo: GitRepo,
) -> None:
    out = without_pyarrow(
        in_repo,
        f"""
        import gitartifacts as ga
        art = ga.Artifact("results", type="eval")
        print(art.add(ga.Table(columns={COLUMNS!r}, data={ROWS!r}), "scores").path)
        art.save()
        print(ga.Api().artifact("results:v0").get("scores").data == {ROWS!r})
        """,
    )
    assert out.split() == ["scores.table.jsonl", "True"]
    lines = entry_bytes(in_repo, "results:v0", "scores.table.jsonl").decode().splitlines()
    assert json.loads(lines[0]) == {"_type": "table", "format": 1, "columns": COLUMNS}
    assert [json.loads(ln) for ln in lines[1:]] == ROWS
    back = ga.Api().artifact("results:v0").get("scores")  # read here, where pyarrow is
    assert isinstance(back, ga.Table) and back.data == ROWS


def test_a_parquet_table_read_without_pyarrow_is_one_line_naming_the_extra(
    in_repo: GitRepo,
) -> None:
    art = ga.Artifact("results", type="eval")
    art.add(ga.Table(columns=["a"], data=[[1]]), "scores")
    art.save()
    out = without_pyarrow(
        in_repo,
        """
        import gitartifacts as ga
        try:
            ga.Api().artifact("results:v0").get("scores")
        except ga.UsageError as e:
            print(e)
        """,
    )
    assert out.strip() == (
        "table 'scores.table.parquet' is stored as Parquet, which needs pyarrow "
        "(pip install 'gitartifacts[tables]')"
    )


def test_image_cells_are_stored_as_their_own_entries(in_repo: GitRepo) -> None:
    pixels = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    table = ga.Table(columns=["id", "image"])
    table.add_data(0, ga.Image(pixels, caption="first"))
    table.add_data(1, None)
    art = ga.Artifact("pics", type="dataset")
    art.add(table, "pics")
    art.save()
    logged = ga.Api().artifact("pics:v0")
    pngs = [e.path for e in logged.files() if e.path.startswith("media/images/")]
    assert len(pngs) == 1 and pngs[0].endswith(".png")
    back = logged.get("pics")
    assert isinstance(back, ga.Table)
    image = back.data[0][1]
    assert isinstance(image, ga.Image)
    assert image.caption == "first" and (image.width, image.height) == (4, 4)
    assert np.array(image.image).tolist() == pixels.tolist()
    assert back.data[1] == [1, None]
    cover = ga.Artifact("cover", type="dataset")
    cover.add(ga.Image(pixels, caption="alone"), "cover")
    cover.save()
    alone = ga.Api().artifact("cover:v0").get("cover")
    assert isinstance(alone, ga.Image) and alone.caption == "alone"
    assert alone.png == image.png


def test_an_image_reference_to_what_the_artifact_lacks_is_refused(in_repo: GitRepo) -> None:
    ref = ga.Image(np.zeros((2, 2), dtype=np.uint8)).reference("media/images/x.png")
    head = json.dumps({"_type": "table", "format": 1, "columns": ["pic"]})
    in_repo.write({"t.table.jsonl": f"{head}\n{json.dumps([ref])}\n".encode()})
    art = ga.Artifact("forged", type="dataset")
    art.add_file("t.table.jsonl")
    with pytest.raises(ga.UsageError, match=r"names image 'media/images/x\.png', which the"):
        art.get("t")
    art.add_file("t.table.jsonl", "media/images/x.png")  # a file there, of other bytes
    with pytest.raises(ga.UsageError, match="which the artifact does not hold"):
        art.get("t")


def test_a_damaged_stored_table_is_a_one_line_error() -> None:
    head = json.dumps({"_type": "table", "format": 1, "columns": ["a", "b"]})
    with pytest.raises(ga.UsageError, match="has a row that is not 2 values"):
        tableformat.decode(f"{head}\n[1]\n".encode(), tableformat.JSONL, "t")
    newer = json.dumps({"_type": "table", "format": 9, "columns": []})
    with pytest.raises(ga.UsageError, match="newer than this version reads"):
        tableformat.decode(newer.encode(), tableformat.JSONL, "t")
    with pytest.raises(ga.UsageError, match="no readable Parquet file"):
        tableformat.decode(b"PAR1 not really", tableformat.PARQUET, "t")


def test_add_refuses_what_is_no_table_or_image(in_repo: GitRepo) -> None:
    in_repo.write({"a.txt": b"a"})
    art = ga.Artifact("mixed", type="dataset")
    with pytest.raises(TypeError, match="takes a Table, PartitionedTable or Image"):
        art.add({"a": 1}, "d")
    with pytest.raises(ga.UsageError, match="invalid entry path"):
        art.add(ga.Table(columns=["a"]), "../up")
    art.add_file("a.txt")
    with pytest.raises(ga.UsageError, match="is a file, not a table or image"):
        art.get("a.txt")
    art.add(ga.Table(columns=["a"], data=[[1]]), "t")
    before = [e.path for e in art.files()]
    other = ga.Table(columns=["pic"], data=[[ga.Image(np.zeros((2, 2), dtype=np.uint8))]])
    with pytest.raises(ga.UsageError, match="Cannot add the same path twice"):
        art.add(other, "t")
    assert [e.path for e in art.files()] == before  # not even the image's PNG


# ---------------------------------------------------------------- PartitionedTable

# Seed 002's parallel writers, with ray swapped for processes and the rest as written.
SEED_WRITER = """
import sys
import gitartifacts as wandb
artifact_type = "dataset"
artifact_name = "parallel-artifact"
parts_path = "parts"
group_name = sys.argv[2]
i = int(sys.argv[1])
with wandb.init(group=group_name) as run:
    artifact = wandb.Artifact(name=artifact_name, type=artifact_type)
    # Add data to a wandb table. In this case we use example data
    table = wandb.Table(columns=["a", "b", "c"], data=[[i, i * 2, 2**i]])
    # Add the table to folder in the artifact
    artifact.add(table, "{}/table_{}".format(parts_path, i))
    # Upserting the artifact creates or appends data to the artifact
    run.upsert_artifact(artifact)
"""


@pytest.mark.slow
def test_seed_002_parallel_writers_and_a_partitioned_table(
    in_repo: GitRepo,
) -> None:
    artifact_type, artifact_name = "dataset", "parallel-artifact"
    table_name, parts_path, num_parallel = "distributed_table", "parts", 5
    group_name = "writer-group-1"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", SEED_WRITER, str(i), group_name],
            cwd=in_repo.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(num_parallel)
    ]
    for w in writers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
    with wandb.init(group=group_name) as run:
        artifact = wandb.Artifact(artifact_name, type=artifact_type)
        artifact.add(wandb.data_types.PartitionedTable(parts_path), table_name)
        run.finish_artifact(artifact)
    logged = wandb.Api().artifact(f"{artifact_name}:latest")
    assert sorted(e.path for e in logged.files()) == [
        "distributed_table.partitioned-table.json",
        *(f"parts/table_{i}.table.parquet" for i in range(num_parallel)),
    ]
    table = logged.get(table_name)
    assert isinstance(table, wandb.data_types.PartitionedTable)
    assert len(table) == num_parallel
    assert table.columns == ["a", "b", "c"]
    assert list(table.iterrows()) == [(i, [i, i * 2, 2**i]) for i in range(num_parallel)]
    df = table.get_dataframe()
    assert isinstance(df, pd.DataFrame) and df["c"].tolist() == [1, 2, 4, 8, 16]


def test_partitioned_parts_come_in_number_order_and_must_share_columns(
    in_repo: GitRepo,
) -> None:
    art = ga.Artifact("parted", type="dataset")
    for i in (10, 2, 1):
        art.add(ga.Table(columns=["n"], data=[[i]]), f"p/t_{i}")
    art.add(ga.data_types.PartitionedTable("p"), "all")
    art.save()
    table = ga.Api().artifact("parted:v0").get("all")
    assert isinstance(table, ga.data_types.PartitionedTable)
    assert table.part_paths == [f"p/t_{i}.table.parquet" for i in (1, 2, 10)]
    assert [row for _, row in table.iterrows()] == [[1], [2], [10]]
    odd = ga.Artifact("odd", type="dataset")
    odd.add(ga.Table(columns=["n"], data=[[1]]), "p/t_1")
    odd.add(ga.Table(columns=["m"], data=[[2]]), "p/t_2")
    odd.add(ga.data_types.PartitionedTable("p"), "all")
    parted = odd.get("all")
    assert isinstance(parted, ga.data_types.PartitionedTable)
    with pytest.raises(ga.UsageError, match=r"part 'p/t_2.table.parquet' has columns \['m'\]"):
        list(parted.iterrows())
