"""`icflow predict --endpoint NAME IMAGE...`: classify images with a realtime endpoint, labels by class name."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from icflow_tools.cli.stack_resources import add_stack_arguments, resolve


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="classify images with an endpoint",
        description="Sends each image's bytes to the endpoint (application/x-image) and prints the label, its "
        "probability and the top-k. Class names: --classes, else those the endpoint's model was trained with (a run "
        "of class folders keeps them), else the dataset's classes.txt in the stack's bucket, else the class index.",
    )
    parser.add_argument("--endpoint", required=True, help="the endpoint's name, e.g. icflow-caltech256")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.add_argument("--classes", type=Path, help="a classes.txt (line i names class i)")
    parser.add_argument("--top-k", type=int, default=3, help="how many classes to list (default: 3)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image instead of text")
    add_stack_arguments(parser)
    parser.set_defaults(run=run)


def _probabilities(body: bytes, endpoint: str) -> list[float]:
    from icflow.core.errors import IcflowError

    answer: Any = json.loads(body)
    # The algorithm answers a list of probabilities; batch transform wraps it as {"prediction": [...]}.
    if isinstance(answer, dict):
        answer = answer.get("prediction")
    if not isinstance(answer, list) or not all(isinstance(value, (int, float)) for value in answer):
        raise IcflowError(
            f"{endpoint} did not answer a list of class probabilities; is it an image-classification model?"
        )
    return [float(value) for value in answer]


def _class_names(args: argparse.Namespace, sagemaker: Any, resources: Any) -> Any:
    from botocore.exceptions import ClientError

    from icflow.core.class_names import choose_class_names, load_class_names
    from icflow.core.naming import dataset_of_tags
    from icflow.core.s3_objects import S3Objects

    if args.classes:
        return choose_class_names(args.classes.read_bytes(), None)
    if resources.bucket:
        try:
            endpoint = sagemaker.describe_endpoint(EndpointName=args.endpoint)
            tags = sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"]).get("Tags", [])
            # A model trained on class folders answers by the classes it was trained with, kept with its run.
            config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        except ClientError:
            return choose_class_names(None, None)
        dataset = dataset_of_tags({tag["Key"]: tag["Value"] for tag in tags})
        if dataset:
            model_name = config["ProductionVariants"][0]["ModelName"]
            return load_class_names(S3Objects(resources.client("s3"), resources.bucket), dataset, None, model_name)
    return choose_class_names(None, None)


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import ClientError

    from icflow.batch.predictions.labeled import label_prediction
    from icflow.core.errors import IcflowError

    resources = resolve(args)
    runtime = resources.client("sagemaker-runtime")
    names = _class_names(args, resources.client("sagemaker"), resources)
    failed = 0
    for image in args.images:
        try:
            body = image.read_bytes()
        except OSError as error:
            raise IcflowError(f"cannot read {image}: {error.strerror}") from error
        try:
            answer = runtime.invoke_endpoint(EndpointName=args.endpoint, ContentType="application/x-image", Body=body)
        except ClientError as error:
            print(f"{image}: error: {error.response['Error'].get('Message', error)}")
            failed += 1
            continue
        prediction = label_prediction(
            str(image), _probabilities(answer["Body"].read(), args.endpoint), names, args.endpoint, args.top_k
        )
        if args.json:
            print(json.dumps(prediction.to_json()))
            continue
        top = ", ".join(f"{ranked.label} {ranked.probability:.3f}" for ranked in prediction.top_k)
        print(f"{image}: {prediction.label} ({prediction.probability:.3f})  top-{len(prediction.top_k)}: {top}")
    return 1 if failed else 0
