"""The run identity: a stable hash of where the data is, what the data is, and how to train on it.

- bucket and dataset name;
- the channel objects (train/, validation/, train_lst/, validation_lst/) as key and ETag, order-free; for a
  dataset of class folders, the objects under images/ and its classes.txt, which orders the classes and so
  decides every image's label;
- the canonical configuration: pipeline.json as parsed (normalised hyperparameters, defaults applied),
  so re-formatting pipeline.json or spelling 64 as "64" is not a new run.

Left out on purpose, because they do not change which model gets trained: the pipeline.json and
classes.txt objects themselves, `class_names` and the `deploy` section (names label predictions and
deployment reads its settings when it deploys). So a new classes.txt is not a new run. The stack's
training defaults are not part of it either: a run is what the user's data and pipeline.json ask for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from icflow.core import layout
from icflow.core.images import is_hidden_or_system
from icflow.core.naming import RUN_ID_LENGTH
from icflow.core.pipeline_config import PipelineConfig

FINGERPRINT_VERSION = 1  # bump when the recipe changes, so old and new runs never collide
_EXCLUDED_SECTIONS = {"class_names", "deploy"}


# Settings added after this recipe was fixed, with the default that means "not used": left out while at it, so
# the run ids of configurations from before they existed stay the same (a test pins one).
_ADDED_LATER = {("training", "incremental"): False, ("training", "keep_alive_seconds"): None}


def canonical_config(config: PipelineConfig) -> dict[str, object]:
    """The parts of the configuration that shape training, as plain JSON data."""
    # An absent split section stays out too, for the same reason.
    excluded = _EXCLUDED_SECTIONS | ({"split"} if config.split is None else set())
    canonical = config.model_dump(mode="json", exclude=excluded)
    for (section, name), default in _ADDED_LATER.items():
        values = canonical[section]
        assert isinstance(values, dict)
        if values.get(name) == default:
            del values[name]
    if not config.tuning_enabled:
        canonical["tuning"] = None  # a disabled tuning section means the same as none
    return canonical


def run_id(bucket: str, dataset: str, objects: Mapping[str, str], config: PipelineConfig) -> str:
    """The run id (RUN_ID_LENGTH lowercase hex characters) for the dataset's `objects` (key -> ETag, any
    keys; only the dataset's channel objects count) and its parsed configuration."""
    prefix = layout.dataset_prefix(dataset)
    # The prefix first: a key of another folder may name no usable dataset, which parsing refuses.
    parts = {
        key: parsed.part
        for key in objects
        if key.startswith(prefix)
        and (parsed := layout.parse_dataset_key(key)) is not None
        # A .DS_Store the desktop drops into a class folder is never trained on, so it is no new run.
        and not (parsed.part == layout.IMAGES and is_hidden_or_system(parsed.relative))
    }
    counted = {*layout.CHANNELS, layout.IMAGES}
    if layout.IMAGES in parts.values():
        counted.add(layout.CLASSES_FILE)
    channel_objects = sorted((key, objects[key].strip('"').lower()) for key, part in parts.items() if part in counted)
    identity = {
        "version": FINGERPRINT_VERSION,
        "bucket": bucket,
        "dataset": dataset,
        "objects": channel_objects,
        "config": canonical_config(config),
    }
    encoded = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:RUN_ID_LENGTH]
