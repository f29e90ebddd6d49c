#!/usr/bin/env bash
# Starts the portal, and Rasa plus the action server when the bot is set up, in the
# foreground; Ctrl-C (or any of them exiting) stops all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "· stopping …"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup INT TERM EXIT

if [ -f bot/bot.mk ] && [ -x bot/.venv/bin/rasa ]; then
  echo "· starting the action server on 127.0.0.1:5055 and Rasa on 127.0.0.1:5005 (Rasa takes ~30 s to load) …"
  make --no-print-directory -f bot/bot.mk bot-run-actions & pids+=($!)
  make --no-print-directory -f bot/bot.mk bot-run-rasa & pids+=($!)
else
  echo "· the chat assistant is not set up: the portal runs alone (the chat page offers a message form)"
fi
echo "· starting the portal on http://127.0.0.1:${PORT} …"
.venv/bin/python -m portal serve & pids+=($!)
wait -n
