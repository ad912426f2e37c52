#!/usr/bin/env bash
# Remakes datasets/real-voice/ from the Debian package asterisk-core-sounds-en-wav 1.6.1-1
# (Allison Smith's Asterisk prompts, 8 kHz mono 16-bit WAV, CC-BY-SA 3.0).
# Needs: apt-get (with Debian's main archive in its sources), dpkg-deb and sox (Debian: apt-get install sox).
# Idempotent: the same inputs always give byte-identical files (sox -R: repeatable; -D: no dither).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="1.6.1-1"
margin=0.1          # seconds of the recording's own silence kept before and after the word, at most
threshold=-50d      # the word starts/ends where the level first/last rises above −50 dBFS for 10 ms

# word            file under /usr/share/asterisk/sounds/en_US_f_Allison/
clips=(
  "zero           digits/0"
  "one            digits/1"
  "two            digits/2"
  "three          digits/3"
  "four           digits/4"
  "five           digits/5"
  "six            digits/6"
  "seven          digits/7"
  "eight          digits/8"
  "nine           digits/9"
  "oh             digits/oh"
  "hello          hello"
  "goodbye        goodbye"
  "pause          dictate/pause"
  "record         dictate/record"
  "no             vm-no"
  "minus          digits/minus"
  "today          digits/today"
  "tomorrow       digits/tomorrow"
  "yesterday      digits/yesterday"
  "number         number"
  "time           time"
  "star           digits/star"
  "pound          digits/pound"
  "transfer       pbx-transfer"
  "extension      extension"
  "cancelled      cancelled"
  "hours          hours"
  "minutes        minutes"
  "seconds        seconds"
  "alpha          phonetic/a_p"
  "bravo          phonetic/b_p"
  "charlie        phonetic/c_p"
  "delta          phonetic/d_p"
  "echo           phonetic/e_p"
  "foxtrot        phonetic/f_p"
)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "asterisk-core-sounds-en-wav=$version" >/dev/null 2>&1 \
  || { echo "apt-get download asterisk-core-sounds-en-wav=$version failed (run apt-get update; Debian sources needed)" >&2; exit 1; })
dpkg-deb -x "$work"/asterisk-core-sounds-en-wav_*.deb "$work/root"
sounds="$work/root/usr/share/asterisk/sounds/en_US_f_Allison"

# Seconds left after sox's silence effect strips the leading quiet part of $1 (reversed first if $2 is "reverse").
remaining() { sox -V1 "$1" -n $2 silence 1 0.01 "$threshold" stat 2>&1 | awk '/^Length/ {print $3}'; }

rm -f "$here"/*.wav
echo "file,word,source" > "$here/manifest.csv"
for entry in "${clips[@]}"; do
  read -r word source <<< "$entry"
  input="$sounds/$source.wav"
  total=$(soxi -D "$input")
  after_lead=$(remaining "$input" "")
  after_trail=$(remaining "$input" reverse)
  # Keep the word and at most $margin s of the recording's own lead-in and tail; never add anything.
  read -r start end < <(awk -v t="$total" -v a="$after_lead" -v b="$after_trail" -v m="$margin" 'BEGIN {
    lead = t - a; trail = t - b
    s = lead > m ? lead - m : 0; e = trail > m ? t - trail + m : t
    printf "%.4f %.4f\n", s, e }')
  # 8 kHz → 16 kHz with sox's very-high-quality linear-phase resampler; 16-bit PCM mono.
  sox -V1 -R -D "$input" -b 16 -e signed-integer -c 1 "$here/$word.wav" trim "$start" "=$end" rate -v 16000
  echo "$word.wav,$word,$source.wav" >> "$here/manifest.csv"
done
ls -l "$here"
