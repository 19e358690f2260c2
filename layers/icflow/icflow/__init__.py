"""icflow's shared package, deployed as the Lambda layer.

Domain logic (configuration, hyperparameter rules, naming, RecordIO, labels) is pure and testable without
AWS; `icflow.adapters` holds the thin AWS-facing parts. Nothing here imports the sagemaker SDK.
"""
