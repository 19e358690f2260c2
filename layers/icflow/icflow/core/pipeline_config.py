"""pipeline.json, the run's configuration: a strict model (unknown fields are errors, with a suggestion).

Every section is optional and an absent file means all defaults. Every problem in a file is reported at
once, each naming its field path (`training.instance_count`, `hyperparameters.epochs`). The reference,
with defaults and allowed values, is docs/architecture.md's "pipeline.json reference" section.

Class names: classes.txt wins. pipeline.json's `class_names` is used only when the dataset has no
classes.txt; predictions are labeled in the same order.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from icflow.algorithm.hyperparameters import suggestion, validate_hyperparameters
from icflow.algorithm.problems import InvalidInput
from icflow.algorithm.tuning import (
    DEFAULT_HYPERBAND_MIN_EPOCHS,
    DEFAULT_MAX_JOBS,
    DEFAULT_MAX_PARALLEL_JOBS,
    EarlyStoppingType,
    RangeOverride,
    Scaling,
    Strategy,
    TuningPlan,
    merge_ranges,
    plan_tuning,
)
from icflow.core import layout
from icflow.core.errors import IcflowError
from icflow.core.s3_objects import S3Objects
from icflow.core.sagemaker_limits import (
    API_INTEGER_MAX,
    MAX_KEEP_ALIVE_SECONDS,
    MAX_PARALLEL_TUNING_JOBS,
    MAX_RANDOM_TUNING_JOBS,
    MAX_TUNING_JOBS,
    MAX_VOLUME_SIZE_GB,
)
from icflow.core.settings import TrainingEnv
from icflow.core.transform_payload import MAX_CONCURRENT_TRANSFORMS
from icflow.core.user_text import decode_user_text

MAX_RUNTIME_LIMIT = 28 * 24 * 3600  # CreateTrainingJob's MaxRuntimeInSeconds limit
# Spot capacity may take a while; without max_wait_seconds the job may wait as long again as it may run.
SPOT_WAIT_FACTOR = 2
INSTANCE_TYPE = r"^ml\.[a-z0-9-]+\.[a-z0-9]+$"
DEFAULT_MAX_TRANSFORM_INSTANCES = 4
DEFAULT_MAX_ENDPOINT_INSTANCES = 4
# Requests a minute per instance (the metric's unit). A CPU instance labels an image in tens of milliseconds, so
# 300 a minute (5 a second) leaves it room for bursts before the next instance is up; load-test to tune it.
DEFAULT_INVOCATIONS_PER_INSTANCE = 300
_PROBLEMS = "icflow_problems"
# The schema nests five levels (tuning.parameter_ranges.<name>.values[i]); deeper input is not a configuration,
# and refusing it early keeps it from the validators (and from json's recursion limit).
MAX_NESTING = 16
# No setting takes a number near this long; int() refuses beyond 4,300 digits with a bare ValueError.
MAX_NUMBER_DIGITS = 40

# Strict mode takes enums only as enum instances; JSON gives their string values.
_BY_VALUE = Field(strict=False)
# Every count and size is an API Integer (32-bit); the tighter limits are sagemaker_limits'.
PositiveInt = Annotated[int, Field(ge=1, le=API_INTEGER_MAX)]
InstanceType = Annotated[str, Field(pattern=INSTANCE_TYPE)]
# Any JSON value: validate_hyperparameters decides, so one bad value gives one message saying what is allowed.
HyperparameterValue = Any


class _Section(BaseModel):
    # defer_build: the schemas are built on the first parse, not when a Lambda imports this module.
    # allow_inf_nan: JSON has no NaN or Infinity, but Python's json reads them, and NaN passes every comparison.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True, allow_inf_nan=False)


class TrainingSettings(_Section):
    """Overrides of the stack's training defaults (template parameters); absent fields keep the stack's."""

    instance_type: InstanceType | None = None
    instance_count: PositiveInt | None = None
    volume_size_gb: Annotated[int, Field(ge=1, le=MAX_VOLUME_SIZE_GB)] | None = None
    max_runtime_seconds: Annotated[int, Field(ge=1, le=MAX_RUNTIME_LIMIT)] | None = None
    managed_spot: bool | None = None
    max_wait_seconds: PositiveInt | None = None
    # Start from the dataset's current model (the algorithm's `model` channel; icflow.training.base_model).
    incremental: bool = False
    # Keep the instances in a SageMaker managed warm pool this long after a job, for the next run or trial.
    keep_alive_seconds: Annotated[int, Field(ge=0, le=MAX_KEEP_ALIVE_SECONDS)] | None = None


class RangeSettings(_Section):
    min: float | None = None
    max: float | None = None
    values: list[str] | None = None
    scaling: Annotated[Scaling, _BY_VALUE] = Scaling.AUTO

    def as_override(self) -> RangeOverride:
        values = tuple(self.values) if self.values is not None else None
        return RangeOverride(min=self.min, max=self.max, values=values, scaling=self.scaling)


class TuningSettings(_Section):
    """Present (and not `"enabled": false`): the run is a hyperparameter tuning job."""

    enabled: bool = True
    strategy: Annotated[Strategy, _BY_VALUE] = Strategy.BAYESIAN
    max_jobs: Annotated[int, Field(ge=1, le=MAX_RANDOM_TUNING_JOBS)] = DEFAULT_MAX_JOBS
    max_parallel_jobs: Annotated[int, Field(ge=1, le=MAX_PARALLEL_TUNING_JOBS)] = DEFAULT_MAX_PARALLEL_JOBS
    early_stopping: Annotated[EarlyStoppingType, _BY_VALUE] = EarlyStoppingType.OFF
    parameter_ranges: dict[str, RangeSettings | None] = Field(default_factory=dict)
    hyperband_min_epochs: PositiveInt = DEFAULT_HYPERBAND_MIN_EPOCHS

    def range_overrides(self) -> dict[str, RangeOverride | None]:
        return {name: r.as_override() if r is not None else None for name, r in self.parameter_ranges.items()}

    def plan(self, hyperparameters: Mapping[str, str]) -> TuningPlan:
        """The tuning job's plan for the run's complete hyperparameters (resolve_data_hyperparameters'
        output). Raises InvalidInput when the ranges do not fit them (see icflow.algorithm.tuning.plan_tuning)."""
        return plan_tuning(
            strategy=self.strategy,
            max_jobs=self.max_jobs,
            max_parallel_jobs=self.max_parallel_jobs,
            early_stopping=self.early_stopping,
            overrides=self.range_overrides(),
            hyperparameters=hyperparameters,
            hyperband_min_epochs=self.hyperband_min_epochs,
        )

    @model_validator(mode="after")
    def _consistent(self) -> TuningSettings:
        problems: list[str] = []
        try:
            merge_ranges(self.range_overrides())
        except InvalidInput as error:
            problems.extend(error.problems)
        if self.strategy is not Strategy.RANDOM and self.max_jobs > MAX_TUNING_JOBS:
            problems.append(
                f"max_jobs: {self.max_jobs} is more than the {MAX_TUNING_JOBS} training jobs SageMaker runs per "
                f"{self.strategy.value} tuning job; lower it (only the Random strategy goes up to {MAX_RANDOM_TUNING_JOBS})"
            )
        if self.max_parallel_jobs > self.max_jobs:
            problems.append(f"max_parallel_jobs: {self.max_parallel_jobs} is more than max_jobs ({self.max_jobs})")
        if self.strategy is Strategy.HYPERBAND and self.early_stopping is not EarlyStoppingType.OFF:
            problems.append("early_stopping: must be Off with the Hyperband strategy, which stops trials itself")
        if self.strategy is not Strategy.HYPERBAND and "hyperband_min_epochs" in self.model_fields_set:
            problems.append(f"hyperband_min_epochs: applies only to the Hyperband strategy, not {self.strategy.value}")
        if problems:
            raise PydanticCustomError(_PROBLEMS, "{problems}", {"problems": problems})
        return self


DEFAULT_VALIDATION_FRACTION = 0.2


class SplitSettings(_Section):
    """How a dataset of class folders is split into training and validation images (icflow.training.class_split):
    per class, `validation_fraction` of its images (at least one) go to validation, chosen by a hash of each key
    with `seed`, so the same upload always gives the same split and another seed gives another one."""

    validation_fraction: Annotated[float, Field(gt=0.0, lt=1.0)] = DEFAULT_VALIDATION_FRACTION
    seed: Annotated[int, Field(ge=0, le=API_INTEGER_MAX)] = 0


class QualityGate(_Section):
    min_validation_accuracy: Annotated[float, Field(ge=0.0, le=1.0)] | None = None


# At the endpoint's pace (tens of ms per image, a few in flight) this many images take well under the budget
# icflow.batch.realtime_labeling gives them; more belong to a transform job anyway.
MAX_REALTIME_BATCH_IMAGES = 1000


class AutoscalingSettings(_Section):
    """Present: the endpoint's variant scales between min_instances and max_instances, keeping each instance near
    target_invocations_per_instance requests a minute (Application Auto Scaling's target tracking on
    SageMakerVariantInvocationsPerInstance; icflow.endpoints.endpoint_autoscaling)."""

    min_instances: PositiveInt = 1
    max_instances: PositiveInt = DEFAULT_MAX_ENDPOINT_INSTANCES
    target_invocations_per_instance: PositiveInt = DEFAULT_INVOCATIONS_PER_INSTANCE

    @model_validator(mode="after")
    def _ordered(self) -> AutoscalingSettings:
        if self.min_instances > self.max_instances:
            raise PydanticCustomError(
                _PROBLEMS,
                "{problems}",
                {
                    "problems": [
                        f"min_instances: {self.min_instances} is more than max_instances ({self.max_instances}); "
                        "the endpoint scales between the two, so min_instances must be at most max_instances"
                    ]
                },
            )
        return self


class RealtimeSettings(_Section):
    enabled: bool = False
    instance_type: InstanceType = "ml.m5.large"
    instance_count: PositiveInt = 1
    blue_green: bool = False
    auto_rollback: bool = True
    autoscaling: AutoscalingSettings | None = None
    # A batch of at most this many images is labeled by the endpoint while it is in service, in seconds instead
    # of a transform job's minutes of start-up (icflow.batch.realtime_labeling); 0 sends every batch to a
    # transform job. The bound keeps one collector invocation's labeling within its time budget.
    batch_max_images: Annotated[int, Field(ge=0, le=MAX_REALTIME_BATCH_IMAGES)] = 100

    @model_validator(mode="after")
    def _scales_from_its_count(self) -> RealtimeSettings:
        scaling = self.autoscaling
        if scaling is not None and not scaling.min_instances <= self.instance_count <= scaling.max_instances:
            raise PydanticCustomError(
                _PROBLEMS,
                "{problems}",
                {
                    "problems": [
                        f"instance_count: {self.instance_count} is outside autoscaling's {scaling.min_instances} to "
                        f"{scaling.max_instances} instances; the endpoint starts with instance_count instances, so "
                        "set it between autoscaling.min_instances and autoscaling.max_instances"
                    ]
                },
            )
        return self


class BatchSettings(_Section):
    """A transform job's instances. instance_count and max_concurrent_transforms, when given, are the user's
    choice; left out, they follow the batch's size and the instance type (icflow.batch.transform_resources)."""

    instance_type: InstanceType = "ml.c5.xlarge"
    instance_count: PositiveInt | None = None
    # The most instances the rule may choose for one batch: a cap on what one batch costs at once.
    max_instances: PositiveInt = DEFAULT_MAX_TRANSFORM_INSTANCES
    # SageMaker refuses MaxConcurrentTransforms * MaxPayloadInMB over 100; icflow sends one image of up to
    # MAX_PAYLOAD_MB per request.
    max_concurrent_transforms: Annotated[int, Field(ge=1, le=MAX_CONCURRENT_TRANSFORMS)] | None = None

    @model_validator(mode="after")
    def _within_max(self) -> BatchSettings:
        if self.instance_count is not None and "max_instances" in self.model_fields_set:
            if self.instance_count > self.max_instances:
                raise PydanticCustomError(
                    _PROBLEMS,
                    "{problems}",
                    {
                        "problems": [
                            f"instance_count: {self.instance_count} is more than max_instances "
                            f"({self.max_instances}); give one of them: instance_count fixes the count, "
                            "max_instances caps the count icflow chooses from the batch's size"
                        ]
                    },
                )
        return self


