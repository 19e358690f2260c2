"""SageMaker's built-in image-classification algorithm as data: its hyperparameters, what can be tuned,
and its container image per region. Pure and light: these modules load in Lambda cold starts."""
