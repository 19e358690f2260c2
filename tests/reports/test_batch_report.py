"""The batch report's data from a batch's summary.json and predictions.jsonl, as the labelers write them: the
gallery's order, the label histogram, and ground truth from class folders (accuracy, the confusion matrix, the
misclassified images) when the user sorted images into folders named after the model's classes."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from icflow.batch.manifest import Skipped
from icflow.batch.predictions.batch_files import refused_by_model
from icflow.batch.predictions.labeled import label_prediction
from icflow.batch.predictions.summary import SummaryBuilder
from icflow.core.class_names import FROM_CLASSES_FILE, FROM_INDEX, ClassNames
from icflow.core.images import SkipReason
from icflow.reports.batch_report import GalleryImage, batch_report_data

BUCKET = "icflow-data"
DATASET = "pets"
BATCH = "0123456789abcdef0123"
MODEL = "icflow-pets-model-1"
# In class-index order, which is not alphabetical; "cat" is a prefix of "cats" and of "catalog".
NAMES = ("dog", "cat", "cats")


def uri(relative: str, dataset: str = DATASET) -> str:
    return f"s3://{BUCKET}/batch/{dataset}/{relative}"


def one_hot(label: str, probability: float, names: Sequence[str] = NAMES) -> list[float]:
    """Probabilities with `label` at `probability` and the rest shared by the other classes."""
    rest = (1 - probability) / (len(names) - 1)
    return [probability if name == label else rest for name in names]


def labeled(
    images: dict[str, tuple[str, float]], dataset: str = DATASET, names: Sequence[str] = NAMES, **summary: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """summary.json and predictions.jsonl of a batch whose images (relative path -> label, probability) were labeled
    so, written by the labelers' own SummaryBuilder and LabeledPrediction."""
    class_names = ClassNames(tuple(names), FROM_CLASSES_FILE)
    builder = SummaryBuilder(dataset, BATCH, MODEL, "icflow-pets-batch-1", class_names, **summary)
    records = []
    for relative, (label, probability) in images.items():
        prediction = label_prediction(uri(relative, dataset), one_hot(label, probability, names), class_names, MODEL, 2)
        builder.add_prediction(prediction)
        records.append(prediction.to_json())
    return builder.to_json({}, {}), records


def report(images: dict[str, tuple[str, float]], dataset: str = DATASET, names: Sequence[str] = NAMES, **summary: Any):
    summary_json, records = labeled(images, dataset, names, **summary)
    return batch_report_data(dataset, BATCH, summary_json, iter(records), names)


def test_the_gallery_holds_every_image_lowest_probability_first_then_by_name():
    data = report({"b.jpg": ("dog", 0.9), "a.jpg": ("cat", 0.5), "c.jpg": ("cats", 0.5), "sub/d.jpg": ("dog", 0.4)})
    assert [image.name for image in data.images] == ["sub/d.jpg", "a.jpg", "c.jpg", "b.jpg"]
    assert data.images[0] == GalleryImage(
        image_uri=uri("sub/d.jpg"),
        key="batch/pets/sub/d.jpg",
        name="sub/d.jpg",
        label="dog",
        probability=0.4,
        top_k=(("dog", 0.4), ("cat", 0.3)),
        true_label=None,
    )
    assert (data.dataset, data.batch_id, data.model_name) == (DATASET, BATCH, MODEL)
    assert data.labeled_by == {"transform_job": "icflow-pets-batch-1"}


def test_the_histogram_counts_each_label_most_frequent_first():
    data = report({"a.jpg": ("cat", 0.9), "b.jpg": ("dog", 0.8), "c.jpg": ("dog", 0.7), "d.jpg": ("cats", 0.6)})
    assert list(data.count_per_label.items()) == [("dog", 2), ("cat", 1), ("cats", 1)]


def test_class_folders_give_accuracy_a_confusion_matrix_and_the_misclassified():
    data = report(
        {
            "dog/1.jpg": ("dog", 0.9),
            "dog/deep/er/2.jpg": ("cat", 0.6),  # any depth below the class folder
            "cat/3.jpg": ("cat", 0.8),
            "cat/4.jpg": ("dog", 0.55),
            "cat/5.jpg": ("cat", 0.7),
            "unsorted/6.jpg": ("cats", 0.4),  # a folder that names no class
            "7.jpg": ("dog", 0.3),  # directly in the dataset folder
        }
    )
    truth = data.ground_truth
    assert truth is not None
    assert truth.classes == ("dog", "cat")  # class-index order; "cats" occurs only outside class folders
    assert truth.matrix == ((1, 1), (1, 2))  # rows: true dog, true cat
    assert sum(map(sum, truth.matrix)) == truth.evaluated == 5
    assert (truth.correct, truth.accuracy, truth.outside_class_folders) == (3, 0.6, 2)
    assert [image.name for image in truth.misclassified] == ["cat/4.jpg", "dog/deep/er/2.jpg"]
    assert [(image.true_label, image.label) for image in truth.misclassified] == [("cat", "dog"), ("dog", "cat")]
    by_name = {image.name: image.true_label for image in data.images}
    assert by_name["unsorted/6.jpg"] is None and by_name["7.jpg"] is None


