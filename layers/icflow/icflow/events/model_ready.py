"""The event icflow puts on EventBridge when a dataset's model exists: deployment reacts to it."""

from __future__ import annotations

from pydantic import BaseModel

MODEL_READY_SOURCE = "icflow.training"
MODEL_READY_DETAIL_TYPE = "icflow Model Ready"


class ModelReadyDetail(BaseModel):
    dataset: str
    run_id: str
    model_name: str
    job_name: str  # the training job whose artifacts the model serves (the best trial for tuning)
    model_data_url: str
    metrics: dict[str, float]
