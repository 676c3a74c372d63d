#!/usr/bin/env bash
# Installs OpenTofu from the Go module proxy when neither terraform nor tofu is on PATH, and prints its path.
# Its go.mod has a replace directive, so `go install module@version` refuses: download the module and build it.
set -euo pipefail
VERSION=${TOFU_VERSION:-v1.10.10}
BIN_DIR=${RETAIL_STACK__CACHE_DIR:-$HOME/.cache/retail-platform}/bin
TOFU="$BIN_DIR/tofu-$VERSION"
if [ ! -x "$TOFU" ]; then
  command -v go >/dev/null || { echo "error: no terraform, tofu or go on PATH; install Terraform >= 1.6" >&2; exit 2; }
  echo "building OpenTofu $VERSION from the Go module proxy (once, a few minutes)" >&2
  dir=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$VERSION" \
        | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$BIN_DIR"
  (cd "$dir" && CGO_ENABLED=0 go build -o "$TOFU" ./cmd/tofu) >&2
fi
echo "$TOFU"
