"""LocalStack: moto, the local SageMaker, the template's resources and functions, wired as template.yaml wires them."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from icflow.core.errors import IcflowError
from icflow_tools.local_iam.authorizer import Authorizer
from icflow_tools.local_iam.credentials import session_with
from icflow_tools.local_iam.middleware import AuthorizingMiddleware, WsgiApp
from icflow_tools.local_iam.moto_store import MotoStore
from icflow_tools.local_sagemaker.iam import SageMakerIam
from icflow_tools.local_stack.build import BuiltStack, StackBuilder, describe
from icflow_tools.local_stack.environment import (
    OPERATOR_CREDENTIALS,
    client_environment,
    function_environment,
    lambda_environment,
)
from icflow_tools.local_stack.intrinsics import ACCOUNT_ID
from icflow_tools.local_stack.moto_server import MotoServer
from icflow_tools.local_stack.pollers import AsyncPoller, Poller, QueuePoller, ScheduleTimer
from icflow_tools.local_stack.process import FunctionProcess
from icflow_tools.local_stack.resources import Target
from icflow_tools.local_stack.roles import assume_execution_role
from icflow_tools.local_stack.s3_events import aws_shaped_s3_events
from icflow_tools.local_stack.s3_latency import S3Latency, S3LatencyRange
from icflow_tools.local_stack.state import write_state
from icflow_tools.local_stack.template import load_template
from icflow_tools.local_stack.wiring import rate_seconds, wire_function_rules

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
STACK_LOG = "local-stack.log"
# Written at stop: each function's (and SageMaker's) calls by action, with the statements that allowed them.
IAM_USAGE = "iam-usage.json"


@dataclass
class StackOptions:
    template: Path
    work_dir: Path  # logs/, sagemaker/ and (by default) the state file live here
    state_file: Path
    port: int = 0  # moto's; 0 picks a free port
    sagemaker_port: int = 0
    region: str = "us-east-1"
    stack_name: str = "icflow"
    parameters: dict[str, str] = field(default_factory=dict)
    sagemaker: bool = True
    algorithm: Any = None  # the local SageMaker's algorithm (module name or object); None: its default
    # Every call is authorized against the caller's role, as in AWS; off only to debug something else.
    iam: bool = True
    faults: list[Any] = field(default_factory=list)  # the local SageMaker's injected faults, from the start
    # Each S3 request waits a draw from this range before moto answers, as S3's first-byte latency (s3_latency.py).
    s3_latency: S3LatencyRange | None = None


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.root = options.template.resolve().parent
        self.logs_dir = options.work_dir / "logs"
        self.endpoint_url = ""
        self.sagemaker_url: str | None = None
        self.built: BuiltStack | None = None
        self.functions: dict[str, FunctionProcess] = {}
        self.pollers: list[Poller] = []
        self.timers: list[ScheduleTimer] = []
        self._stop = threading.Event()
        self._exit = ExitStack()
        self._log_handler: logging.Handler | None = None
        self.authorizer = Authorizer(MotoStore(ACCOUNT_ID), [OPERATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"]], options.region)
        self.credentials: dict[str, dict[str, str]] = {}  # function logical id -> its role's credentials
        self.s3_latency = S3Latency(options.s3_latency) if options.s3_latency else None

    def _middleware(self, app: WsgiApp) -> WsgiApp:
        """moto behind the authorizer, and both behind S3's latency: AWS makes a refused request wait too."""
        if self.options.iam:
            app = AuthorizingMiddleware(app, self.authorizer, ACCOUNT_ID)
        return self.s3_latency(app) if self.s3_latency else app

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalStack:
        started = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        logger.info("local stack ready in %.1f s", time.monotonic() - started)
        return self

    def _start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request otherwise
        template = load_template(self.options.template)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._log_handler = logging.FileHandler(self.logs_dir / STACK_LOG)
        self._log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("icflow_tools").addHandler(self._log_handler)
        logging.getLogger("icflow_tools").setLevel(logging.INFO)

        moto = MotoServer(HOST, self.options.port, self._middleware).start()
        self._exit.callback(moto.stop)
        self.endpoint_url = moto.url
        self._exit.enter_context(aws_shaped_s3_events())

        if self.options.sagemaker:
            self._start_sagemaker()

        target = Target(self.session(), self.endpoint_url, self.options.stack_name, self.options.region, ACCOUNT_ID)
        self.built = StackBuilder(template, self.root, target, self.options.parameters).build()
        self._start_functions()
        self._wire()
        write_state(self.options.state_file, self.state())

    def _start_sagemaker(self) -> None:
        from icflow_tools.local_sagemaker import LocalSageMaker

        extra: dict[str, Any] = {} if self.options.algorithm is None else {"algorithm": self.options.algorithm}
        extra["faults"] = self.options.faults
        if self.options.iam:
            sts = self.session().client("sts", endpoint_url=self.endpoint_url)
            extra["iam"] = SageMakerIam(self.authorizer, sts, self.endpoint_url, self.options.region, ACCOUNT_ID)
        try:
            service = LocalSageMaker(
                work_dir=self.options.work_dir / "sagemaker",
                host=HOST,
                port=self.options.sagemaker_port,
                s3_endpoint_url=self.endpoint_url,
                events_endpoint_url=self.endpoint_url,
                event_bus_name="default",
                logs_endpoint_url=self.endpoint_url,
                region=self.options.region,
                account_id=ACCOUNT_ID,
                session=self.session(),
                **extra,
            ).start()
        # A fault the service cannot inject: an operation it lacks, an error it never gives.
        except ValueError as error:
            raise IcflowError(f"--faults: {error}") from None
        self._exit.callback(service.stop, 10.0)
        self.sagemaker_url = service.url
        # Its job logs go to sagemaker/<kind>s/<job>/job.log; its own lines to the stack's log.
        logging.getLogger("icflow_tools.local_sagemaker").setLevel(logging.INFO)

    def _start_functions(self) -> None:
        assert self.built is not None
        clients = client_environment(self.options.region, self.endpoint_url, self.sagemaker_url)
        sts = self.session().client("sts", endpoint_url=self.endpoint_url)
        for logical_id, spec in self.built.functions.items():
            reserved = lambda_environment(
                spec.name, spec.arn, spec.handler, str(spec.code_dir), spec.memory_mb, self.options.region
            )
            if self.options.iam:
                self.credentials[logical_id] = assume_execution_role(self.authorizer, sts, spec)
            environment = function_environment(
                spec.environment, reserved, {**clients, **self.credentials.get(logical_id, {})}
            )
            self.functions[logical_id] = FunctionProcess(spec, environment, self.logs_dir / f"{logical_id}.log")
        # Cold starts in parallel: each imports boto3 and Powertools in a fresh interpreter.
        with ThreadPoolExecutor(max_workers=max(1, len(self.functions))) as pool:
            failures = [
                (logical_id, error)
                for logical_id, error in zip(self.functions, pool.map(self._cold_start, self.functions.values()))
                if error is not None
            ]
        if failures:
            details = "; ".join(f"{logical_id}: {error}" for logical_id, error in failures)
            raise IcflowError(f"functions failed to start ({details}); see their logs in {self.logs_dir}")

    @staticmethod
    def _cold_start(function: FunctionProcess) -> str | None:
        from icflow_tools.local_stack.process import WorkerInitError

        try:
            function.start()
        except WorkerInitError as error:
            return f"{error.error.get('errorType')}: {error.error.get('errorMessage')}"
        return None

    def _wire(self) -> None:
        assert self.built is not None
        target = self.built.target
        sqs = target.client("sqs")
        for logical_id, spec in self.built.functions.items():
            function = self.functions[logical_id]
            # What Lambda does for the function (its SQS event source, its dead-letter queue) it does as its role.
            role_sqs = self.client("sqs", logical_id)
            dead_letter_url = self._queue_url(sqs, spec.dead_letter_arn) if spec.dead_letter_arn else None
            for wired in wire_function_rules(target, spec):
                name = f"{logical_id}<-{wired.source.rule_name}"
                self.pollers.append(
                    AsyncPoller(
                        name,
                        sqs,
                        wired.queue_url,
                        function,
                        self._stop,
                        spec.async_retries,
                        dead_letter_url,
                        wired.source.target_options,
                        role_sqs,
                    )
                )
                if wired.source.schedule:
                    self._schedule(name, sqs, wired.queue_url, wired.source.schedule, wired.arn)
            for source in spec.queues:
                if source.enabled:
                    self.pollers.append(
                        QueuePoller(
                            f"{logical_id}<-{source.queue_arn.rsplit(':', 1)[1]}",
                            role_sqs,
                            self._queue_url(sqs, source.queue_arn),
                            function,
                            self._stop,
                            source,
                            self.options.region,
                        )
                    )
        for delivery in self.built.deliveries:
            spec = self.built.functions[delivery.function_logical_id]
            dead_letter_url = self._queue_url(sqs, spec.dead_letter_arn) if spec.dead_letter_arn else None
            self.pollers.append(
                AsyncPoller(
                    f"{delivery.function_logical_id}<-{delivery.rule_name}",
                    sqs,
                    delivery.queue_url,
                    self.functions[delivery.function_logical_id],
                    self._stop,
                    spec.async_retries,
                    dead_letter_url,
                    delivery.target_options,
                    self.client("sqs", delivery.function_logical_id),
                )
            )
        for poller in [*self.pollers, *self.timers]:
            poller.start()
            logger.info("wired %s", poller.name)

    def _schedule(self, name: str, sqs: Any, queue_url: str, expression: str, rule_arn: str) -> None:
        period = rate_seconds(expression)
        if period is None:
            logger.warning(
                "%s: %s is not run locally (only rate() schedules are); use `icflow invoke`", name, expression
            )
            return
        self.timers.append(
            ScheduleTimer(name, sqs, queue_url, period, rule_arn, self.options.region, ACCOUNT_ID, self._stop)
        )

    @staticmethod
    def _queue_url(sqs: Any, arn: str) -> str:
        return sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]

    def stop(self) -> None:
        """Stops pollers, functions, the local SageMaker (running jobs end Stopped) and moto; bounded in time."""
        self._stop.set()
        for function in self.functions.values():
            function.stop(timeout=5.0)
        for poller in [*self.pollers, *self.timers]:
            poller.thread.join(timeout=10.0)
        self._exit.close()
        if self.options.iam and self.logs_dir.is_dir():
            (self.logs_dir / IAM_USAGE).write_text(json.dumps(self.authorizer.usage(), indent=1) + "\n")
        if self._log_handler is not None:
            logging.getLogger("icflow_tools").removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ connection details
    def client_environment(self) -> dict[str, str]:
        return client_environment(self.options.region, self.endpoint_url, self.sagemaker_url)

    def session(self, function: str | None = None) -> boto3.Session:
        """The operator's session (the account owner, whom IAM allows everything), or with `function`'s logical
        id that function's own role, as its code has it (the operator's when IAM is off)."""
        return session_with(self.credentials.get(function or "", OPERATOR_CREDENTIALS), self.options.region)

    def client(self, service: str, function: str | None = None) -> Any:
        url = self.sagemaker_url if service in ("sagemaker", "sagemaker-runtime") else self.endpoint_url
        return self.session(function).client(service, endpoint_url=url)

    def state(self) -> dict[str, Any]:
        assert self.built is not None
        return {
            "stack_name": self.options.stack_name,
            "region": self.options.region,
            "account_id": ACCOUNT_ID,
            "endpoint_url": self.endpoint_url,
            "sagemaker_endpoint_url": self.sagemaker_url,
            "environment": self.client_environment(),
            "iam": self.options.iam,
            "template": str(self.options.template.resolve()),
            "parameters": self.built.parameters,
            "outputs": self.built.outputs,
            "resources": describe(self.built),
            "functions": {
                logical_id: {
                    "name": spec.name,
                    "arn": spec.arn,
                    "code_dir": str(spec.code_dir),
                    "handler": spec.handler,
                    "role_arn": spec.role_arn,
                    "timeout_seconds": spec.timeout_seconds,
                    "memory_mb": spec.memory_mb,
                    "layer_dirs": [str(path) for path in spec.layer_dirs],
                    "environment": self.functions[logical_id].environment,
                    "log_file": str(self.functions[logical_id].log_path),
                    "rules": [source.rule_name for source in spec.rules],
                    "queues": [source.queue_arn for source in spec.queues],
                }
                for logical_id, spec in self.built.functions.items()
            },
            "logs_dir": str(self.logs_dir),
            "sagemaker_work_dir": str(self.options.work_dir / "sagemaker") if self.sagemaker_url else None,
            "pid": os.getpid(),
        }
