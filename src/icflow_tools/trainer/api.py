"""The contract between the local SageMaker, which runs jobs, and the trainer, which is the algorithm.

The local SageMaker downloads each channel into a folder (as /opt/ml/input/data/<channel> on AWS), calls
`icflow_tools.trainer.train(...)` with the job's hyperparameters, tars `model_dir` into
`<S3OutputPath>/<job>/output/model.tar.gz`, and serves models with `icflow_tools.trainer.load_model(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from icflow.core.errors import IcflowError


@dataclass(frozen=True)
class Channel:
    path: Path  # local folder holding the channel's files
    content_type: str  # as in InputDataConfig: application/x-recordio, application/x-image, ...


class TrainingHooks(Protocol):
    """How a running training reports to the job that runs it."""

    def log(self, line: str) -> None:
        """One line of the job's log, in the algorithm's own style (e.g. `Epoch[0] Train-accuracy=0.51`)."""

    def secondary_status(self, status: str, message: str) -> None:
        """SageMaker's SecondaryStatus (`Downloading`, `Training`, `Uploading`, ...) with its message."""

    def epoch_end(self, epoch: int, metrics: dict[str, float]) -> bool:
        """Metrics of a finished epoch, named as SageMaker names them (`validation:accuracy`).

        Returns True when the training must end now: StopTrainingJob, or a tuning strategy pruning the trial.
        """


class AlgorithmError(IcflowError):
    """The algorithm cannot go on; the message becomes the job's FailureReason, as `AlgorithmError: <message>`
    unless it is a ClientError."""


class ClientError(AlgorithmError):
    """The customer's input is at fault (hyperparameters, missing channels, data, an image that does not decode, a
    model or checkpoint to start from); SageMaker reports it as `ClientError: <message>`."""


@dataclass
class TrainingResult:
    final_metrics: dict[str, float]  # FinalMetricDataList: the last epoch's metrics
    epochs: list[dict[str, float]] = field(default_factory=list)  # metrics per epoch, for charts
    stopped: bool = False  # ended early by epoch_end() returning True


class Classifier(Protocol):
    def predict(self, image: bytes) -> list[float]:
        """Class probabilities for one encoded image (JPEG or PNG); raises ClientError if it does not decode."""
