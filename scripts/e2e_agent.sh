#!/usr/bin/env bash
# End-to-end check of a research cycle against a running server (KTRDR_API_URL, default
# http://127.0.0.1:8000): trigger, wait, then check status, the training operation and the API.
# Exits non-zero with a message naming the first check that failed.
set -euo pipefail

url=${KTRDR_API_URL:-http://127.0.0.1:8000}
ktrdr=${KTRDR_CLI:-ktrdr}
timeout=${E2E_TIMEOUT_SECONDS:-300}
fail() { echo "e2e_agent: FAILED: $*" >&2; exit 1; }
auth=()
if [[ -n "${KTRDR_API_TOKEN:-}" ]]; then auth=(-H "Authorization: Bearer $KTRDR_API_TOKEN"); fi
api() { curl -sf "${auth[@]}" "$url/api/v1/$1"; }

research=$("$ktrdr" --url "$url" agent trigger --json | jq -r .operation_id)
[[ "$research" == op_agent_research_* ]] || fail "trigger returned no research id ($research)"
echo "e2e_agent: triggered $research"

# Wait until the cycle is in backtesting or later, or has ended.
deadline=$((SECONDS + timeout))
while :; do
  state=$(api "operations/$research" | jq -r '.data.status + " " + (.data.metadata.parameters.phase // "idle")')
  case "$state" in
    completed*|failed*|cancelled*|*" backtesting"|*" assessing") break ;;
  esac
  ((SECONDS < deadline)) || fail "cycle still '$state' after ${timeout}s"
  sleep 1
done
echo "e2e_agent: cycle reached '$state'"

status_json=$("$ktrdr" --url "$url" agent status --json)
phase=$(jq -r '.phase // .last_cycle.phase' <<<"$status_json")
error=$(jq -r '.last_cycle.error_message // ""' <<<"$status_json")
case "$phase" in
  backtesting|assessing) ;;
  *) [[ "$state" == completed* || "$error" == *"gate failed:"* ]] \
       || fail "agent status shows phase '$phase' (error: '$error')" ;;
esac

"$ktrdr" --url "$url" operations list --type training --json \
  | jq -e '[.data[] | select(.status == "completed")] | length >= 1' >/dev/null \
  || fail "ktrdr operations list --type training shows no COMPLETED training operation"

training=$(jq -r '.training_op_id // .last_cycle.result_summary.training_op_id // empty' <<<"$status_json")
[[ -n "$training" ]] || training=$(api "operations/$research" | jq -r '.data.metadata.parameters.training_op_id')
[[ "$training" == op_training_* ]] || fail "no training_op_id in /agent/status ($training)"
api "operations/$training" | jq -e '.data.operation_type == "training" and (.data.result_summary | length > 0)' >/dev/null \
  || fail "/operations/$training is not a training operation with a result_summary"
echo "e2e_agent: ok (training $training)"
