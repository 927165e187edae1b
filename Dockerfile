# One image with the tripline binaries: the consumer and the Users API
# simulator (opsim). Used by docker-compose.yml and by the Helm chart
# (deploy/helm/tripline); the default command is the consumer.
#
# Both bases are pinned: the builder to an exact Go release, the runtime to
# a digest (update it with `crane digest gcr.io/distroless/static-debian12:nonroot`).
# The binaries are static (CGO_ENABLED=0) and run as the numeric non-root
# user 65532, the chart's runAsUser, so that Kubernetes' runAsNonRoot can
# check it. They write no file: the image runs with a read-only root
# filesystem and no writable volume.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/tripline-dev/tripline/internal/version.Version=${VERSION}" \
      -o /out/ ./cmd/consumer ./cmd/opsim

FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/consumer /out/opsim /usr/local/bin/
# The default rules (the repository's rules/, with its example
# protected.yaml); the chart mounts a ConfigMap over this directory.
COPY rules /etc/tripline/rules
ENV TRIPLINE_RULES_DIR=/etc/tripline/rules
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/consumer"]
CMD ["run"]
