#!/usr/bin/env bash
# WordNet 3.0 for EDA synonym replacement, offline: Debian's wordnet-base (+ sense index) copied into
# .venv/nltk_data/corpora/wordnet/, where simulacra.text.perturb looks first. Idempotent and quick when done.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=".venv/nltk_data/corpora/wordnet"
if [ -s "$dest/data.noun" ] && [ -s "$dest/lexnames" ] && [ -s "$dest/index.sense" ]; then
    exit 0
fi
if [ ! -s /usr/share/wordnet/data.noun ] || [ ! -s /usr/share/wordnet/index.sense ]; then
    if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        wordnet-base wordnet-sense-index >/dev/null
fi
mkdir -p "$dest"
# copy, not link: the venv must keep working if the system package goes away
for f in /usr/share/wordnet/*; do
    [ -f "$f" ] || continue
    cp -f "$f" "$dest/"
done
# Debian lacks the lexnames file that nltk reads; its 45 lines are those of lexnames(5WN).
i=0
: > "$dest/lexnames.tmp"
for entry in adj.all:3 adj.pert:3 adv.all:4 noun.Tops:1 noun.act:1 noun.animal:1 noun.artifact:1 \
    noun.attribute:1 noun.body:1 noun.cognition:1 noun.communication:1 noun.event:1 noun.feeling:1 \
    noun.food:1 noun.group:1 noun.location:1 noun.motive:1 noun.object:1 noun.person:1 \
    noun.phenomenon:1 noun.plant:1 noun.possession:1 noun.process:1 noun.quantity:1 noun.relation:1 \
    noun.shape:1 noun.state:1 noun.substance:1 noun.time:1 verb.body:2 verb.change:2 verb.cognition:2 \
    verb.communication:2 verb.competition:2 verb.consumption:2 verb.contact:2 verb.creation:2 \
    verb.emotion:2 verb.motion:2 verb.perception:2 verb.possession:2 verb.social:2 verb.stative:2 \
    verb.weather:2 adj.ppl:3; do
    printf '%02d\t%s\t%s\n' "$i" "${entry%%:*}" "${entry##*:}" >> "$dest/lexnames.tmp"
    i=$((i + 1))
done
mv -f "$dest/lexnames.tmp" "$dest/lexnames"
echo "augment: WordNet installed in $dest ($(wc -l < "$dest/lexnames") lexicographer files)"
