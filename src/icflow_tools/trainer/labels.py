"""Labels as training targets: class indices, or multi-hot rows for multi_label, and their class weights."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from icflow_tools.trainer.api import ClientError
from icflow_tools.trainer.datasets import Sample


def targets(samples: Sequence[Sample], num_classes: int, multi_label: bool) -> torch.Tensor:
    """Class indices (int64, N) or multi-hot rows (float32, N x num_classes)."""
    if multi_label:
        rows = []
        for sample in samples:
            if len(sample.labels) != num_classes:
                raise ClientError(
                    f"Mismatch between number of labels in the multi-label data ({len(sample.labels)}, in "
                    f"{sample.source}) and the num_classes parameter ({num_classes}); multi-label records hold "
                    "one 0/1 label per class"
                )
            if any(label not in (0.0, 1.0) for label in sample.labels):
                raise ClientError(f"{sample.source} has multi-label labels {sample.labels}; each must be 0 or 1")
            rows.append(sample.labels)
        return torch.tensor(rows, dtype=torch.float32)
    indices = []
    for sample in samples:
        label = sample.labels[0]
        if not (0 <= label < num_classes and label == int(label)):  # also false for nan; inf fails the range
            raise ClientError(
                f"{sample.source} has label {label:g}; labels must be class indices 0 to {num_classes - 1} "
                f"(num_classes is {num_classes})"
            )
        indices.append(int(label))
    return torch.tensor(indices, dtype=torch.int64)


def class_weights(labels: torch.Tensor) -> torch.Tensor:
    """use_weighted_loss: each class weighted by its inverse frequency among the training labels, scaled to
    average 1; a class without positives counts as having one, so its weight stays finite."""
    positives = labels.sum(dim=0).clamp(min=1)
    inverse = labels.shape[0] / positives
    return inverse / inverse.mean()
