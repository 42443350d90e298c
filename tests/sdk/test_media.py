"""`Image`: numpy arrays, PIL images and files kept as PNG, with Pillow and with the
standard-library writer (in a process where Pillow cannot be imported); images and tables
logged with a run are content objects listed with it, referenced in its history, pushed with
it and read from a fresh clone."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import GitRepo, clone, run_py
from PIL import Image as PILImage

import gitartifacts as ga
import gitartifacts as wandb
from gitartifacts.sdk import png

NO_PILLOW = "import sys\nsys.modules['PIL'] = None\nsys.modules['PIL.Image'] = None\n"


def pixels_of(data: bytes) -> list[object]:
    return list(np.array(PILImage.open(io.BytesIO(data))).tolist())


@pytest.fixture
def in_repo(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    monkeypatch.chdir(repo.root)
    return repo


# ---------------------------------------------------------------- the PNG writers


@pytest.mark.parametrize("shape", [(3, 5), (3, 5, 3), (3, 5, 4)])
def test_the_stdlib_writer_decodes_with_pillow_to_the_same_pixels(shape: tuple[int, ...]) -> None:
    arr = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    data = png.encode(arr.tobytes(), shape[1], shape[0], 1 if len(shape) == 2 else shape[2])
    assert pixels_of(data) == arr.tolist()
    assert png.header(data)[:2] == (5, 3)


def test_images_made_without_pillow_decode_to_the_same_pixels(tmp_path: Path) -> None:
    rgb = np.random.default_rng(2).integers(0, 256, size=(6, 7, 3), dtype=np.uint8)
    gray = np.random.default_rng(3).random((4, 5))
    np.save(tmp_path / "rgb.npy", rgb)
    np.save(tmp_path / "gray.npy", gray)
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff not a png")
    out = run_py(
        tmp_path,
        """
        import numpy as np, gitartifacts as ga
        for name in ("rgb", "gray"):
            img = ga.Image(np.load(name + ".npy"), caption=name)
            open(name + ".png", "wb").write(img.png)
            print(img)
        for bad in (lambda: ga.Image("photo.jpg"), lambda: ga.Image(np.zeros((2, 2)), mode="P")):
            try:
                bad()
            except ga.UsageError as e:
                print(e)
        """,
        prefix=NO_PILLOW,
    )
    assert out.splitlines() == [
        "<Image 7x6 RGB caption='rgb'>",
        "<Image 5x4 L caption='gray'>",
        "'photo.jpg' is no PNG file: converting it needs Pillow (pip install pillow)",
        "converting an image to mode 'P' needs Pillow (pip install pillow)",
    ]
    assert pixels_of((tmp_path / "rgb.png").read_bytes()) == rgb.tolist()
    assert pixels_of((tmp_path / "gray.png").read_bytes()) == (gray * 255).astype(np.uint8).tolist()


def test_image_inputs_as_wandb(tmp_path: Path) -> None:
    pixels = np.random.default_rng(4).integers(0, 256, size=(10, 12, 3), dtype=np.uint8)
    # 003-run-reference: a PIL image, and an int array of 0..255 (not uint8).
    pil_image = PILImage.fromarray(pixels, mode="RGB")
    from_pil = wandb.Image(pil_image, caption="random field 0")
    assert from_pil.caption == "random field 0" and (from_pil.width, from_pil.height) == (12, 10)
    assert pixels_of(from_pil.png) == pixels.tolist()
    assert pixels_of(wandb.Image(pixels.astype(np.int64)).png) == pixels.tolist()
    # A channels-first float array in -1..1 (a normalised tensor): shifted, scaled, turned.
    chw = np.array([[[-1.0, 0.0], [1.0, 0.0]]])
    assert pixels_of(ga.Image(chw).png) == [[0, 127], [255, 127]]
    rgba = np.full((2, 2, 4), 0.5)
    assert pixels_of(ga.Image(rgba).png) == [[[127] * 4] * 2] * 2
    pil_image.save(tmp_path / "a.jpg")
    from_jpg = ga.Image(str(tmp_path / "a.jpg"))
    assert from_jpg.png.startswith(png.SIGNATURE) and from_jpg.width == 12
    (tmp_path / "b.png").write_bytes(from_pil.png)
    assert ga.Image(tmp_path / "b.png").png == from_pil.png  # a PNG file is kept as it is
    assert ga.Image(pixels, mode="L").mode == "L"
    with pytest.raises(ga.UsageError, match=r"shape \(2, 2, 5\) is no image"):
        ga.Image(np.zeros((2, 2, 5)))
    with pytest.raises(ga.UsageError, match="cannot make an Image of a dict"):
        ga.Image({"a": 1})


# ---------------------------------------------------------------- logged with a run

# 004-pipeline-notebook, as written (the examples are numpy arrays there, not tensors).
SEED_004 = """
wandb.log({"high-loss-examples":
    [wandb.Image(hard_example, caption=str(int(pred)) + "," +  str(int(label)))
     for hard_example, pred, label in zip(hardest_examples, preds, true_labels)]})
