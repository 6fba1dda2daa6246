# The two commands a newcomer needs: `make run` and `make test`. Both create the
# virtual environment on first use, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install bench mutate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ledger serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Mutation testing of the guarantees' modules (pyproject.toml [tool.mutmut]); slow, not in CI.
# Results are kept in mutants/, so a second run only tries what changed or was not tried.
mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	LEDGER_TEST_POSTGRES_URL=$${LEDGER_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
		$(BIN)/mutmut run $(MUTATE_ARGS)
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) .pytest_cache test-output mutants
