"""Puts icflow's own events on EventBridge ("icflow Model Ready", "icflow Run Ended", "icflow Batch Labeled"), where
the functions that react to them pick them up. Each detail model carries its event's source and detail-type."""

from __future__ import annotations

from typing import Any

from icflow.core.batch_labeled import BatchLabeledDetail
from icflow.core.model_ready import ModelReadyDetail
from icflow.core.run_ended import RunEndedDetail


class IcflowEvents:
    def __init__(self, events_client: Any, bus_name: str) -> None:
        self._events = events_client
        self._bus_name = bus_name

    def publish(self, detail: ModelReadyDetail | RunEndedDetail | BatchLabeledDetail) -> None:
        response = self._events.put_events(
            Entries=[
                {
                    "Source": detail.source,
                    "DetailType": detail.detail_type,
                    "Detail": detail.model_dump_json(),
                    "EventBusName": self._bus_name,
                }
            ]
        )
        # PutEvents reports rejected entries in the response instead of raising.
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise RuntimeError(
                f"EventBridge rejected the {detail.detail_type} event: "
                f"{entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
            )
