import re

import pytest
import torch

from icflow_tools.trainer import ClientError, device, load_model, train
from icflow_tools.trainer.artifacts import MODEL_CONFIG, TRAINING_STATE, read_config

EPOCH_LINE = re.compile(r"^Epoch\[(\d+)\] (Train|Validation)-accuracy=(\d\.\d{6})$")


@pytest.fixture
def channels(tmp_path, kit):
    return kit.recordio_channels(tmp_path / "data", kit.coloured_items(48, 3), kit.coloured_items(24, 3, seed=1))


@pytest.fixture
def model_dir(tmp_path):
    path = tmp_path / "model"
    path.mkdir()
    return path


def test_learns_a_separable_dataset_and_reports_like_the_algorithm(kit, channels, model_dir, hooks):
    result = train(kit.small_hyperparameters(epochs="3", top_k="2"), channels, model_dir, None, hooks)

    assert result.final_metrics["validation:accuracy"] >= 0.9  # chance is 1/3
    assert not result.stopped
    assert [epoch for epoch, _ in hooks.reports] == [0, 1, 2]
    assert result.epochs == [metrics for _, metrics in hooks.reports]
    assert result.final_metrics == result.epochs[-1]
    assert set(result.final_metrics) == {
        "train:accuracy",
        "validation:accuracy",
        "train:top_k_accuracy_2",
        "validation:top_k_accuracy_2",
    }
    logged = [EPOCH_LINE.match(line).groups() for line in hooks.lines if EPOCH_LINE.match(line)]
    assert len(logged) == 6
    assert float(logged[-1][2]) == pytest.approx(result.final_metrics["validation:accuracy"], abs=1e-6)
    assert any(line.startswith("Epoch[2] Train-top_k_accuracy_2=") for line in hooks.lines)
    assert any(line.startswith("Epoch[0] Time cost=") for line in hooks.lines)
    config = read_config(model_dir)
    assert (model_dir / config.params).is_file() and config.num_classes == 3 and config.resize == 12


def test_without_checkpoint_frequency_only_improving_epochs_are_saved(kit, channels, model_dir, hooks):
    train(kit.small_hyperparameters(epochs="3"), channels, model_dir, None, hooks)
    stored = [float(line.rsplit(" ", 1)[1]) for line in hooks.lines if line.startswith("Storing the best model")]
    assert stored == sorted(set(stored))  # strictly increasing
    saved = sorted(path.name for path in model_dir.glob("image-classification-*.pt"))
    assert len(saved) == len(stored) and read_config(model_dir).params == saved[-1]


def test_checkpoint_frequency_saves_every_n_epochs(kit, channels, model_dir, hooks):
    train(kit.small_hyperparameters(epochs="3", checkpoint_frequency="2"), channels, model_dir, None, hooks)
    assert sorted(path.name for path in model_dir.glob("*.pt")) == ["image-classification-0002.pt"]
    assert read_config(model_dir).params == "image-classification-0002.pt"


def test_epoch_end_returning_true_stops_after_that_epoch_with_a_model(kit, channels, model_dir):
    hooks = kit.RecordingHooks(stop_after=0)
    result = train(kit.small_hyperparameters(epochs="3"), channels, model_dir, None, hooks)
    assert result.stopped and len(result.epochs) == 1 and [epoch for epoch, _ in hooks.reports] == [0]
    assert len(load_model(model_dir).predict(kit.coloured_items(1, 3)[0].image)) == 3


def test_early_stopping_ends_training_when_validation_accuracy_stops_improving(kit, channels, model_dir, hooks):
    # A tolerance of 1 asks each improvement to double the best accuracy, which soon becomes impossible.
    hyperparameters = kit.small_hyperparameters(
        epochs="8",
        early_stopping="True",
        early_stopping_min_epochs="2",
        early_stopping_patience="1",
        early_stopping_tolerance="1.0",
    )
    result = train(hyperparameters, channels, model_dir, None, hooks)
    assert 2 <= len(result.epochs) < 8 and not result.stopped
    assert any("Early stopping" in line for line in hooks.lines)


