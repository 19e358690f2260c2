from __future__ import annotations

import json

import pytest

from icflow.batch.manifest import (
    BatchPlan,
    batch_id,
    group_by_dataset,
    input_relative,
    output_key,
    parse_output_uri,
    plan_batches,
    read_inputs_report,
    write_batch_inputs,
)
from icflow.batch.transform_resources import TransformResources
from icflow.core.errors import IcflowError
from icflow.core.images import S3Object, SkipReason


def upload_mixed_group(s3, helpers) -> list[S3Object]:
    files = {
        "batch/pets/2024/june/cat 1.jpg": helpers.JPEG,
        "batch/pets/dog.png": helpers.PNG,
        "batch/pets/.DS_Store": b"\x00\x00\x00\x01Bud1",
        "batch/pets/notes.txt": b"not an image",
        "batch/pets/empty.jpg": b"",
        "batch/birds/robin.jpg": helpers.JPEG,
    }
    for key, body in files.items():
        helpers.put(s3, key, body)
    objects = [S3Object(key, len(body)) for key, body in files.items()]
    # At-least-once delivery repeats events, and keys outside batch/<dataset>/ are not the batch's business.
    return [*objects, objects[0], S3Object("datasets/pets/classes.txt", 8), S3Object("batch/pets/", 0)]


def pets_plan(s3, helpers) -> BatchPlan:
    plans = plan_batches(s3, helpers.BUCKET, upload_mixed_group(s3, helpers))
    [pets] = [plan for plan in plans if plan.dataset == "pets"]
    return pets


def test_one_plan_per_dataset_with_every_object_placed_once(s3, helpers):
    plans = {plan.dataset: plan for plan in plan_batches(s3, helpers.BUCKET, upload_mixed_group(s3, helpers))}
    assert set(plans) == {"pets", "birds"}
    pets = plans["pets"]
    assert pets.relative_keys == ("2024/june/cat 1.jpg", "dog.png")
    assert {(item.key, item.reason) for item in pets.skipped} == {
        ("batch/pets/.DS_Store", SkipReason.HIDDEN),
        ("batch/pets/notes.txt", SkipReason.NOT_AN_IMAGE),
        ("batch/pets/empty.jpg", SkipReason.EMPTY),
    }
    assert plans["birds"].relative_keys == ("robin.jpg",) and plans["birds"].skipped == ()


def test_manifest_follows_sagemakers_manifest_file_format(s3, helpers):
    pets = pets_plan(s3, helpers)
    manifest = pets.manifest()
    assert manifest[0] == {"prefix": f"s3://{helpers.BUCKET}/batch/pets/"}
    # Every entry joined to the prefix is an uploaded image's URI.
    uris = {manifest[0]["prefix"] + relative for relative in manifest[1:]}
    base = f"s3://{helpers.BUCKET}/batch/pets/"
    assert uris == {base + "2024/june/cat 1.jpg", base + "dog.png"}
    assert pets.manifest_key == f"transform-input/pets/{pets.batch_id}/manifest.json"
    assert pets.output_uri == f"s3://{helpers.BUCKET}/transform-output/pets/{pets.batch_id}/"


def test_batch_id_depends_on_content_and_bucket_not_on_order_or_repeats():
    a, b = S3Object("batch/d/a.jpg", 10, "e1"), S3Object("batch/d/b.jpg", 20, "e2")
    assert batch_id("bucket", "d", [a, b]) == batch_id("bucket", "d", [b, a, b])
    assert batch_id("bucket", "d", [a, b]) != batch_id("bucket", "d", [a])
    assert batch_id("bucket", "d", [a, b]) != batch_id(
        "bucket", "d", [a, S3Object("batch/d/b.jpg", 20, "e3")]
    )  # re-uploaded
    assert batch_id("bucket", "d", [a]) != batch_id("bucket", "e", [a])
    assert batch_id("bucket", "d", [a]) != batch_id("other-stacks-bucket", "d", [a])
    assert len(batch_id("bucket", "d", [a])) == 20 and batch_id("bucket", "d", [a]).isalnum()


