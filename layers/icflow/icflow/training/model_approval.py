"""A model of an icflow dataset was approved or rejected in the SageMaker Model Registry: deploy it, or record and
tell why not.

The "SageMaker Model Package State Change" event names the version; its approval and whose it is are read back with
DescribeModelPackage (the run id, dataset and stack icflow.training.model_registry stored on it), so an event that
arrives late or twice acts on the version as it stands. A run waiting for approval (deploy.require_approval) is
released when approved (icflow.training.model_release: "icflow Model Ready", then deployment) and ended `rejected`
when rejected; the dataset keeps its current model until then. A decision about a model that was already released
(registered Approved, then rejected in the registry) is recorded on its run and notified; icflow does not take a
deployed model back, the user decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from icflow.core import naming
from icflow.core.notifier import Notifier
from icflow.core.observability import logger
from icflow.core.refusals import RetryLater
from icflow.core.settings import Settings
from icflow.core.state import AWAITING_APPROVAL, RUNNING, RunStatus, StateTable
from icflow.core.status_mirror import StatusMirror
from icflow.training.model_registry import APPROVED, REJECTED, ModelRegistry
from icflow.training.model_release import ModelRelease, StateOutcome
from icflow.training.sagemaker_jobs import TrainedModel

if TYPE_CHECKING:
    from icflow.wiring import Adapters

PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"


class PackageDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ModelPackageArn: str
    ModelPackageGroupName: str
    ModelApprovalStatus: str | None = None


class PackageStateChange(EventBridgeModel):  # type: ignore[override]
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Model Package State Change"] = Field(alias="detail-type")
    detail: PackageDetail


class HandleModelApproval:
    def __init__(
        self,
        settings: Settings,
        state: StateTable,
        mirror: StatusMirror,
        notifier: Notifier,
        registry: ModelRegistry,
        release: ModelRelease,
    ) -> None:
        self._settings = settings
        self._state = state
        self._mirror = mirror
        self._notifier = notifier
        self._registry = registry
        self._release = release

    def __call__(self, change: PackageDetail) -> StateOutcome:
        if not naming.is_icflow_name(change.ModelPackageGroupName):
            return StateOutcome("ignored", reason=f"{change.ModelPackageGroupName} is not an icflow model group")
        package = self._registry.describe(change.ModelPackageArn)
        if package.stack != self._settings.stack_name:
            return StateOutcome("ignored", reason=f"{package.arn} belongs to stack {package.stack!r}, not this one")
        if not package.dataset or not package.run_id:
            return StateOutcome("ignored", reason=f"{package.arn} carries no icflow dataset and run")
        dataset, run_id = package.dataset, package.run_id
        logger.set_correlation_id(run_id)
        run = self._state.get_run(dataset, run_id)
        if package.approval not in (APPROVED, REJECTED) or run is None:
            return StateOutcome("ignored", dataset, run_id, reason=f"{package.arn} is {package.approval}, run {run_id}")
        if run["status"] in RUNNING:
            if not run.get("require_approval"):
                # The registration of a model that needs no approval: the training-state function releases it.
                return StateOutcome("ignored", dataset, run_id, reason=f"{package.arn} is released with its run")
            # Decided in the moments between registering the version and recording it on the run: Lambda delivers
            # the event again in a minute, when the run waits for it.
            raise RetryLater(f"run {run_id} has not recorded its model package yet")
        if run.get("model_package_arn") != package.arn:
            return StateOutcome("ignored", dataset, run_id, reason=f"run {run_id} registered another version")
        decision = {"registry_approval": package.approval, "approval_description": package.approval_description}
        model_name = str(run.get("model_name"))
        if run["status"] not in AWAITING_APPROVAL:
            return self._after_release(dataset, run, package.approval, decision)
        trained = TrainedModel(
            str(run["best_training_job"]), str(run["model_data_url"]), dict(run.get("metrics") or {})
        )
        if package.approval == APPROVED:
            return self._release.release(dataset, run_id, model_name, trained, AWAITING_APPROVAL, fields=decision)
        said = f": {package.approval_description}" if package.approval_description else ""
        reason = (
            f"model {model_name} was rejected in the SageMaker Model Registry{said}; it is not deployed and the dataset "
            "keeps its current model. Upload new data or a new pipeline.json to train again."
        )
        return self._release.end(dataset, run, RunStatus.REJECTED, reason, trained, from_statuses=AWAITING_APPROVAL)

    def _after_release(
        self, dataset: str, run: dict[str, object], approval: str, decision: dict[str, str]
    ) -> StateOutcome:
        """A decision about a version whose run no longer waits: recorded; a rejection of a released model told."""
        run_id, status = str(run["run_id"]), str(run["status"])
        if run.get("registry_approval") == approval:
            return StateOutcome("duplicate", dataset, run_id, reason=f"run is {status}, already {approval}")
        item = self._state.transition(dataset, run_id, status, (status,), fields=decision)
        if item is not None:
            self._mirror.write(dataset, item)
        if approval == REJECTED and status == RunStatus.MODEL_READY.value:
            self._notifier.notify(
                f"icflow: deployed model rejected for {dataset}",
                f"Model {run.get('model_name')} (run {run_id}) was rejected in the SageMaker Model Registry after "
                "icflow deployed it. It stays deployed: approve another version to deploy that one, or delete the "
                f"dataset's endpoint (`icflow cleanup --dataset {dataset!r}`).",
                dataset,
            )
        return StateOutcome("ignored", dataset, run_id, reason=f"run is {status}; recorded {approval}")


def build_handle_model_approval(adapters: Adapters) -> HandleModelApproval:
    return HandleModelApproval(
        settings=adapters.settings,
        state=adapters.state,
        mirror=adapters.mirror,
        notifier=adapters.notifier,
        registry=adapters.model_registry,
        release=adapters.model_release,
    )
