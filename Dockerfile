# One image with the tripline binaries: the consumer and the Users API
# simulator (opsim). Used by docker-compose.yml; the default command is the
# consumer.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/tripline-dev/tripline/internal/version.Version=${VERSION}" \
      -o /out/ ./cmd/consumer ./cmd/opsim

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/consumer /out/opsim /usr/local/bin/
COPY rules /etc/tripline/rules
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/consumer"]
CMD ["run"]
