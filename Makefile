# Two entry points for a fresh machine: `make demo` and `make test`.
# Each builds the virtual environment first when it is missing or older than pyproject.toml.
VENV ?= .venv
PYTHON ?= python3

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -U pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

.PHONY: demo test quick lint bench
demo: $(VENV)/.installed
	$(VENV)/bin/python -m gitartifacts.demo

# The package is compiled first: where PYTHONDONTWRITEBYTECODE is set, each of the thousands
# of commands the tests run would otherwise compile it again (0.1-0.2 s each).
test: $(VENV)/.installed
	$(VENV)/bin/python -m compileall -q gitartifacts
	$(VENV)/bin/pytest -n 2 -q

# The inner loop: everything but the slow end-to-end tests, in about a minute.
quick: $(VENV)/.installed
	$(VENV)/bin/python -m compileall -q gitartifacts
	$(VENV)/bin/pytest -n 2 -q -m "not slow and not sigkill"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check gitartifacts tests bench
	$(VENV)/bin/ruff format --check gitartifacts tests bench
	$(VENV)/bin/mypy --strict gitartifacts
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python .ci/module-size

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/run_bench.py
