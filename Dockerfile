# The gateway's image: the wheel built with maturin (the Rust extension compiled here), then
# installed alone on a slim Python. Both stages are Debian bookworm: the extension links the
# system's libsqlite3, which the runtime has (Python's sqlite3 module uses the same library).
#   docker build -t palisade .
#   docker run -p 8080:8080 -v $PWD/palisade.yaml:/etc/palisade/palisade.yaml palisade
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential curl ca-certificates libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
RUN curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain stable
ENV PATH=/root/.cargo/bin:$PATH
RUN pip install --no-cache-dir maturin==1.16.0
WORKDIR /src
COPY Cargo.toml Cargo.lock pyproject.toml README.md ./
COPY rust rust
COPY python python
# `linux`: no manylinux repair; the wheel is for the runtime stage below, same distribution.
RUN maturin build --release --compatibility linux --out /wheels

FROM python:3.11-slim-bookworm
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data --create-home palisade
USER palisade
WORKDIR /data
# 8080: the API; 9464: /metrics when `metrics.port` is set (as in deploy/compose/palisade.yaml).
EXPOSE 8080 9464
# Granian forwards SIGTERM to its workers; `server.drain_delay_s` turns /ready 503 first.
STOPSIGNAL SIGTERM
ENTRYPOINT ["palisade"]
CMD ["serve", "--config", "/etc/palisade/palisade.yaml"]
