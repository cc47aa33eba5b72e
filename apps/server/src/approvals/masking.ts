// Masks secrets in a request's context before it is stored or shown (spec §3.7): values at
// explicit JSON pointers, values under secret-looking keys, and credential-looking values
// anywhere. Long secrets keep their last 4 characters so people can tell them apart.

import { MASK } from './mask-marker.ts';
import { isBirthDateKey, maskPersonalData } from './pii-masking.ts';

export { MASK };
/** Secrets at least this long keep their last 4 characters; shorter ones are masked whole. */
const KEEP_TAIL_FROM_LENGTH = 12;

/** Query parameter names whose values are secrets (SECRET_KEY's idea, plus signatures and codes). */
const SECRET_QUERY_NAME =
  /^(?:[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|signature|credential)[\w.-]*|pass|key|sig|auth|code)$/i;

const SECRET_KEY =
  /^(pass|.*pass(word|wd|phrase)|pwd|secret|.*[_-]?secret|token|.*[_-]?token|api[_-]?key|apikey|.*[_-]api[_-]?key|authorization|auth|bearer|.*private[_-]?key|privatekey|credentials?|cookie|session[_-]?id|.*access[_-]?key([_-]?id)?|signing[_-]?key|client[_-]?secret|connection[_-]?string|dsn)$/i;

/**
 * Every credential format masked in free text and in context values, in ONE table: each entry
 * names the format, matches it, and says which part to mask (the whole match by default; `keep`
 * is a leading part left readable, such as "Bearer " or "?password="). Order matters where formats
 * overlap: a JWT after "Bearer " is masked by the JWT entry, and the Bearer entry then sees a mask.
 */
