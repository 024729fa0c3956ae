# The two commands the README promises work on a fresh machine:
#   make demo   set up, then validate the sample jobs and run one end to end on the local Docker engine
#   make test   set up, then run the whole test suite against a real engine
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup engine registry node browser slurm images demo test bench clean docs docs-serve cli-docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

# Byte-compile the package as an installed wheel would be (an editable install under PYTHONDONTWRITEBYTECODE
# would otherwise compile every module from source on every start).
setup: $(STAMP)
	$(BIN)/python -m compileall -q seed_runner

engine:
	scripts/ensure-engine.sh

registry:
	scripts/ensure-registry.sh

node:
	scripts/ensure-node.sh

slurm:
	scripts/ensure-slurm.sh

images: setup engine
	scripts/build-base-images.sh
	scripts/build-python-base.sh
	scripts/build-sample-jobs.sh

demo: images
	$(BIN)/seed validate --recursive sample_jobs
	$(BIN)/seed validate image-watermark-0.1.0-seed:0.1.0
	$(BIN)/seed run image-watermark-0.1.0-seed:0.1.0 -i INPUT_IMAGE=sample_jobs/watermark/example/input.png

browser:
	scripts/install-browser.sh

test: images registry node browser slurm
	$(BIN)/python -m pytest

bench: images slurm
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/run_overhead.py
	$(BIN)/python bench/harvest.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/batch_dask.py
	$(BIN)/python bench/pipeline_check.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/batch_slurm.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# The documentation site (mkdocs.yml, docs/): built strict, as CI does through tests/test_docs_site.py.
docs: setup
	$(BIN)/mkdocs build --strict

docs-serve: setup
	$(BIN)/mkdocs serve

# docs/reference/cli.md is generated from the CLI itself; tests/test_docs_cli.py fails when it drifts.
cli-docs: setup
	$(BIN)/typer seed_runner.cli.app utils docs --name seed --title "Command-line reference" --output docs/reference/cli.md
