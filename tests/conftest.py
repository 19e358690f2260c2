"""Fixtures every test folder may use: the stack on moto (tests/support/stack.py), its handlers and events."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker import models as sagemaker_models

from icflow.core.observability import metrics
from icflow.core.settings import load_settings
from icflow_tools.local_iam.authorizer import Authorizer
from icflow_tools.local_iam.in_process import InProcessAuthorizer
from icflow_tools.local_iam.moto_store import MotoStore
from icflow_tools.local_stack.environment import OPERATOR_CREDENTIALS
from support import s3_files
from support.browser import BrowserPage, browser_session
from support.function_roles import function_credentials
from support.stack import (
    ENVIRONMENT_CACHES,
    FUNCTIONS,
    FakeLambdaContext,
    Handler,
    Stack,
    create_training_job_once,
    load_event,
    load_template,
    provision,
    sample_environment,
)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": sample_environment()["AWS_REGION"],
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def stack(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    environment = sample_environment()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    backend = sagemaker_models.SageMakerModelBackend
    monkeypatch.setattr(backend, "create_training_job", create_training_job_once(backend.create_training_job))
    with mock_aws():
        session = boto3.Session(region_name=environment["AWS_REGION"])
        provision(load_template(), environment, session)
        yield Stack(load_settings(environment), environment, session)


@pytest.fixture
def handler_of(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Handler]]:
    """Loads functions/<name>/app.py and returns its lambda_handler, in a new execution environment: settings
    and use cases are built again from this test's stack. Each handler signs its calls with its own role's
    credentials (SAM's expansion of template.yaml), and the local IAM refuses what that role may not do."""
    # The Metrics object read its namespace when first imported, possibly before the stack's environment.
    monkeypatch.setattr(metrics.provider, "namespace", stack.environment["POWERTOOLS_METRICS_NAMESPACE"])
    credentials = function_credentials(load_template(), stack.environment, stack.session)
    iam = InProcessAuthorizer(
        Authorizer(MotoStore(DEFAULT_ACCOUNT_ID), [OPERATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"]], stack.settings.region),
        DEFAULT_ACCOUNT_ID,
    )
    running: list[str] = []

    def load(function: str) -> Handler:
        spec = importlib.util.spec_from_file_location(f"icflow_function_{function}", FUNCTIONS / function / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)

        def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
            if running[-1:] != [function]:
                # Another function's execution environment: its own role, clients built again.
                for cache in ENVIRONMENT_CACHES:
                    cache.cache_clear()
                for name, value in credentials[function].items():
                    monkeypatch.setenv(name, value)
                running.append(function)
            return module.lambda_handler(event, context)

        return invoke

    for cache in ENVIRONMENT_CACHES:
        cache.cache_clear()
    with iam.installed():
        yield load
    for cache in ENVIRONMENT_CACHES:
        cache.cache_clear()
    refused = [denial.message for denial in iam.authorizer.denials]
    assert not refused, "calls AWS would refuse:\n" + "\n".join(refused)


@pytest.fixture
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture
def sample_event() -> Any:
    """Loads a sample event from events/ by file name."""
    return load_event


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=s3_files.BUCKET)
        yield client


@pytest.fixture
def helpers() -> Any:
    """tests/support/s3_files.py, for the tests written against a `helpers` fixture."""
    return s3_files


@pytest.fixture
def browser_page() -> Iterator[BrowserPage]:
    """A blank tab of a fresh headless Chromium that records console errors, exceptions and network requests."""
    with browser_session() as page:
        yield page
