"""W&B's `wandb.data_types` namespace: the media and table classes."""

from __future__ import annotations

from gitartifacts.sdk.media import Image
from gitartifacts.sdk.tables import PartitionedTable, Table

__all__ = ["Image", "PartitionedTable", "Table"]
