import pytest

from icflow.core.errors import IcflowError
from icflow.training.dataset_facts import (
    DatasetFacts,
    InputFormat,
    ReadinessState,
    dataset_readiness,
    resolve_data_hyperparameters,
)
from support.hostile import bounded

D = "datasets/cats/"


def readiness(*relative_keys: str):
    return dataset_readiness(D + key for key in relative_keys)


def test_nothing_uploaded_waits_for_both_channels():
    state = readiness()
    assert (state.state, state.input_format, state.waiting_for) == (
        ReadinessState.WAITING,
        None,
        ("train", "validation"),
    )


def test_recordio_train_only_waits_for_validation():
    state = readiness("train/cats.rec", "train/cats.idx", "pipeline.json")
    assert (state.state, state.input_format, state.waiting_for) == (
        ReadinessState.WAITING,
        InputFormat.RECORDIO,
        ("validation",),
    )
    assert "validation/" in state.reason


def test_recordio_validation_only_waits_for_train():
    assert readiness("validation/v.rec").waiting_for == ("train",)


def test_recordio_both_channels_is_ready_and_companions_and_hidden_files_are_fine():
    state = readiness(
        "train/a.rec",
        "train/a.lst",
        "train/.DS_Store",
        "validation/b.REC",
        "classes.txt",
        "validation/Thumbs.db",
        "train/__MACOSX/._a.rec",
    )
    assert (state.state, state.input_format, state.waiting_for) == (ReadinessState.READY, InputFormat.RECORDIO, ())


@pytest.mark.parametrize(
    "stray", ["Train/a.rec", "test/a.rec", "VALIDATION/b.rec", "notes.txt", "Pipeline.json", "train_lst.lst"]
)
def test_a_folder_or_file_icflow_does_not_read_rejects_the_dataset_naming_what_it_reads(stray):
    # Before: Train/ waited for train/ forever, with an INFO line in the log as the only trace.
    state = readiness("train/a.rec", "validation/b.rec", stray)
    assert state.state is ReadinessState.INVALID
    assert D + stray in state.reason
    assert "train/, validation/, train_lst/, validation_lst/ (lowercase)" in state.reason
    assert "pipeline.json and classes.txt" in state.reason
    assert readiness(stray).state is ReadinessState.INVALID  # not waiting, whatever else is there


def test_hidden_and_system_files_beside_the_channels_are_fine():
    state = readiness("train/a.rec", "validation/b.rec", ".DS_Store", "__MACOSX/._train", ".git/config")
    assert state.state is ReadinessState.READY


def test_image_format_waits_for_each_of_its_four_channels():
    state = readiness("train/cat/1.jpg", "train_lst/train.lst")
    assert (state.state, state.input_format) == (ReadinessState.WAITING, InputFormat.IMAGE)
    assert state.waiting_for == ("validation", "validation_lst")
    ready = readiness(
        "train/cat/1.jpg", "train/dog/2.PNG", "validation/cat/3.jpeg", "train_lst/t.lst", "validation_lst/v.lst"
    )
    assert (ready.state, ready.input_format) == (ReadinessState.READY, InputFormat.IMAGE)


def test_keys_of_other_prefixes_and_folders_are_ignored():
    keys = [
        "datasets/cats/train/",
        "batch/cats/x.jpg",
        "status/cats/latest.json",
        D + "train/a.rec",
        D + "validation/b.rec",
    ]
    assert dataset_readiness(keys).state is ReadinessState.READY


@pytest.mark.parametrize(
    ("keys", "hint"),
    [
        (("train/a.rec", "train/b.jpg", "validation/c.rec"), "train/ holds both RecordIO"),
        (("train/a.rec", "validation/c.rec", "train_lst/a.lst"), "not both"),
        (("train/a.rec", "validation/b.jpg"), "not both"),
        (("train/a.rec", "validation/notes.txt"), "datasets/cats/validation/notes.txt"),
        (("train_lst/a.csv",), "datasets/cats/train_lst/a.csv"),
    ],
)
def test_mixed_or_unreadable_data_is_invalid_with_a_reason(keys, hint):
    state = readiness(*keys)
    assert state.state is ReadinessState.INVALID and hint in state.reason


