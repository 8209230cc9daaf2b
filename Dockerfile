# syntax=docker/dockerfile:1
#
# Container image for casebridge.
#
#   docker build -t casebridge .
#   docker run --rm casebridge generate-key
#
# The binary speaks to PostgreSQL (DATABASE_URL=postgres://...) or to a SQLite file; see
# docker-compose.yml for a PostgreSQL set-up.

# --- Build stage ---------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder

RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY src ./src
COPY migrations ./migrations
COPY openapi ./openapi

RUN cargo build --release --locked --no-default-features \
    && strip target/release/casebridge

# --- Runtime stage -------------------------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 casebridge \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/casebridge \
        --shell /usr/sbin/nologin casebridge \
    && install -d -o casebridge -g casebridge -m 0750 /var/lib/casebridge /var/lib/casebridge/data

COPY --from=builder /build/target/release/casebridge /usr/local/bin/casebridge

# The working directory holds CASEBRIDGE_DATA_DIR (default `data`, relative to it): the SQLite
# database when DATABASE_URL is not set, the development signing key outside production, and the
# sealed documents (`data/documents`) unless CASEBRIDGE_DOCUMENT_STORE names an S3 bucket.
WORKDIR /var/lib/casebridge
USER 10001:10001

ENV CASEBRIDGE_BIND=0.0.0.0:8080 \
    CASEBRIDGE_LOG_FORMAT=json

EXPOSE 8080

# No HEALTHCHECK: the image carries no HTTP client. Probe GET /health/live (process up) and
# GET /health/ready (database reachable, 503 otherwise) from the orchestrator instead.
ENTRYPOINT ["casebridge"]
CMD ["serve"]
