#!/usr/bin/env bash
# `make run`, after the portal's own set-up (environment, catalogue, migrations, demo data,
# front-end libraries): starts the portal at once, then prepares the chat assistant in the
# background (its environment and model: minutes on a fresh clone, output in a log file) and
# starts Rasa and the action server when it is trained. Until then the chat page says the
# assistant is being prepared and offers the leave-a-message form.
#
# Everything follows PORT (the portal's port; the action server calls the portal there) and
# PORTAL_SERVICE_TOKEN (unset: the portal's development default, which bot/bot.mk uses too).
# Ctrl-C, or the portal exiting, stops everything (each part runs in its own process group).
set -uo pipefail
cd "$(dirname "$0")/.."
export PORT="${PORT:-8000}"
case "${HOST:-127.0.0.1}" in 0.0.0.0|::) portal_host=127.0.0.1 ;; *) portal_host="${HOST:-127.0.0.1}" ;; esac
export PORTAL_URL="${PORTAL_URL:-http://${portal_host}:${PORT}}"
BOT_RASA_PORT="${BOT_RASA_PORT:-5005}"
export RASA_URL="${RASA_URL:-http://127.0.0.1:${BOT_RASA_PORT}}"
LOG="${ASSISTANT_LOG:-var/assistant.log}"
mkdir -p "$(dirname "$LOG")"
set -m  # every background job gets a process group of its own: stopped as a whole below

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "· stopping …"
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup INT TERM EXIT

echo "· starting the portal …"
.venv/bin/python -m portal serve & portal_pid=$!; pids+=("$portal_pid")

# Prepare the assistant, start it, say when it answers. Its output goes to $LOG.
assistant() {
  if ! make --no-print-directory -f bot/bot.mk train >>"$LOG" 2>&1; then
    echo "assistant: could not be prepared (see $LOG); the portal runs alone, the chat offers a message form"
    return 1
  fi
  echo "· assistant: trained; starting Rasa (about 30 s to load) and the action server …"
  make --no-print-directory -f bot/bot.mk bot-run-actions >>"$LOG" 2>&1 &
  make --no-print-directory -f bot/bot.mk bot-run-rasa >>"$LOG" 2>&1 &
  until curl -fs -o /dev/null --max-time 2 "$RASA_URL/"; do
    if [ -z "$(jobs -rp)" ]; then echo "assistant: stopped (see $LOG)"; return 1; fi
    sleep 1
  done
  echo "assistant: ready ($RASA_URL)"
  wait
  echo "assistant: stopped (see $LOG); the chat offers a message form"
}

# The portal's address once it answers (or its exit, which ends the run); then the assistant.
until curl -fs -o /dev/null --max-time 2 "${PORTAL_URL}/healthz"; do
  kill -0 "$portal_pid" 2>/dev/null || { echo "portal: exited while starting"; exit 1; }
  sleep 0.5
done
echo "portal: ${PORTAL_URL}"
if [ -f bot/bot.mk ]; then
  : >"$LOG"
  echo "assistant: being prepared (log: $LOG); until then the chat offers a message form"
  assistant & pids+=($!)
else
  echo "assistant: not part of this checkout; the chat offers a message form"
fi
wait "$portal_pid"
