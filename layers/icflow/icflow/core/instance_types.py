"""What icflow knows of SageMaker's ml.* instance types: their vCPUs and training prices, the one table of each.

The vCPUs are the EC2 instance's behind each ml.* type (the SageMaker pricing page lists them per type), for the
families SageMaker offers for batch transform and hosting of the built-in image-classification algorithm: the
CPU families c4, c5, m4, m5, r5 and their 6th and 7th generation (m6i, c6i, r6i, m7i, c7i, r7i), and the GPU
families p2, p3, g4dn, g5. A type not listed here is still accepted (pipeline.json checks only the
ml.<family>.<size> form, and SageMaker decides what exists); what needs its vCPUs then leaves the choice to
SageMaker rather than guess.
"""

from __future__ import annotations

# In every family listed, EC2 gives "large" 2 vCPUs, "xlarge" 4 and "Nxlarge" 4N, except where noted. The table
# lists each type it knows, so the size rule never names a number for a type outside it.
_SIXTH_GENERATION = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge")
_SEVENTH_GENERATION = (
    "large",
    "xlarge",
    "2xlarge",
    "4xlarge",
    "8xlarge",
    "12xlarge",
    "16xlarge",
    "24xlarge",
    "48xlarge",
)
_FAMILY_SIZES: dict[str, tuple[str, ...]] = {
    "c4": ("xlarge", "2xlarge", "4xlarge", "8xlarge"),  # c4.8xlarge has 36, not 32
    "c5": ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge"),
    "m4": ("xlarge", "2xlarge", "4xlarge", "10xlarge", "16xlarge"),
    "m5": ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"),
    "r5": ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"),
    **dict.fromkeys(("m6i", "c6i", "r6i"), _SIXTH_GENERATION),
    **dict.fromkeys(("m7i", "c7i", "r7i"), _SEVENTH_GENERATION),
    "p2": ("xlarge", "8xlarge", "16xlarge"),
    "p3": ("2xlarge", "8xlarge", "16xlarge"),
    "g4dn": ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"),
    "g5": ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"),
}
_EXCEPTIONS = {"ml.c4.8xlarge": 36}


def _size_vcpus(size: str) -> int:
    if size == "large":
        return 2
    return 4 * int(size.removesuffix("xlarge") or "1")


VCPUS: dict[str, int] = {
    f"ml.{family}.{size}": _size_vcpus(size) for family, sizes in _FAMILY_SIZES.items() for size in sizes
} | _EXCEPTIONS


def vcpus(instance_type: str) -> int | None:
    """The instance type's vCPUs; None for a type this table does not list."""
    return VCPUS.get(instance_type)


# On-demand training prices in US dollars per instance-hour, us-east-1, from the SageMaker pricing page
# (aws.amazon.com/sagemaker/pricing, "Training"), for the types icflow's defaults and docs name. Other regions cost
# more or less, and savings plans less: reports say "estimated" and name this table. A type missing here gets no
# estimate rather than a guess.
TRAINING_PRICE_PER_HOUR: dict[str, float] = {
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m5.2xlarge": 0.461,
    "ml.m5.4xlarge": 0.922,
    "ml.c5.xlarge": 0.204,
    "ml.c5.2xlarge": 0.408,
    "ml.c5.4xlarge": 0.816,
    "ml.p2.xlarge": 1.125,
    "ml.p3.2xlarge": 3.825,
    "ml.p3.8xlarge": 14.688,
    "ml.p3.16xlarge": 28.152,
    "ml.g4dn.xlarge": 0.7364,
    "ml.g4dn.2xlarge": 0.94,
    "ml.g5.xlarge": 1.408,
    "ml.g5.2xlarge": 1.515,
}
PRICE_REGION = "us-east-1"


def training_price_per_hour(instance_type: str) -> float | None:
    """The on-demand training price of one instance-hour in PRICE_REGION; None for a type not in the table."""
    return TRAINING_PRICE_PER_HOUR.get(instance_type)
