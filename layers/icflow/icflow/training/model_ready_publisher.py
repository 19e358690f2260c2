"""Announces "model ready" on EventBridge, where deployment picks it up."""

from __future__ import annotations

from typing import Any

from icflow.core.model_ready import MODEL_READY_DETAIL_TYPE, MODEL_READY_SOURCE, ModelReadyDetail


class ModelReadyPublisher:
    def __init__(self, events_client: Any, bus_name: str) -> None:
        self._events = events_client
        self._bus_name = bus_name

    def publish(self, detail: ModelReadyDetail) -> None:
        response = self._events.put_events(
            Entries=[
                {
                    "Source": MODEL_READY_SOURCE,
                    "DetailType": MODEL_READY_DETAIL_TYPE,
                    "Detail": detail.model_dump_json(),
                    "EventBusName": self._bus_name,
                }
            ]
        )
        # PutEvents reports rejected entries in the response instead of raising.
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise RuntimeError(
                f"EventBridge rejected the model-ready event: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
            )
