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
#
# Both base images are pinned by the digest of their multi-arch index, so a
# rebuild gets the bytes that were reviewed, whatever the tag points at later;
# the tag stays as a reminder of what the digest is. Refresh both on purpose
# (Dependabot's or Renovate's docker ecosystem, or by hand):
#
#   crane digest golang:1.26-bookworm
#   crane digest gcr.io/distroless/static-debian12:nonroot
#
# The digests below are ones these tags had in 2026, as other public projects pin
# them; the development VM has no registry access, so they were not pulled or
# verified here. A digest a registry does not serve fails the build at FROM,
# never silently: refresh them before the first build.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm@sha256:b305420a68d0f229d91eb3b3ed9e519fcf2cf5461da4bef997bf927e8c0bfd2b AS build
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

FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/lakefuse /lakefuse
USER nonroot:nonroot
ENTRYPOINT ["/lakefuse"]
CMD ["--help"]