class DeploySettings(_Section):
    realtime: RealtimeSettings = Field(default_factory=RealtimeSettings)
    batch: BatchSettings = Field(default_factory=BatchSettings)
    copy_labeled_images: bool = False
    top_k: PositiveInt = 3
    # Every model is registered in the dataset's model package group; true: it is deployed only once approved there.
    require_approval: bool = False


class PipelineConfig(_Section):
    """A dataset's pipeline.json. `hyperparameters` holds the API's normalised strings."""

    hyperparameters: dict[str, HyperparameterValue] = Field(default_factory=dict)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    tuning: TuningSettings | None = None
    quality_gate: QualityGate = Field(default_factory=QualityGate)
    # None (absent) is SplitSettings' defaults; kept apart so that a dataset without class folders keeps its run id.
    split: SplitSettings | None = None
    class_names: list[Annotated[str, Field(min_length=1)]] | None = None
    deploy: DeploySettings = Field(default_factory=DeploySettings)

    @property
    def tuning_enabled(self) -> bool:
        return self.tuning is not None and self.tuning.enabled

    @property
    def split_settings(self) -> SplitSettings:
        return self.split if self.split is not None else SplitSettings()

    @field_validator("hyperparameters", mode="after")
    @classmethod
    def _normalise(cls, values: dict[str, HyperparameterValue]) -> dict[str, str]:
        try:
            return validate_hyperparameters(values)
        except InvalidInput as error:
            raise PydanticCustomError(_PROBLEMS, "{problems}", {"problems": list(error.problems)}) from None

    @field_validator("class_names", mode="after")
    @classmethod
    def _unique(cls, names: list[str] | None) -> list[str] | None:
        if names is not None:
            if not names:
                raise ValueError("give at least one name, or leave class_names out")
            seen: set[str] = set()
            for index, name in enumerate(names):
                if name in seen:
                    raise ValueError(f"{name!r} (class {index}) appears twice; class names must be unique")
                seen.add(name)
        return names

    @model_validator(mode="after")
    def _sections_agree(self) -> PipelineConfig:
        problems: list[str] = []
        training = self.training
        if training.max_wait_seconds is not None and training.managed_spot is False:
            problems.append(
                "training.max_wait_seconds: applies only with managed spot training; set "
                "training.managed_spot to true or remove max_wait_seconds"
            )
        if self.tuning is not None and self.tuning_enabled:
            # What needs the data (mini_batch_size against the samples) is checked again when the run is planned.
            try:
                self.tuning.plan(self.hyperparameters)
            except InvalidInput as error:
                problems.extend(f"tuning.{problem}" for problem in error.problems)
        if problems:
            raise PydanticCustomError(_PROBLEMS, "{problems}", {"problems": problems})
        return self


