"""Incremental training (`training.incremental`): the dataset's current model a run starts from, and whether its
network is the run's.

The algorithm seeds a job from a model it trained, given as the job's compressed artifacts in a `model` channel
(application/x-sagemaker-model), when the new job has the same num_layers, image_shape and num_classes: they
define the network. None of the three can be tuned (icflow.algorithm.tuning.TUNABLE), so the run item's
hyperparameters are those of its model, a tuning run's best trial included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from icflow.algorithm.hyperparameters import effective
from icflow.core.state import DATASET_SK, StateTable

ARCHITECTURE = ("num_layers", "image_shape", "num_classes")


@dataclass(frozen=True)
class BaseModel:
    run_id: str
    model_name: str
    model_data_url: str  # s3://.../output/model.tar.gz
    hyperparameters: Mapping[str, str]


def current_model(state: StateTable, dataset: str) -> BaseModel | None:
    """The dataset's current model (the last one that passed its quality gate), or None before the first."""
    run_id = (state.get_item(dataset, DATASET_SK) or {}).get("current_model_run_id")
    run = state.get_run(dataset, run_id) if run_id else None
    if not run or not run.get("model_data_url"):
        return None
    return BaseModel(run_id, run["model_name"], run["model_data_url"], run.get("hyperparameters") or {})


def architecture_problems(base: BaseModel, hyperparameters: Mapping[str, str]) -> list[str]:
    """What keeps a run with these (complete) hyperparameters from starting from `base`, one problem per setting."""
    problems: list[str] = []
    for name in ARCHITECTURE:
        was, now = effective(base.hyperparameters, name), effective(hyperparameters, name)
        if was != now:
            problems.append(
                f"{name}: the current model ({base.model_name}, run {base.run_id}) has {was} but this run has {now}; "
                f"a run starts from a model of the same network only: give {name} {was} in pipeline.json "
                "hyperparameters, or set training.incremental to false to train from scratch"
            )
    return problems
