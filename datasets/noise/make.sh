#!/usr/bin/env bash
# Remakes datasets/noise/ from the npm package supersonic-scsynth-samples 0.84.2 (Sonic Pi's samples, CC0).
# Needs: npm and sox (Debian: apt-get install npm sox; sox's FLAC reader comes with it, in libsox-fmt-base).
# Idempotent: the same inputs always give byte-identical WAV files (sox -R: repeatable; -D: no dither).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
package="supersonic-scsynth-samples@0.84.2"
clips=(vinyl_hiss ambi_sauna ambi_lunar_land loop_3d_printer tbd_fxbed_loop loop_electric ambi_drone ambi_dark_woosh)
max_seconds=15

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null && tar xzf supersonic-scsynth-samples-0.84.2.tgz)

rm -f "$here"/*.wav
for name in "${clips[@]}"; do
  # Stereo 44.1 kHz FLAC → mono (channel average), 16 kHz (very high quality resampler), at most 15 s,
  # peak-normalised to −1 dBFS, 16-bit PCM WAV.
  sox -V1 -R -D "$work/package/samples/$name.flac" -b 16 -e signed-integer "$here/$name.wav" \
    channels 1 rate -v 16000 trim 0 "$max_seconds" gain -n -1
done
cp "$work/package/LICENSE" "$here/LICENSE.CC0"
ls -l "$here"/*.wav
