# Build a static binary, then ship it alone in a minimal non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/portal ./cmd/portal \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portal /portal
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV PORTAL_LISTEN=:8080 \
    PORTAL_DATA_DIR=/data \
    PORTAL_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
# The prober sends ICMP: if the host does not allow unprivileged ICMP
# sockets (sysctl net.ipv4.ping_group_range), run with --cap-add NET_RAW.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/portal", "healthcheck"]
ENTRYPOINT ["/portal"]
CMD ["serve"]
