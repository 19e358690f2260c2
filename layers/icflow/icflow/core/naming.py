"""Deterministic SageMaker names: the same dataset and run always get the same names, so a retried or
duplicated event asks SageMaker to create a job that already exists (ResourceInUse) instead of a second one.

Every name starts with NAME_PREFIX, which is how EventBridge rules and the use cases recognise icflow's
own jobs. Names match SageMaker's `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`: the dataset name (any folder name,
icflow.core.layout) becomes a readable slug of ASCII letters, digits and hyphens, truncated so that the run
id, which makes the name unique, is always kept whole. When the slug is not the name itself, or the name has
capitals (SageMaker compares names case-insensitively), a short digest of the name is appended; a name that
already ends like a digest gets one too, so no dataset's slug can be another's: two datasets never share a
name that has no run id (an endpoint's), not even in another case.

SageMaker tag values allow only letters, digits, spaces and `_.:/=+-@`, up to 256 characters, so the
dataset tag holds the name encoded (dataset_tags, dataset_of_tags).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping

NAME_PREFIX = "icflow-"
# Tags on every job, model and endpoint icflow creates: how a state-change event finds its dataset and run.
TAG_DATASET = "icflow:dataset"
TAG_RUN_ID = "icflow:run-id"
TAG_BATCH_ID = "icflow:batch-id"
# ... and which stack created it: stacks in one account share the name prefix (icflow.core.ownership).
TAG_STACK = "icflow:stack"
MAX_NAME = 63  # training job, model, endpoint config, endpoint, transform job
MAX_TUNING_JOB_NAME = 32
RUN_ID_LENGTH = 12  # hex characters; see icflow.training.fingerprint
_DIGEST_LENGTH = 6
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_RUN_ID = re.compile(rf"^[0-9a-f]{{{RUN_ID_LENGTH}}}$")
_SUFFIX = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
_DIGEST_LIKE = re.compile(rf"(^|-)[0-9a-f]{{{_DIGEST_LENGTH}}}$")
MAX_TAG_VALUE = 256
# Characters a tag value takes as they are (TagValue in botocore's SageMaker model: [\p{L}\p{Z}\p{N}_.:/=+\-@]*),
# except `=`, which starts an escape of every other UTF-8 byte (`=28` for `(`), so decoding is unambiguous.
_TAG_PLAIN_PUNCTUATION = set("_.:/+-@")
_TAG_PLAIN_CATEGORIES = ("L", "Z", "N")


def _dataset_part(dataset: str, room: int) -> str:
    """`dataset` as letters, digits and single hyphens, at most `room` characters."""
    # Accents come off rather than the letters ("äöü" -> "aou"); other scripts leave the digest alone.
    ascii_only = unicodedata.normalize("NFKD", dataset).encode("ascii", "ignore").decode()
    clean = re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9-]", "-", ascii_only)).strip("-")
    # SageMaker names are case-insensitive (CreateEndpoint: "Pets" is "pets"), so only a lowercase name is its
    # own slug; "Pets" gets a digest and never takes "pets"'s names.
    if clean == dataset.lower() == dataset and len(clean) <= room and not _DIGEST_LIKE.search(clean):
        return clean
    digest = hashlib.sha256(dataset.encode()).hexdigest()[:_DIGEST_LENGTH]
    head = clean[: max(room - _DIGEST_LENGTH - 1, 0)].rstrip("-")
    return f"{head}-{digest}" if head else digest[:room]


def _name(dataset: str, suffix: str, limit: int) -> str:
    if suffix and not _SUFFIX.match(suffix):
        raise ValueError(f"not a SageMaker name part: {suffix!r}")
    room = limit - len(NAME_PREFIX) - len(suffix) - (1 if suffix else 0)
    if room < 1:
        raise ValueError(f"{suffix!r} leaves no room for the dataset in a {limit}-character name")
    part = _dataset_part(dataset, room)
    return f"{NAME_PREFIX}{part}-{suffix}" if suffix else f"{NAME_PREFIX}{part}"


def _run(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise ValueError(f"not an icflow run id ({RUN_ID_LENGTH} lowercase hex characters): {run_id!r}")
    return run_id


def training_job_name(dataset: str, run_id: str) -> str:
    return _name(dataset, _run(run_id), MAX_NAME)


def tuning_job_name(dataset: str, run_id: str) -> str:
    """At most 32 characters: SageMaker names the tuning job's trials `<this>-NNN-xxxxxxxx`."""
    return _name(dataset, _run(run_id), MAX_TUNING_JOB_NAME)


