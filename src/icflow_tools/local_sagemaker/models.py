"""Loads a SageMaker model's artifact (model.tar.gz on S3) into a Classifier, for transform jobs and endpoints."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import threading
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from icflow_tools.local_sagemaker import s3io
from icflow_tools.local_sagemaker.context import ServiceContext
from icflow_tools.local_sagemaker.errors import JobFailure, failure_prefix
from icflow_tools.local_sagemaker.store import Record
from icflow_tools.trainer.api import AlgorithmError, Classifier


def model_data_url(model: Record) -> str:
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    url = container.get("ModelDataUrl")
    if not url:
        raise JobFailure(
            f"ClientError: Model {model['ModelName']} has no ModelDataUrl; the image-classification "
            "algorithm serves the model.tar.gz of a training job."
        )
    return url


class ModelLoader:
    """Artifacts are unpacked once per URL under work_dir/models/ (a training job's artifact never changes)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()

    def folder(self, url: str, role_arn: str | None = None) -> Path:
        folder = self._ctx.work_dir / "models" / hashlib.sha256(url.encode()).hexdigest()[:16]
        with self._lock:
            if not (folder / "model").is_dir():
                folder.mkdir(parents=True, exist_ok=True)
                # Not the URL's last segment, which may be ".." or empty: a key names no local file.
                tarball = folder / "model.tar.gz"
                bucket, key = s3io.split_uri(url)
                try:
                    self._ctx.s3_for(role_arn).download_file(bucket, key, str(tarball))
                except (BotoCoreError, ClientError, OSError) as error:
                    raise JobFailure(f"ClientError: Could not download model data from {url}: {error}") from error
                shutil.rmtree(folder / "partial", ignore_errors=True)
                try:
                    s3io.untar(tarball, folder / "partial")
                except (tarfile.TarError, OSError) as error:
                    raise JobFailure(f"ClientError: {url} is not a gzipped tar archive of a model: {error}") from error
                (folder / "partial").rename(folder / "model")
        return folder / "model"

    def load(self, model: Record) -> Classifier:
        url = model_data_url(model)
        try:
            return self._ctx.algorithm.load_model(self.folder(url, model.get("ExecutionRoleArn")))
        except AlgorithmError as error:
            raise JobFailure(
                f"{failure_prefix(error)}: Could not load model {model['ModelName']} from {url}: {error}"
            ) from error
