# Two commands do all the set-up on a fresh machine:
#   make simulate   run the 8-lane Hữu Nghị scenario and print its KPI table
#   make test       run the test suite
# Each creates the virtual environment in .venv and installs the project when missing.
# The protocol tests also need Debian's mosquitto (apt-get install mosquitto; .ci/run does it).

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
SCENARIO ?= scenarios/huu_nghi_8lane.yaml

.PHONY: simulate test bench clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

simulate: $(STAMP)
	$(VENV)/bin/checkpoint simulate $(SCENARIO)

test: $(STAMP)
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/twin_speed.py --record
	$(VENV)/bin/python benchmarks/scheduler.py --record
	$(VENV)/bin/python benchmarks/bridge.py --record

clean:
	rm -rf $(VENV) *.egg-info