def model_name(dataset: str, run_id: str) -> str:
    return _name(dataset, _run(run_id), MAX_NAME)


def run_id_of_model(name: str) -> str | None:
    """The run id a model_name ends with, or None for a name that does not end with one."""
    run_id = name.rpartition("-")[2]
    return run_id if _RUN_ID.match(run_id) else None


def endpoint_config_name(dataset: str, run_id: str) -> str:
    return _name(dataset, _run(run_id), MAX_NAME)


def endpoint_name(dataset: str) -> str:
    """One realtime endpoint per dataset: later models update it in place."""
    return _name(dataset, "", MAX_NAME)


def model_package_group_name(dataset: str) -> str:
    """The dataset's group in the SageMaker Model Registry: one per dataset, a version per model."""
    return _name(dataset, "", MAX_NAME)


def transform_job_name(dataset: str, batch_id: str) -> str:
    """`batch_id` (letters, digits, hyphens) is kept whole, like a run id."""
    return _name(dataset, batch_id, MAX_NAME)


def is_icflow_name(name: str) -> bool:
    """True for names icflow gives (and for the trials SageMaker names after an icflow tuning job)."""
    return name.startswith(NAME_PREFIX) and bool(SAGEMAKER_NAME.match(name))


def _tag_plain(char: str) -> bool:
    return char in _TAG_PLAIN_PUNCTUATION or unicodedata.category(char)[0] in _TAG_PLAIN_CATEGORIES


def encode_tag_value(value: str) -> str:
    """`value` in the characters a tag value allows; letters of any script and spaces stay readable."""
    return "".join(
        char if _tag_plain(char) else "".join(f"={byte:02X}" for byte in char.encode("utf-8")) for char in value
    )


def decode_tag_value(encoded: str) -> str:
    """The value encode_tag_value encoded (a value without `=` is itself)."""
    data = bytearray()
    index = 0
    while index < len(encoded):
        if encoded[index] == "=" and re.fullmatch(r"[0-9A-F]{2}", encoded[index + 1 : index + 3]):
            data.append(int(encoded[index + 1 : index + 3], 16))
            index += 3
        else:
            data += encoded[index].encode("utf-8")
            index += 1
    return data.decode("utf-8", errors="replace")


def _continuation(index: int) -> str:
    return f"{TAG_DATASET}:{index + 1}"


def dataset_tags(dataset: str) -> dict[str, str]:
    """The tags that carry `dataset`: TAG_DATASET, and for a name whose encoding passes MAX_TAG_VALUE, the
    rest in TAG_DATASET:2, :3, ... (layout.MAX_DATASET_NAME_BYTES keeps them well within SageMaker's 50 tags).
    Chunks never split an escape."""
    chunks: list[str] = [""]
    for char in dataset:
        piece = encode_tag_value(char)
        if len(chunks[-1]) + len(piece) > MAX_TAG_VALUE:
            chunks.append("")
        chunks[-1] += piece
    return {TAG_DATASET if index == 0 else _continuation(index): chunk for index, chunk in enumerate(chunks)}


def dataset_of_tags(tags: Mapping[str, str]) -> str | None:
    """The dataset dataset_tags put on a resource, or None when it carries no dataset tag."""
    if TAG_DATASET not in tags:
        return None
    encoded = [tags[TAG_DATASET]]
    while (key := _continuation(len(encoded))) in tags:
        encoded.append(tags[key])
    return decode_tag_value("".join(encoded))
