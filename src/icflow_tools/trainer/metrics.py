"""Accuracy as the algorithm reports it, accumulated over an epoch.

Single-label: the share of images whose highest score is their class, and top-k accuracy (the class is
among the k highest scores). Multi-label: each class is a yes/no decision at probability 0.5, and the
accuracy is the share of right decisions over all images and classes, that is the average accuracy
across classes the algorithm documents.
"""

from __future__ import annotations

import torch


class Accuracy:
    def __init__(self, multi_label: bool, top_k: int | None) -> None:
        self.multi_label = multi_label
        self.top_k = None if multi_label else top_k
        self.correct = 0.0
        self.correct_top_k = 0.0
        self.total = 0

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        logits = logits.detach().float()
        if self.multi_label:
            decisions = logits > 0  # sigmoid(logit) > 0.5
            self.correct += (decisions == target.bool()).float().mean(dim=1).sum().item()
        else:
            self.correct += (logits.argmax(dim=1) == target).sum().item()
            if self.top_k is not None:
                k = min(self.top_k, logits.shape[1])
                self.correct_top_k += (logits.topk(k, dim=1).indices == target[:, None]).any(dim=1).sum().item()
        self.total += target.shape[0]

    def values(self) -> dict[str, float]:
        """{'accuracy': ..., 'top_k_accuracy_<k>': ...} for the images seen so far."""
        total = max(self.total, 1)
        values = {"accuracy": self.correct / total}
        if self.top_k is not None:
            values[f"top_k_accuracy_{self.top_k}"] = self.correct_top_k / total
        return values
