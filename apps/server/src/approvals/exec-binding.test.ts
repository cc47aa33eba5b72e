// The bound command's one-line presentation, and that every card shows it.
import { describe, expect, it } from 'vitest';
import { buildCardView } from '../chat/card-view.ts';
import { renderSlackCard } from '../chat/slack/cards.ts';
import { renderTeamsCard } from '../chat/teams/cards.ts';
import type { ApprovalRepresentation } from './view/approval.ts';
import { bindExec, commandLine, commandLineOf, execBindingOf, shellWord } from './exec-binding.ts';

const BINDING = {
  argv: ['terraform', 'plan', '-out', 'my plan', "it's"],
  cwd: '/srv/infra',
  env: ['AWS_PROFILE', 'TF_VAR_region'],
};

describe('the bound command', () => {
  it('reads as one shell-quoted line with its directory and the names handed over', () => {
    expect(commandLine(BINDING)).toBe(
      `in /srv/infra: terraform plan -out 'my plan' 'it'\\''s' (env: AWS_PROFILE, TF_VAR_region)`,
    );
    expect(commandLine({ argv: ['true'], cwd: '/', env: [] })).toBe('in /: true');
    expect(shellWord('')).toBe("''");
    expect(shellWord('$(id)')).toBe("'$(id)'");
  });

  it('shows control characters escaped, so a newline cannot hide a second line', () => {
    const line = commandLine({ argv: ['echo', 'ok\nrm -rf /'], cwd: '/tmp', env: [] });
    expect(line).toBe("in /tmp: echo 'ok\\x0arm -rf /'");
    expect(line).not.toContain('\n');
  });

  it('is found only in a context with a well-formed binding', () => {
    const context = bindExec({ cmd: 'terraform plan' }, BINDING);
    expect(execBindingOf(context)).toEqual(BINDING);
    expect(commandLineOf({ exec: { argv: [], cwd: '/', env: [] } })).toBeNull();
    expect(commandLineOf({ exec: 'terraform plan' })).toBeNull();
    expect(commandLineOf(null)).toBeNull();
    expect(() => bindExec({}, { ...BINDING, env: ['NOT-A-NAME'] })).toThrow();
  });

  it('is on the Slack and the Teams card', () => {
    const approval = {
      id: '0b6f3c1e-8d2a-4f7b-9c3e-5a1d2e3f4a5b',
      status: 'pending',
      action: 'infra.plan',
      title: null,
      reason: null,
      requester: { email: 'alice@example.com', name: null },
      agent: null,
      context: bindExec({}, BINDING),
      payloadDigest: 'sha256:' + 'ab'.repeat(32),
      approvers: ['bob@example.com'],
      quorum: 1,
      policyRule: null,
      channel: null,
      channels: [],
      callbackUrl: null,
      decisions: [],
      cards: [],
      createdAt: '2026-11-21T10:00:00.000Z',
      expiresAt: '2026-11-21T11:00:00.000Z',
      decidedAt: null,
    } satisfies ApprovalRepresentation;
    const view = buildCardView(approval, { denyReasonRequired: false });
    expect(view.commandLine).toBe(commandLine(BINDING));
    const slack = JSON.stringify(renderSlackCard(view).blocks);
    expect(slack).toContain('*Command* (runs only as approved)');
    expect(slack).toContain("terraform plan -out 'my plan'");
    const teams = JSON.stringify(renderTeamsCard(view));
    expect(teams).toContain('Command (runs only as approved)');
    expect(teams).toContain("terraform plan -out 'my plan'");
  });
});