def facts(counts, train, validation=None, image=False, max_labels=1):
    validation = validation if validation is not None else train
    return DatasetFacts(
        InputFormat.IMAGE if image else InputFormat.RECORDIO, counts(train, max_labels=max_labels), counts(validation)
    )


def problems_of(hyperparameters, dataset_facts, names=None) -> list[str]:
    with pytest.raises(IcflowError) as caught:
        resolve_data_hyperparameters(hyperparameters, dataset_facts, names)
    return list(caught.value.problems)


def test_samples_and_classes_are_inferred_from_the_data(counts):
    resolved = resolve_data_hyperparameters({"epochs": "3"}, facts(counts, {0: 40, 1: 30, 2: 30}, {0: 5, 2: 5}), None)
    assert resolved == {"epochs": "3", "num_classes": "3", "num_training_samples": "100"}


def test_given_values_that_match_the_data_are_kept(counts):
    given = {"num_classes": "2", "num_training_samples": "64"}
    assert resolve_data_hyperparameters(given, facts(counts, {0: 32, 1: 32}), ["a", "b"]) == given


def test_a_mismatch_names_both_numbers_and_what_to_do(counts):
    found = problems_of({"num_classes": "5", "num_training_samples": "100"}, facts(counts, {0: 32, 1: 32}))
    assert found == [
        "num_training_samples: pipeline.json says 100 but train/ holds 64 records; remove num_training_samples "
        "from pipeline.json to use 64, or fix the data",
        "num_classes: pipeline.json says 5 but the labels in train/ make 2 classes (0..1); remove num_classes "
        "from pipeline.json to use 2, or fix the data",
    ]


def test_labels_must_be_contiguous_from_zero(counts):
    [problem] = problems_of({}, facts(counts, {0: 40, 2: 40}))
    assert problem.startswith("train/: labels must be 0..2 without gaps, but no record has label 1")


@pytest.mark.parametrize("label", [10**8, 10**30])
def test_a_huge_label_costs_memory_in_the_labels_seen_not_in_its_value(counts, label):
    with bounded(seconds=5, memory_bytes=1 << 20):
        problems = problems_of({}, facts(counts, {0: 40, 2: 40, label: 1}, {0: 5}))
    gaps = label - 2
    assert problems[0] == (
        f"train/: labels must be 0..{label} without gaps, but no record has label 1, 3, 4 and {gaps - 3} more; "
        "renumber the classes or add their images"
    )


def test_validation_labels_must_occur_in_train(counts):
    [problem] = problems_of({}, facts(counts, {0: 40, 1: 40}, {0: 5, 3: 5}))
    assert problem.startswith("validation/: label 3 never occurs in train/")


def test_image_format_names_the_list_channels(counts):
    [problem] = problems_of({}, facts(counts, {0: 40, 1: 40}, {0: 5, 3: 5}, image=True))
    assert problem.startswith("validation_lst/: label 3 never occurs in train_lst/")


def test_empty_channels(counts):
    found = problems_of({}, DatasetFacts(InputFormat.RECORDIO, counts({}), counts({})))
    assert found == [
        "train/: holds no records; upload training data",
        "validation/: holds no records; upload validation data",
    ]


def test_multi_label_data_needs_multi_label(counts):
    data = facts(counts, {0: 40, 1: 40}, max_labels=2)
    [problem] = problems_of({}, data)
    assert problem.startswith("multi_label: the records carry several labels")
    assert resolve_data_hyperparameters({"multi_label": "1"}, data, None)["multi_label"] == "1"


def test_class_names_must_name_every_class(counts):
    [problem] = problems_of({}, facts(counts, {0: 40, 1: 40, 2: 40}), ["cat", "dog"])
    assert problem == "class names: 2 names for 3 classes; give exactly one name per class, line i = class i"


