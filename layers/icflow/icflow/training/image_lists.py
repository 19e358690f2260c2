"""An image-format dataset is complete when every image its .lst files list is in its channel.

The algorithm reads train/ with the entries of train_lst/ (validation/ with validation_lst/), each path
relative to the channel. Until every listed image is there the dataset waits, and only the .lst files and
the images they list make up the run: an image no .lst names is not read, so it starts no new run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from icflow.core import layout
from icflow.recordio.lst import LstEntry

# Each list channel and the data channel its paths are relative to.
LISTED_IN = {layout.TRAIN_LST: layout.TRAIN, layout.VALIDATION_LST: layout.VALIDATION}
_SHOWN = 3

ReadEntries = Callable[[str], Iterator[LstEntry]]  # .lst key -> its entries


@dataclass(frozen=True)
class ListedImages:
    listed: frozenset[str]  # keys of every image the .lst files name
    missing: tuple[str, ...]  # those not uploaded yet, sorted

    def run_objects(self, objects: Mapping[str, str]) -> dict[str, str]:
        """The objects that make up the run: the .lst files and the images they list."""
        return {
            key: etag
            for key, etag in objects.items()
            if key in self.listed or ((parsed := layout.parse_dataset_key(key)) and parsed.part in LISTED_IN)
        }

    def missing_channels(self, dataset: str) -> tuple[str, ...]:
        return tuple(
            channel
            for channel in LISTED_IN.values()
            if any(key.startswith(layout.channel_prefix(dataset, channel)) for key in self.missing)
        )

    def waiting_reason(self) -> str:
        shown = ", ".join(self.missing[:_SHOWN]) + (
            f" and {len(self.missing) - _SHOWN} more" if len(self.missing) > _SHOWN else ""
        )
        return (
            f"waiting for {len(self.missing)} of the {len(self.listed)} images the .lst files list ({shown}); "
            "upload them, or remove their lines from the .lst files"
        )


def listed_images(dataset: str, keys: Iterable[str], read_entries: ReadEntries) -> ListedImages:
    """Which listed images exist among `keys` (the dataset's listing). Costs memory in the number of entries."""
    present = set(keys)
    listed: set[str] = set()
    for list_channel, data_channel in LISTED_IN.items():
        list_prefix = layout.channel_prefix(dataset, list_channel)
        data_prefix = layout.channel_prefix(dataset, data_channel)
        for key in sorted(k for k in present if k.startswith(list_prefix) and k.lower().endswith(".lst")):
            listed.update(data_prefix + entry.path for entry in read_entries(key))
    return ListedImages(frozenset(listed), tuple(sorted(listed - present)))