def test_an_interrupted_job_resumes_from_its_checkpoint_and_ends_as_an_uninterrupted_one(kit, channels, tmp_path):
    # Augmentation draws from the random state and early stopping counts epochs: both must survive the restart.
    hyperparameters = kit.small_hyperparameters(
        epochs="4",
        augmentation_type="crop",
        early_stopping="True",
        early_stopping_min_epochs="1",
        early_stopping_patience="2",
        early_stopping_tolerance="1.0",
    )
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    first, resumed, straight = (tmp_path / name for name in ("first", "resumed", "straight"))
    for folder in (first, resumed, straight):
        folder.mkdir()

    interrupted = train(hyperparameters, channels, first, checkpoints, kit.RecordingHooks(stop_after=0))
    assert interrupted.stopped and (checkpoints / TRAINING_STATE).is_file()
    hooks = kit.RecordingHooks()
    result = train(hyperparameters, channels, resumed, checkpoints, hooks)
    uninterrupted = train(hyperparameters, channels, straight, None, kit.RecordingHooks())

    assert [epoch for epoch, _ in hooks.reports] == list(range(1, len(uninterrupted.epochs)))
    assert any(line.startswith("Resuming training from the checkpoint after epoch 0") for line in hooks.lines)
    assert result.epochs == uninterrupted.epochs
    # The parameter files saved before the interruption come back into the new model folder.
    assert (resumed / "image-classification-0001.pt").is_file()
    assert (resumed / read_config(resumed).params).is_file()


def test_a_checkpoint_of_another_network_is_refused(kit, channels, tmp_path):
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    train(kit.small_hyperparameters(epochs="1"), channels, first, checkpoints, kit.RecordingHooks())
    with pytest.raises(ClientError, match="use a new checkpoint prefix"):
        train(
            kit.small_hyperparameters(epochs="1", num_layers="32"), channels, second, checkpoints, kit.RecordingHooks()
        )


def test_float16_trains_with_mixed_precision_where_the_hardware_has_it(kit, channels, model_dir, hooks, monkeypatch):
    # Force the bfloat16 path on CPUs without bfloat16 instructions, where it is slow but still correct.
    monkeypatch.setattr(device, "cpu_has_fast_bfloat16", lambda: True)
    result = train(kit.small_hyperparameters(epochs="2", precision_dtype="float16"), channels, model_dir, None, hooks)
    expected = "float16 autocast" if torch.cuda.is_available() else "bfloat16 autocast"
    assert any(line.startswith("data type: mixed precision") and expected in line for line in hooks.lines)
    assert 0.0 <= result.final_metrics["validation:accuracy"] <= 1.0
    probabilities = load_model(model_dir).predict(kit.coloured_items(1, 3)[0].image)
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA always takes float16 mixed precision")
def test_float16_falls_back_to_float32_on_cpus_without_bfloat16_and_says_so(
    kit, channels, model_dir, hooks, monkeypatch
):
    monkeypatch.setattr(device, "cpu_has_fast_bfloat16", lambda: False)
    train(kit.small_hyperparameters(epochs="1", precision_dtype="float16"), channels, model_dir, None, hooks)
    assert "data type: float32 on cpu (precision_dtype float16: this CPU has no bfloat16 instructions" in "\n".join(
        hooks.lines
    )


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "nag"])
def test_every_optimizer_learns(kit, channels, model_dir, hooks, optimizer):
    learning_rate = "0.05" if optimizer == "nag" else "0.002"
    hyperparameters = kit.small_hyperparameters(epochs="3", optimizer=optimizer, learning_rate=learning_rate)
    result = train(hyperparameters, channels, model_dir, None, hooks)
    assert result.final_metrics["train:accuracy"] >= 0.6


@pytest.mark.parametrize("augmentation_type", ["crop", "crop_color", "crop_color_transform"])
def test_augmented_training_runs_on_resized_images(kit, tmp_path, model_dir, hooks, augmentation_type):
    channels = kit.recordio_channels(
        tmp_path, kit.coloured_items(32, 2, size=(20, 16)), kit.coloured_items(8, 2, size=(20, 16))
    )
    hyperparameters = kit.small_hyperparameters(
        num_classes="2", epochs="1", augmentation_type=augmentation_type, resize="14", image_shape="3,12,12"
    )
    result = train(hyperparameters, channels, model_dir, None, hooks)
    assert len(result.epochs) == 1
    assert read_config(model_dir).resize == 14


