#!/usr/bin/env bash
# oldnew.sh BASE [flags]: SGEMM and the vector primitives of commit BASE
# against the working tree, in one process, calls interleaved (A/B), so
# that the clock drift and the neighbours' noise of these VMs fall on both
# alike. The old tree is a copy of BASE whose module path is renamed, so
# both link into one binary; nothing is written to the repository.
#
#   bash tools/oldnew/oldnew.sh b4c5982 -threads 1 -rounds 15
#   bash tools/oldnew/oldnew.sh HEAD~1 -conv ../shared/bench/conv_shapes.tsv -pass fwd -only resnet_3x3_c64
set -euo pipefail
base=${1:?usage: oldnew.sh BASE [flags]}
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$repo" archive --format=tar "$base" | tar -x -C "$work" --one-top-level=old
# Rename the old module so that both versions link into one program.
grep -rl 'github.com/convkit/convkit' "$work/old" --include='*.go' --include=go.mod |
	xargs sed -i 's#github.com/convkit/convkit#convkit.old/convkit#g'
mkdir "$work/ab"
cp "$repo/tools/oldnew/main.go.txt" "$work/ab/main.go"
cat >"$work/ab/go.mod" <<MOD
module oldnew
go 1.26
require (
	github.com/convkit/convkit v0.0.0
	convkit.old/convkit v0.0.0
)
replace github.com/convkit/convkit => $repo
replace convkit.old/convkit => $work/old
MOD
cd "$work/ab"
GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1
GOFLAGS=-mod=mod go run . -shapes "$repo/bench/shapes/gemm_shapes.tsv" "$@"
