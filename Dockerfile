# syntax=docker/dockerfile:1
#
# Plenty hub: build with cgo (DuckDB is linked statically from its Go
# bindings), run as a non-root user on a small glibc image.
#
#   docker build -t plenty .
#   docker run -p 8080:8080 -v plenty-data:/data plenty            # the hub
#   docker run -p 8080:8080 -v plenty-data:/data plenty serve --addr 0.0.0.0:8080 --data /data --demo
#   docker run -v plenty-data:/data plenty check --data /data      # other subcommands

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/plenty ./cmd/plenty

# bookworm-slim has glibc and libstdc++, which DuckDB needs; nothing else
# is installed.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home plenty \
 && mkdir /data && chown plenty:plenty /data && chmod 0700 /data
COPY --from=build /out/plenty /usr/local/bin/plenty
USER plenty:plenty
VOLUME /data
EXPOSE 8080
# SIGTERM lets in-flight writes finish and signs a final checkpoint.
STOPSIGNAL SIGTERM
ENTRYPOINT ["plenty"]
CMD ["serve", "--addr", "0.0.0.0:8080", "--data", "/data"]