def parse_pipeline_config(text: str | bytes | None) -> PipelineConfig:
    """pipeline.json's content (None: the dataset has none) as a PipelineConfig with all defaults applied.

    Raises InvalidInput (an IcflowError) listing every problem: invalid JSON, unknown fields (with a
    suggestion), wrong types, bad hyperparameters or tuning ranges, each with its field path."""
    if text is None:
        return PipelineConfig()
    if isinstance(text, bytes):
        try:
            text = decode_user_text(text, layout.PIPELINE_FILE)
        except IcflowError as error:
            raise InvalidInput(layout.PIPELINE_FILE, [str(error)]) from None
    data = _load_json(text.removeprefix("\ufeff"))
    if not isinstance(data, dict):
        raise InvalidInput(layout.PIPELINE_FILE, [f"expected a JSON object {{...}}, got {type(data).__name__}"])
    problems = _text_problems(data)
    if problems:
        raise InvalidInput(layout.PIPELINE_FILE, problems)
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(layout.PIPELINE_FILE, _problems(error)) from None


class _LongNumber(ValueError):
    pass


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _LongNumber(f"{digits[:12]}... has {len(digits.lstrip('-'))} digits")
    return int(digits)


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, parse_int=_bounded_int)
    except _LongNumber as error:
        problem = f"the number {error} and no setting takes one that large; write the number you meant"
    except json.JSONDecodeError as error:
        problem = f"not valid JSON: {error}; fix the syntax (a JSON object)"
    except RecursionError:
        problem = f"nests arrays or objects thousands of levels deep; a configuration nests at most {MAX_NESTING}"
    raise InvalidInput(layout.PIPELINE_FILE, [problem])


