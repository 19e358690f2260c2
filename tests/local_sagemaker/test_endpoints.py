"""Models, endpoint configs, endpoints and InvokeEndpoint through boto3, UpdateEndpoint under load included."""

from __future__ import annotations

import json
import threading

import pytest
from botocore.exceptions import ClientError

DETAIL_TYPE = "SageMaker Endpoint State Change"


@pytest.fixture
def models(aws, sagemaker, helpers):
    """Two models of the fake algorithm: `two` answers 2 probabilities, `three` answers 3."""
    helpers.put_training_data(aws)
    for name, classes in (("two", "2"), ("three", "3")):
        sagemaker.create_training_job(**helpers.training_request(aws, f"train-{name}", {"num_classes": classes}))
        job = helpers.wait_for(lambda: helpers.ended(sagemaker, f"train-{name}"))
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=helpers.ROLE,
            PrimaryContainer={"Image": helpers.IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]},
            Tags=[{"Key": "classes", "Value": classes}],
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName=f"config-{name}",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    return ("two", "three")


def in_service(sagemaker, name):
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    return endpoint if endpoint["EndpointStatus"] in ("InService", "Failed") else None


def invoke(runtime, name, body, content_type="image/png"):
    answer = runtime.invoke_endpoint(EndpointName=name, Body=body, ContentType=content_type)
    return json.loads(answer["Body"].read()), answer


def test_an_endpoint_serves_probabilities_for_every_image_content_type(
    aws, service, sagemaker, runtime, models, helpers
):
    arn = sagemaker.create_endpoint(EndpointName="digits", EndpointConfigName="config-three")["EndpointArn"]
    assert sagemaker.describe_endpoint(EndpointName="digits")["EndpointStatus"] in ("Creating", "InService")

    endpoint = helpers.wait_for(lambda: in_service(sagemaker, "digits"))

    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointArn"] == arn
    variant = endpoint["ProductionVariants"][0]
    assert (variant["VariantName"], variant["CurrentInstanceCount"]) == ("AllTraffic", 1)
    assert variant["DeployedImages"][0]["SpecifiedImage"] == helpers.IMAGE
    for body, content_type in (
        (helpers.png(8), "image/png"),
        (helpers.jpeg(9), "image/jpeg"),
        (helpers.png(11), "application/x-image"),
    ):
        probabilities, answer = invoke(runtime, "digits", body, content_type)
        expected = [0.0, 0.0, 0.0]
        expected[len(body) % 3] = 1.0
        assert probabilities == expected
        assert answer["ContentType"] == "application/json"
        assert answer["InvokedProductionVariant"] == "AllTraffic"
    statuses = [e["detail"]["EndpointStatus"] for e in aws.events_for(DETAIL_TYPE, "EndpointName", "digits")]
    assert statuses == ["CREATING", "IN_SERVICE"]
    assert aws.events_for(DETAIL_TYPE, "EndpointName", "digits")[-1]["resources"] == [arn]


def test_bad_payloads_come_back_as_model_errors(service, sagemaker, runtime, models, helpers):
    sagemaker.create_endpoint(EndpointName="digits", EndpointConfigName="config-two")
    helpers.wait_for(lambda: in_service(sagemaker, "digits"))

    with pytest.raises(runtime.exceptions.ModelError) as error:
        runtime.invoke_endpoint(EndpointName="digits", Body=b"not an image", ContentType="image/png")
    assert error.value.response["OriginalStatusCode"] == 400
    assert "unable to evaluate payload provided" in error.value.response["OriginalMessage"]
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    with pytest.raises(runtime.exceptions.ModelError) as error:
        runtime.invoke_endpoint(EndpointName="digits", Body=helpers.png(), ContentType="text/csv")
    assert error.value.response["OriginalStatusCode"] == 415
    with pytest.raises(runtime.exceptions.ValidationError) as error:
        runtime.invoke_endpoint(EndpointName="nowhere", Body=helpers.png(), ContentType="image/png")
    assert error.value.response["Error"]["Message"] == "Endpoint nowhere of account 123456789012 not found."


def test_update_endpoint_switches_models_without_refusing_requests(aws, service, sagemaker, runtime, models, helpers):
    sagemaker.create_endpoint(EndpointName="digits", EndpointConfigName="config-two")
    helpers.wait_for(lambda: in_service(sagemaker, "digits"))
    sizes: list[int] = []
    failures: list[Exception] = []
    done = threading.Event()

    def keep_invoking() -> None:
        while not done.is_set():
            try:
                sizes.append(len(invoke(runtime, "digits", helpers.png(8))[0]))
            except Exception as error:  # collected and asserted below
                failures.append(error)

    invoker = threading.Thread(target=keep_invoking)
    invoker.start()
    try:
        helpers.wait_for(lambda: len(sizes) >= 3)
        sagemaker.update_endpoint(EndpointName="digits", EndpointConfigName="config-three")
        updating = sagemaker.describe_endpoint(EndpointName="digits")["EndpointStatus"]
        endpoint = helpers.wait_for(lambda: in_service(sagemaker, "digits"))
        helpers.wait_for(lambda: sizes[-1] == 3)
    finally:
        done.set()
        invoker.join(10)

    assert failures == []
    assert updating in ("Updating", "InService")
    assert endpoint["EndpointConfigName"] == "config-three"
    assert sizes[0] == 2 and set(sizes) == {2, 3}
    assert sizes.index(3) > sizes.index(2) and 2 not in sizes[sizes.index(3) :]  # one switch, never back
    statuses = [e["detail"]["EndpointStatus"] for e in aws.events_for(DETAIL_TYPE, "EndpointName", "digits")]
    assert statuses == ["CREATING", "IN_SERVICE", "UPDATING", "IN_SERVICE"]


