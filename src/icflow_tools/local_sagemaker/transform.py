"""Runs one batch transform job: one image per S3 object, `<S3OutputPath>/<relative key>.out` per image, the
objects shared among the job's instances (icflow_tools.local_sagemaker.transform_instances).

As on SageMaker, a single object the model cannot read fails the whole job, naming that object.
"""

from __future__ import annotations

import threading
import time
import traceback

from icflow_tools.local_sagemaker import s3io
from icflow_tools.local_sagemaker.context import JobControl, ServiceContext
from icflow_tools.local_sagemaker.errors import JobFailure
from icflow_tools.local_sagemaker.events import TRANSFORM_JOB_STATE_CHANGE
from icflow_tools.local_sagemaker.models import ModelLoader, model_data_url
from icflow_tools.local_sagemaker.store import MODEL, TRANSFORM_JOB, Record
from icflow_tools.local_sagemaker.transform_instances import (
    MEGABYTE,
    InstanceModel,
    Share,
    append_log,
    run_instances,
    run_share,
    shares,
)

LOG_FILE = "job.log"


class TransformJob:
    def __init__(self, ctx: ServiceContext, loader: ModelLoader, name: str, control: JobControl) -> None:
        self.ctx = ctx
        self.loader = loader
        self.name = name
        self.control = control
        self.folder = ctx.folder(TRANSFORM_JOB, name)
        self._log_lock = threading.Lock()

    def log(self, line: str) -> None:
        with self._log_lock:
            append_log(self.folder / LOG_FILE, line)

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
        runs = shares(sorted(objects, key=lambda item: item.key), record["TransformResources"]["InstanceCount"])
        output = record["TransformOutput"]["S3OutputPath"]
        limit = record.get("MaxPayloadInMB", 6) * MEGABYTE
        concurrent = record.get("MaxConcurrentTransforms") or 1
        self.log(
            f"{len(objects)} objects on {len(runs)} instances, model {record['ModelName']}, "
            f"{concurrent} at a time per instance"
        )
        if fault := self.ctx.faults.failure("transform", self.name):
            raise JobFailure(fault.failure_reason())
        work = [Share(run, output, limit, concurrent) for run in runs]
        if len(work) == 1:
            self.log(f"instance 1: {len(objects)} objects")
            run_share(self.s3, self.loader.load(model), work[0], self.log, self.control.stop.is_set)
            return
        url = model_data_url(model)
        role = model.get("ExecutionRoleArn")
        instance_model = InstanceModel.of(
            self.ctx.algorithm, self.loader.folder(url, role), f"{record['ModelName']} from {url}"
        )
        run_instances(
            instance_model, self.ctx.s3_access_for(role), work, self.folder / LOG_FILE, self.control.stop.is_set
        )