def test_mini_batch_size_default_included_must_fit_the_samples(counts):
    [problem] = problems_of({}, facts(counts, {0: 10, 1: 10}))
    assert problem.startswith("mini_batch_size: the default 32 is more than the 20 training samples")
    [problem] = problems_of({"mini_batch_size": "64"}, facts(counts, {0: 20, 1: 20}))
    assert problem.startswith("mini_batch_size: 64 is more than num_training_samples (40)")
    assert resolve_data_hyperparameters({"mini_batch_size": "8"}, facts(counts, {0: 10, 1: 10}), None)


def test_top_k_is_checked_against_the_inferred_classes(counts):
    [problem] = problems_of({"top_k": "5"}, facts(counts, {0: 40, 1: 40, 2: 40}))
    assert problem.startswith("top_k: 5 is more than num_classes (3)")


def test_image_format_gets_resize_from_image_shape_unless_given(counts):
    data = facts(counts, {0: 40, 1: 40}, image=True)
    assert resolve_data_hyperparameters({"image_shape": "3,28,32"}, data, None)["resize"] == "32"
    assert resolve_data_hyperparameters({}, data, None)["resize"] == "224"
    assert resolve_data_hyperparameters({"resize": "256"}, data, None)["resize"] == "256"
    assert "resize" not in resolve_data_hyperparameters({}, facts(counts, {0: 40, 1: 40}), None)


def test_multi_hot_labels_count_classes_by_vector_length(counts):
    # Four classes, multi-hot: every record holds four 0/1 entries.
    data = DatasetFacts(
        InputFormat.RECORDIO,
        counts({0: 150, 1: 50}, records=50, max_labels=4),
        counts({0: 30, 1: 10}, records=10, max_labels=4),
    )
    resolved = resolve_data_hyperparameters({"multi_label": "1"}, data, ["a", "b", "c", "d"])
    assert (resolved["num_classes"], resolved["num_training_samples"]) == ("4", "50")


def test_multi_hot_vectors_must_have_the_same_length_in_both_channels(counts):
    data = DatasetFacts(
        InputFormat.RECORDIO,
        counts({0: 150, 1: 50}, records=50, max_labels=4),
        counts({0: 30, 1: 10}, records=10, max_labels=3),
    )
    [problem] = problems_of({"multi_label": "1"}, data)
    assert problem.startswith("validation/: multi-hot labels have 3 entries per record but train/ has 4")


def test_multi_label_class_ids_count_classes_by_the_largest_id(counts):
    data = DatasetFacts(
        InputFormat.IMAGE,
        counts({0: 20, 1: 5, 2: 9, 3: 9}, records=40, max_labels=3),
        counts({0: 5, 3: 2}, records=6, max_labels=2),
    )
    assert resolve_data_hyperparameters({"multi_label": "1"}, data, None)["num_classes"] == "4"


def test_class_folders_are_ready_and_hidden_files_alone_are_not_data():
    ready = dataset_readiness(["datasets/d/images/cat/1.jpg", "datasets/d/pipeline.json", "datasets/d/classes.txt"])
    assert ready.state is ReadinessState.READY and ready.input_format is InputFormat.FOLDERS
    hidden = dataset_readiness(["datasets/d/images/.DS_Store", "datasets/d/images/__MACOSX/cat/._1.jpg"])
    assert hidden.state is ReadinessState.WAITING and "class folders" in hidden.reason


@pytest.mark.parametrize("channel_key", ["datasets/d/train/a.rec", "datasets/d/validation_lst/v.lst"])
def test_class_folders_beside_channels_are_invalid(channel_key):
    readiness = dataset_readiness(["datasets/d/images/cat/1.jpg", channel_key])
    assert readiness.state is ReadinessState.INVALID
    assert "keep one input format per dataset" in readiness.reason