def _text_problems(data: dict[str, Any]) -> list[str]:
    """What JSON text can hold but no setting can: nesting past MAX_NESTING, and lone surrogates (`"\\ud800"`),
    which no UTF-8 file, S3 key or DynamoDB string can carry. Walked without recursion."""
    problems: list[str] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_NESTING:
            problems.append(
                f"{_shown_path(path[:MAX_NESTING])}: nests deeper than {MAX_NESTING} levels; no setting does"
            )
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                if not _is_unicode(key):
                    problems.append(f"{_shown_path(path + (key,))}: the key is not Unicode text {_SURROGATE}")
                stack.append((path + (key,), item))
        elif isinstance(value, list):
            stack.extend((path + (index,), item) for index, item in enumerate(value))
        elif isinstance(value, str) and not _is_unicode(value):
            problems.append(f"{_shown_path(path)}: the text is not Unicode {_SURROGATE}")
    return problems


_SURROGATE = "(a lone surrogate escape such as \\ud800); write the characters themselves, or a pair of escapes"


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown_path(path: tuple[Any, ...]) -> str:
    """A field path fit for a message that is stored and sent: lone surrogates escaped."""
    return _path(path).encode("utf-8", "backslashreplace").decode("utf-8")


def _problems(error: ValidationError) -> list[str]:
    problems: list[str] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        if item["type"] == _PROBLEMS:
            # A section's own checks: their problems start with the field inside that section.
            prefix = ".".join(str(part) for part in loc)
            problems.extend(f"{prefix}.{problem}" if prefix else problem for problem in item["ctx"]["problems"])
            continue
        path = _path(loc)
        if item["type"] == "extra_forbidden":
            known = _known_fields(loc[:-1])
            problems.append(f"{path}: unknown field{suggestion(str(loc[-1]), known)}; allowed here: {', '.join(known)}")
        else:
            problems.append(f"{path}: {_message(item)}")
    return problems


