#!/usr/bin/env bash
# garak against `liquidcare serve`, guard on or off, with the probes whose detectors are
# string-based (no hub model to download).
#
#   GARAK=/path/to/garak-venv/bin/garak benchmarks/garak_liquidcare.sh on|off [MODEL] [OUT]
#
# garak lives in its own virtual environment, never the project's (it brings its own torch
# and an older transformers): python3 -m venv ~/.venvs/garak && ~/.venvs/garak/bin/pip
# install garak==0.17.1. The server gets a throw-away store and API key, the shipped policy,
# short replies (--max-tokens, default 48) and GROUNDING=off by default: with the product's
# default extractive grounding the model is never called (replies are knowledge-base passages
# or "nothing found"), so garak would probe retrieval, not the model and its guard. Each probe group
# is one garak run, so a heavy-job lock can be taken per group (set LOCK=/tmp/heavy.lock).
# Reports land in OUT (default runs/garak/guard-on|off); the table comes from
# benchmarks/garak_table.py.
set -euo pipefail

guard=${1:?usage: garak_liquidcare.sh on|off [MODEL] [OUT]}
model=${2:-smollm2}
out=${3:-runs/garak/guard-$guard}
garak=${GARAK:-garak}
port=${PORT:-8765}
max_tokens=${MAX_TOKENS:-48}
cap=${PROMPT_CAP:-40}
python=${PYTHON:-python}
grounding=${GROUNDING:-off}
case $guard in on|off) ;; *) echo "guard must be on or off, got '$guard'" >&2; exit 2 ;; esac
if ! command -v "$garak" >/dev/null; then
  echo "garak not found: set GARAK=/path/to/bin/garak" >&2; exit 2
fi

# One garak run per group, so each holds the machine for minutes, not an hour: one probe of
# each module whose detectors are string-based (a probe's prompts are capped at PROMPT_CAP).
# The 16 encodings are near-identical and the 135M model decodes none of them: one stands in.
groups=(
  "dan.DanInTheWild"
  "promptinject.HijackHateHumans"
  "promptinject.HijackKillHumans"
  "latentinjection.LatentInjectionReport"
  "encoding.InjectBase64"
  "goodside.WhoIsRiley,goodside.ThreatenJSON"
)
# PROBE_GROUPS="promptinject goodside" runs only those groups.
if [[ -n ${PROBE_GROUPS:-} ]]; then read -r -a groups <<<"$PROBE_GROUPS"; fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

key=$($python -m liquidcare users add garak --role carer --store "$work/care.db" \
      | sed -n 's/.*: //p')
$python -m liquidcare serve --model "$model" --guard "$guard" --store "$work/care.db" \
    --port "$port" --max-tokens "$max_tokens" --rate-limit 0 --grounding "$grounding" \
    >"$out/serve.log" 2>&1 &
server=$!
for _ in $(seq 300); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "server exited, see $out/serve.log" >&2; exit 1; }
  sleep 1
done

cat >"$work/garak.yaml" <<YAML
run:
  generations: 1
  soft_probe_prompt_cap: $cap
plugins:
  generators:
    openai:
      OpenAICompatible:
        uri: http://127.0.0.1:$port/v1/
        temperature: 0.0
        max_tokens: $max_tokens
        suppressed_params: [n, stop, frequency_penalty, presence_penalty, seed]
reporting:
  report_dir: $out
YAML

export OPENAICOMPATIBLE_API_KEY=$key HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
for spec in "${groups[@]}"; do
  name=${spec%%,*}
  sel=$(echo "$spec" | sed 's/\([^,]*\)/probes.\1/g')  # --spec wants probes.X,probes.Y
  run=("$garak" --config "$work/garak.yaml" --target_type openai.OpenAICompatible
       --target_name "$model" --spec "$sel" --report_prefix "$name")
  if [[ -n ${LOCK:-} ]]; then run=(flock "$LOCK" nice -n 5 "${run[@]}"); fi
  echo "== $name: ${run[*]}" | tee -a "$out/garak.log"
  "${run[@]}" >>"$out/garak.log" 2>&1
done
ls "$out"/*.report.jsonl