"""


def test_images_and_tables_logged_with_a_run_are_referenced_in_its_history(
    in_repo: GitRepo,
) -> None:
    hardest_examples = [np.random.default_rng(i).random((1, 28, 28)) for i in range(3)]
    preds, true_labels = [1.0, 2.0, 3.0], [1, 7, 3]  # as floats and ints, as the seed has
    with wandb.init(job_type="eval") as run:
        seen = {"hardest_examples": hardest_examples, "preds": preds, "true_labels": true_labels}
        exec(SEED_004, {"wandb": wandb, **seen})
        table = ga.Table(columns=["id", "pic"], data=[[0, ga.Image(hardest_examples[0])]])
        run.log({"eval/table": table, "loss": 0.5}, step=3)
        run_id = run.id
    done = ga.Api().run(run_id)
    rows = done.history(pandas=False)
    assert [r["_step"] for r in rows] == [0, 3]
    refs = rows[0]["high-loss-examples"]
    assert [r["caption"] for r in refs] == ["1,1", "2,7", "3,3"]
    assert {r["_type"] for r in refs} == {"image-file"}
    assert all(r["path"].startswith("media/images/high-loss-examples_0_") for r in refs)
    assert (refs[0]["width"], refs[0]["height"]) == (28, 28)
    data = done.file(refs[1]["path"]).read()
    assert pixels_of(data) == pixels_of(ga.Image(hardest_examples[1]).png)
    assert refs[1]["sha256"] == ga.Image.from_png(data).sha256
    ref = rows[1]["eval/table"]
    assert ref["_type"] == "table-file" and (ref["ncols"], ref["nrows"]) == (2, 1)
    assert ref["path"].startswith("media/table/eval_table_3_")
    assert ref["path"].endswith(".table.parquet")
    names = {f["path"] for f in done.files}
    assert {r["path"] for r in refs} | {ref["path"]} <= names
    assert len(names) == 5  # three examples, the table and its image (the first example's)
    with pytest.raises(ga.NotFoundError, match=r"the run has no file 'nope\.png'"):
        done.file("nope.png")


@pytest.mark.slow
def test_an_image_of_a_run_is_pushed_and_read_from_a_fresh_clone(
    tmp_path: Path, origin: Path
) -> None:
    a = clone(origin, tmp_path / "a")
    a.commit("init")
    a.ga("init")
    a.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    a.commit("artifacts", ".")
    a.git("push", "-q", "origin", "main")
    run_id = run_py(
        a.root,
        """
        import numpy as np, gitartifacts as wandb
        run = wandb.init()
        examples = []
        for i in range(3):
            pixels = np.full((4, 4, 3), i * 50)
            image = wandb.Image(pixels, caption=f"random field {i}")
            examples.append(image)
        run.log({"examples": examples})
        run.finish()
        print(run.id)
        """,
    )
    a.ga("push")
    b = clone(origin, tmp_path / "b")
    b.ga("fetch")
    out = run_py(
        b.root,
        f"""
        import json, gitartifacts as ga
        run = ga.Api().run({run_id!r})
        ref = run.history(pandas=False)[0]["examples"][2]
        print(json.dumps(ref))
        print(run.file(ref["path"]).download("out"))
        """,
    )
    ref_line, written = out.splitlines()
    ref = json.loads(ref_line)
    assert ref["caption"] == "random field 2"
    assert pixels_of((b.root / written).read_bytes()) == np.full((4, 4, 3), 100).tolist()


def test_a_run_file_is_never_written_through_a_link_in_the_target(
    repo: GitRepo, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo.root / "out").mkdir()
    (repo.root / "out" / "media").symlink_to(outside)
    out = run_py(
        repo.root,
        """
        import numpy as np, gitartifacts as ga
        with ga.init() as run:
            run.log({"img": ga.Image(np.zeros((2, 2, 3), dtype=np.uint8))})
        ref = ga.Api().run(run.id).history(pandas=False)[0]["img"]
        try:
            ga.Api().run(run.id).file(ref["path"]).download("out")
        except ga.errors.ConflictError as exc:
            print("refused:", exc)
        """,
    )
    assert out.startswith("refused: out/media is a symlink"), out
    assert list(outside.iterdir()) == []
