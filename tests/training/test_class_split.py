"""The split of class folders: stratified, seeded, stable whatever the listing order, and every problem named."""

from __future__ import annotations

import random

import pytest

from icflow.algorithm.problems import InvalidInput
from icflow.core.pipeline_config import SplitSettings
from icflow.training.class_split import split_classes, validation_count


def _images(counts: dict[str, int]) -> dict[str, list[str]]:
    return {name: [f"datasets/d/images/{name}/{index}.jpg" for index in range(count)] for name, count in counts.items()}


@pytest.mark.parametrize(
    ("images", "fraction", "expected"),
    [(2, 0.2, 1), (5, 0.2, 1), (8, 0.2, 2), (10, 0.5, 5), (3, 0.99, 2), (1000, 0.01, 10), (7, 0.01, 1)],
)
def test_every_class_validates_on_its_share_at_least_one_image_and_never_all(images, fraction, expected):
    assert validation_count(images, fraction) == expected


def test_each_class_gives_its_share_and_labels_follow_the_sorted_folder_names():
    split = split_classes(_images({"zebra": 10, "ant": 50, "Moth": 3}), {}, (), "images/ folders", SplitSettings())
    assert split.classes == ("Moth", "ant", "zebra")  # code point order, as S3 lists keys
    assert split.counts(split.validation) == {0: 1, 1: 10, 2: 2}
    assert split.counts(split.train) == {0: 2, 1: 40, 2: 8}
    keys = [image.key for image in split.train + split.validation]
    assert len(keys) == len(set(keys)) == 63
    assert all(f"/{split.classes[image.label]}/" in image.key for image in split.train + split.validation)


def test_the_same_images_in_any_order_split_the_same_and_another_seed_otherwise():
    images = _images({"a": 40, "b": 40})
    shuffled = {name: random.Random(3).sample(keys, len(keys)) for name, keys in reversed(images.items())}
    first = split_classes(images, {}, (), "x", SplitSettings())
    assert split_classes(shuffled, {}, (), "x", SplitSettings()) == first
    other = split_classes(images, {}, (), "x", SplitSettings(seed=1))
    assert other.validation != first.validation and len(other.validation) == len(first.validation)


def test_names_in_force_order_the_classes():
    split = split_classes(_images({"cat": 2, "dog": 2}), {}, ("dog", "cat"), "classes.txt", SplitSettings())
    assert split.classes == ("dog", "cat")
    assert {image.key.split("/")[3]: image.label for image in split.train} == {"dog": 0, "cat": 1}


def test_every_problem_is_named_at_once():
    with pytest.raises(InvalidInput) as raised:
        split_classes(
            _images({"cat": 1, "dog": 5, "eel": 4}), {"cat": 2}, ("cat", "dog", "bird"), "classes.txt", SplitSettings()
        )
    problems = raised.value.problems
    assert any("classes.txt names 'bird', which has no folder under images/" in p for p in problems)
    assert any("folder 'eel' that classes.txt does not name" in p for p in problems)
    assert any("'cat' (1 usable, 2 left out)" in p and "fewer than 2 usable images" in p for p in problems)


@pytest.mark.parametrize(("counts", "found"), [({}, "no class folder"), ({"only": 9}, "only the class folder 'only'")])
def test_fewer_than_two_classes_cannot_train(counts, found):
    with pytest.raises(InvalidInput, match=found):
        split_classes(_images(counts), {}, (), "images/ folders", SplitSettings())


def test_a_folder_whose_images_were_all_left_out_is_still_a_class_that_needs_images():
    with pytest.raises(InvalidInput, match=r"'dog' \(0 usable, 3 left out\)"):
        split_classes(_images({"cat": 4}), {"dog": 3}, (), "images/ folders", SplitSettings())
