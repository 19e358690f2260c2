"""State-change events, published to an EventBridge bus as SageMaker publishes them (docs/sagemaker-events.md).

The detail mirrors the matching Describe* answer (timestamps in epoch milliseconds, Tags as a map); endpoint
events spell EndpointStatus in upper snake case (IN_SERVICE) while DescribeEndpoint says InService, and a
deleted endpoint's last event says DELETED.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.model import ServiceModel

from icflow_tools.local_sagemaker.timestamps import to_event_form

SOURCE = "aws.sagemaker"
TRAINING_JOB_STATE_CHANGE = "SageMaker Training Job State Change"
TUNING_JOB_STATE_CHANGE = "SageMaker HyperParameter Tuning Job State Change"
TRANSFORM_JOB_STATE_CHANGE = "SageMaker Transform Job State Change"
ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"
MODEL_STATE_CHANGE = "SageMaker Model State Change"
MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
DELETED_ENDPOINT_STATUS = "DELETED"

logger = logging.getLogger(__name__)


def event_status(status: str) -> str:
    """InService -> IN_SERVICE, as endpoint events spell statuses."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", status).upper()


class EventPublisher:
    def __init__(self, client: Any | None, bus_name: str | None, service_model: ServiceModel) -> None:
        self._client = client
        self._bus_name = bus_name
        self._model = service_model

    def publish(
        self,
        detail_type: str,
        describe_operation: str,
        arn: str,
        record: dict[str, Any],
        tags: dict[str, str],
        **overrides: Any,
    ) -> None:
        """One event whose detail is `record` shaped as `describe_operation`'s output."""
        if self._client is None or not self._bus_name:
            return
        detail = to_event_form(self._model.operation_model(describe_operation).output_shape, record)
        detail.update(overrides)
        detail["Tags"] = tags
        entry = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "Resources": [arn],
            "EventBusName": self._bus_name,
        }
        # A lost event must not fail the job that sent it; SageMaker's own delivery is best effort too.
        try:
            answer = self._client.put_events(Entries=[entry])
        except (BotoCoreError, ClientError) as error:
            logger.warning("could not publish %s for %s: %s", detail_type, arn, error)
            return
        if answer.get("FailedEntryCount"):
            logger.warning("EventBridge refused %s for %s: %s", detail_type, arn, answer["Entries"])
