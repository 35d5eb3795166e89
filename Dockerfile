# litemcp on Debian 12: built with the same setup script as the README, run
# as a non-root user with the data folder as a volume.
#
#   docker build -t litemcp .
#   docker run -p 8080:8080 -v litemcp-data:/var/lib/litemcp litemcp
#
# Inside the container litemcp listens on 0.0.0.0:8080, so the Host and
# Origin allow-lists and the admin token matter: pass them as settings, for
# example -e LITEMCP_ALLOWED_HOSTS=mcp.example.com -e LITEMCP_ADMIN_TOKEN=...
# (docs/operations.md).

FROM debian:12 AS build
WORKDIR /src
COPY . .
# setup.sh installs the toolchain and libraries (only what is missing) and
# configures a release build; only the server and the example worker are built.
RUN ./setup.sh build \
 && meson compile -C build litemcp litemcp-example-worker \
 && strip build/litemcp build/examples/worker/cpp/litemcp-example-worker

FROM debian:12-slim
# The shared libraries the binary links (ldd build/litemcp), and curl for the
# health check.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      librocksdb7.8 libspdlog1.10 libfmt9 libssl3 libgflags2.2 libsnappy1v5 liblz4-1 libzstd1 \
      libtcmalloc-minimal4 libnats3.4 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/litemcp --shell /usr/sbin/nologin litemcp \
 && mkdir -p /var/lib/litemcp && chown litemcp:litemcp /var/lib/litemcp
COPY --from=build /src/build/litemcp /usr/local/bin/litemcp
COPY --from=build /src/build/examples/worker/cpp/litemcp-example-worker /usr/local/bin/litemcp-example-worker
COPY --from=build /src/schemas/config.json /usr/share/litemcp/config.schema.json
USER litemcp
VOLUME /var/lib/litemcp
EXPOSE 8080
ENV LITEMCP_HOST=0.0.0.0 LITEMCP_PORT=8080 LITEMCP_DATA=/var/lib/litemcp
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
# SIGTERM: stop accepting, let requests finish, checkpoint the store.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/litemcp"]
