"""LocalSageMaker: the service on one port, with start()/stop() for tests and the local stack."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.model import ServiceModel

from icflow_tools.local_sagemaker import tags_api, training_api, transform_api, tuning_api
from icflow_tools.local_sagemaker.algorithm import DEFAULT_ALGORITHM, Algorithm, import_algorithm
from icflow_tools.local_sagemaker.context import ServiceContext
from icflow_tools.local_sagemaker.endpoints import EndpointRuntime
from icflow_tools.local_sagemaker.errors import UnknownOperation
from icflow_tools.local_sagemaker.events import EventPublisher
from icflow_tools.local_sagemaker.fault_injector import FaultInjector
from icflow_tools.local_sagemaker.faults import Fault
from icflow_tools.local_sagemaker.hosting_api import Hosting
from icflow_tools.local_sagemaker.iam import SageMakerIam
from icflow_tools.local_sagemaker.job_log_stream import LOGS_CLIENT_CONFIG
from icflow_tools.local_sagemaker.models import ModelLoader
from icflow_tools.local_sagemaker.protocol import access_key, handler_class
from icflow_tools.local_sagemaker.registry_api import Registry
from icflow_tools.local_sagemaker.s3io import S3Access
from icflow_tools.local_sagemaker.store import Account, Store
from icflow_tools.local_sagemaker.validation import validate_request, without_nulls

logger = logging.getLogger(__name__)

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's account, so ARNs match the rest of the local stack


@functools.lru_cache(maxsize=1)
def _service_model() -> ServiceModel:
    # Parsing the SageMaker model takes most of a second; every service in the process shares one copy.
    return botocore.session.get_session().get_service_model("sagemaker")


def _frozen_credentials(session: boto3.Session) -> dict[str, str] | None:
    """The session's credentials as AWS_* variables; None when it has none (a child process finds its own)."""
    credentials = session.get_credentials()
    if credentials is None:
        return None
    frozen = credentials.get_frozen_credentials()
    return {
        "AWS_ACCESS_KEY_ID": frozen.access_key,
        "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
        "AWS_SESSION_TOKEN": frozen.token or "",
    }


class LocalSageMaker:
    def __init__(
        self,
        work_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        s3_endpoint_url: str | None = None,
        events_endpoint_url: str | None = None,
        event_bus_name: str | None = "default",
        logs_endpoint_url: str | None = None,
        region: str = "us-east-1",
        max_running_jobs: int = 4,
        algorithm: Algorithm | str = DEFAULT_ALGORITHM,
        account_id: str = DEFAULT_ACCOUNT_ID,
        stop_grace_seconds: float = 10.0,
        iam: SageMakerIam | None = None,
        faults: Sequence[Fault] = (),
        session: boto3.Session | None = None,
    ) -> None:
        """`port=0` picks a free port (see `url` after start()); `event_bus_name=None` publishes no events;
        `logs_endpoint_url` is the CloudWatch Logs (e.g. moto's) that receives training jobs' log lines as SageMaker
        sends them (None: they stay in job.log only);
        `algorithm` is a module name or an object with the trainer's `train` and `load_model`; `iam` authorizes
        every call and gives jobs their execution role's credentials (None: anyone may do anything); `faults` are
        injected from the start (more with `service.faults.add(...)` or `POST /_icflow/faults`); `session` signs the
        service's own S3, EventBridge and CloudWatch Logs calls (None: the process's credentials)."""
        self._host = host
        self._port = port
        loader: Callable[[], Algorithm] = (
            (lambda: import_algorithm(algorithm)) if isinstance(algorithm, str) else (lambda: algorithm)
        )
        model = _service_model()
        self._operations: dict[str, Callable[[ServiceContext, dict[str, Any]], dict[str, Any]]] = {}
        # A live view of the operations, which are registered below, once the context they need exists.
        self.faults = FaultInjector(model, self._operations.keys())
        session = session or boto3.Session()
        events = (
            session.client("events", region_name=region, endpoint_url=events_endpoint_url) if event_bus_name else None
        )
        self.ctx = ServiceContext(
            store=Store(Account(region, account_id)),
            publisher=EventPublisher(events, event_bus_name, model),
            model=model,
            s3=session.client("s3", region_name=region, endpoint_url=s3_endpoint_url),
            work_dir=Path(work_dir),
            max_running_jobs=max_running_jobs,
            algorithm_loader=loader,
            faults=self.faults,
            stop_grace_seconds=stop_grace_seconds,
            s3_as=iam.s3_as if iam else None,
            s3_access=S3Access(s3_endpoint_url, region, _frozen_credentials(session)),
            credentials_as=iam.credentials_as if iam else None,
            logs=(
                session.client("logs", region_name=region, endpoint_url=logs_endpoint_url, config=LOGS_CLIENT_CONFIG)
                if logs_endpoint_url
                else None
            ),
            logs_as=functools.partial(iam.logs_as, endpoint_url=logs_endpoint_url) if iam else None,
        )
        self.iam = iam
        self.runtime = EndpointRuntime(self.ctx, ModelLoader(self.ctx))
        self.registry = Registry(self.ctx)
        self._operations.update(
            {
                **training_api.OPERATIONS,
                **tuning_api.OPERATIONS,
                **transform_api.operations(self.runtime),
                **Hosting(self.ctx, self.runtime).operations(),
                **tags_api.OPERATIONS,
                **self.registry.operations(),
            }
        )
        self.faults.add(*faults)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the local SageMaker is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    def dispatch(self, operation: str, params: dict[str, Any], caller: str = "") -> dict[str, Any]:
        """`caller` is the request's access key."""
        handler = self._operations.get(operation)
        if handler is None:
            raise UnknownOperation(f"The local SageMaker does not implement {operation}.")
        params = without_nulls(params)
        validate_request(self.ctx.model.operation_model(operation).input_shape, params)
        if self.iam is not None:
            self.iam.authorize(caller, operation, params, self.ctx.store.resource_tags, self.registry.next_version)
        # After authorization: a denied call stays AccessDenied, and only a call that would run uses up a fault.
        self.faults.refuse(operation, params)
        return handler(self.ctx, params)

    def invoke(self, endpoint: str, body: bytes, headers: dict[str, str]) -> tuple[bytes, str, str]:
        if self.iam is not None:
            # With the endpoint's tags: a policy may allow InvokeEndpoint only on endpoints tagged so.
            self.iam.authorize(
                access_key(headers.get("authorization", "")),
                "InvokeEndpoint",
                {"EndpointName": endpoint},
                self.ctx.store.resource_tags,
            )
        return self.runtime.invoke(endpoint, body, headers)

    def start(self) -> LocalSageMaker:
        self.ctx.work_dir.mkdir(parents=True, exist_ok=True)
        self._server = ThreadingHTTPServer(
            (self._host, self._port), handler_class(self.dispatch, self.invoke, self.faults.control)
        )
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-sagemaker", daemon=True)
        self._thread.start()
        logger.info("local SageMaker listening on %s", self.url)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop running jobs (they end as Stopped), then the HTTP server; waits at most about `timeout` seconds."""
        self.ctx.shutdown(timeout)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalSageMaker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
