"""What one transform request may carry: icflow sends one image per record, in a record of MAX_PAYLOAD_MB.

A module of its own so that reading pipeline.json (which checks max_concurrent_transforms against these) does
not import the image checks.
"""

# CreateTransformJob's MaxPayloadInMB, and SageMaker's limit on it times MaxConcurrentTransforms.
MAX_PAYLOAD_MB = 6
MAX_TRANSFORM_PAYLOAD_MB = 100
# So at most this many requests at a time per instance.
MAX_CONCURRENT_TRANSFORMS = MAX_TRANSFORM_PAYLOAD_MB // MAX_PAYLOAD_MB
# MaxPayloadInMB counts mebibytes (the AWS provider for Terraform documents it as "in MiB", and the local
# SageMaker enforces it so): an image of up to 6 * 2**20 bytes fits one record.
BYTES_PER_MB = 1024 * 1024
