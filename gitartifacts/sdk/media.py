"""`Image` after W&B: a numpy array, a PIL image or a file, kept as PNG bytes.

Numpy and Pillow are optional: an array needs numpy (it is one), and is encoded with Pillow
when it is installed, else with the standard-library writer of `sdk.png`.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
from types import ModuleType
from typing import Any

from gitartifacts.errors import UsageError
from gitartifacts.sdk import png

IMAGE_TYPE = "image-file"  # the `_type` of an image reference in a history row or a table cell
PILLOW_FIX = "pip install pillow"
# PIL mode by channel count of an array: what the standard-library writer can write.
MODES = {1: "L", 3: "RGB", 4: "RGBA"}
_MODES_OF_COLOR = {0: "L", 2: "RGB", 4: "LA", 6: "RGBA", 3: "P"}


class Image:
    """An image to log with a run, put in a `Table` or add to an artifact (`add(image, name)`).

    `data_or_path`: a numpy array (HxW, HxWx1, HxWx3 or HxWx4; uint8 as is; other types are
    scaled as W&B does when `normalize`: below 0 shifted to 0..1, at most 1 times 255, then
    clipped), a PIL image, a file path, or another `Image`. `mode` is a PIL mode to convert to
    (needs Pillow unless it is the array's own: L, RGB or RGBA)."""

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        *,
        normalize: bool = True,
    ) -> None:
        if caption is not None and not isinstance(caption, str):
            caption = str(caption)
        self.caption = caption
        self._png = _to_png(data_or_path, mode, normalize)
        head = png.header(self._png)
        self.width, self.height = head.width, head.height
        self.mode = _MODES_OF_COLOR.get(head.color_type, "?")

    @classmethod
    def from_png(cls, data: bytes, caption: str | None = None) -> Image:
        """An image of PNG bytes as stored (a table cell, an artifact entry, a run file)."""
        return cls(_Png(data), caption=caption)

    @property
    def png(self) -> bytes:
        """The PNG bytes stored for this image."""
        return self._png

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of the PNG bytes, as a reference to this image gives it."""
        return hashlib.sha256(self._png).hexdigest()

    @property
    def image(self) -> Any:
        """The image as a PIL image (needs Pillow), as W&B's `Image.image`."""
        pil = _pillow()
        if pil is None:
            raise UsageError("reading an Image as a PIL image needs Pillow", PILLOW_FIX)
        return pil.open(io.BytesIO(self._png))

    def reference(self, path: str) -> dict[str, Any]:
        """The small record a history row or a table cell holds for this image at `path`."""
        return {
            "_type": IMAGE_TYPE,
            "path": path,
            "sha256": self.sha256,
            "caption": self.caption,
            "width": self.width,
            "height": self.height,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Image):
            return NotImplemented
        return self._png == other._png and self.caption == other.caption

    def __hash__(self) -> int:
        return hash((self.sha256, self.caption))

    def __repr__(self) -> str:
        shown = f" caption={self.caption!r}" if self.caption else ""
        return f"<Image {self.width}x{self.height} {self.mode}{shown}>"


def is_reference(value: Any) -> bool:
    """Whether a stored value is an image reference (a cell value is never a dict otherwise)."""
    return isinstance(value, dict) and value.get("_type") == IMAGE_TYPE


# ---------------------------------------------------------------- helpers


class _Png:
    """PNG bytes read back from storage, so `Image` takes them as they are."""

    def __init__(self, data: bytes) -> None:
        self.data = data


def _to_png(data: Any, mode: str | None, normalize: bool) -> bytes:
    if isinstance(data, _Png):
        return data.data
    if isinstance(data, Image):
        return data.png if mode is None else _from_pil(data.image, mode)
    if isinstance(data, (str, os.PathLike)):
        return _from_file(os.fspath(data), mode)
    if type(data).__module__.startswith("PIL."):
        return _from_pil(data, mode)
    if hasattr(data, "__array__") or isinstance(data, (list, tuple)):
        return _from_array(data, mode, normalize)
    raise UsageError(
        f"cannot make an Image of a {type(data).__name__}",
        "pass a numpy array, a PIL image or the path of an image file",
    )


def _from_file(path: str, mode: str | None) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError(f"cannot read image {path!r}: {e.strerror}", "pass an image file") from e
    if data.startswith(png.SIGNATURE) and mode is None:
        png.header(data)
        return data
    pil = _pillow()
    if pil is None:
        raise UsageError(f"{path!r} is no PNG file: converting it needs Pillow", PILLOW_FIX)
    try:
        opened = pil.open(io.BytesIO(data))
        opened.load()
    except (OSError, ValueError) as e:
        raise UsageError(f"{path!r} is no image Pillow can read", "pass an image file") from e
    return _from_pil(opened, mode)


def _from_pil(img: Any, mode: str | None) -> bytes:
    if _pillow() is None:  # only reached by an `Image` read back with a new `mode`
        raise UsageError("converting an image to another mode needs Pillow", PILLOW_FIX)
    if mode is not None and img.mode != mode:
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _from_array(data: Any, mode: str | None, normalize: bool) -> bytes:
    try:
        np = importlib.import_module("numpy")
    except ImportError as e:
        raise UsageError("an Image of an array needs numpy", "pip install numpy") from e
    arr = _image_shape(np, np.asarray(data))
    if arr.dtype != np.uint8:
        arr = _to_uint8(np, arr) if normalize else arr.clip(0, 255).astype(np.uint8)
    channels = 1 if arr.ndim == 2 else int(arr.shape[2])
    pil = _pillow()
    if pil is not None:
        return _from_pil(pil.fromarray(arr), mode)
    if mode is not None and mode != MODES[channels]:
        raise UsageError(f"converting an image to mode {mode!r} needs Pillow", PILLOW_FIX)
    height, width = int(arr.shape[0]), int(arr.shape[1])
    return png.encode(np.ascontiguousarray(arr).tobytes(), width, height, channels)


def _image_shape(np: ModuleType, arr: Any) -> Any:
    """HxW, HxWx3 or HxWx4; HxWx1 and channels-first (CxHxW, as torch has them) are turned."""
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[2] not in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or not arr.size:
        raise UsageError(
            f"an array of shape {tuple(arr.shape)} is no image",
            "pass HxW (gray), HxWx3 (RGB) or HxWx4 (RGBA)",
        )
    if arr.dtype.kind not in "biuf":
        raise UsageError(f"an array of {arr.dtype} is no image", "pass numbers")
    return arr


def _to_uint8(np: ModuleType, arr: Any) -> Any:
    """W&B's scaling: values below 0 shift the range to 0..1; a range up to 1 is times 255."""
    arr = arr.astype(np.float64)
    low = float(np.nanmin(arr)) if not np.isnan(arr).all() else 0.0
    if low < 0:
        span = float(np.nanmax(arr)) - low
        arr = (arr - low) / (span or 1.0)
    if float(np.nanmax(arr) if not np.isnan(arr).all() else 0.0) <= 1.0:
        arr = arr * 255
    return np.nan_to_num(arr, nan=0.0).clip(0, 255).astype(np.uint8)


def _pillow() -> ModuleType | None:
    """`PIL.Image`, or None when Pillow is not installed."""
    try:
        return importlib.import_module("PIL.Image")
    except ImportError:
        return None
