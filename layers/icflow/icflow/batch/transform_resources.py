"""How many instances a batch's transform job gets, and how many requests each takes at a time.

SageMaker's batch transform partitions the input's S3 objects by key and maps them to instances; one object is
never split between instances ("Batch Transform partitions the Amazon S3 objects in the input by key and maps
Amazon S3 objects to instances", https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html). A
manifest lists every image as an object of its own, so InstanceCount N spreads a batch's images over N instances.

The rule, for what pipeline.json's deploy.batch leaves out:
- InstanceCount: one instance per MIN_IMAGES_PER_INSTANCE images (rounded down, so every instance gets at least
  that many), at least 1 and at most `max_instances`. An instance takes minutes to start and is billed from then;
  an instance given fewer images would spend more of its time starting than labeling.
- MaxConcurrentTransforms: the instance type's vCPUs (icflow.core.instance_types), one request in flight per
  vCPU, at most MAX_CONCURRENT_TRANSFORMS (SageMaker's MaxConcurrentTransforms * MaxPayloadInMB <= 100). For a
  type icflow has no vCPU count for, it is left out and SageMaker chooses.
An explicit instance_count or max_concurrent_transforms is the user's choice and is sent as given.
"""

from __future__ import annotations

from dataclasses import dataclass

from icflow.core.instance_types import vcpus
from icflow.core.pipeline_config import BatchSettings
from icflow.core.transform_payload import MAX_CONCURRENT_TRANSFORMS

MIN_IMAGES_PER_INSTANCE = 1000


@dataclass(frozen=True)
class TransformResources:
    instance_type: str
    instance_count: int
    max_concurrent_transforms: int | None  # None: SageMaker chooses


def transform_resources(settings: BatchSettings, images: int) -> TransformResources:
    """The transform job's resources for a batch of `images` images under pipeline.json's deploy.batch."""
    count = settings.instance_count
    if count is None:
        count = max(1, min(settings.max_instances, images // MIN_IMAGES_PER_INSTANCE))
    concurrent = settings.max_concurrent_transforms
    if concurrent is None:
        cpus = vcpus(settings.instance_type)
        concurrent = None if cpus is None else min(cpus, MAX_CONCURRENT_TRANSFORMS)
    return TransformResources(settings.instance_type, count, concurrent)
