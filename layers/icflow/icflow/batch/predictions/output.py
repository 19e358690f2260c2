"""One transform output of the image-classification algorithm: `{"prediction": [p0, ..., pN-1]}`.

A bad output is a problem of one image, not of the batch: it raises InvalidOutput with a stable reason
code, which the labeler records in the summary and goes on.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum

from icflow.core.errors import IcflowError

# A thousand-class output is about 25 kB; anything far larger is not an output of this algorithm, and
# reading it whole would break the labeler's memory bound.
MAX_OUTPUT_BYTES = 1_000_000


class OutputProblem(StrEnum):
    TOO_LARGE = "output-too-large"
    MALFORMED = "malformed-json"
    NO_PREDICTION = "no-prediction"
    EMPTY = "empty-prediction"
    NOT_A_NUMBER = "not-a-number"
    WRONG_LENGTH = "wrong-length"
    UNREADABLE = "unreadable-output"


class InvalidOutput(IcflowError):
    def __init__(self, problem: OutputProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def parse_output(body: bytes, num_classes: int | None) -> list[float]:
    """The class probabilities of one output; `num_classes` None accepts any length."""
    if len(body) > MAX_OUTPUT_BYTES:
        raise InvalidOutput(
            OutputProblem.TOO_LARGE, f"the output has more than {MAX_OUTPUT_BYTES} bytes; it is not a prediction"
        )
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidOutput(OutputProblem.MALFORMED, f"the output is not JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("prediction"), list):
        raise InvalidOutput(
            OutputProblem.NO_PREDICTION, 'the output has no "prediction" list; was the model image classification?'
        )
    prediction = document["prediction"]
    if not prediction:
        raise InvalidOutput(OutputProblem.EMPTY, "the prediction list is empty")
    # bool is an int to Python, and json.loads turns NaN and Infinity into floats; none is a probability.
    if not all(isinstance(p, (int, float)) and not isinstance(p, bool) and math.isfinite(p) for p in prediction):
        raise InvalidOutput(OutputProblem.NOT_A_NUMBER, "the prediction holds values that are not finite numbers")
    if num_classes is not None and len(prediction) != num_classes:
        raise InvalidOutput(
            OutputProblem.WRONG_LENGTH,
            f"the prediction has {len(prediction)} classes but the class names list {num_classes}; "
            "does classes.txt belong to this model?",
        )
    return [float(p) for p in prediction]
