# The two commands: `make run` serves the API on its embedded default; `make test` runs every test.
.PHONY: run test setup lint bench clean

setup:
	@bash scripts/setup.sh

run: setup
	.venv/bin/python -m server

test: setup
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check .

bench: setup
	.venv/bin/python bench/run_all.py

clean:
	rm -rf var .pytest_cache
