// The evidence checks controls.yaml maps to controls: each reads the report's summary (no query of
// its own) and says what evidence the period holds and whether any of it needs attention.
import type { ReportSummary } from './report-summary.ts';

export type CheckStatus = 'met' | 'attention' | 'no evidence in period';

export interface CheckResult {
  check: CheckId;
  status: CheckStatus;
  /** What Countersign holds for the period, one line each (empty when nothing). */
  evidence: string[];
  /** Why the check needs attention (empty unless `attention`). */
  reasons: string[];
}

export const CHECK_IDS = [
  'separation_of_duties',
  'access_changes_recorded',
  'deprovisioning_honoured',
  'audit_integrity',
  'events_logged',
  'changes_executed_as_approved',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

function result(check: CheckId, evidence: string[], reasons: string[]): CheckResult {
  const status: CheckStatus =
    reasons.length > 0 ? 'attention' : evidence.length > 0 ? 'met' : 'no evidence in period';
  return { check, status, evidence, reasons };
}

function nonZero(counts: Record<string, number>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

const EVALUATORS: Record<CheckId, (s: ReportSummary) => CheckResult> = {
  separation_of_duties(s) {
    const decisions = s.byVerdict.approve + s.byVerdict.deny;
    const refusals = nonZero(s.refusedByReason);
    const evidence = [
      ...(decisions > 0
        ? [`${decisions} decisions recorded (${s.byVerdict.autoApproved} of them auto-approved by policy)`]
        : []),
      ...(refusals ? [`decision attempts refused by reason: ${refusals}`] : []),
    ];
    const selfApprovals = s.refusedByReason.self_approval;
    return result('separation_of_duties', evidence, [
      ...(selfApprovals > 0
        ? [`${selfApprovals} attempt(s) by a requester to approve their own request (refused)`]
        : []),
    ]);
  },
  access_changes_recorded(s) {
    const keys = nonZero({
      'key.created': s.adminActions.counts['key.created'],
      'key.admins.changed': s.adminActions.counts['key.admins.changed'],
      'key.revoked': s.adminActions.counts['key.revoked'],
    });
    const directory = nonZero(s.directory.counts);
    const policies = s.adminActions.policies;
    const evidence = [
      ...(keys ? [`API key changes: ${keys}`] : []),
      ...(directory ? [`directory changes from SCIM: ${directory}`] : []),
      ...policies.map((p) => `policy loaded: ${p.source} digest ${p.digest} (first at ${p.firstLoadedAt})`),
    ];
    return result(
      'access_changes_recorded',
      evidence,
      policies.length > 1
        ? [`${policies.length} different policy digests loaded in the period: review each change`]
        : [],
    );
  },
  deprovisioning_honoured(s) {
    const removed = nonZero({
      'directory.user.deactivated': s.directory.counts['directory.user.deactivated'],
      'directory.user.removed': s.directory.counts['directory.user.removed'],
    });
    const refused = s.refusedByReason.deprovisioned;
    const late = s.directory.decisionsAfterDeprovisioning;
    return result(
      'deprovisioning_honoured',
      [
        ...(removed ? [`users deprovisioned by SCIM: ${removed}`] : []),
        ...(refused > 0 ? [`${refused} decision attempt(s) refused as deprovisioned`] : []),
      ],
      late > 0 ? [`${late} decision(s) recorded from an approver deactivated or removed before it`] : [],
    );
  },
  audit_integrity(s) {
    const chain = s.chain;
    const latest = s.checkpoints.latest;
    if (!chain.firstEvent || !chain.lastEvent) return result('audit_integrity', [], []);
    const v = chain.verification;
    const evidence = [
      chain.intact
        ? `chain verified intact through seq ${chain.lastEvent.seq} (${v.events} events)`
        : `chain verification: tampering found at seq ${v.intact ? '?' : v.firstBadSeq}`,
      ...(latest
        ? [
            `latest signed checkpoint: seq ${latest.seq}, hash ${latest.hash}, at ${latest.at}, kid ${latest.kid}`,
          ]
        : []),
      ...(s.checkpoints.inPeriod > 0 ? [`${s.checkpoints.inPeriod} checkpoint(s) signed in the period`] : []),
    ];
    return result('audit_integrity', evidence, [
      ...(chain.intact
        ? []
        : [
            v.intact
              ? 'the chain is not intact'
              : `the chain is not intact: seq ${v.firstBadSeq} (${v.problem})`,
          ]),
      ...(latest ? [] : ['no signed checkpoint of the chain up to the end of the period']),
    ]);
  },
  events_logged(s) {
    const { firstEvent, lastEvent } = s.chain;
    return result(
      'events_logged',
      firstEvent && lastEvent
        ? [
            `audit events seq ${firstEvent.seq} to ${lastEvent.seq} (${firstEvent.occurredAt} to ${lastEvent.occurredAt})`,
          ]
        : [],
      [],
    );
  },
  changes_executed_as_approved(s) {
    const e = s.executions;
    const refused = nonZero(e.refusedByReason);
    const mismatched = e.refusedByReason.digest_mismatch;
    return result(
      'changes_executed_as_approved',
      [
        ...(e.executed > 0
          ? [`${e.executed} approved request(s) executed with the approved payload digest`]
          : []),
        ...(refused ? [`execution attempts refused by reason: ${refused}`] : []),
      ],
      mismatched > 0
        ? [`${mismatched} execution attempt(s) with a payload digest other than the approved one (refused)`]
        : [],
    );
  },
};

export function evaluateCheck(check: CheckId, summary: ReportSummary): CheckResult {
  return EVALUATORS[check](summary);
}
