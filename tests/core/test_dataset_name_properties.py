"""Properties of dataset names (support.hostile): any key S3 can hold under datasets/ or batch/ parses to a
dataset icflow can use, or is nothing to act on (a folder), or gives an IcflowError with the rule; a usable name
gets valid SageMaker names no other name gets, and tags that carry it whole within SageMaker's limits."""

from __future__ import annotations

import unicodedata

import botocore.session
from hypothesis import assume, given
from hypothesis import strategies as st

from icflow.core import layout, naming
from icflow.core.errors import IcflowError
from support.hostile import parses_or_explains

RUN = "0123456789ab"
# S3 keys are UTF-8: any character but a lone surrogate.
CHARACTERS = st.characters(blacklist_categories=("Cs",))
# A folder's name: anything but "/", which ends it.
NAMES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/"), max_size=40),
    st.text(st.sampled_from("aZ9_.- (猫é\n+%"), max_size=40),
    st.builds(lambda char, count: char * count, st.sampled_from(["a", "é", "猫", "🐈", " "]), st.integers(120, 1000)),
    st.sampled_from(["", ".", "..", "a-b", "a_b", "a.b", "A-B"]),
)
RESTS = st.text(CHARACTERS, max_size=60)
# Names icflow uses, drawn directly: as NAMES, without control characters, "." and "..", or too many bytes.
USABLE_NAMES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"), min_size=1, max_size=40),
    st.text(st.sampled_from("aZ9_.- (猫é+%"), min_size=3, max_size=40),
    st.sampled_from(["a", "é", "猫", "🐈", " "]).flatmap(
        lambda char: st.integers(120, layout.MAX_DATASET_NAME_BYTES // len(char.encode())).map(lambda n: char * n)
    ),
    st.sampled_from(["a-b", "a_b", "a.b", "A-B", "Pets", "pets", "PETS", "my photos", "Katzen_äöü 猫"]),
).filter(lambda name: name not in (".", ".."))
TAG_VALUE = botocore.session.get_session().get_service_model("sagemaker").shape_for("TagValue")


def _s3_holds(key: str) -> bool:
    return len(key.encode("utf-8")) <= layout.MAX_KEY_BYTES


def _tag_value_allowed(value: str) -> bool:
    """botocore's TagValue pattern, [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*, spelled with Unicode categories."""
    return all(unicodedata.category(char)[0] in "LZN" or char in "_.:/=+-@" for char in value)


def test_the_tag_value_rule_is_sagemakers() -> None:
    assert TAG_VALUE.metadata["pattern"] == "([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)"
    assert TAG_VALUE.metadata["max"] == naming.MAX_TAG_VALUE


def _usable(dataset: str) -> None:
    assert layout.dataset_name_problem(dataset) is None and "/" not in dataset
    for key in (layout.latest_status_key(dataset), layout.predictions_prefix(dataset, "f" * 20) + "summary.json"):
        assert _s3_holds(key)
    for name in (naming.training_job_name(dataset, RUN), naming.endpoint_name(dataset)):
        assert naming.SAGEMAKER_NAME.match(name) and len(name) <= naming.MAX_NAME
    assert len(naming.tuning_job_name(dataset, RUN)) <= naming.MAX_TUNING_JOB_NAME


@given(NAMES, RESTS)
def test_any_key_under_datasets_is_a_dataset_key_or_explained(name: str, rest: str) -> None:
    key = f"{layout.DATASETS}{name}/{rest}"
    assume(_s3_holds(key))
    parsed = parses_or_explains(layout.parse_dataset_key, key)
    if isinstance(parsed, IcflowError):
        assert isinstance(parsed, layout.UnusableKey) and parsed.key == key
        assert layout.dataset_name_problem(name) is not None
        return
    if parsed is None:
        assert key.endswith("/")
        return
    _usable(parsed.dataset)
    assert parsed.dataset == name
    assert key == f"{layout.dataset_prefix(name)}{parsed.part}" + (f"/{parsed.relative}" if parsed.relative else "")


@given(NAMES, RESTS)
def test_any_key_under_batch_is_a_batch_key_or_explained(name: str, rest: str) -> None:
    key = f"{layout.BATCH}{name}/{rest}"
    assume(_s3_holds(key))
    parsed = parses_or_explains(layout.parse_batch_key, key)
    if isinstance(parsed, IcflowError):
        assert isinstance(parsed, layout.UnusableKey) and layout.dataset_name_problem(name) is not None
    elif parsed is None:
        assert key.endswith("/")
    else:
        _usable(parsed.dataset)
        assert (parsed.dataset, parsed.relative) == (name, rest)


@given(RESTS)
def test_a_key_in_no_dataset_folder_is_explained(rest: str) -> None:
    assume("/" not in rest and rest)
    for key, parse in (
        (f"{layout.DATASETS}{rest}", layout.parse_dataset_key),
        (f"{layout.BATCH}{rest}", layout.parse_batch_key),
    ):
        refused = parses_or_explains(parse, key)
        assert isinstance(refused, layout.UnusableKey) and "not in a dataset folder" in str(refused)


@given(USABLE_NAMES, USABLE_NAMES)
def test_two_names_never_share_a_sagemaker_name(first: str, second: str) -> None:
    assume(first != second)
    # SageMaker compares names case-insensitively.
    assert naming.endpoint_name(first).lower() != naming.endpoint_name(second).lower()
    assert naming.training_job_name(first, RUN).lower() != naming.training_job_name(second, RUN).lower()
    assert naming.tuning_job_name(first, RUN).lower() != naming.tuning_job_name(second, RUN).lower()


@given(USABLE_NAMES)
def test_a_name_spelled_like_another_names_slug_gets_its_own(name: str) -> None:
    slug = naming.endpoint_name(name).removeprefix(naming.NAME_PREFIX)
    assume(slug != name and layout.dataset_name_problem(slug) is None)
    assert naming.endpoint_name(slug).lower() != naming.endpoint_name(name).lower()


@given(USABLE_NAMES)
def test_tags_carry_any_usable_name_whole_within_sagemakers_limits(name: str) -> None:
    assert layout.dataset_name_problem(name) is None
    tags = naming.dataset_tags(name)
    assert naming.dataset_of_tags({**tags, naming.TAG_STACK: "icflow", naming.TAG_RUN_ID: RUN}) == name
    # SageMaker takes 50 tags; the stack, run and batch tags are the others icflow adds.
    assert len(tags) <= 50 - 3
    for value in tags.values():
        assert len(value) <= naming.MAX_TAG_VALUE and _tag_value_allowed(value)
