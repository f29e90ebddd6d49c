#!/usr/bin/env bash
# Train the model only when what it is trained from changed.
# Inputs hashed: config, domain, NLU/rules data, Jieba dictionary, custom NLU
# components, and the Rasa version. The hash is kept in models/.train-stamp.
set -euo pipefail
cd "$(dirname "$0")/.."
RASA=".venv/bin/rasa"
MODEL="models/bot.tar.gz"
STAMP="models/.train-stamp"

hash_inputs() {
  {
    find config.yml domain data dict components -type f \
      \( -name '*.yml' -o -name '*.yaml' -o -name '*.txt' -o -name '*.py' \) \
      -not -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum
    .venv/bin/python -c "import importlib.metadata as m; print(m.version('rasa'), m.version('jieba'))"
  } | sha256sum | cut -d' ' -f1
}

want="$(hash_inputs)"
if [[ -f "$MODEL" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  echo "model up to date ($MODEL)"
  exit 0
fi
echo "training data changed: training $MODEL"
mkdir -p models
start=$(date +%s)
# One thread per core keeps 2-core machines responsive; results are seeded.
TF_CPP_MIN_LOG_LEVEL=2 "$RASA" train \
  --config config.yml --domain domain --data data \
  --out models --fixed-model-name bot --quiet
echo "$want" > "$STAMP"
echo "trained in $(( $(date +%s) - start )) s"