def test_class_names_that_are_prefixes_of_one_another_name_their_own_folders():
    data = report(
        {
            "cat/1.jpg": ("cats", 0.9),
            "cats/2.jpg": ("cats", 0.8),
            "catalog/3.jpg": ("cat", 0.7),
            "ca/4.jpg": ("cat", 0.6),
            "cat": ("cat", 0.5),  # a file named like a class, not a folder
        }
    )
    assert {image.name: image.true_label for image in data.images} == {
        "cat/1.jpg": "cat",
        "cats/2.jpg": "cats",
        "catalog/3.jpg": None,
        "ca/4.jpg": None,
        "cat": None,
    }
    truth = data.ground_truth
    assert truth is not None and truth.classes == ("cat", "cats") and truth.matrix == ((0, 1), (0, 1))


def test_a_dataset_name_with_spaces_plus_and_accents_keeps_its_images_names():
    dataset = "my pets + more é"
    data = report({"cat/a b+c.jpg": ("cat", 0.9), "x y.jpg": ("dog", 0.8)}, dataset=dataset)
    assert {image.key: image.name for image in data.images} == {
        f"batch/{dataset}/cat/a b+c.jpg": "cat/a b+c.jpg",
        f"batch/{dataset}/x y.jpg": "x y.jpg",
    }
    assert data.ground_truth is not None and data.ground_truth.evaluated == 1


def test_without_class_folders_there_is_no_ground_truth():
    data = report({"a.jpg": ("cat", 0.9), "holiday/b.jpg": ("dog", 0.8)})
    assert data.ground_truth is None and len(data.images) == 2


def test_an_empty_batch_has_an_empty_gallery():
    data = report({})
    assert (data.images, data.count_per_label, data.ground_truth) == ((), {}, None)


def test_a_folder_differing_from_one_class_by_case_or_normalization_names_it():
    decomposed = unicodedata.normalize("NFD", "Café")  # as a Mac spells a file name
    names = ("dog", "café", "Cat", "cat")
    data = report(
        {
            "DOG/1.jpg": ("dog", 0.9),
            f"{decomposed}/2.jpg": ("café", 0.8),
            "CAT/3.jpg": ("cat", 0.7),  # both Cat and cat: which one is a guess, so neither
            "Cat/4.jpg": ("Cat", 0.6),  # exactly one of them
        },
        names=names,
    )
    assert {image.name.partition("/")[2]: image.true_label for image in data.images} == {
        "1.jpg": "dog",
        "2.jpg": "café",
        "3.jpg": None,
        "4.jpg": "Cat",
    }


def test_a_model_without_class_names_has_its_indices_for_classes():
    """Labels are class indices when the model has no names (FROM_INDEX): folders named so are class folders."""
    class_names = ClassNames((), FROM_INDEX)
    records = [
        label_prediction(uri(relative), probabilities, class_names, MODEL, 2).to_json()
        for relative, probabilities in {"0/a.jpg": [0.9, 0.1], "1/b.jpg": [0.7, 0.3], "2/c.jpg": [0.6, 0.4]}.items()
    ]
    summary, _ = labeled({})
    truth = batch_report_data(DATASET, BATCH, summary, records, ()).ground_truth
    # No image was predicted as class 1, so nothing says "1" is a class: b.jpg is outside class folders.
    assert truth is not None and truth.classes == ("0",) and (truth.evaluated, truth.correct) == (1, 1)
    truth = batch_report_data(DATASET, BATCH, summary, records, ("0", "1")).ground_truth
    assert truth is not None and truth.classes == ("0", "1") and truth.matrix == ((1, 0), (1, 0))


def test_a_label_no_longer_in_the_class_names_keeps_its_class_index():
    """classes.txt changed after the batch was labeled: the label the model gave stands, at its index."""
    summary, records = labeled({"cat/a.jpg": ("cats", 0.9), "cat/b.jpg": ("cat", 0.8)})
    truth = batch_report_data(DATASET, BATCH, summary, records, ("dog", "cat")).ground_truth
    assert truth is not None and truth.classes == ("cat", "cats") and truth.matrix == ((1, 1), (0, 0))


def test_what_was_skipped_or_failed_comes_from_the_summary():
    skipped = [Skipped("batch/pets/notes.txt", SkipReason.NOT_AN_IMAGE).to_json(BUCKET)]
    summary, records = labeled({"a.jpg": ("cat", 0.9)}, skipped=skipped)
    summary["failed"] = {
        "count_per_reason": {"refused-by-model": 3, "wrong-length": 1},
        "examples": [refused_by_model(uri("b.jpg"), "unable to evaluate payload", batch_went_on=True).to_json()],
        "examples_truncated": True,
    }
    summary["labeled_by"] = {"endpoint": "icflow-pets-endpoint"}
    data = batch_report_data(DATASET, BATCH, summary, records, NAMES)
    assert data.skipped == ((uri("notes.txt"), SkipReason.NOT_AN_IMAGE.message),)
    [(failed_uri, why)] = data.failed
    assert failed_uri == uri("b.jpg") and why.startswith("the model refused the image (unable to evaluate payload)")
    assert data.failed_per_reason == {"refused-by-model": 3, "wrong-length": 1}
    assert data.labeled_by == {"endpoint": "icflow-pets-endpoint"}