def test_a_repeated_key_keeps_its_latest_event():
    first, again = S3Object("batch/d/a.jpg", 10, "old"), S3Object("batch/d/a.jpg", 12, "new")
    assert group_by_dataset([first, again]) == {"d": [again]}


@pytest.mark.parametrize("relative", ["a.jpg", "deep/er/b c.png", "caf\u00e9/+%20.jpg", "x.jpg.out"])
def test_output_key_and_input_relative_are_inverse(relative):
    key = output_key("pets", "abc123", relative)
    assert key == f"transform-output/pets/abc123/{relative}.out"
    assert input_relative("pets", "abc123", key) == relative


@pytest.mark.parametrize(
    "key",
    [
        "transform-output/pets/abc123/",
        "transform-output/pets/abc123/.out",
        "transform-output/pets/other/a.jpg.out",
        "x.out",
    ],
)
def test_keys_that_are_not_outputs_of_the_batch(key):
    assert input_relative("pets", "abc123", key) is None


def test_parse_output_uri():
    assert parse_output_uri("s3://bkt/transform-output/pets/abc123/") == ("bkt", "pets", "abc123")
    assert parse_output_uri("s3://bkt/transform-output/pets/abc123") == ("bkt", "pets", "abc123")
    for uri in ("s3://bkt/elsewhere/pets/abc/", "s3://bkt/transform-output/pets/", "https://bkt/transform-output/p/b/"):
        with pytest.raises(IcflowError):
            parse_output_uri(uri)


def test_write_batch_inputs_puts_manifest_and_report(s3, helpers):
    pets = pets_plan(s3, helpers)
    write_batch_inputs(s3, pets)
    assert json.loads(helpers.read(s3, pets.manifest_key)) == pets.manifest()
    report = read_inputs_report(s3, helpers.BUCKET, "pets", pets.batch_id)
    assert report["images"] == 2
    skipped = {item["uri"]: item["reason"] for item in report["skipped"]}
    assert skipped[f"s3://{helpers.BUCKET}/batch/pets/notes.txt"] == "not-jpeg-or-png"
    assert all(item["message"] for item in report["skipped"])


def test_a_batch_with_nothing_to_transform_gets_a_report_but_no_manifest(s3, helpers):
    plan = BatchPlan(helpers.BUCKET, "pets", "b1", (), ())
    write_batch_inputs(s3, plan)
    assert list(helpers.snapshot(s3, "transform-input/")) == ["transform-input/pets/b1/inputs.json"]


def test_transform_job_request_is_valid_for_sagemaker():
    import boto3
    from botocore.stub import Stubber

    plan = BatchPlan("bkt", "pets", "0123456789abcdef0123", ("a.jpg",))
    resources = TransformResources("ml.c5.xlarge", 2, 16)
    request = plan.transform_job_request("icflow-pets-0123456789abcdef0123", "icflow-pets-model", resources)
    assert request["TransformInput"]["DataSource"]["S3DataSource"] == {
        "S3DataType": "ManifestFile",
        "S3Uri": "s3://bkt/transform-input/pets/0123456789abcdef0123/manifest.json",
    }
    assert request["TransformOutput"]["S3OutputPath"] == "s3://bkt/transform-output/pets/0123456789abcdef0123/"
    assert (request["BatchStrategy"], request["MaxPayloadInMB"], request["TransformInput"]["ContentType"]) == (
        "SingleRecord",
        6,
        "application/x-image",
    )
    # The Stubber checks the request against botocore's SageMaker model: names, types and required fields.
    sagemaker = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(sagemaker) as stubber:
        arn = {"TransformJobArn": "arn:aws:sagemaker:us-east-1:1:transform-job/x"}
        stubber.add_response("create_transform_job", arn, request)
        sagemaker.create_transform_job(**request)
    assert (request["TransformResources"], request["MaxConcurrentTransforms"]) == (
        {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2},
        16,
    )
    unknown = TransformResources("ml.x9.large", 1, None)
    assert "MaxConcurrentTransforms" not in plan.transform_job_request("j", "m", unknown)
