# Every install step lives here, so `make test` passes on a fresh machine that has only Python and pip.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

# Reference implementation for RecordIO compatibility tests; kept apart because it needs numpy 1.23.
MXNET_VENV := .venv-mxnet

# SAM CLI and checkov pin dependencies that conflict with the project's and each other's: a venv each.
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
# The AWS CLI v1, with which tests/local_stack uploads folders as users do; it pins its own botocore.
AWSCLI_VENV := .venv-awscli
SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
# sam build needs the functions' runtime, python3.13, which pyenv provides here and on CI.
SAM_BUILD_PYTHON := 3.13.0
# The reports' charting library (Vega, Vega-Lite): downloaded from the npm registry and checked against pinned
# hashes by src/icflow_tools/vendor_charts.py, into the layer's package; a build artifact, not committed.
VENDOR := layers/icflow/icflow/reports/vendor
VENDORED := $(VENDOR)/versions.json

SAM_SOURCES := $(VENDORED) template.yaml samconfig.toml layers/icflow/requirements.txt layers/icflow/Makefile functions/Makefile $(wildcard functions/*/requirements.txt) $(shell find functions layers/icflow/icflow -name '*.py' -not -path '*/__pycache__/*')

.PHONY: install demo test bench clean sam-validate sam-build checkov lint vendor browser

install: $(VENV)/.installed

# Order-only: the editable install needs the vendor folder present, not a new venv when it changes.
$(VENV)/.installed: pyproject.toml layers/icflow/requirements.txt $(wildcard functions/*/requirements.txt) | $(VENDORED)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel
	# torch first and exactly pinned: the local CPU build; any other spec pulls GBs of CUDA packages.
	$(PIP) install torch==2.13.0
	# The layer's and the functions' pins constrain the venv, so the tests run exactly what ships (tests/build/).
	$(PIP) install -e '.[local,dev]' -c layers/icflow/requirements.txt $(foreach pins,$(wildcard functions/*/requirements.txt),-c $(pins))
	touch $@

vendor: $(VENDORED)

# Plain Python, no venv: it uses only the standard library. It leaves versions.json alone when it is current.
$(VENDORED): src/icflow_tools/vendor_charts.py
	$(PYTHON) src/icflow_tools/vendor_charts.py $(VENDOR)
	touch $@

# The tests open the reports in a real browser: the distribution's chromium, which Playwright drives.
browser:
	command -v chromium >/dev/null 2>&1 || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)

$(MXNET_VENV)/.installed:
	$(PYTHON) -m venv $(MXNET_VENV)
	$(MXNET_VENV)/bin/python -m pip --quiet install mxnet==1.9.1 numpy==1.23.5 'opencv-python-headless<4.11'
	touch $@

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip --quiet --disable-pip-version-check install aws-sam-cli==1.170.0
	touch $@

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip --quiet --disable-pip-version-check install checkov==3.3.30
	touch $@

$(AWSCLI_VENV)/.installed:
	$(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/python -m pip --quiet --disable-pip-version-check install awscli==1.46.3
	touch $@

sam-validate: $(SAM_VENV)/.installed
	$(SAM) validate --lint --region us-east-1

# Every finding is fixed or skipped in template.yaml with its reason; --skip-download keeps it offline.
checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download

sam-build: .aws-sam/build/template.yaml

.aws-sam/build/template.yaml: $(SAM_VENV)/.installed $(SAM_SOURCES)
	PYENV_VERSION=$(SAM_BUILD_PYTHON) $(SAM) build
	touch $@

# The whole flow on this machine (README's first command): local stack, digits, training, batch, endpoint.
demo: install $(VENDORED)
	$(BIN)/icflow demo

# ruff's settings are pyproject.toml's; `ruff format` without --check fixes what this reports.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# tests/build runs the sam build output, so the build comes first.
test: install $(VENDORED) browser lint $(MXNET_VENV)/.installed $(AWSCLI_VENV)/.installed sam-validate checkov sam-build
	ICFLOW_MXNET_PYTHON=$(MXNET_VENV)/bin/python ICFLOW_AWS_CLI=$(AWSCLI_VENV)/bin/aws $(BIN)/pytest

bench: install $(MXNET_VENV)/.installed sam-build
	ICFLOW_MXNET_PYTHON=$(MXNET_VENV)/bin/python $(BIN)/python benchmarks/recordio_bench.py
	$(BIN)/python benchmarks/cold_start.py
	$(BIN)/python benchmarks/label_outputs_bench.py
	$(BIN)/python benchmarks/batch_report_bench.py
	$(BIN)/python benchmarks/image_checks_bench.py
	$(BIN)/python benchmarks/class_folders_bench.py
	$(BIN)/python benchmarks/trainer_digits_bench.py
	$(BIN)/python benchmarks/local_sagemaker_bench.py
	$(BIN)/python benchmarks/small_batch_bench.py
	$(BIN)/python benchmarks/transform_instances_bench.py

clean:
	rm -rf $(VENV) $(MXNET_VENV) $(SAM_VENV) $(CHECKOV_VENV) $(AWSCLI_VENV) .aws-sam .pytest_cache $(VENDOR)
