#!/usr/bin/env bash
# Runs each fuzz target for SECONDS on the stable toolchain (libFuzzer through
# cargo-fuzz, no sanitizer) and fails if any target finds a crash.
#
#   fuzz/smoke.sh SECONDS [TARGET...]      # default: every target
#
# Installs cargo-fuzz from crates.io if it is missing. New corpus entries go to
# fuzz/corpus/<target> (ignored by git); crashes to fuzz/artifacts/<target>.
set -euo pipefail

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 2
fi
seconds=$1
shift
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

failed=()
for target in "${targets[@]}"; do
    echo "== $target: ${seconds}s"
    mkdir -p "corpus/$target"
    dict=()
    [[ $target == parse_* || $target == connection ]] && dict=(-dict=resp.dict)
    # No sanitizer: AddressSanitizer needs a nightly compiler, and the library's only
    # unsafe code is one ioctl, so coverage-guided runs still find what matters
    # (panics, hangs, wrong answers caught by the targets' assertions).
    if ! cargo fuzz run --sanitizer none "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "${dict[@]}"; then
        failed+=("$target")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz smoke run failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz smoke run passed: ${targets[*]}"
