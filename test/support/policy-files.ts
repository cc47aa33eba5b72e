// Policy files for tests: the spec §4 example, verbatim, and temporary YAML files to point
// COUNTERSIGN_POLICY (or `countersign policy check`) at.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The policy file of spec §4, with a `when:` on its auto-approve rule (the name alone no longer suffices). */
export const SPEC_POLICY_YAML = `groups:
  data-owners: [bob@example.com, carol@example.com]
  security: [dave@example.com, erin@example.com, frank@example.com]
defaults:
  channel: slack:C0APPROVALS
  expiresIn: 1h
  quorum: 1
rules:
  - name: data-exports
    actions: ["db.export", "db.export.*"]
    approvers: [group:data-owners]
    channel: slack:C0DATA
    sensitive: ["/connection"]
  - name: privilege-escalation
    actions: ["iam.*"]
    approvers: [group:security]
    quorum: 2
    expiresIn: 30m
    channels: [slack:C0SEC, teams:19:abc@thread.tacv2]
  - name: read-only
    actions: ["*.read"]
    autoApprove: true          # decided by policy; recorded as such in the audit trail
    when: { context: /rows, lte: 1000 }   # only small reads: an action name alone never auto-approves
`;

export interface TempPolicyFile {
  /** Absolute path of the written file. */
  path: string;
  /** Removes the file and its temporary directory. */
  remove(): Promise<void>;
}

/** Writes `text` to a fresh temporary directory and returns the file's path. */
export async function writeTempPolicy(text: string, name = 'policy.yaml'): Promise<TempPolicyFile> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-policy-'));
  const path = join(dir, name);
  await writeFile(path, text, 'utf8');
  return {
    path,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
