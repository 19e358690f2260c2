"""The algorithm's early stopping on validation accuracy.

An epoch improves when its accuracy beats the best so far by at least early_stopping_tolerance,
relative to that best. Once early_stopping_min_epochs epochs have run, training ends when
early_stopping_patience epochs in a row brought no improvement.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EarlyStopping:
    min_epochs: int
    patience: int
    tolerance: float
    best: float | None = None
    epochs_without_improvement: int = 0

    def update(self, epoch: int, accuracy: float) -> bool:
        """Record epoch's (0-based) validation accuracy; True when training should end after it."""
        if self.best is None or self._improves(accuracy):
            self.best = accuracy
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        return epoch + 1 >= self.min_epochs and self.epochs_without_improvement >= self.patience

    def _improves(self, accuracy: float) -> bool:
        assert self.best is not None
        if accuracy <= self.best:
            return False
        return self.best == 0 or (accuracy - self.best) / self.best >= self.tolerance

    def state(self) -> dict[str, float | int | None]:
        return {"best": self.best, "epochs_without_improvement": self.epochs_without_improvement}

    def restore(self, state: dict[str, float | int | None]) -> None:
        self.best = state["best"]  # type: ignore[assignment]
        self.epochs_without_improvement = int(state["epochs_without_improvement"] or 0)
