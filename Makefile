# Every install step lives here, so `make test` passes on a fresh machine that has only Python and pip.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

# Reference implementation for RecordIO compatibility tests; kept apart because it needs numpy 1.23.
MXNET_VENV := .venv-mxnet

.PHONY: install test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml layers/icflow/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel
	# torch first and exactly pinned: the local CPU build; any other spec pulls GBs of CUDA packages.
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[local,dev]'
	touch $@

$(MXNET_VENV)/.installed:
	$(PYTHON) -m venv $(MXNET_VENV)
	$(MXNET_VENV)/bin/python -m pip --quiet install mxnet==1.9.1 numpy==1.23.5 'opencv-python-headless<4.11'
	touch $@

test: install $(MXNET_VENV)/.installed
	ICFLOW_MXNET_PYTHON=$(MXNET_VENV)/bin/python $(BIN)/pytest

bench: install $(MXNET_VENV)/.installed
	ICFLOW_MXNET_PYTHON=$(MXNET_VENV)/bin/python $(BIN)/python benchmarks/recordio_bench.py

clean:
	rm -rf $(VENV) $(MXNET_VENV) .aws-sam .pytest_cache
