"""Every AWS client and adapter the functions use, built in one place and once per execution environment.

Each use case has a `build_*(adapters)` beside it that picks what it needs; a handler calls
`from_environment(build_*)`, and tests build the same Adapters on moto with their own session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config

from icflow.batch.labeled_batch import LabeledBatches
from icflow.batch.refused_images import TransformLogs
from icflow.batch.sagemaker_transforms import SageMakerTransforms
from icflow.batch.serving_endpoint import MAX_IN_FLIGHT, ServingEndpoint
from icflow.core.icflow_events import IcflowEvents
from icflow.core.notifier import Notifier
from icflow.core.ownership import StackOwnership
from icflow.core.s3_objects import MAX_CONNECTIONS, S3Objects
from icflow.core.settings import Settings, current_settings
from icflow.core.state import StateTable
from icflow.core.status_mirror import StatusMirror
from icflow.core.unusable_names import UnusableNames
from icflow.endpoints.endpoint_autoscaling import EndpointAutoscaling
from icflow.endpoints.endpoint_metrics import EndpointMetrics
from icflow.endpoints.sagemaker_endpoints import SageMakerEndpoints
from icflow.training.sagemaker_jobs import SageMakerJobs

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from icflow.reports.class_examples import ClassExamples
    from icflow.reports.sagemaker_runs import SageMakerRuns
    from icflow.reports.thumbnails import ThumbnailFetcher
    from icflow.reports.training_logs import TrainingLogs
    from icflow.training.class_folders import ClassFolders
    from icflow.training.model_registry import ModelRegistry
    from icflow.training.model_release import ModelRelease
    from icflow.training.settle_queue import SettleQueue

UseCase = TypeVar("UseCase")
# InvokeEndpoint tries in all, throttled ones included, before an image fails the endpoint's labeling.
RUNTIME_ATTEMPTS = 5


@dataclass(frozen=True)
class Adapters:
    settings: Settings
    session: boto3.Session = field(default_factory=boto3.Session)

    @cached_property
    def s3(self) -> Any:
        return self.session.client("s3", config=Config(max_pool_connections=MAX_CONNECTIONS))

    @cached_property
    def sagemaker(self) -> Any:
        return self.session.client("sagemaker")

    @cached_property
    def objects(self) -> S3Objects:
        return S3Objects(self.s3, self.settings.data_bucket)

    @cached_property
    def state(self) -> StateTable:
        return StateTable(self.session.client("dynamodb"), self.settings.runs_table)

    @cached_property
    def mirror(self) -> StatusMirror:
        return StatusMirror(self.s3, self.settings.data_bucket)

    @cached_property
    def notifier(self) -> Notifier:
        return Notifier(self.session.client("sns"), self.settings.notifications_topic_arn)

    @cached_property
    def unusable_names(self) -> UnusableNames:
        return UnusableNames(self.objects, self.notifier)

    @cached_property
    def ownership(self) -> StackOwnership:
        return StackOwnership(self.settings.stack_name)

    @cached_property
    def training_jobs(self) -> SageMakerJobs:
        return SageMakerJobs(self.sagemaker, self.ownership.tags)

    @cached_property
    def class_folders(self) -> ClassFolders:
        from icflow.training.class_folders import ClassFolders
        from icflow.training.image_checks import CHECK_WORKERS, ImageChecks

        # A pool as wide as the image checks keep requests in flight; the default 10 would hold the rest back.
        wide = self.session.client("s3", config=Config(max_pool_connections=CHECK_WORKERS))
        return ClassFolders(wide, self.objects, ImageChecks(wide, self.objects))

    @cached_property
    def model_registry(self) -> ModelRegistry:
        from icflow.training.model_registry import ModelRegistry

        return ModelRegistry(self.sagemaker, self.ownership.tags)

    @cached_property
    def model_release(self) -> ModelRelease:
        from icflow.training.model_release import ModelRelease

        return ModelRelease(self.settings, self.state, self.mirror, self.notifier, self.icflow_events)

    @cached_property
    def transforms(self) -> SageMakerTransforms:
        return SageMakerTransforms(self.sagemaker, self.ownership.tags)

    @cached_property
    def transform_logs(self) -> TransformLogs:
        return TransformLogs(self.session.client("logs"))

    @cached_property
    def serving_endpoint(self) -> ServingEndpoint:
        runtime = self.session.client(
            "sagemaker-runtime",
            config=Config(
                # Standard mode retries throttling and 5xx answers with backoff; a ModelError (424) is the
                # model's answer, not retried.
                retries={"mode": "standard", "max_attempts": RUNTIME_ATTEMPTS},
                max_pool_connections=MAX_IN_FLIGHT,
            ),
        )
        return ServingEndpoint(runtime)

    @cached_property
    def settle_queue(self) -> SettleQueue | None:
        """Where uploads wait while their dataset settles; None in a function that has none."""
        # Imported here: the queue's message model brings Powertools' S3 event models, which most functions never load.
        from icflow.training.settle_queue import SettleQueue

        url = self.settings.dataset_settle_queue_url
        return SettleQueue(self.session.client("sqs"), url) if url else None

    @cached_property
    def labeled_batches(self) -> LabeledBatches:
        return LabeledBatches(self.settings, self.state, self.notifier, self.icflow_events)

    @cached_property
    def endpoints(self) -> SageMakerEndpoints:
        return SageMakerEndpoints(self.sagemaker, self.ownership.tags)

    @cached_property
    def autoscaling(self) -> EndpointAutoscaling:
        return EndpointAutoscaling(self.session.client("application-autoscaling"))

    @cached_property
    def endpoint_metrics(self) -> EndpointMetrics:
        return EndpointMetrics(self.session.client("cloudwatch"))

    @cached_property
    def icflow_events(self) -> IcflowEvents:
        return IcflowEvents(self.session.client("events"), self.settings.event_bus_name)

    # The report function's adapters are imported where they are built: they bring Pillow, which no other function
    # loads, so their cold starts stay as they were.
    @cached_property
    def sagemaker_runs(self) -> SageMakerRuns:
        from icflow.reports.sagemaker_runs import SageMakerRuns

        return SageMakerRuns(self.sagemaker)

    @cached_property
    def training_logs(self) -> TrainingLogs:
        from icflow.reports.training_logs import TrainingLogs

        return TrainingLogs(self.session.client("logs"))

    @cached_property
    def thumbnails(self) -> ThumbnailFetcher:
        from icflow.reports.thumbnails import ThumbnailFetcher

        return ThumbnailFetcher(self.s3, self.settings.data_bucket, max_workers=MAX_CONNECTIONS)

    @cached_property
    def class_examples(self) -> ClassExamples:
        from icflow.reports.class_examples import ClassExamples

        return ClassExamples(self.s3, self.objects, self.thumbnails)

    @cached_property
    def idempotency_store(self) -> DynamoDBPersistenceLayer:
        # Imported here: only the dataset-upload function uses idempotency, and it is not light.
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(table_name=self.settings.idempotency_table, boto3_session=self.session)


@cache
def environment_adapters() -> Adapters:
    """The running function's adapters, from its environment."""
    return Adapters(current_settings())


@cache
def from_environment(build: Callable[[Adapters], UseCase]) -> UseCase:
    """The function's use case, built once per execution environment."""
    return build(environment_adapters())
