#!/usr/bin/env bash
# The thumbnail budget of issue 14: a 256 × 256 thumbnail of a 12-megapixel JPEG made by
# petty_files::images::thumbnail (the function confirming an upload uses; release build,
# crates/petty-files/benches/thumbnail.rs) against Pillow's Image.thumbnail and libvips'
# vipsthumbnail on the same file, same machine, same run, each pinned to core 1, in
# interleaved rounds. Budget: Petty within 2x of either.
#
#   xtask/bench/thumbnail.sh [ROUNDS] [RUNS]     # default 5 rounds of 20 thumbnails each
#
# Installs what it compares against when missing: Pillow from PyPI, libvips-tools from Debian.
# The test photo (4032 × 3024, smooth gradients, blurred noise and grain, so it compresses like
# a photo) is made by Pillow from a fixed seed.
set -euo pipefail
ROUNDS=${1:-5}; RUNS=${2:-20}
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/petty-target}"
DIR=$(mktemp -d /tmp/petty-thumbnail-bench.XXXXXX)
trap 'rm -rf "$DIR"' EXIT

python3 -c 'import PIL' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check 'pillow>=11'
if ! command -v vipsthumbnail >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvips-tools >/dev/null
fi

PHOTO="$DIR/photo-12mp.jpg"
python3 - "$PHOTO" <<'PY'
import random, sys
from PIL import Image
random.seed(14)
w, h = 4032, 3024
base = Image.effect_noise((w // 8, h // 8), 64).convert('L').resize((w, h), Image.BICUBIC)
image = Image.merge('RGB', (Image.linear_gradient('L').resize((w, h)), base, Image.radial_gradient('L').resize((w, h))))
image = Image.blend(image, Image.effect_noise((w, h), 24).convert('RGB'), 0.25)
image.save(sys.argv[1], quality=90)
PY
echo "photo: 4032x3024, $(stat -c %s "$PHOTO") bytes"

BENCH=$(cargo bench -p petty-files --bench thumbnail --no-run 2>&1 | sed -nE 's/.*Executable .*\((.*)\).*/\1/p' | tail -n1)
[ -x "$BENCH" ] || { echo "the benchmark did not build" >&2; exit 1; }

# Pillow as its documentation has it (thumbnail() drafts the JPEG to twice the size, a 1/4 DCT
# scale here), and (DRAFT=1) drafted straight to the size (1/8, as Petty decodes it).
pillow() {
  DRAFT=${1:-0} taskset -c 1 python3 - "$PHOTO" "$RUNS" <<'PY'
import io, os, sys, time
from PIL import Image
data = open(sys.argv[1], 'rb').read()
draft = os.environ.get('DRAFT') == '1'
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    image = Image.open(io.BytesIO(data))
    if draft:
        image.draft('RGB', (256, 256))
    image.thumbnail((256, 256))
    out = io.BytesIO()
    image.save(out, 'JPEG', quality=85)
    times.append((time.perf_counter() - t) * 1e3)
times.sort()
print(f"pillow{' drafted to 1/8' if draft else ''} runs={len(times)} median_ms={times[len(times) // 2]:.2f} min_ms={times[0]:.2f} out={image.size[0]}x{image.size[1]} bytes={out.tell()}")
PY
}

vips() {
  local times=()
  for _ in $(seq 1 "$RUNS"); do
    local t0 t1
    t0=$(date +%s%N)
    taskset -c 1 vipsthumbnail "$PHOTO" -s 256 -o "$DIR/vips.jpg[Q=85]"
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v runs="$RUNS" '{a[NR]=$1} END {printf "vipsthumbnail runs=%d median_ms=%.2f min_ms=%.2f (a process per thumbnail)\n", runs, a[int(NR/2)+1]/1000, a[1]/1000}'
}

median() { sed -E 's/.*median_ms=([0-9.]+).*/\1/'; }
fastest() { sed -E 's/.*min_ms=([0-9.]+).*/\1/'; }
ratios_pillow=(); ratios_vips=(); fastest_pillow=(); ratios_draft=()
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  # The order turns each round.
  for who in $(printf 'petty\npillow\ndraft\nvips\n' | tail -n +$(( (r - 1) % 4 + 1 )); printf 'petty\npillow\ndraft\nvips\n' | head -n $(( (r - 1) % 4 ))); do
    case $who in
      petty) p=$(taskset -c 1 "$BENCH" "$PHOTO" "$RUNS"); echo "  $p" ;;
      pillow) q=$(pillow 0); echo "  $q" ;;
      draft) d=$(pillow 1); echo "  $d" ;;
      vips) v=$(vips); echo "  $v" ;;
    esac
  done
  ratios_pillow+=("$(awk -v a="$(echo "$p" | median)" -v b="$(echo "$q" | median)" 'BEGIN {print a / b}')")
  ratios_vips+=("$(awk -v a="$(echo "$p" | median)" -v b="$(echo "$v" | median)" 'BEGIN {print a / b}')")
  ratios_draft+=("$(awk -v a="$(echo "$p" | median)" -v b="$(echo "$d" | median)" 'BEGIN {print a / b}')")
  fastest_pillow+=("$(awk -v a="$(echo "$p" | fastest)" -v b="$(echo "$q" | fastest)" 'BEGIN {print a / b}')")
  printf '  medians: petty / pillow = %.2f, petty / pillow drafted = %.2f, petty / vipsthumbnail = %.2f; fastest runs: petty / pillow = %.2f\n' \
    "${ratios_pillow[-1]}" "${ratios_draft[-1]}" "${ratios_vips[-1]}" "${fastest_pillow[-1]}"
done
mid() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }
echo "median over $ROUNDS rounds: petty / pillow = $(mid "${ratios_pillow[@]}"), petty / pillow drafted = $(mid "${ratios_draft[@]}"), petty / vipsthumbnail = $(mid "${ratios_vips[@]}"), fastest runs petty / pillow = $(mid "${fastest_pillow[@]}") (budget: 2.00)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); Pillow $(python3 -c 'import PIL; print(PIL.__version__)'), $(vipsthumbnail --vips-version 2>/dev/null || vips --version)"
