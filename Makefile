# The README's two commands: `make run` (the whole system) and `make test` (every check).
# Both work on a fresh machine with only python3.11, pip and make: `make test` first installs
# the system packages its tests need where they are missing (scripts/preflight says which).

UV_VERSION := 0.13.8
VENV := .venv

.PHONY: run test install preflight

run: install
	$(VENV)/bin/ticketing up

# The browser tests run on their own: Playwright's synchronous API keeps an event loop
# running in its test process, which the asyncio tests must not share.
test: preflight install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -n 2 --ignore=tests/web
	$(VENV)/bin/pytest tests/web

# Chromium and its fonts, PostgreSQL, nginx and Redis: installed with apt-get where missing
# (as root, or through `sudo -n`), or a stop with the exact command to run.
preflight:
	@scripts/preflight

# Bytecode is compiled at install, so that no process compiles a module at start even
# where PYTHONDONTWRITEBYTECODE is set; the workflow sandbox imports the workflow module
# afresh for every new workflow, which without bytecode means compiling it each time.
BYTECODE_DIRS := services workflows activities worker devstack web

# Syncing an up-to-date venv takes a fraction of a second, so it runs every time rather
# than trusting a stamp file that a hand-installed package would make stale.
install:
	@set -e; \
	if command -v uv >/dev/null 2>&1; then uv=uv; else \
		uv="python3 -m uv"; \
		$$uv --version >/dev/null 2>&1 \
			|| python3 -m pip install --quiet uv==$(UV_VERSION) \
			|| python3 -m pip install --quiet --break-system-packages uv==$(UV_VERSION); \
	fi; \
	test -x $(VENV)/bin/python || UV_PYTHON_DOWNLOADS=never $$uv venv --python python3.11 $(VENV); \
	$$uv pip sync --quiet --compile-bytecode --python $(VENV)/bin/python requirements.lock; \
	$$uv pip install --quiet --python $(VENV)/bin/python --no-deps -e .; \
	$(VENV)/bin/python -m compileall -q $(BYTECODE_DIRS)

# The one lock: requirements.lock (every version, every file's hash), what `install`
# syncs, and the image's docker/requirements.lock (no dev, no embedded servers), both
# exported from one resolution; the resolver's own file (which names the index it used)
# is not kept. tests/test_locks.py checks that they agree with pyproject.toml.
.PHONY: lock
lock:
	@set -e; if command -v uv >/dev/null 2>&1; then uv=uv; else uv="python3 -m uv"; fi; \
	$$uv lock; \
	$$uv export --quiet --frozen --all-extras --no-emit-project -o requirements.lock; \
	$$uv export --quiet --frozen --no-emit-project -o docker/requirements.lock; \
	rm -f uv.lock
