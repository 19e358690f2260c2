"""The algorithm's container image (`image-classification:1`, for training and for hosting) per region.

The registry accounts come from the sagemaker SDK's image_uri_config (the source of truth); a test in
tests/algorithm/test_image_uris.py compares this table with `sagemaker.core.image_uris.retrieve` for every region the SDK lists.
The Lambdas never import the SDK, so the table lives here.
"""

from __future__ import annotations

from icflow.core.errors import IcflowError

REPOSITORY = "image-classification"
VERSION = "1"

REGISTRIES: dict[str, str] = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "501404015308",
    "ap-northeast-2": "306986355934",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "991648021394",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "544295431143",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "469771592824",
    "ca-west-1": "190319476487",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "813361260812",
    "eu-central-2": "680994064768",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-south-2": "104374241257",
    "eu-west-1": "685385470294",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "811284229777",
    "us-east-2": "825641698319",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "226302683700",
    "us-iso-east-1": "490574956308",
    "us-isob-east-1": "765400339828",
    "us-isof-east-1": "108575199400",
    "us-isof-south-1": "124985052026",
    "us-west-1": "632365934929",
    "us-west-2": "433757028032",
}

# ECR's DNS suffix per partition, by region prefix; the longest matching prefix wins.
_DNS_SUFFIXES = (
    ("us-isob-", "sc2s.sgov.gov"),
    ("us-isof-", "csp.hci.ic.gov"),
    ("us-iso-", "c2s.ic.gov"),
    ("cn-", "amazonaws.com.cn"),
    ("", "amazonaws.com"),
)


def image_uri(region: str) -> str:
    """The image-classification:1 image for `region`; raises IcflowError for a region without it."""
    registry = REGISTRIES.get(region)
    if registry is None:
        raise IcflowError(
            f"the image-classification algorithm is not available in region {region!r}; "
            f"deploy icflow in one of: {', '.join(sorted(REGISTRIES))}"
        )
    suffix = next(suffix for prefix, suffix in _DNS_SUFFIXES if region.startswith(prefix))
    return f"{registry}.dkr.ecr.{region}.{suffix}/{REPOSITORY}:{VERSION}"
