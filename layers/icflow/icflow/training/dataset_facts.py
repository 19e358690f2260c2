"""What a dataset's keys and records say: whether it is ready to train, in which input format, and the
hyperparameters that follow from the data (num_training_samples, num_classes) checked against the rest.

Input formats (the channels SageMaker gets, see icflow.core.layout):
- class folders: images under images/<class name>/ (any depth); icflow prepares the image format's lists
  from them for each run (icflow.training.class_folders);
- RecordIO: .rec files under train/ and validation/ (a .idx or .lst beside a .rec is its companion);
- image: .jpg/.jpeg/.png files under train/ and validation/ (any depth), with .lst files under
  train_lst/ and validation_lst/.
Hidden and system files (.DS_Store, Thumbs.db, __MACOSX/...: icflow.core.images decides, as for batches) are
ignored; any other file in a channel makes the dataset invalid, because SageMaker would hand it to the
algorithm as training data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from icflow.algorithm.hyperparameters import (
    NUM_CLASSES,
    NUM_TRAINING_SAMPLES,
    effective,
    image_height_width,
    validate_hyperparameters,
)
from icflow.algorithm.problems import InvalidInput
from icflow.core import layout
from icflow.core.images import is_hidden_or_system
from icflow.recordio.stats import missing_class_indexes

RECORDIO_SUFFIXES = (".rec",)
RECORDIO_COMPANION_SUFFIXES = (".idx", ".lst")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
LIST_SUFFIXES = (".lst",)
_SHOWN = 3  # keys quoted in a message; the rest are counted


class InputFormat(StrEnum):
    RECORDIO = "recordio"
    IMAGE = "image"
    FOLDERS = "folders"  # class folders; trained as the image format from the lists icflow prepares


class ReadinessState(StrEnum):
    READY = "ready"
    WAITING = "waiting"
    INVALID = "invalid"


@dataclass(frozen=True)
class Readiness:
    """Whether a dataset can train now. `waiting_for` names the channels still empty (WAITING);
    `reason` is a sentence for the user in every state."""

    state: ReadinessState
    input_format: InputFormat | None
    waiting_for: tuple[str, ...]
    reason: str


class ChannelCounts(Protocol):
    """What icflow.recordio.s3.channel_stats reports for one channel (RecordIO or .lst)."""

    @property
    def records(self) -> int: ...

    @property
    def label_counts(self) -> Mapping[int, int]: ...

    @property
    def max_labels_per_record(self) -> int: ...


@dataclass(frozen=True)
class DatasetFacts:
    input_format: InputFormat
    train: ChannelCounts  # train/ for RecordIO, train_lst/ for images
    validation: ChannelCounts  # validation/ for RecordIO, validation_lst/ for images


# Which channels an input format uses, decided once: the channels its training job gets, and the two whose
# records are counted (train, validation): RecordIO files themselves, or the .lst files that list the images.
_JOB_CHANNELS = {
    InputFormat.RECORDIO: (layout.TRAIN, layout.VALIDATION),
    InputFormat.IMAGE: (layout.TRAIN, layout.VALIDATION, layout.TRAIN_LST, layout.VALIDATION_LST),
    InputFormat.FOLDERS: (layout.TRAIN, layout.VALIDATION, layout.TRAIN_LST, layout.VALIDATION_LST),
}
_COUNTED_CHANNELS = {
    InputFormat.RECORDIO: (layout.TRAIN, layout.VALIDATION),
    InputFormat.IMAGE: (layout.TRAIN_LST, layout.VALIDATION_LST),
    # The split icflow made: its training and validation images.
    InputFormat.FOLDERS: (layout.TRAIN, layout.VALIDATION),
}


def channels_for(input_format: InputFormat) -> tuple[str, ...]:
    """The channels a training job gets for an input format."""
    return _JOB_CHANNELS[input_format]


def counted_channels(input_format: InputFormat) -> tuple[str, str]:
    """The (train, validation) channels whose records make num_training_samples and the labels."""
    return _COUNTED_CHANNELS[input_format]


def _kind(channel: str, relative: str) -> str:
    """hidden, rec, companion, image, list or other: what a file in a channel folder is."""
    if is_hidden_or_system(relative):
        return "hidden"
    name = relative.rsplit("/", 1)[-1].lower()
    if channel in (layout.TRAIN_LST, layout.VALIDATION_LST):
        return "list" if name.endswith(LIST_SUFFIXES) else "other"
    for kind, suffixes in (
        ("rec", RECORDIO_SUFFIXES),
        ("companion", RECORDIO_COMPANION_SUFFIXES),
        ("image", IMAGE_SUFFIXES),
    ):
        if name.endswith(suffixes):
            return kind
    return "other"


def _unread(parsed: layout.DatasetKey) -> bool:
    """Whether a key in the dataset folder is none of what icflow reads there (and no hidden or system file)."""
    if parsed.relative == "" and parsed.part in (layout.PIPELINE_FILE, layout.CLASSES_FILE):
        return False
    if parsed.part == layout.IMAGES and parsed.relative:
        return False
    return not is_hidden_or_system(f"{parsed.part}/{parsed.relative}" if parsed.relative else parsed.part)


def _quote(keys: list[str], total: int | None = None) -> str:
    """The first keys, and how many more of `total` (by default len(keys)) there are."""
    more = (len(keys) if total is None else total) - min(len(keys), _SHOWN)
    return ", ".join(keys[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


def dataset_readiness(keys: Iterable[str]) -> Readiness:
    """Decide from the keys under datasets/<dataset>/ (any others are ignored) whether training can start.

    READY: both channels of one input format hold data. WAITING: a format is recognisable (or nothing is
    there yet) and some of its channels are empty. INVALID: a key is in no channel and is not pipeline.json
    or classes.txt (`Train/`, `test/`), formats are mixed, or a channel holds files the algorithm cannot read;
    the reason names the keys and what to do."""
    found: dict[str, dict[str, list[str]]] = {channel: {} for channel in layout.CHANNELS}
    unread: list[str] = []
    folders = False  # whether images/ holds anything but hidden or system files
    for key in keys:
        try:
            parsed = layout.parse_dataset_key(key)
        except layout.UnusableKey:
            continue  # not a key of a dataset: evaluate_dataset rejects the folder name itself
        if parsed is None:
            continue
        if parsed.part == layout.IMAGES and parsed.relative:
            folders = folders or not is_hidden_or_system(parsed.relative)
        elif parsed.part in layout.CHANNELS:
            found[parsed.part].setdefault(_kind(parsed.part, parsed.relative), []).append(key)
        elif _unread(parsed):
            unread.append(key)

    if unread:
        # A channel spelled `Train/` or a folder `test/` would otherwise wait for train/ forever, in silence.
        return _invalid(
            f"{_quote(sorted(unread))}: icflow reads only the folders {layout.IMAGES}/ (class folders), "
            f"{', '.join(f'{channel}/' for channel in layout.CHANNELS)} (lowercase) and the files "
            f"{layout.PIPELINE_FILE} and {layout.CLASSES_FILE} in a dataset folder; move or rename it"
        )

    others = [key for channel in layout.CHANNELS for key in found[channel].get("other", [])]
    if others:
        return _invalid(
            f"{_quote(sorted(others))}: not a file the algorithm reads (RecordIO .rec with optional .idx/.lst, "
            "JPEG/PNG images, or .lst lists under train_lst/ and validation_lst/); move it out of the channel folder"
        )

    data = (layout.TRAIN, layout.VALIDATION)
    lists = (layout.TRAIN_LST, layout.VALIDATION_LST)
    has_rec = [channel for channel in data if found[channel].get("rec")]
    has_images = [channel for channel in data if found[channel].get("image")]
    has_lists = [channel for channel in lists if found[channel].get("list")]

    channel_data = [channel for channel in layout.CHANNELS if any(k != "hidden" for k in found[channel])]
    if folders and channel_data:
        return _invalid(
            f"{layout.IMAGES}/ holds class folders but {channel_data[0]}/ holds training data too; keep one input "
            f"format per dataset: class folders under {layout.IMAGES}/, or RecordIO or .lst channels, not both"
        )
    if folders:
        return Readiness(ReadinessState.READY, InputFormat.FOLDERS, (), "ready: class folders")

    mixed = [channel for channel in data if channel in has_rec and channel in has_images]
    if mixed:
        return _invalid(f"{mixed[0]}/ holds both RecordIO (.rec) files and images; keep one input format per dataset")
    if has_rec and (has_images or has_lists):
        image_side = (has_images + has_lists)[0]
        return _invalid(
            f"{has_rec[0]}/ holds RecordIO (.rec) files but {image_side}/ holds image-format files; "
            "use RecordIO in train/ and validation/, or images with .lst files in train_lst/ and "
            "validation_lst/, not both"
        )

    if has_rec:
        missing = tuple(channel for channel in data if channel not in has_rec)
        return _ready_or_waiting(InputFormat.RECORDIO, missing, "RecordIO .rec files")
    if has_images or has_lists:
        missing = tuple(
            channel for channel in layout.CHANNELS if channel not in has_images and channel not in has_lists
        )
        return _ready_or_waiting(
            InputFormat.IMAGE, missing, "images (train/, validation/) and .lst files (train_lst/, validation_lst/)"
        )
    return Readiness(
        ReadinessState.WAITING,
        None,
        data,
        f"waiting for data: upload images in class folders ({layout.IMAGES}/<class name>/...), RecordIO .rec files "
        "in train/ and validation/, or images with .lst files",
    )


def _invalid(reason: str) -> Readiness:
    return Readiness(ReadinessState.INVALID, None, (), reason)


def _ready_or_waiting(input_format: InputFormat, missing: tuple[str, ...], what: str) -> Readiness:
    if not missing:
        return Readiness(ReadinessState.READY, input_format, (), f"ready: {input_format.value} dataset")
    folders = " and ".join(f"{channel}/" for channel in missing)
    return Readiness(ReadinessState.WAITING, input_format, missing, f"waiting for {folders}: upload {what}")


def resolve_data_hyperparameters(
    hyperparameters: Mapping[str, str], facts: DatasetFacts, class_names: list[str] | None
) -> dict[str, str]:
    """The run's complete hyperparameters: num_training_samples and num_classes inferred from the data when
    absent and checked against it when present, plus the rules that need the data (labels 0..N-1 without
    gaps, validation labels known to train, multi-label data, class names, mini_batch_size and top_k).
    Multi-label records may list class ids or hold the algorithm's default multi-hot vectors (see
    is_multi_hot); num_classes is the vector length for the latter.

    `hyperparameters` are validate_hyperparameters' output; `class_names` are the names in force
    (classes.txt, else pipeline.json's class_names), or None. For the image format, resize defaults to the
    larger of image_shape's height and width, since the algorithm requires resize for image inputs.
    Raises InvalidInput listing every problem."""
    problems: list[str] = []
    resolved = dict(hyperparameters)
    train, validation = facts.train, facts.validation
    image = facts.input_format in (InputFormat.IMAGE, InputFormat.FOLDERS)
    train_channel, validation_channel = counted_channels(facts.input_format)

    if train.records < 1:
        problems.append(f"{train_channel}/: holds no records; upload training data")
    if validation.records < 1:
        problems.append(f"{validation_channel}/: holds no records; upload validation data")

    _check_inferred(
        resolved, NUM_TRAINING_SAMPLES, train.records, f"{train_channel}/ holds {train.records} records", problems
    )
    num_classes, evidence = _classes(train, validation, train_channel, validation_channel, problems)
    if num_classes:
        _check_inferred(resolved, NUM_CLASSES, num_classes, evidence, problems)

    if max(train.max_labels_per_record, validation.max_labels_per_record) > 1 and resolved.get("multi_label") != "1":
        problems.append(
            "multi_label: the records carry several labels each; set multi_label to 1 in "
            "pipeline.json hyperparameters, or pack one label per record"
        )

    if class_names is not None and num_classes and len(class_names) != num_classes:
        problems.append(
            f"class names: {len(class_names)} names for {num_classes} classes; give exactly one name "
            "per class, line i = class i"
        )

    default_batch = effective(resolved, "mini_batch_size")
    if "mini_batch_size" not in resolved and default_batch and 0 < train.records < int(default_batch):
        problems.append(
            f"mini_batch_size: the default {default_batch} is more than the {train.records} training "
            "samples; set a smaller mini_batch_size in pipeline.json hyperparameters"
        )

    if image and "resize" not in resolved:
        resolved["resize"] = str(max(image_height_width(effective(resolved, "image_shape") or "")))

    if problems:
        raise InvalidInput("dataset", problems)
    try:
        # Re-checks the cross-field rules now that num_classes and num_training_samples are known
        # (mini_batch_size vs samples, top_k vs classes).
        return validate_hyperparameters(resolved)
    except InvalidInput as error:
        raise InvalidInput("dataset", error.problems) from None


def is_multi_hot(train: ChannelCounts, validation: ChannelCounts) -> bool:
    """Multi-label records in the algorithm's default multi-hot layout (one 0/1 entry per class), rather
    than lists of class ids: every value is 0 or 1, and records carry more values than a list of distinct
    ids from {0, 1} could. With two entries both readings give two classes, so they need no telling apart."""
    values = set(train.label_counts) | set(validation.label_counts)
    return values <= {0, 1} and train.max_labels_per_record > 2


def _classes(
    train: ChannelCounts, validation: ChannelCounts, train_channel: str, validation_channel: str, problems: list[str]
) -> tuple[int, str]:
    """The number of classes the data has (0 when it has no labels) and the evidence, in words; adds the
    problems of the label set to `problems`."""
    if is_multi_hot(train, validation):
        width = train.max_labels_per_record
        if validation.max_labels_per_record != width:
            problems.append(
                f"{validation_channel}/: multi-hot labels have {validation.max_labels_per_record} "
                f"entries per record but {train_channel}/ has {width}; both need one entry per class"
            )
        return width, f"the multi-hot labels in {train_channel}/ have {width} entries (classes) per record"

    labels = sorted(train.label_counts)
    num_classes = labels[-1] + 1 if labels else 0
    gaps, gap_count = missing_class_indexes(labels, _SHOWN)
    if labels and labels[0] < 0:
        problems.append(f"{train_channel}/: label {labels[0]} is negative; labels must be class indexes 0..N-1")
    elif gaps:
        problems.append(
            f"{train_channel}/: labels must be 0..{num_classes - 1} without gaps, but no record has "
            f"label {_quote([str(g) for g in gaps], gap_count)}; renumber the classes or add their images"
        )
    unknown = sorted(set(validation.label_counts) - set(labels))
    if unknown:
        problems.append(
            f"{validation_channel}/: label {_quote([str(u) for u in unknown])} never occurs in "
            f"{train_channel}/; the model cannot learn a class it never sees in training"
        )
    return num_classes, f"the labels in {train_channel}/ make {num_classes} classes (0..{num_classes - 1})"


def _check_inferred(resolved: dict[str, str], name: str, actual: int, evidence: str, problems: list[str]) -> None:
    given = resolved.get(name)
    if given is None:
        if actual > 0:
            resolved[name] = str(actual)
    elif int(given) != actual:
        problems.append(
            f"{name}: pipeline.json says {given} but {evidence}; remove {name} from pipeline.json "
            f"to use {actual}, or fix the data"
        )


# A run item keeps its data's class counts for the run's report; past this many classes they are left out, so the
# item stays far below DynamoDB's 400 KB.
MAX_SUMMARY_CLASSES = 1000


def dataset_summary(facts: DatasetFacts, class_names: tuple[str, ...]) -> dict[str, object]:
    """What a run's report shows of its data: the counted channels' records and, per class, how many of them
    each channel holds (class index as a string, DynamoDB's map keys), with the class names in force."""
    channels = dict(zip(counted_channels(facts.input_format), (facts.train, facts.validation), strict=True))
    summary: dict[str, object] = {"records": {name: stats.records for name, stats in channels.items()}}
    classes = {index for stats in channels.values() for index in stats.label_counts}
    if len(classes) > MAX_SUMMARY_CLASSES or len(class_names) > MAX_SUMMARY_CLASSES:
        summary["left_out"] = f"{max(len(classes), len(class_names))} classes: counts per class are not kept"
        return summary
    summary["class_counts"] = {
        name: {str(index): count for index, count in sorted(stats.label_counts.items())}
        for name, stats in channels.items()
    }
    summary["class_names"] = list(class_names)
    return summary
