# Maestro entry points. `make setup` once, then `make demo` (the main job) or `make test`.
SHELL := /bin/bash
ENV := source scripts/env.sh &&

.PHONY: setup demo test test-slow lint bench clean
setup:            ## create .venv, install ROS 2 wheels + deps, build the colcon workspace (idempotent)
	bash scripts/setup.sh
demo:             ## the main job: Franka sim stack + agent, runs "put the tennis ball into the bowl"
	$(ENV) bash scripts/demo.sh
test:             ## lint + the default test suite (well under 30 minutes on 2 cores)
	$(ENV) bash scripts/test.sh
test-slow:        ## the slow suites too (end-to-end task runs, evaluation)
	$(ENV) MAESTRO_SLOW=1 bash scripts/test.sh
lint:
	$(ENV) ruff check src scripts launch benchmarks conftest.py
bench:            ## every benchmark script; prints numbers
	$(ENV) for b in benchmarks/*.py; do python $$b || exit 1; done
clean:
	rm -rf build install log
