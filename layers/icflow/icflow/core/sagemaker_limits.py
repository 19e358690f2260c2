"""SageMaker's limits on the numbers pipeline.json can set, checked when the file is read rather than when a
CreateTrainingJob or CreateHyperParameterTuningJob refuses them (or, worse, accepts them and bills for them).

botocore's model gives only minimums for these members; the maximums are the API's and the service's:
- every count and size is an API Integer, a 32-bit number: 1e20 instances can never be sent. What lies above
  the account's quota (instances per job, say) is SageMaker's to refuse: ResourceLimitExceeded rejects the
  run with the quota to raise, so icflow does not guess the account's quotas;
- a training volume is an EBS gp2 volume, at most 16 TiB;
- automatic model tuning's limits ("Resource Limits for Automatic Model Tuning" in the developer guide): at
  most 750 training jobs per tuning job (10,000 for the Random strategy, after a quota increase) and at most
  100 in parallel (the default quota is 10).
"""

API_INTEGER_MAX = 2**31 - 1
MAX_VOLUME_SIZE_GB = 16 * 1024
# ResourceConfig.KeepAlivePeriodInSeconds: how long a managed warm pool may wait for the next matching job.
MAX_KEEP_ALIVE_SECONDS = 21600
MAX_TUNING_JOBS = 750
MAX_RANDOM_TUNING_JOBS = 10_000
MAX_PARALLEL_TUNING_JOBS = 100
