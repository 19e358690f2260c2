"""The local stack: template.yaml's resources in moto, its functions in worker processes fed by the events the
template wires to them, and the local SageMaker beside them (`icflow local up`; docs/architecture.md, "Local stack").

Kept free of imports: `python -m icflow_tools.local_stack.worker` starts every function through this package.
"""
