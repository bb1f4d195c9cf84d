# lakefuse container image: a static binary on distroless (CA certificates, tzdata,
# a nonroot user, no shell). Build and push:
#
#   docker build --build-arg VERSION=$(git describe --always) -t $REPO/lakefuse:$TAG .
#
# scripts/build-static.sh builds the same binary without Docker (same flags).
#
# Multi-arch: the build stage runs on the builder's platform and cross-compiles
# for the target's (no emulation), e.g.
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t $REPO/lakefuse:$TAG --push .
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
    -ldflags "-s -w -X github.com/lakefuse/lakefuse/lake.Version=${VERSION}" \
    -o /out/lakefuse ./cmd/lakefuse

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/lakefuse /lakefuse
USER nonroot:nonroot
ENTRYPOINT ["/lakefuse"]
CMD ["--help"]
