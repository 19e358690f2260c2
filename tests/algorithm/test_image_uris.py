"""The region table against the sagemaker SDK, the source of truth (only this test imports the SDK)."""

import pytest
from sagemaker.core import image_uris as image_uris_sdk  # the dev dependency group installs it

from icflow.algorithm.image_uris import REGISTRIES, image_uri
from icflow.core.errors import IcflowError


def sdk_regions() -> list[str]:
    config = image_uris_sdk.config_for_framework("image-classification")
    return sorted(config["versions"]["1"]["registries"])


def test_the_table_covers_exactly_the_regions_the_sdk_lists():
    assert sorted(REGISTRIES) == sdk_regions()


@pytest.mark.parametrize("region", sdk_regions())
def test_image_uri_matches_the_sdk(region):
    assert image_uri(region) == image_uris_sdk.retrieve("image-classification", region)


def test_an_unknown_region_is_an_error_that_lists_the_supported_ones():
    with pytest.raises(IcflowError, match="not available in region 'mars-north-1'.*us-east-1"):
        image_uri("mars-north-1")
