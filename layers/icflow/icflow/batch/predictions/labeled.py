"""A labeled prediction: one image, its most probable class by name, and the runners-up."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from icflow.core.class_names import ClassNames

DEFAULT_TOP_K = 3  # as pipeline.json's deploy.top_k


@dataclass(frozen=True)
class Ranked:
    label: str
    probability: float


@dataclass(frozen=True)
class LabeledPrediction:
    image_uri: str
    class_index: int
    label: str
    probability: float
    top_k: tuple[Ranked, ...]  # best first; the first is the label itself
    model_name: str

    def to_json(self) -> dict[str, Any]:
        """The predictions.jsonl record; writers.CSV_BASE_COLUMNS and top-k columns flatten the same fields."""
        return {
            "image_uri": self.image_uri,
            "label": self.label,
            "probability": self.probability,
            "class_index": self.class_index,
            "model_name": self.model_name,
            "top_k": [{"label": ranked.label, "probability": ranked.probability} for ranked in self.top_k],
        }


@dataclass(frozen=True)
class ImageError:
    """An image whose output could not be labeled; `reason` is a stable code."""

    image_uri: str
    reason: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"image_uri": self.image_uri, "reason": self.reason, "message": self.message}


def top_indices(probabilities: Sequence[float], k: int) -> list[int]:
    """The k most probable class indices, best first; ties go to the lower index, as argmax does."""
    return heapq.nsmallest(k, range(len(probabilities)), key=lambda i: (-probabilities[i], i))


def label_prediction(
    image_uri: str, probabilities: Sequence[float], class_names: ClassNames, model_name: str, top_k: int = DEFAULT_TOP_K
) -> LabeledPrediction:
    indices = top_indices(probabilities, max(top_k, 1))
    ranked = tuple(Ranked(class_names.label(i), probabilities[i]) for i in indices)
    return LabeledPrediction(image_uri, indices[0], ranked[0].label, ranked[0].probability, ranked, model_name)
