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


def test_an_upload_loads_the_class_folder_preparation_only_when_it_prepares_class_folders():
    script = (
        "import sys\n"
        "import icflow.training.dataset_uploads\n"
        "print(sorted(name for name in sys.modules if name.startswith('icflow.training.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    loaded = result.stdout
    assert "icflow.training.evaluate_dataset" in loaded
    assert "class_folders" not in loaded and "image_checks" not in loaded
