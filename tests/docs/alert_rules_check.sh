#!/usr/bin/env bash
# promtool (Debian package prometheus) checks the shipped alerting rules;
# without it the test is skipped (exit 77), never passed.
# Usage: alert_rules_check.sh SOURCE_DIR
set -euo pipefail
rules=$1/docs/monitoring/alerts.yml
if ! command -v promtool >/dev/null; then
  echo "SKIP: promtool not found (package prometheus)"
  exit 77
fi
promtool check rules "$rules"
