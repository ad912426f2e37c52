#!/usr/bin/env bash
# Remakes datasets/slick-real-voice/ from the Debian package asterisk-core-sounds-en-wav 1.6.1-1
# (Allison Smith's Asterisk prompts, 8 kHz mono 16-bit WAV, CC-BY-SA 3.0): short phrases of two to four words for SLiCK.
# Needs: apt-get (with Debian's main archive in its sources), dpkg-deb and sox (Debian: apt-get install sox).
# Idempotent: the same inputs always give byte-identical files (sox -R: repeatable; -D: no dither).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="1.6.1-1"
margin=0.1          # seconds of the recording's own silence kept before and after the phrase, at most
threshold=-50d      # the phrase starts/ends where the level first/last rises above −50 dBFS for 10 ms

# file under /usr/share/asterisk/sounds/en_US_f_Allison/   phrase (the package's transcript, lower case, no punctuation)
clips=(
  "agent-loggedoff              agent logged off"
  "agent-loginok                agent logged in"
  "auth-thankyou                thank you"
  "call-forwarding              call forwarding"
  "call-waiting                 call waiting"
  "conf-errormenu               invalid choice"
  "conf-full                    that conference is full"
  "conf-hasleft                 has left the conference"
  "conf-muted                   you are now muted"
  "conf-thereare                there are currently"
  "conf-unmuted                 you are now unmuted"
  "confbridge-has-joined        has joined the conference"
  "dictate/playback_mode        playback mode"
  "dictate/record_mode          record mode"
  "dictate/truncating_audio     truncating audio"
  "do-not-disturb               do not disturb"
  "followme/call-from           incoming call from"
  "from-unknown-caller          from an unknown caller"
  "hello-world                  hello world"
  "im-sorry                     i'm sorry"
  "is-in-use                    is in use"
  "is-set-to                    is set to"
  "letters/ascii123             left brace"
  "letters/ascii125             right brace"
  "letters/ascii36              dollar sign"
  "letters/ascii40              open parenthesis"
  "letters/ascii41              close parenthesis"
  "letters/ascii60              less than"
  "letters/ascii62              greater than"
  "letters/ascii63              question mark"
  "letters/ascii91              left bracket"
  "letters/ascii93              right bracket"
  "one-moment-please            one moment please"
  "please-try-again             please try again"
  "queue-reporthold             hold time"
  "sorry                        we're sorry"
  "speed-dial                   speed dial"
  "telephone-number             telephone number"
  "to-call-this-number          to call this number"
  "to-extension                 to extension"
  "to-listen-to-it              to listen to it"
  "vm-deleted                   message deleted"
  "vm-incorrect                 login incorrect"
  "vm-isonphone                 is on the phone"
  "vm-isunavail                 is unavailable"
  "vm-nomore                    no more messages"
  "vm-savedto                   saved to"
  "vm-then-pound                then press pound"
  "you-entered                  you entered"
  "vm-duration                  this message lasts"
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
echo "file,text,source" > "$here/manifest.csv"
for entry in "${clips[@]}"; do
  read -r source text <<< "$entry"
  name="${text//\'/}"; name="${name// /-}.wav"       # "i'm sorry" → im-sorry.wav
  input="$sounds/$source.wav"
  total=$(soxi -D "$input")
  after_lead=$(remaining "$input" "")
  after_trail=$(remaining "$input" reverse)
  # Keep the phrase and at most $margin s of the recording's own lead-in and tail; never add anything.
  read -r start end < <(awk -v t="$total" -v a="$after_lead" -v b="$after_trail" -v m="$margin" 'BEGIN {
    lead = t - a; trail = t - b
    s = lead > m ? lead - m : 0; e = trail > m ? t - trail + m : t
    printf "%.4f %.4f\n", s, e }')
  # 8 kHz → 16 kHz with sox's very-high-quality linear-phase resampler; 16-bit PCM mono.
  sox -V1 -R -D "$input" -b 16 -e signed-integer -c 1 "$here/$name" trim "$start" "=$end" rate -v 16000
  echo "$name,$text,$source.wav" >> "$here/manifest.csv"
done
ls -l "$here"
