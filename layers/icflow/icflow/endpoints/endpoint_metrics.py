"""CloudWatch for endpoints: invocations over a window (the idle guard) and the alarm that rolls back a
blue/green update (UpdateEndpoint's AutoRollbackConfiguration needs at least one alarm)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

NAMESPACE = "AWS/SageMaker"
INVOCATIONS = "Invocations"
SERVER_ERRORS = "Invocation5XXErrors"


def rollback_alarm_name(endpoint_name: str) -> str:
    return f"{endpoint_name}-invocation-errors"


class EndpointMetrics:
    def __init__(self, cloudwatch_client: Any) -> None:
        self._cloudwatch = cloudwatch_client

    def invocations(self, endpoint_name: str, variant_names: tuple[str, ...], start: datetime, end: datetime) -> float:
        """Sum of Invocations of every variant between start and end (0 when no datapoint exists)."""
        # One datapoint per variant for the whole window; Period must be a multiple of 60.
        period = max(60, int((end - start).total_seconds()) // 60 * 60)
        total = 0.0
        for variant in variant_names:
            response = self._cloudwatch.get_metric_statistics(
                Namespace=NAMESPACE,
                MetricName=INVOCATIONS,
                Dimensions=[
                    {"Name": "EndpointName", "Value": endpoint_name},
                    {"Name": "VariantName", "Value": variant},
                ],
                StartTime=start,
                EndTime=end,
                Period=period,
                Statistics=["Sum"],
            )
            total += sum(point["Sum"] for point in response.get("Datapoints", []))
        return total

    def put_rollback_alarm(self, endpoint_name: str, variant_name: str) -> str:
        """Any 5XX answer within a minute during a deployment rolls it back; put again, it stays the same alarm."""
        name = rollback_alarm_name(endpoint_name)
        self._cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription=f"icflow: rolls back a blue/green update of {endpoint_name} that answers server errors",
            Namespace=NAMESPACE,
            MetricName=SERVER_ERRORS,
            Dimensions=[
                {"Name": "EndpointName", "Value": endpoint_name},
                {"Name": "VariantName", "Value": variant_name},
            ],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )
        return name
