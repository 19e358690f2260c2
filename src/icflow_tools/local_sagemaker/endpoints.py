"""Realtime hosting: the loaded variants of each endpoint, and InvokeEndpoint.

An endpoint's variants are replaced in one assignment once the new ones are loaded, so UpdateEndpoint never
leaves a request without a model.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass

from icflow_tools.local_sagemaker.context import ServiceContext
from icflow_tools.local_sagemaker.errors import JobFailure, ModelError, RuntimeValidationError
from icflow_tools.local_sagemaker.models import ModelLoader
from icflow_tools.local_sagemaker.store import ENDPOINT, MODEL, Record
from icflow_tools.trainer.api import AlgorithmError, Classifier

IMAGE_CONTENT_TYPES = ("image/jpeg", "image/png", "application/x-image")


@dataclass(frozen=True)
class Variant:
    name: str
    weight: float
    classifier: Classifier


class EndpointRuntime:
    def __init__(self, ctx: ServiceContext, loader: ModelLoader) -> None:
        self._ctx = ctx
        self.loader = loader
        self._lock = threading.Lock()
        self._variants: dict[str, list[Variant]] = {}

    def load(self, config: Record) -> list[Variant]:
        """Load every variant of an endpoint config; raises JobFailure when one cannot be served."""
        variants = []
        for spec in config["ProductionVariants"]:
            model = self._ctx.store.get(MODEL, spec["ModelName"])
            if model is None:
                raise JobFailure(
                    f'ClientError: Could not find model "{self._ctx.store.account.arn(MODEL, spec["ModelName"])}".'
                )
            variants.append(
                Variant(spec["VariantName"], float(spec.get("InitialVariantWeight", 1.0)), self.loader.load(model))
            )
        return variants

    def serve(self, endpoint: str, variants: list[Variant]) -> None:
        with self._lock:
            self._variants[endpoint.lower()] = variants

    def remove(self, endpoint: str) -> None:
        with self._lock:
            self._variants.pop(endpoint.lower(), None)

    def invoke(self, endpoint: str, body: bytes, headers: dict[str, str]) -> tuple[bytes, str, str]:
        account = self._ctx.store.account
        with self._lock:
            variants = self._variants.get(endpoint.lower())
        if variants is None or self._ctx.store.get(ENDPOINT, endpoint) is None:
            raise RuntimeValidationError(f"Endpoint {endpoint} of account {account.account_id} not found.")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        variant = self._pick(variants, headers.get("x-amzn-sagemaker-target-variant"), endpoint)
        log_stream = f"arn:aws:logs:{account.region}:{account.account_id}:log-group:/aws/sagemaker/Endpoints/{endpoint}"
        if content_type not in IMAGE_CONTENT_TYPES:
            raise self._model_error(
                415,
                f"Content type {content_type or '(none)'} is not supported by this model; "
                f"send one of {', '.join(IMAGE_CONTENT_TYPES)}.",
                variant.name,
                log_stream,
            )
        try:
            probabilities = variant.classifier.predict(body)
        except AlgorithmError as error:
            raise self._model_error(
                400, f"unable to evaluate payload provided: {error}", variant.name, log_stream
            ) from error
        return json.dumps(probabilities).encode(), "application/json", variant.name

    @staticmethod
    def _pick(variants: list[Variant], target: str | None, endpoint: str) -> Variant:
        if target:
            for variant in variants:
                if variant.name == target:
                    return variant
            raise RuntimeValidationError(f"Variant {target} not found for endpoint {endpoint}.")
        weights = [variant.weight for variant in variants]
        return random.choices(variants, weights=weights)[0] if sum(weights) > 0 else variants[0]

    @staticmethod
    def _model_error(status: int, message: str, variant: str, log_stream: str) -> ModelError:
        return ModelError(
            f'Received client error ({status}) from {variant} with message "{message}". See {log_stream} for more information.',
            OriginalStatusCode=status,
            OriginalMessage=message,
            LogStreamArn=log_stream,
        )
