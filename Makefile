# Quickstart targets. Only Python 3.11 and make are needed; everything else goes into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: results test lint report bench clean

# The main job: every registered experiment at its default settings, into results/ (with the index).
results: $(STAMP)
	$(BIN)/python -m experiments run all --out results

# The suite on both backends: the zoo's tests and every experiment's quick run.
test: lint
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest -q
	KERAS_BACKEND=jax $(BIN)/python -m pytest -q

# The house style: ruff's formatter at 100 columns and its linter (see pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

# Rebuild every table and results/README.md from the stored metrics, without training.
report: $(STAMP)
	$(BIN)/python -m experiments report

# Time training on both backends (and PyTorch, if installed) into results/bench/.
bench: $(STAMP)
	$(BIN)/python -m experiments bench

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

clean:
	rm -rf $(VENV)
