"""Runs one batch transform job: one image per S3 object, `<S3OutputPath>/<relative key>.out` per image, the
objects shared among the job's instances (icflow_tools.local_sagemaker.transform_instances).

As on SageMaker, a single object the model cannot read fails the whole job, naming that object.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from icflow_tools.local_sagemaker import s3io
from icflow_tools.local_sagemaker.context import JobControl, ServiceContext
from icflow_tools.local_sagemaker.errors import JobFailure
from icflow_tools.local_sagemaker.events import TRANSFORM_JOB_STATE_CHANGE
from icflow_tools.local_sagemaker.models import ModelLoader
from icflow_tools.local_sagemaker.store import MODEL, TRANSFORM_JOB, Record
from icflow_tools.local_sagemaker.transform_instances import shares
from icflow_tools.trainer.api import AlgorithmError, Classifier

LOG_FILE = "job.log"
OUTPUT_SUFFIX = ".out"
MEGABYTE = 1024 * 1024


class TransformJob:
    def __init__(self, ctx: ServiceContext, loader: ModelLoader, name: str, control: JobControl) -> None:
        self.ctx = ctx
        self.loader = loader
        self.name = name
        self.control = control
        self.folder = ctx.folder(TRANSFORM_JOB, name)
        self._log_lock = threading.Lock()

    def log(self, line: str) -> None:
        with self._log_lock, (self.folder / LOG_FILE).open("a", encoding="utf-8") as log:
            log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())} {line}\n")

    def _set(self, **fields: object) -> Record:
        record = self.ctx.store.update(TRANSFORM_JOB, self.name, lambda r: r.update(fields))
        self.ctx.publisher.publish(
            TRANSFORM_JOB_STATE_CHANGE,
            "DescribeTransformJob",
            record["TransformJobArn"],
            record,
            self.ctx.store.tags(record["TransformJobArn"]),
        )
        return record

    def run(self) -> None:
        record = self.ctx.store.get(TRANSFORM_JOB, self.name)
        assert record is not None
        self.ctx.store.update(TRANSFORM_JOB, self.name, lambda r: r.update(TransformStartTime=time.time()))
        try:
            self._transform(record)
        except JobFailure as error:
            self.log(str(error))
            self._set(TransformJobStatus="Failed", FailureReason=str(error)[:1024], TransformEndTime=time.time())
        except Exception as error:  # a bug: the job fails, the service lives on
            self.log(traceback.format_exc())
            self._set(
                TransformJobStatus="Failed",
                FailureReason=f"InternalServerError: {error}"[:1024],
                TransformEndTime=time.time(),
            )
        else:
            status = "Stopped" if self.control.stop.is_set() else "Completed"
            self._set(TransformJobStatus=status, TransformEndTime=time.time())

    def _transform(self, record: Record) -> None:
        data_input = record["TransformInput"]
        if data_input.get("SplitType", "None") != "None":
            raise JobFailure(
                f"ClientError: SplitType {data_input['SplitType']} is not supported: the image-classification "
                "algorithm takes one image per record (SplitType None)."
            )
        source = data_input["DataSource"]["S3DataSource"]
        model = self.ctx.store.get(MODEL, record["ModelName"])
        if model is None:
            raise JobFailure(
                f'ClientError: Could not find model "{self.ctx.store.account.arn(MODEL, record["ModelName"])}".'
            )
        # A transform job runs as its model's execution role.
        self.s3 = self.ctx.s3_for(model.get("ExecutionRoleArn"))
        objects = s3io.objects_for(self.s3, source["S3DataType"], source["S3Uri"])
        output = record["TransformOutput"]["S3OutputPath"]
        limit = record.get("MaxPayloadInMB", 6) * MEGABYTE
        concurrent = record.get("MaxConcurrentTransforms") or 1
        runs = shares(sorted(objects, key=lambda item: item.key), record["TransformResources"]["InstanceCount"])
        self.log(
            f"{len(objects)} objects on {len(runs)} instances, model {record['ModelName']}, "
            f"{concurrent} at a time per instance"
        )
        if fault := self.ctx.faults.failure("transform", self.name):
            raise JobFailure(fault.failure_reason())
        with self.loader.instances(model, len(runs)) as instances:
            for index, (instance, run) in enumerate(zip(instances, runs, strict=True), start=1):
                process = getattr(instance, "pid", None)
                self.log(f"instance {index}: {len(run)} objects" + (f", process {process}" if process else ""))
            # Each instance's agent: its own requests in flight, at most MaxConcurrentTransforms.
            agents = [ThreadPoolExecutor(max_workers=concurrent) for _ in runs]
            try:
                futures = [
                    agent.submit(self._one, instance, item, output, limit)
                    for agent, instance, run in zip(agents, instances, runs, strict=True)
                    for item in run
                ]
                done, pending = wait(futures, return_when=FIRST_EXCEPTION)
                for future in pending:
                    future.cancel()
                for future in done:
                    error = future.exception()
                    if error is not None:
                        raise error
            finally:
                for agent in agents:
                    agent.shutdown(cancel_futures=True)

    def _one(self, classifier: Classifier, item: s3io.S3Object, output: str, limit: int) -> None:
        if self.control.stop.is_set():
            return
        body = s3io.read_bytes(self.s3, item.uri)
        if len(body) > limit:
            raise JobFailure(
                f"ClientError: {item.uri}: the object is larger than MaxPayloadInMB ({limit // MEGABYTE} MB)."
            )
        try:
            probabilities = classifier.predict(body)
        except AlgorithmError as error:
            raise JobFailure(
                f"ClientError: Bad HTTP status received from algorithm for {item.uri}: 400 unable to "
                f"evaluate payload provided: {error}"
            ) from error
        s3io.upload_bytes(
            self.s3,
            s3io.join_uri(output, item.relative + OUTPUT_SUFFIX),
            json.dumps({"prediction": probabilities}).encode(),
            "application/json",
        )
        self.log(f"{item.uri}: 200")