@pytest.mark.parametrize("use_weighted_loss", ["0", "1"])
def test_multi_label_learns_per_class_decisions(kit, tmp_path, model_dir, hooks, use_weighted_loss):
    channels = kit.recordio_channels(tmp_path, kit.multi_label_items(48, 0), kit.multi_label_items(24, 1))
    # Small batches and adam: enough steps for the batch-norm running statistics that evaluation uses to settle.
    hyperparameters = kit.small_hyperparameters(
        epochs="4",
        multi_label="1",
        use_weighted_loss=use_weighted_loss,
        optimizer="adam",
        learning_rate="0.002",
        mini_batch_size="8",
    )
    result = train(hyperparameters, channels, model_dir, None, hooks)
    assert result.final_metrics["validation:accuracy"] >= 0.8  # predicting every label present scores 2/3
    probabilities = load_model(model_dir).predict(kit.multi_label_items(1, 2)[0].image)
    assert len(probabilities) == 3 and all(0.0 <= p <= 1.0 for p in probabilities)


def test_multi_label_records_need_one_label_per_class(kit, tmp_path, model_dir, hooks):
    channels = kit.recordio_channels(tmp_path, kit.multi_label_items(16, 0), kit.multi_label_items(8, 1))
    with pytest.raises(ClientError, match=r"Mismatch between number of labels in the multi-label data \(3"):
        train(kit.small_hyperparameters(num_classes="4", multi_label="1"), channels, model_dir, None, hooks)


def test_image_and_lst_channels_train(kit, tmp_path, model_dir, hooks):
    train_images, train_lst = kit.write_images(tmp_path / "train", tmp_path / "train_lst", kit.coloured_items(32, 2))
    validation_images, validation_lst = kit.write_images(
        tmp_path / "validation", tmp_path / "validation_lst", kit.coloured_items(8, 2, seed=1)
    )
    channels = {
        "train": train_images,
        "train_lst": train_lst,
        "validation": validation_images,
        "validation_lst": validation_lst,
    }
    result = train(kit.small_hyperparameters(num_classes="2", epochs="1"), channels, model_dir, None, hooks)
    assert len(result.epochs) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mini_batch_size": "64"}, "must be bigger or equal to the mini_batch_size"),
        ({"num_classes": "2"}, "has label 2; labels must be class indices 0 to 1"),
        ({"use_pretrained_model": "1"}, "pretrained weights"),
    ],
)
def test_unusable_jobs_fail_with_a_reason(kit, channels, model_dir, hooks, change, message):
    with pytest.raises(ClientError, match=message):
        train(kit.small_hyperparameters(**change), channels, model_dir, None, hooks)


def test_a_record_that_is_not_an_image_fails_the_job_naming_it(kit, tmp_path, model_dir, hooks):
    items = kit.coloured_items(16, 2) + [kit.Item(b"not an image", (1.0,))]
    channels = {
        "train": kit.write_recordio(tmp_path / "train", items),
        "validation": kit.write_recordio(tmp_path / "v", items),
    }
    with pytest.raises(ClientError, match=r"train/data.rec record 16 is not an image"):
        train(kit.small_hyperparameters(num_classes="2"), channels, model_dir, None, hooks)
    assert not (model_dir / MODEL_CONFIG).exists()


def test_kv_store_a_sample_count_mismatch_and_extra_channels_are_logged_not_fatal(kit, channels, model_dir, hooks):
    hyperparameters = kit.small_hyperparameters(epochs="1", kv_store="dist_async", num_training_samples="50")
    train(hyperparameters, {**channels, "test": channels["validation"]}, model_dir, None, hooks)
    assert "channel(s) test are not inputs of the algorithm and are ignored" in hooks.lines
    assert "kv_store: dist_async" in hooks.lines
    assert any("num_training_samples is 50 but the train channel holds 48 images" in line for line in hooks.lines)


def test_a_large_image_depth_trains_and_serves(kit, tmp_path, model_dir, hooks):
    # 36 pixels high takes the 7x7/2 stem and max pooling of the large-image networks.
    items = kit.coloured_items(20, 2, size=(36, 36))
    channels = kit.recordio_channels(tmp_path, items[:16], items[16:])
    hyperparameters = kit.small_hyperparameters(
        num_classes="2", num_layers="18", image_shape="3,36,36", epochs="1", mini_batch_size="8"
    )
    train(hyperparameters, channels, model_dir, None, hooks)
    assert len(load_model(model_dir).predict(kit.coloured_items(1, 2, size=(50, 40))[0].image)) == 2
