"""A dataset's model is ready: start its pending batches, and deploy it to the dataset's endpoint when
pipeline.json asks for one.

One endpoint per dataset: the first model creates an endpoint config and the endpoint; a later model
creates its own config and updates the endpoint in place (blue/green with an auto-rollback alarm when
configured). While the endpoint is busy (creating or updating) the newest config is recorded as wanted,
and the endpoint-state function applies it when the endpoint is in service again. Config and endpoint
names are deterministic, so a repeated "model ready" finds them and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from icflow.batch.starter import BatchStarter, BatchStartOutcome, build_batch_starter
from icflow.core import naming
from icflow.core.errors import IcflowError
from icflow.core.model_ready import ModelReadyDetail
from icflow.core.notifier import Notifier
from icflow.core.observability import logger
from icflow.core.outcome import Outcome
from icflow.core.pipeline_config import read_pipeline_config
from icflow.core.s3_objects import S3Objects
from icflow.core.state import (
    BATCH_SK_PREFIX,
    BatchStatus,
    StateTable,
)
from icflow.endpoints.deployer import EndpointDeployer, EndpointDeployOutcome, build_endpoint_deployer

if TYPE_CHECKING:
    from icflow.wiring import Adapters


@dataclass(frozen=True)
class DeployModelOutcome(Outcome):
    """What a ready model set off. No action of its own: each batch start and the endpoint carry theirs."""

    dataset: str
    model_name: str
    batches: tuple[BatchStartOutcome, ...]
    endpoint: EndpointDeployOutcome | None = None  # None: pipeline.json asks for no endpoint


@dataclass(frozen=True)
class IgnoredModelOutcome(Outcome):
    """Another stack's model: nothing done."""

    model_name: str
    reason: str
    action: Literal["ignored"] = "ignored"


class DeployModel:
    def __init__(
        self,
        stack_name: str,
        objects: S3Objects,
        state: StateTable,
        starter: BatchStarter,
        deployer: EndpointDeployer,
        notifier: Notifier,
    ) -> None:
        self._stack_name = stack_name
        self._objects = objects
        self._state = state
        self._starter = starter
        self.endpoints = deployer
        self._notifier = notifier

    def __call__(self, ready: ModelReadyDetail) -> DeployModelOutcome | IgnoredModelOutcome:
        if ready.stack != self._stack_name:
            # template.yaml's rule matches this stack's events only; a rule edited by hand must not cross stacks.
            return IgnoredModelOutcome(ready.model_name, f"the model is the icflow stack {ready.stack!r}'s")
        dataset = ready.dataset
        logger.set_correlation_id(ready.run_id)
        pending = [
            item for item in self._state.query(dataset, BATCH_SK_PREFIX) if item["status"] == BatchStatus.PENDING
        ]
        batches = tuple(self._starter.start(dataset, item["batch_id"], ready.model_name) for item in pending)
        try:
            realtime = read_pipeline_config(self._objects, dataset).deploy.realtime
        except IcflowError as error:
            reason = f"the model was not deployed to an endpoint: {error}"
            self._notifier.notify(f"icflow: endpoint of {dataset} not updated", reason, dataset)
            rejected = EndpointDeployOutcome("rejected", reason=reason)
            return DeployModelOutcome(dataset, ready.model_name, batches, rejected)
        if not realtime.enabled:
            return DeployModelOutcome(dataset, ready.model_name, batches)
        config_name = naming.endpoint_config_name(dataset, ready.run_id)
        endpoint = self.endpoints.deploy(dataset, config_name, ready.model_name, realtime)
        return DeployModelOutcome(dataset, ready.model_name, batches, endpoint)


def build_deploy_model(adapters: Adapters) -> DeployModel:
    return DeployModel(
        adapters.settings.stack_name,
        adapters.objects,
        adapters.state,
        build_batch_starter(adapters),
        build_endpoint_deployer(adapters),
        adapters.notifier,
    )
