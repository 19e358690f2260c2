"""icflow's tooling that never runs in Lambda: the CLI, the local stack, the local SageMaker and its trainer."""
