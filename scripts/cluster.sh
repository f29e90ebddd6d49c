#!/usr/bin/env bash
# `make cluster`: the production shape (compose.yaml) as local processes on 127.0.0.1 —
# HAProxy over two portals, PostgreSQL, Redis, moto's S3 server, the outbox sender, a fake
# SMTP recipient, two Rasa replicas (bot/endpoints.production.yml) and two action servers.
# What runs where: scripts/cluster.py and docs/operations.md. Ctrl-C stops all of it.
#   CLUSTER_BASE_PORT=18000 (default)   bash scripts/cluster.sh [--no-bot]
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m scripts.cluster "$@"