def test_an_endpoint_whose_model_cannot_load_fails(aws, service, sagemaker, helpers):
    sagemaker.create_model(
        ModelName="lost",
        ExecutionRoleArn=helpers.ROLE,
        PrimaryContainer={"Image": helpers.IMAGE, "ModelDataUrl": aws.uri("nowhere/model.tar.gz")},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="config-lost",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "lost", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    sagemaker.create_endpoint(EndpointName="broken", EndpointConfigName="config-lost")

    endpoint = helpers.wait_for(lambda: in_service(sagemaker, "broken"))

    assert endpoint["EndpointStatus"] == "Failed"
    assert aws.uri("nowhere/model.tar.gz") in endpoint["FailureReason"]
    assert [e["detail"]["EndpointStatus"] for e in aws.events_for(DETAIL_TYPE, "EndpointName", "broken")] == [
        "CREATING",
        "FAILED",
    ]


def test_models_configs_and_endpoints_are_listed_described_and_deleted(
    aws, service, sagemaker, runtime, models, helpers
):
    sagemaker.create_endpoint(EndpointName="digits", EndpointConfigName="config-two", Tags=[{"Key": "k", "Value": "v"}])
    endpoint = helpers.wait_for(lambda: in_service(sagemaker, "digits"))

    assert [m["ModelName"] for m in sagemaker.list_models(SortBy="Name", SortOrder="Ascending")["Models"]] == [
        "three",
        "two",
    ]
    assert [
        c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs(NameContains="two")["EndpointConfigs"]
    ] == ["config-two"]
    assert [(e["EndpointName"], e["EndpointStatus"]) for e in sagemaker.list_endpoints()["Endpoints"]] == [
        ("digits", "InService")
    ]
    assert sagemaker.describe_model(ModelName="two")["PrimaryContainer"]["Image"] == helpers.IMAGE
    assert (
        sagemaker.describe_endpoint_config(EndpointConfigName="config-two")["ProductionVariants"][0]["ModelName"]
        == "two"
    )
    assert sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"] == [{"Key": "k", "Value": "v"}]
    model_events = aws.events_for("SageMaker Model State Change", "ModelName", "two")
    assert model_events and model_events[0]["detail"]["Tags"] == {"classes": "2"}

    sagemaker.delete_endpoint(EndpointName="digits")
    sagemaker.delete_endpoint_config(EndpointConfigName="config-two")
    sagemaker.delete_model(ModelName="two")

    endpoint_events = aws.events_for(DETAIL_TYPE, "EndpointName", "digits")
    assert [e["detail"]["EndpointStatus"] for e in endpoint_events][-2:] == ["DELETING", "DELETED"]
    assert endpoint_events[-2]["detail"]["Tags"] == {"k": "v"} and endpoint_events[-1]["detail"]["Tags"] == {}
    assert aws.events_for("SageMaker Model State Change", "ModelName", "two")[-1]["detail"]["Tags"] == {}
    for call, kwargs in (
        (sagemaker.describe_endpoint, {"EndpointName": "digits"}),
        (sagemaker.describe_endpoint_config, {"EndpointConfigName": "config-two"}),
        (sagemaker.describe_model, {"ModelName": "two"}),
    ):
        with pytest.raises(ClientError) as error:
            call(**kwargs)
        assert error.value.response["Error"]["Code"] == "ValidationException"
        assert error.value.response["Error"]["Message"].startswith("Could not find")
    with pytest.raises(runtime.exceptions.ValidationError):
        runtime.invoke_endpoint(EndpointName="digits", Body=helpers.png(), ContentType="image/png")


def test_configs_need_existing_models_and_endpoints_existing_configs(service, sagemaker, models):
    with pytest.raises(ClientError) as error:
        sagemaker.create_endpoint_config(
            EndpointConfigName="config-x",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "missing",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    assert "Could not find model" in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as error:
        sagemaker.create_endpoint(EndpointName="x", EndpointConfigName="config-missing")
    assert "Could not find endpoint configuration" in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as error:
        sagemaker.create_model(
            ModelName="two", PrimaryContainer={"Image": "x"}, ExecutionRoleArn="arn:aws:iam::123456789012:role/r"
        )
    assert error.value.response["Error"]["Message"].startswith("Cannot create already existing model")


def test_requests_are_routed_by_variant_weight_or_target_variant(service, sagemaker, runtime, models, helpers):
    sagemaker.create_endpoint_config(
        EndpointConfigName="config-ab",
        ProductionVariants=[
            {
                "VariantName": "A",
                "ModelName": "two",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1.0,
            },
            {
                "VariantName": "B",
                "ModelName": "three",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 0.0,
            },
        ],
    )
    sagemaker.create_endpoint(EndpointName="ab", EndpointConfigName="config-ab")
    endpoint = helpers.wait_for(lambda: in_service(sagemaker, "ab"))

    assert [(v["VariantName"], v["CurrentWeight"]) for v in endpoint["ProductionVariants"]] == [("A", 1.0), ("B", 0.0)]
    assert {invoke(runtime, "ab", helpers.png())[1]["InvokedProductionVariant"] for _ in range(10)} == {"A"}
    answer = runtime.invoke_endpoint(EndpointName="ab", Body=helpers.png(), ContentType="image/png", TargetVariant="B")
    assert (answer["InvokedProductionVariant"], len(json.loads(answer["Body"].read()))) == ("B", 3)
