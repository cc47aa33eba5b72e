#!/usr/bin/env bash
# The Countersign GitHub Action's step (action.yml): downloads the client from the server, asks for
# the approval, waits for the verdict, writes the job summary and the step outputs, and exits 0
# only for an approval. Also runs outside GitHub: every GITHUB_* file is optional.
set -uo pipefail

: "${COUNTERSIGN_URL:?set the url input}" "${COUNTERSIGN_API_KEY:?set the api-key input}"
: "${CS_ACTION:?set the action input}"

work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/countersign.XXXXXX")
trap 'rm -rf "$work"' EXIT
client="$work/countersign.mjs"
summary_file=${GITHUB_STEP_SUMMARY:-/dev/null}
output_file=${GITHUB_OUTPUT:-/dev/null}

if ! curl --silent --show-error --fail --location --max-time 120 --retry 3 \
  -o "$client" "${COUNTERSIGN_URL%/}/cli/countersign.mjs"; then
  echo "countersign: could not download the client from ${COUNTERSIGN_URL%/}/cli/countersign.mjs" >&2
  printf '### Countersign: error\n\nCould not download the client from the server.\n' >> "$summary_file"
  echo "status=error" >> "$output_file"
  exit 3
fi

args=(request --action "$CS_ACTION" --expires-in "${CS_EXPIRES_IN:-1h}"
  --wait --timeout "${CS_TIMEOUT:-65m}" --json)
# With "permissions: id-token: write" the client fetches the job's OIDC token itself
# (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN) and the server proves the requester from it.
[ -n "${CS_REQUESTER:-}" ] && args+=(--requester "$CS_REQUESTER")
[ -n "${CS_IDENTITY_AUDIENCE:-}" ] && args+=(--identity-audience "$CS_IDENTITY_AUDIENCE")
[ -n "${CS_TITLE:-}" ] && args+=(--title "$CS_TITLE")
[ -n "${CS_REASON:-}" ] && args+=(--reason "$CS_REASON")
[ -n "${CS_CONTEXT:-}" ] && args+=(--context "$CS_CONTEXT")
[ -n "${CS_APPROVERS:-}" ] && args+=(--approvers "$CS_APPROVERS")
[ -n "${CS_CHANNEL:-}" ] && args+=(--channel "$CS_CHANNEL")
# Re-runs of the same job attempt reuse the request instead of asking twice.
if [ -n "${GITHUB_RUN_ID:-}" ]; then
  args+=(--idempotency-key "github-${GITHUB_REPOSITORY:-repo}-${GITHUB_RUN_ID}-${GITHUB_RUN_ATTEMPT:-1}-${GITHUB_JOB:-job}-${CS_ACTION}")
fi
# With a run: script, the client binds it (bash argv, working directory, the env names) into the
# request and runs it only after a receipt for exactly that; last, because it follows --.
if [ -n "${CS_RUN:-}" ]; then
  env_names=${CS_ENV:-}
  for name in ${env_names//,/ }; do args+=(--env "$name"); done
  args+=(--exec -- bash --noprofile --norc -eo pipefail -c "$CS_RUN")
elif [ -n "${CS_ENV:-}" ]; then
  echo "::error title=Countersign::the env input needs a run input" >&2
  echo "status=error" >> "$output_file"
  exit 3
fi

# stderr goes to the log as it comes and to a file, for the summary's reason on a refusal.
node "$client" "${args[@]}" 2>&1 > "$work/verdict.json" | tee "$work/stderr.txt" >&2
verdict=${PIPESTATUS[0]}

# The summary and outputs come from the final request as the API returned it.
# An approved status the client refused (no valid receipt: exit 3) is an error, never approved.
node - "$work/verdict.json" "$verdict" "$summary_file" "$output_file" "${COUNTERSIGN_URL%/}" "$work/stderr.txt" <<'JS'
const fs = require('node:fs');
const [file, code, summaryFile, outputFile, server, stderrFile] = process.argv.slice(2);
let approval;
try { approval = JSON.parse(fs.readFileSync(file, 'utf8')); } catch { approval = undefined; }
let log = [];
try { log = fs.readFileSync(stderrFile, 'utf8').split('\n'); } catch { log = []; }
// With run:, the client's exit code is the command's once it ran (after the receipt verified).
const ran = log.some((l) => l.startsWith('countersign: receipt verified; running '));
const refused = approval?.status === 'approved' && code !== '0' && !ran;
const status = refused ? 'error' : (approval?.status ?? 'error');
const why = log.find((l) => l.includes('without a valid receipt')) ?? '';
const bound = log.find((l) => l.startsWith('countersign: bound command: '));
const icon = { approved: '✅', denied: '⛔', expired: '⌛', cancelled: '🚫' }[status] ?? '⚠️';
const cell = (v) => String(v ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const lines = [`### Countersign: ${status} ${icon}`, ''];
if (approval) {
  lines.push('| | |', '| --- | --- |',
    `| request | \`${cell(approval.id)}\` |`,
    `| action | \`${cell(approval.action)}\` |`,
    `| requester | ${cell(approval.requester?.email)}${approval.requester?.shown ? ` (${cell(approval.requester.shown)})` : ''} |`,
    ...(bound ? [`| command | \`${cell(bound.slice('countersign: bound command: '.length))}\` |`] : []),
    `| server | ${cell(server)} |`);
  for (const d of approval.decisions ?? []) {
    lines.push(`| ${cell(d.verdict)} | ${cell(d.approver?.email ?? d.approver)} at ${cell(d.decidedAt ?? d.at)}${d.reason ? `: ${cell(d.reason)}` : ''} |`);
  }
  lines.push(`| payload digest | \`${cell(approval.payloadDigest)}\` |`);
  if (refused) {
    lines.push('', `Not approved: ${why.replace(/^countersign: (error: )?/, '') || `the client refused the approved status (exit ${code})`}`);
    console.log(`::error title=Countersign::${why.replace(/^countersign: (error: )?/, '') || 'approved status without a valid receipt'}`);
  }
} else {
  lines.push(`No verdict (exit ${code}): see the step log for the error.`);
}
fs.appendFileSync(summaryFile, lines.join('\n') + '\n');
fs.appendFileSync(outputFile, `status=${status}\nrequest-id=${approval?.id ?? ''}\n`);
JS

if grep -q '^countersign: receipt verified; running ' "$work/stderr.txt"; then
  [ "$verdict" -eq 0 ] && echo "Countersign: approved; the command succeeded" ||
    echo "::error title=Countersign::approved; the command failed with exit $verdict"
  exit "$verdict"
fi
case $verdict in
  0) echo "Countersign: approved" ;;
  1) echo "::error title=Countersign::the request was denied" ;;
  2) echo "::error title=Countersign::the request expired or was cancelled" ;;
  *) echo "::error title=Countersign::no verdict (exit $verdict); see the log above" ;;
esac
exit "$verdict"
