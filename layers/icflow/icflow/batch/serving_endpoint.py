"""InvokeEndpoint for one image, as the image-classification algorithm serves it: the image's bytes as
application/x-image in, a JSON list of class probabilities out.

SageMaker wraps the container's own error in a ModelError (HTTP 424) carrying the container's status as
OriginalStatusCode. The algorithm answers 400 for bytes it cannot decode: that image is refused, as a transform
job's `ClientError: 400` refuses it (icflow.batch.refused_images). A 415 is the model not taking images at all,
and everything else (a 5xx, the endpoint gone or not in service, throttling past the client's retries) is the
endpoint failing: the caller sends the whole batch to a transform job instead.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# The algorithm's inference formats (its container also takes image/jpeg and image/png; x-image covers both, as
# on the transform path), and what `icflow predict` and the local SageMaker's endpoints use.
CONTENT_TYPE = "application/x-image"
ACCEPT = "application/json"
# One answer is a list of class probabilities, about 25 kB for a thousand classes; larger is not this algorithm.
MAX_ANSWER_BYTES = 1_000_000
_UNSUPPORTED_MEDIA_TYPE = 415
# A few requests per endpoint instance keep its workers busy without queueing behind each other; throttling
# beyond that is retried by the runtime client (icflow.wiring), whose connection pool is this size.
MAX_IN_FLIGHT = 8


class ImageRefused(Exception):
    """The model refused this image's bytes; the message is SageMaker's."""


class EndpointFailed(Exception):
    """The endpoint cannot label the batch; the message says why."""


class ServingEndpoint:
    def __init__(self, runtime_client: Any) -> None:
        """`runtime_client` is sagemaker-runtime's, retrying throttling on its own (icflow.wiring)."""
        self._runtime = runtime_client

    def classify(self, endpoint_name: str, image: bytes) -> bytes:
        """The endpoint's answer to one image, unparsed; ImageRefused or EndpointFailed otherwise."""
        try:
            answer = self._runtime.invoke_endpoint(
                EndpointName=endpoint_name, ContentType=CONTENT_TYPE, Accept=ACCEPT, Body=image
            )
            with answer["Body"] as body:
                return body.read(MAX_ANSWER_BYTES + 1)
        except ClientError as error:
            raise _read_error(endpoint_name, error) from error
        except BotoCoreError as error:  # connection and read timeouts, after the client's retries
            raise EndpointFailed(f"{endpoint_name} did not answer: {error}") from error


def _read_error(endpoint_name: str, error: ClientError) -> ImageRefused | EndpointFailed:
    response = error.response
    code = response.get("Error", {}).get("Code", "Unknown")
    message = response.get("Error", {}).get("Message", "")
    original = response.get("OriginalStatusCode")
    if code == "ModelError" and isinstance(original, int) and 400 <= original < 500:
        if original != _UNSUPPORTED_MEDIA_TYPE:
            return ImageRefused(f"ClientError: {original}: {response.get('OriginalMessage') or message}")
    return EndpointFailed(f"{endpoint_name} answered {code}: {message}")