// Patterns run over up to 32 KiB of attacker-chosen text: every repetition that could backtrack is
// bounded, and a match can only start where its first part cannot be extended to the left.
export const CREDENTIAL_FORMATS: readonly {
  name: string;
  pattern: RegExp;
  keep?: number;
  /** Masks a match only when this holds for its capture groups. */
  onlyIf?: (groups: string[]) => boolean;
}[] = [
  // user:password@ in URLs and connection strings: only the password (group 2) is masked.
  {
    name: 'URL password',
    pattern: /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@]{0,256}:)([^\s@/]{1,256})(?=@)/gi,
    keep: 1,
  },
  {
    name: 'PEM private key',
    pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
  },
  // Three base64url segments, the first two starting with "eyJ".
  { name: 'JSON Web Token', pattern: /(?<![\w-])eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*/g },
  // OpenAI/Stripe-style sk-/rk- keys, with or without live/test/proj.
  { name: 'sk-/rk- secret key', pattern: /\b(sk|rk)[-_](live|test|proj)?[-_]?[A-Za-z0-9_-]{6,}/g },
  { name: 'Slack token (xoxb-, xoxp-, …)', pattern: /\bxox[abposr]-[A-Za-z0-9-]{6,}/g },
  { name: 'Slack app-level token (xapp-)', pattern: /\bxapp-\d+-[A-Za-z0-9-]{10,}/g },
  {
    name: 'Slack incoming webhook URL',
    pattern: /(\bhttps:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/)([A-Za-z0-9/_-]+)/g,
    keep: 1,
  },
  { name: 'GitHub token (ghp_, gho_, …)', pattern: /\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{16,}/g },
  { name: 'GitHub fine-grained token', pattern: /\bgithub_pat_[A-Za-z0-9_]{20,}/g },
  { name: 'GitLab personal access token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}/g },
  { name: 'Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}/g },
  { name: 'AWS access key id', pattern: /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g },
  // The 40-character secret after its usual names (env files, INI, YAML, JSON), quoted or not.
  {
    name: 'AWS secret access key',
    pattern:
      /(\b(?:aws_secret_access_key|aws_secret_key|secret_access_key|secretAccessKey)["']?[ \t]{0,8}[:=][ \t]{0,8}["']?)([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    keep: 1,
  },
  // "Bearer <token>" in prose or a pasted curl line; a token has 12+ characters, one a digit.
  {
    name: 'Bearer token',
    pattern: /(\bBearer\s+)((?=[A-Za-z0-9._~+/-]*\d)[A-Za-z0-9._~+/-]{12,}=*)/gi,
    keep: 1,
  },
  // ?password=…, &token=…, ;sig=… in URLs: the value of any secret-looking parameter.
  {
    name: 'secret query parameter',
    pattern: /([?&;]([\w.-]{1,64})=)([^&#\s"'<>]+)/g,
    keep: 1,
    onlyIf: ([, name]) => SECRET_QUERY_NAME.test(name ?? ''),
  },
];

export function maskSecret(value: string): string {
  return value.length >= KEEP_TAIL_FROM_LENGTH ? MASK + value.slice(-4) : MASK;
}

/** Masks every credential in a text, leaving the rest as it is (titles, reasons, context strings). */
export function maskCredentialsInText(text: string): string {
  let masked = text;
  for (const { name, pattern, keep, onlyIf } of CREDENTIAL_FORMATS) {
    masked = masked.replace(pattern, (match: string, ...groups: unknown[]) => {
      if (onlyIf && !onlyIf(groups.filter((g): g is string => typeof g === 'string'))) return match;
      if (keep === undefined) return maskSecret(match);
      const head = typeof groups[keep - 1] === 'string' ? (groups[keep - 1] as string) : '';
      // A password in a URL is short and guessable from its tail: mask it whole.
      return head + (name === 'URL password' ? MASK : maskSecret(match.slice(head.length)));
    });
  }
  return masked;
}

/** Masks an optional free text (title, reason, decision or cancel reason). */
export function maskFreeText<T extends string | null | undefined>(text: T): T {
  return (typeof text === 'string' ? maskCredentialsInText(text) : text) as T;
}

/**
 * A callback URL as it may be shown (API, logs): every query value and the fragment masked, and
 * credential formats in the path. The full URL is kept only where the delivery reads it.
 */
export function redactCallbackUrl(url: string): string {
  // Cut as written, not through new URL(): the rest of the URL is shown exactly as it was sent.
  const fragmentAt = url.indexOf('#');
  const beforeFragment = fragmentAt < 0 ? url : url.slice(0, fragmentAt);
  const queryAt = beforeFragment.indexOf('?');
  const base = queryAt < 0 ? beforeFragment : beforeFragment.slice(0, queryAt);
  const query =
    queryAt < 0
      ? ''
      : '?' +
        beforeFragment
          .slice(queryAt + 1)
          .split('&')
          .map((pair) => `${pair.split('=')[0] ?? ''}=${MASK}`)
          .join('&');
  return maskCredentialsInText(base) + query + (fragmentAt < 0 ? '' : `#${MASK}`);
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

function decodePointer(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return pointer === '' ? [] : [''];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function maskValue(value: unknown): unknown {
  if (typeof value === 'string') return maskSecret(value);
  return MASK;
}

export interface MaskOptions {
  /** Personal data too (a rule's `mask: [pii]`): see pii-masking.ts. */
  personalData?: boolean;
}

function walk(value: unknown, path: string[], pointers: Set<string>, options: MaskOptions): unknown {
  if (pointers.has(JSON.stringify(path))) return MASK;
  if (typeof value === 'string') {
    const masked = maskCredentialsInText(value);
    return options.personalData ? maskPersonalData(masked) : masked;
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => walk(item, [...path, String(index)], pointers, options));
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      const memberPath = [...path, key];
      const listed = pointers.has(JSON.stringify(memberPath));
      const maskable = !listed && member !== null && typeof member !== 'boolean';
      out[key] =
        maskable && isSecretKey(key)
          ? maskValue(member)
          : maskable && options.personalData === true && isBirthDateKey(key)
            ? MASK // a date of birth shows nothing, not even its year
            : walk(member, memberPath, pointers, options);
    }
    return out;
  }
  return value;
}

/** A masked copy of the context; the input is not modified. */
export function maskContext(
  context: Record<string, unknown>,
  sensitivePointers: readonly string[],
  options: MaskOptions = {},
): Record<string, unknown> {
  const pointers = new Set(sensitivePointers.map((p) => JSON.stringify(decodePointer(p))));
  // The pointer "" names the whole context: mask every member, and keep the result an object.
  if (pointers.has(JSON.stringify([]))) {
    return Object.fromEntries(Object.keys(context).map((key) => [key, MASK]));
  }
  return walk(context, [], pointers, options) as Record<string, unknown>;
}
