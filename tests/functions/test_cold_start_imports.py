"""The domain modules load in Lambda cold starts: nothing heavy, and never the sagemaker SDK."""

import subprocess
import sys

MODULES = [
    "icflow.algorithm.hyperparameters",
    "icflow.algorithm.tuning",
    "icflow.algorithm.image_uris",
    "icflow.core.pipeline_config",
    "icflow.training.dataset_facts",
    "icflow.core.naming",
    "icflow.training.fingerprint",
    "icflow.training.training_request",
]
FORBIDDEN = ["sagemaker", "numpy", "PIL", "torch"]


def test_domain_modules_import_nothing_heavy_in_a_fresh_process():
    script = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in MODULES)
        + f"print(sorted({{name.split('.')[0] for name in sys.modules}} & set({FORBIDDEN!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"
