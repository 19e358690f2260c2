"""Accuracy per epoch from the image-classification algorithm's log lines, as CloudWatch Logs holds them."""

from __future__ import annotations

from icflow.reports.epoch_metrics import MAX_EPOCHS, EpochMetrics, epochs_from_log

# As the built-in algorithm prints them in CloudWatch Logs, batch lines included, with top_k=5.
ALGORITHM_LOG = """\
[12/05/2026 10:00:01 INFO 140035436025664] Epoch[0] Batch [20]#011Speed: 96.22 samples/sec#011accuracy=0.378571
[12/05/2026 10:00:02 INFO 140035436025664] Epoch[0] Train-accuracy=0.412000
[12/05/2026 10:00:02 INFO 140035436025664] Epoch[0] Train-top_k_accuracy_5=0.901000
[12/05/2026 10:00:02 INFO 140035436025664] Epoch[0] Time cost=12.345
[12/05/2026 10:00:03 INFO 140035436025664] Epoch[0] Validation-accuracy=0.450000
[12/05/2026 10:00:03 INFO 140035436025664] Epoch[0] Validation-top_k_accuracy_5=0.920000
[12/05/2026 10:00:03 INFO 140035436025664] Storing the best model with validation accuracy: 0.450000
[12/05/2026 10:00:04 INFO 140035436025664] Epoch[1] Train-accuracy=0.812000
[12/05/2026 10:00:04 INFO 140035436025664] Epoch[1] Time cost=11.000
[12/05/2026 10:00:05 INFO 140035436025664] Epoch[1] Validation-accuracy=0.850000
"""


def test_the_algorithms_lines_give_each_epochs_metrics_by_sagemakers_names() -> None:
    assert epochs_from_log(ALGORITHM_LOG.splitlines()) == [
        EpochMetrics(
            0,
            {
                "train:accuracy": 0.412,
                "train:top_k_accuracy_5": 0.901,
                "epoch_seconds": 12.345,
                "validation:accuracy": 0.45,
                "validation:top_k_accuracy_5": 0.92,
            },
        ),
        EpochMetrics(1, {"train:accuracy": 0.812, "epoch_seconds": 11.0, "validation:accuracy": 0.85}),
    ]


def test_prefixes_tabs_and_loss_lines_are_read() -> None:
    lines = [
        "2026-12-05T10:00:02.000Z Epoch[2] Train-loss=0.25",
        "Epoch[2]\tValidation-loss=3e-1",
        "Epoch[2]#011Validation-accuracy=.5",
    ]
    assert epochs_from_log(lines) == [
        EpochMetrics(2, {"train:loss": 0.25, "validation:loss": 0.3, "validation:accuracy": 0.5})
    ]


def test_garbage_and_values_that_are_not_finite_are_left_out() -> None:
    lines = [
        "Epoch[1] Train-accuracy=nan",
        "Epoch[1] Validation-accuracy=inf",
        "Epoch[1] Train-accuracy=1e999",  # inf once read
        "Epoch[1] Train-accuracy=",
        "Epoch[x] Train-accuracy=0.5",
        "Epoch[1] Test-accuracy=0.5",
        "Epoch[1] Training stopped on request after this epoch",
        "Epoch[12345678901] Train-accuracy=0.5",
        "Epoch[1]Train-accuracy=0.5",
        "",
        "Epoch[4] Validation-accuracy=0.7",
    ]
    assert epochs_from_log(lines) == [EpochMetrics(4, {"validation:accuracy": 0.7})]


def test_epochs_come_sorted_and_a_repeated_epoch_keeps_its_last_values() -> None:
    # A spot job interrupted during epoch 2 resumes from epoch 1's checkpoint and trains epoch 2 again.
    lines = [
        "Epoch[2] Validation-accuracy=0.3",
        "Epoch[2] Time cost=9.0",
        "Epoch[0] Validation-accuracy=0.1",
        "Epoch[1] Validation-accuracy=0.2",
        "Epoch[2] Validation-accuracy=0.6",
    ]
    assert epochs_from_log(lines) == [
        EpochMetrics(0, {"validation:accuracy": 0.1}),
        EpochMetrics(1, {"validation:accuracy": 0.2}),
        EpochMetrics(2, {"validation:accuracy": 0.6, "epoch_seconds": 9.0}),
    ]


def test_a_log_of_more_epochs_than_any_training_keeps_the_first_ones() -> None:
    lines = (f"Epoch[{epoch}] Validation-accuracy=0.5" for epoch in range(MAX_EPOCHS + 5, -1, -1))
    epochs = epochs_from_log(lines)
    assert len(epochs) == MAX_EPOCHS
    assert epochs[0].epoch == 6 and epochs[-1].epoch == MAX_EPOCHS + 5