def _path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _message(item: Any) -> str:
    value = item.get("input")
    shown = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    if item["type"] == "string_pattern_mismatch":  # only instance types have a pattern
        return f"expected an instance type such as ml.p3.2xlarge (got {shown})"
    message = item["msg"].removeprefix("Value error, ")
    return f"{message[0].lower()}{message[1:]} (got {shown})"


def _known_fields(loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model at `loc` (dict keys and list indexes in `loc` are stepped over)."""
    model: Any = PipelineConfig
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            continue  # a dict key or list index inside the previous field
        model = _model_in(field.annotation)
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class TrainingResources:
    instance_type: str
    instance_count: int  # more than 1 runs distributed training
    volume_size_gb: int
    max_runtime_seconds: int
    managed_spot: bool
    max_wait_seconds: int | None  # set exactly when managed_spot is on; at least max_runtime_seconds
    keep_alive_seconds: int | None = None  # a managed warm pool's wait for the next matching job


def resolve_training_resources(defaults: TrainingEnv, config: PipelineConfig) -> TrainingResources:
    """pipeline.json's training section over the stack's defaults. Raises IcflowError when the result is
    inconsistent (max_wait_seconds below max_runtime_seconds)."""
    training = config.training
    max_runtime = training.max_runtime_seconds or defaults.training_max_runtime_seconds
    spot = defaults.managed_spot_training if training.managed_spot is None else training.managed_spot
    max_wait = None
    if training.max_wait_seconds is not None and not spot:
        raise IcflowError(
            "pipeline.json training.max_wait_seconds: applies only with managed spot training, which the stack "
            "leaves off; set training.managed_spot to true or remove max_wait_seconds"
        )
    if spot:
        max_wait = training.max_wait_seconds or max_runtime * SPOT_WAIT_FACTOR
        if max_wait < max_runtime:
            raise IcflowError(
                f"pipeline.json training.max_wait_seconds: {max_wait} is less than the maximum runtime "
                f"({max_runtime} seconds); managed spot training needs max_wait_seconds >= max_runtime_seconds"
            )
    return TrainingResources(
        instance_type=training.instance_type or defaults.training_instance_type,
        instance_count=training.instance_count or defaults.training_instance_count,
        volume_size_gb=training.volume_size_gb or defaults.training_volume_size_gb,
        max_runtime_seconds=max_runtime,
        managed_spot=spot,
        max_wait_seconds=max_wait,
        keep_alive_seconds=training.keep_alive_seconds or None,
    )


def read_pipeline_config(objects: S3Objects, dataset: str) -> PipelineConfig:
    """The dataset's pipeline.json as it is now (defaults when there is none); raises IcflowError when invalid."""
    return parse_pipeline_config(objects.read_optional(layout.pipeline_key(dataset)))
