"""Incremental training's input: the `model` channel, holding the model.tar.gz of an earlier training job.

The algorithm's contract (image-classification.md, "Incremental Training"): the channel's content type is
application/x-sagemaker-model, it holds the compressed model artifacts SageMaker wrote, and the new job has the
same num_layers, image_shape and num_classes as the model, since these define the network. The job starts from
the parameters that model serves; its optimizer starts fresh and its epochs count from 1, as a new job's do.
Anything else is the customer's input at fault, so it fails the job as a ClientError.
"""

from __future__ import annotations

import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from icflow_tools.trainer.api import Channel, ClientError
from icflow_tools.trainer.artifacts import MODEL_CONFIG, ModelConfig, read_config
from icflow_tools.trainer.hyperparameters import Hyperparameters

MODEL_CHANNEL = "model"
MODEL_CONTENT_TYPE = "application/x-sagemaker-model"
TARBALL_SUFFIX = ".tar.gz"


@dataclass(frozen=True)
class StartingModel:
    """The earlier job's model: how it was built, and the parameters it serves."""

    tarball: str  # its path inside the channel, for the log and error messages
    config: ModelConfig
    params: dict[str, torch.Tensor]


def read_model_channel(channel: Channel) -> StartingModel:
    """The model.tar.gz in the channel, extracted without letting any member leave a temporary folder."""
    if channel.content_type != MODEL_CONTENT_TYPE:
        raise ClientError(
            f"the {MODEL_CHANNEL} channel has content type {channel.content_type!r}; incremental training needs "
            f"{MODEL_CONTENT_TYPE!r} and the model.tar.gz of an earlier training job"
        )
    tarballs = sorted(path for path in channel.path.rglob(f"*{TARBALL_SUFFIX}") if path.is_file())
    if len(tarballs) != 1:
        names = ", ".join(path.relative_to(channel.path).as_posix() for path in tarballs)
        raise ClientError(
            f"the {MODEL_CHANNEL} channel holds {len(tarballs)} {TARBALL_SUFFIX} files{f' ({names})' if names else ''}; "
            "incremental training needs exactly one: the model.tar.gz of an earlier training job"
        )
    tarball = tarballs[0].relative_to(channel.path).as_posix()
    with tempfile.TemporaryDirectory() as temporary:
        extracted = Path(temporary)
        try:
            with tarfile.open(tarballs[0]) as archive:
                # The "data" filter refuses absolute paths, members or links leading outside the folder, and
                # device files: the archive comes from whoever can write to the bucket.
                archive.extractall(extracted, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise ClientError(f"the {MODEL_CHANNEL} channel's {tarball} cannot be extracted: {error}") from error
        if not (extracted / MODEL_CONFIG).is_file():
            raise ClientError(
                f"the {MODEL_CHANNEL} channel's {tarball} holds no {MODEL_CONFIG}: it is not a model written by the "
                "icflow trainer (a model of SageMaker's MXNet container cannot be loaded by this algorithm)"
            )
        config = read_config(extracted)
        params = _load_params(extracted, config.params, tarball)
    return StartingModel(tarball, config, params)


def _load_params(extracted: Path, name: str, tarball: str) -> dict[str, torch.Tensor]:
    path = (extracted / name).resolve()
    # The name comes from the archive's own config: it must name a file of the archive, nothing beside it.
    if "/" in name or "\\" in name or not path.is_relative_to(extracted.resolve()) or not path.is_file():
        raise ClientError(
            f"{MODEL_CONFIG} in the {MODEL_CHANNEL} channel's {tarball} serves {name!r}, which is not a file of "
            "that archive"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a damaged or foreign file
        raise ClientError(
            f"the {MODEL_CHANNEL} channel's parameter file {name} in {tarball} cannot be loaded: {error}"
        ) from error


def check_same_network(model: StartingModel, hp: Hyperparameters) -> None:
    """Fail unless the model was built with this job's num_layers, image_shape and num_classes."""
    pairs = {
        "num_layers": (model.config.num_layers, hp.num_layers),
        "image_shape": (model.config.image_shape, str(hp.image_shape)),
        "num_classes": (model.config.num_classes, hp.num_classes),
    }
    differences = [
        f"{name} is {earlier} for the model and {job} for this job"
        for name, (earlier, job) in pairs.items()
        if str(earlier) != str(job)
    ]
    if differences:
        raise ClientError(
            f"the {MODEL_CHANNEL} channel's model was trained with a different network: {'; '.join(differences)}. "
            "Incremental training needs the same num_layers, image_shape and num_classes as the model"
        )


def load_into(network: torch.nn.Module, model: StartingModel) -> None:
    """The network starts from the model's parameters (buffers too: BatchNorm's running statistics)."""
    try:
        network.load_state_dict(model.params)
    except (RuntimeError, TypeError) as error:  # a config that does not describe its own parameter file
        raise ClientError(
            f"the parameters {model.config.params} in the {MODEL_CHANNEL} channel's {model.tarball} do not fit the "
            f"network its {MODEL_CONFIG} describes: {error}"
        ) from error
