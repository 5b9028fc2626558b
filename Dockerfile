# carepath: the orchestrator as a container.
#
#   docker build -t carepath .
#   docker run --rm carepath --help
#   docker compose up --build          (Kafka, the topics and carepath: see docs/deployment.md)
#
# Two stages: the Swift toolchain builds one binary with the Swift runtime
# linked in statically (--static-swift-stdlib); the runtime image is Debian
# bookworm-slim with the two C libraries carepath links dynamically, Debian's
# librdkafka (2.0.2, the version the build links) and SQLite.
#
# Swift 6.2: the package itself declares tools 6.1, but swift-log 1.16 (the
# version Package.resolved pins) declares 6.2, so a 6.1 toolchain stops at
# dependency resolution. Another 6.x bookworm tag (6.2 or later):
#   docker build --build-arg SWIFT_IMAGE=swift:6.3-bookworm -t carepath .

ARG SWIFT_IMAGE=swift:6.2-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------- build stage
FROM ${SWIFT_IMAGE} AS build

RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        librdkafka-dev libsqlite3-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, so that a source change does not fetch them again.
# Package.* matches Package.resolved when the build context has one.
COPY Package.* ./
RUN swift package resolve

# SwiftPM checks every target's directory, test targets included, so Tests/
# comes along even though only the carepath product is built.
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product carepath --static-swift-stdlib \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/carepath" /out/carepath \
 && /out/carepath --help >/dev/null

# -------------------------------------------------------------- runtime stage
FROM ${RUNTIME_IMAGE} AS runtime

# librdkafka1 and libsqlite3-0: the dynamically linked C libraries;
# ca-certificates: SSL/SASL_SSL brokers; libstdc++6: the Swift runtime's C++
# dependency (already in the base image; named so that it stays).
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        librdkafka1 libsqlite3-0 ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/*

# A non-root user owns the store directory; the named volume mounted there
# takes its ownership and mode from the image the first time it is created.
RUN groupadd --system --gid 10001 carepath \
 && useradd --system --uid 10001 --gid carepath --home-dir /var/lib/carepath \
        --no-create-home --shell /usr/sbin/nologin carepath \
 && install -d -o carepath -g carepath -m 0700 /var/lib/carepath

COPY --from=build /out/carepath /usr/local/bin/carepath
COPY deploy/healthcheck.sh /usr/local/bin/carepath-healthcheck
RUN chmod 0755 /usr/local/bin/carepath-healthcheck

# Defaults for a container; every other setting keeps carepath's own default.
# CAREPATH_BROKERS has none on purpose: without it carepath would start its
# embedded cluster, so deployments must set it (compose does).
ENV CAREPATH_STORE=/var/lib/carepath/carepath.sqlite \
    CAREPATH_METRICS_HOST=0.0.0.0 \
    CAREPATH_METRICS_PORT=9464

USER carepath
WORKDIR /var/lib/carepath
VOLUME ["/var/lib/carepath"]

# /metrics (Prometheus), /health/live, /health/ready
EXPOSE 9464

# SIGTERM: finish the batch, publish, commit, exit 0. Give it time
# (docker stop -t 60, compose stop_grace_period).
STOPSIGNAL SIGTERM

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=4 \
    CMD ["carepath-healthcheck", "/health/ready"]

ENTRYPOINT ["carepath"]
CMD ["run"]
