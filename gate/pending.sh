#!/usr/bin/env bash
# The poll gate: answers poll=false (in GITHUB_OUTPUT) only when GitHub's complete artifact listing holds no
# unexpired artifact named $ARTIFACT_PREFIX… uploaded by a run of this repository; any doubt (an API error,
# an answer it does not understand, a missing tool, a run that is not the hourly schedule) answers poll=true.
# gate/action.yml runs it with the step's environment:
#   ARTIFACT_PREFIX  the manifests' artifact name prefix      TOKEN    a token that may read the artifacts
#   HOURLY           the cron of the only schedule that may skip the poll
#   SCHEDULE         github.event.schedule                     REPO_ID  github.repository_id
# and the runner's GITHUB_EVENT_NAME, GITHUB_REPOSITORY, GITHUB_API_URL and GITHUB_OUTPUT. Artifact names
# are written by any workflow run of the repository: they are compared inside jq only, never reach the shell.
set -eo pipefail
answer() { echo "poll=$1" >> "$GITHUB_OUTPUT"; echo "poll=$1: $2"; exit 0; }
if [ "${GITHUB_EVENT_NAME:-}" != schedule ] || [ "${SCHEDULE:-}" != "$HOURLY" ]; then
  answer true "a full poll (${GITHUB_EVENT_NAME:-?} ${SCHEDULE:-})"
fi
if ! command -v curl >/dev/null || ! command -v jq >/dev/null; then answer true "curl or jq is missing"; fi
if ! [[ "${REPO_ID:-}" =~ ^[0-9]+$ ]]; then answer true "no repository id"; fi
seen=0
for page in $(seq 1 100); do
  url="${GITHUB_API_URL:-https://api.github.com}/repos/$GITHUB_REPOSITORY/actions/artifacts?per_page=100&page=$page"
  body=$(curl --silent --show-error --fail --max-time 30 --retry 2 --retry-delay 1 \
    -H "Authorization: Bearer $TOKEN" -H "Accept: application/vnd.github+json" \
    -H "X-GitHub-Api-Version: 2022-11-28" "$url") || answer true "listing artifacts failed"
  counts=$(jq -r --arg prefix "$ARTIFACT_PREFIX" --argjson repo "$REPO_ID" '
    if (.artifacts | type) == "array" and (.total_count | type) == "number" then
      [.artifacts[] | select((.name | type) != "string" or (.name | startswith($prefix)))
         | select(.expired != true)
         | select((.workflow_run.repository_id // $repo) == $repo
                  and (.workflow_run.head_repository_id // $repo) == $repo)] as $waiting
      | "\($waiting | length) \(.artifacts | length) \(.total_count)"
    else "bad" end' <<<"$body") || answer true "the artifact list is not JSON"
  read -r waiting listed total <<<"$counts"
  if ! [[ "$waiting $listed $total" =~ ^[0-9]+\ [0-9]+\ [0-9]+$ ]]; then answer true "unexpected artifact list"; fi
  if [ "$waiting" -gt 0 ]; then answer true "a manifest artifact is waiting"; fi
  seen=$((seen + listed))
  if [ "$seen" -ge "$total" ]; then answer false "no manifest artifact among $seen"; fi
  if [ "$listed" -lt 100 ]; then answer true "the listing ended early"; fi
done
answer true "more than 100 pages of artifacts"
