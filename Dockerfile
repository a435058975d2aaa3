# The API and the worker (one image, two commands). Small: slim Python, wheels only,
# no build tools, no pip cache; runs as an unprivileged user.
# Pinned to a patch release and a Debian release: a floating tag changes under a running
# deployment. Raise it deliberately (and run `make test`) for a security release.
FROM python:3.11.17-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first: this layer is reused until requirements.txt changes. The runtime
# packages only; requirements-dev.txt (tests, browser, the dev stack) never gets here.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY pyproject.toml README.md alembic.ini worker.py ./
COPY migrations ./migrations
COPY lkk ./lkk
COPY lkkctl ./lkkctl
COPY api ./api
COPY workflows ./workflows
COPY activities ./activities
# The `lkk` admin command (lkkctl; ops run `lkk db upgrade`, `lkk support find` here):
# the project as a package, its dependencies being the layer above. /app comes first on
# the path, so the command runs the same files as `python -m …` and `python worker.py`,
# next to the alembic.ini, migrations and docs they read. devstack/ and tests/ are
# neither copied nor part of the package (pyproject.toml; tests/test_image_contents.py).
ENV PYTHONPATH=/app
RUN pip install --no-deps . && rm -rf build ./*.egg-info
# The guides (PDF behind the «?», HTML pages) are built at start-up from their sources.
COPY docs/guides ./docs/guides
COPY docs/img ./docs/img
# Bytecode in the image: the workflow sandbox re-imports workflow modules for every
# new run, and PYTHONDONTWRITEBYTECODE would otherwise make each import a compile.
RUN python -m compileall -q lkk lkkctl api workflows activities worker.py

RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin lkk \
    && mkdir -p /app/var && chown lkk:lkk /app/var  # LKK_DATA_DIR: the guides' font and image caches
USER 10001:10001

EXPOSE 8000
# The API by default; the worker runs `python worker.py`, migrations `lkk db upgrade`
# (compose: `python -m lkkctl db upgrade`, the same).
# api/serve.py is uvicorn (no proxy headers, no access log) with a drain: on SIGTERM
# /readyz answers 503 for LKK_SHUTDOWN_DRAIN_SECONDS while requests are still served,
# so Caddy takes the replica out first; then it stops accepting and lets in-flight
# requests finish (up to 25 s).
CMD ["python", "-m", "api.serve", "--host", "0.0.0.0", "--port", "8000"]
