// The compiled `identity.issuers`: for each trusted issuer, the audience its tokens must carry and
// the claims that name the requester, the CI login, the repository, the workflow and the run.
import type { IdentityFile, IdentityPreset } from '../approvals/policy/identity-schema.ts';

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';
export const GITLAB_COM_ISSUER = 'https://gitlab.com';

/** Which claim holds what; undefined = the issuer's tokens do not say. */
export interface IdentityClaims {
  requester: string;
  login?: string;
  repository?: string;
  workflow?: string;
  runId?: string;
}

export interface IdentityIssuer {
  issuer: string;
  audience: string;
  /** github-actions, gitlab-ci, or the configured name (the issuer's host when none). */
  provider: string;
  claims: IdentityClaims;
  /** Lower-cased login → lower-cased email. */
  map: ReadonlyMap<string, string>;
}

const PRESET_CLAIMS: Record<IdentityPreset, IdentityClaims> = {
  'github-actions': {
    requester: 'actor',
    login: 'actor',
    repository: 'repository',
    workflow: 'workflow_ref',
    runId: 'run_id',
  },
  'gitlab-ci': {
    requester: 'user_email',
    login: 'user_login',
    repository: 'project_path',
    workflow: 'ci_config_ref_uri',
    runId: 'pipeline_id',
  },
};

export interface IdentityIssuerProblem {
  path: (string | number)[];
  message: string;
}

function presetOf(issuer: string, preset: IdentityPreset | undefined): IdentityPreset | undefined {
  if (preset) return preset;
  if (issuer === GITHUB_ACTIONS_ISSUER) return 'github-actions';
  if (issuer === GITLAB_COM_ISSUER) return 'gitlab-ci';
  return undefined;
}

/** The issuers, and every problem found (the section is checked to the end, not to the first). */
export function compileIdentityIssuers(file: IdentityFile | undefined): {
  issuers: IdentityIssuer[];
  problems: IdentityIssuerProblem[];
} {
  const seen = new Set<string>();
  const problems: IdentityIssuerProblem[] = [];
  const issuers = (file?.issuers ?? []).flatMap((entry, index): IdentityIssuer[] => {
    const path = ['identity', 'issuers', index];
    if (seen.has(entry.issuer)) {
      problems.push({ path: [...path, 'issuer'], message: `issuer ${entry.issuer} is listed twice` });
      return [];
    }
    seen.add(entry.issuer);
    const preset = presetOf(entry.issuer, entry.preset);
    const claims = preset ? PRESET_CLAIMS[preset] : undefined;
    const requester = entry.requester ?? claims?.requester;
    if (!requester) {
      problems.push({
        path: [...path, 'requester'],
        message: `issuer ${entry.issuer} needs "requester: <claim>" (or a preset: ${Object.keys(PRESET_CLAIMS).join(', ')})`,
      });
      return [];
    }
    const map = new Map(
      Object.entries(entry.map ?? {}).map(([login, email]) => [login.toLowerCase(), email]),
    );
    return [
      {
        issuer: entry.issuer,
        audience: entry.audience,
        provider: entry.name ?? preset ?? new URL(entry.issuer).host,
        claims: { ...claims, requester },
        map,
      },
    ];
  });
  return { issuers, problems };
}
