# Two commands do all the set-up on a fresh machine:
#   make serve      the control room on http://127.0.0.1:8000, the 8-lane Hữu Nghị twin live
#   make test       check the code (ruff, mypy) and run the test suite
# (make simulate runs the 8-lane scenario for a day and prints its KPI table.)
# Each creates the virtual environment in .venv and installs the project when missing.
# The protocol tests also need Debian's mosquitto (apt-get install mosquitto; .ci/run does it),
# and Node.js for the VDA 5050 vehicle written by others (npm package vda-5050-lib, in tests/peers).

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PEERS := tests/peers/node_modules/.installed
SCENARIO ?= scenarios/huu_nghi_8lane.yaml

.PHONY: serve simulate lint test bench clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# the exact versions in package-lock.json, from the npm registry
$(PEERS): tests/peers/package.json tests/peers/package-lock.json
	npm ci --prefix tests/peers --no-audit --no-fund --loglevel=error
	touch $(PEERS)

serve: $(STAMP)
	$(VENV)/bin/checkpoint serve $(SCENARIO)

simulate: $(STAMP)
	$(VENV)/bin/checkpoint simulate $(SCENARIO)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict controllers

test: lint $(PEERS)
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/twin_speed.py --record
	$(VENV)/bin/python benchmarks/scheduler.py --record
	$(VENV)/bin/python benchmarks/controllers.py --record
	$(VENV)/bin/python benchmarks/bridge.py --record
	$(VENV)/bin/python benchmarks/plates.py --record
	$(VENV)/bin/python benchmarks/web.py --record

clean:
	rm -rf $(VENV) *.egg-info
