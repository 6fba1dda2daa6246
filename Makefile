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

# Logs for reading by eye here (LEDGER_LOG_FORMAT in the environment wins); a deployment keeps
# the default, JSON (docs/operations.md).
run: $(STAMP)
	LEDGER_LOG_FORMAT=$${LEDGER_LOG_FORMAT:-text} $(BIN)/ledger serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	if [ ! -d tests/idp/node_modules ] && command -v npm > /dev/null; then npm ci --prefix tests/idp --no-audit --no-fund --loglevel=error; fi
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Mutation testing of the guarantees' modules, group by group (tests/mutate.py); slow, not in CI.
# MUTATE_ARGS: some groups, --recheck (survivors again, after tests were added), --report.
mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	$(BIN)/python -m tests.mutate $(MUTATE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache test-output mutants var/mutate
