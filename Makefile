# fertui: one entry point for every task. `make run` sets up and starts; `make test` tests all.
SHELL := /bin/bash
APT_PACKAGES := libncursesw5-dev libv4l-dev libopencv-dev opencv-data libopenblas-dev tmux pkg-config
PYTHON ?= python3
SWIFT_FLAGS ?=
export FER2013_DIR ?= $(abspath ../shared/fer2013)
export OPENBLAS_NUM_THREADS ?= 2
BIN_RELEASE := .build/release/fertui
CONFIG ?= Training/configs/fertui-resnet18.yaml
ARGS ?=

.PHONY: deps deps-apt deps-python build release run test test-swift test-python bench soak eval train fixtures format format-check clean

## deps: install missing system packages (apt) and the Python training requirements (pip)
deps: deps-apt deps-python

deps-apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

deps-python:
	@$(PYTHON) -c "import torch, torchvision, safetensors, sklearn, yaml, matplotlib, pytest, cv2" 2>/dev/null || \
	  $(PYTHON) -m pip install -q -r Training/requirements.txt

## build: debug build; release: optimised build used by run, bench and eval
build: deps-apt
	swift build $(SWIFT_FLAGS)

release: deps-apt
	swift build -c release $(SWIFT_FLAGS)

## run: install what is missing, build in release mode, start the monitor (ARGS="--source clip.mp4")
run: release
	$(BIN_RELEASE) $(ARGS)

## test: the whole suite, Swift (unit, numerics, end-to-end) then Python (training, export, metrics)
test: test-swift test-python

test-swift: deps-apt
	swift build $(SWIFT_FLAGS)
	swift test $(SWIFT_FLAGS)

test-python: deps-python
	$(PYTHON) -m pytest -q Training/tests

## bench: engine latency for fertui, PyTorch and ONNX Runtime side by side
bench: release deps-python
	$(PYTHON) Training/bench.py --fertui $(BIN_RELEASE) $(ARGS)

## soak: memory over a headless run switching models every 2 s (SOAK_SECONDS=600 for the full soak)
SOAK_SECONDS ?= 120
soak: release
	$(PYTHON) Training/soak.py --binary $(BIN_RELEASE) --seconds $(SOAK_SECONDS)

## eval: the paper's metrics on the validation set for the three shipped models
eval: release
	@for m in resnet18 resnet34 resnet50; do \
	  [ -f Assets/models/$$m.safetensors ] && $(BIN_RELEASE) eval --no-detect --data $(FER2013_DIR)/val --model $$m; \
	done; true

## train: train a model in the background-friendly way (CONFIG=Training/configs/...yaml)
train: deps-python
	$(PYTHON) Training/train.py --config $(CONFIG)

## fixtures: regenerate the engine's parity fixtures and the preprocessing fixtures from PyTorch
fixtures: deps-python
	$(PYTHON) Training/make_engine_fixtures.py
	$(PYTHON) Training/make_preprocess_fixtures.py

## format: rewrite the Swift sources with swift-format (.swift-format); format-check: what CI runs,
## failing on any swift-format warning or on a Swift line over 120 columns (counted in bytes, so
## box-drawing characters count 3: swift-format cannot wrap string literals, so that is checked here)
FORMAT_PATHS := Sources Tests Package.swift
SWIFT_FORMAT_MISSING := 'swift format' is not available: install a Swift 6 toolchain (it ships swift-format) and put its usr/bin on PATH

format:
	@swift format --version >/dev/null 2>&1 || { echo "format: $(SWIFT_FORMAT_MISSING)" >&2; exit 1; }
	swift format --in-place --recursive $(FORMAT_PATHS)

format-check:
	@swift format --version >/dev/null 2>&1 || { echo "format-check: $(SWIFT_FORMAT_MISSING)" >&2; exit 1; }
	swift format lint --strict --recursive $(FORMAT_PATHS)
	@long=$$(find Sources Tests -name '*.swift' -exec env LC_ALL=C awk 'length > 120 { print FILENAME ":" FNR ": " length " columns" }' {} +); \
	if [ -n "$$long" ]; then \
	  echo "$$long" >&2; \
	  echo "format-check: the lines above are over 120 columns; wrap them (split long strings with +)" >&2; \
	  exit 1; \
	fi; \
	echo "format-check: swift-format lint clean, no Swift line over 120 columns"

clean:
	rm -rf .build
