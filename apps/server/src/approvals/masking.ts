// Masks secrets in a request's context before it is stored or shown (spec §3.7): values at
// explicit JSON pointers, values under secret-looking keys, and credential-looking values
// anywhere. Long secrets keep their last 4 characters so people can tell them apart.

export const MASK = '••••';
/** Secrets at least this long keep their last 4 characters; shorter ones are masked whole. */
const KEEP_TAIL_FROM_LENGTH = 12;

const SECRET_KEY =
  /^(pass|.*pass(word|wd|phrase)|pwd|secret|.*[_-]?secret|token|.*[_-]?token|api[_-]?key|apikey|.*[_-]api[_-]?key|authorization|auth|bearer|.*private[_-]?key|privatekey|credentials?|cookie|session[_-]?id|.*access[_-]?key([_-]?id)?|signing[_-]?key|client[_-]?secret|connection[_-]?string|dsn)$/i;

const CREDENTIAL_PATTERNS: RegExp[] = [
  // PEM blocks (private keys, certificates with keys)
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
  // JSON Web Tokens: three base64url segments, the first two starting with "eyJ"
  /\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*/g,
  // Provider keys: OpenAI/Stripe-style sk-/pk_live, Slack xox?-, GitHub tokens, AWS access key ids
  /\b(sk|rk)[-_](live|test|proj)?[-_]?[A-Za-z0-9_-]{6,}/g,
  /\bxox[abposr]-[A-Za-z0-9-]{6,}/g,
  /\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{16,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g,
];

/** user:password@ in URLs and connection strings: only the password is masked. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s@/]+)(@)/gi;

export function maskSecret(value: string): string {
  return value.length >= KEEP_TAIL_FROM_LENGTH ? MASK + value.slice(-4) : MASK;
}

export function maskCredentialsInText(text: string): string {
  let masked = text.replace(
    URL_PASSWORD,
    (_m, head: string, _password: string, at: string) => `${head}${MASK}${at}`,
  );
  for (const pattern of CREDENTIAL_PATTERNS) masked = masked.replace(pattern, (match) => maskSecret(match));
  return masked;
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

function walk(value: unknown, path: string[], pointers: Set<string>): unknown {
  if (pointers.has(JSON.stringify(path))) return MASK;
  if (typeof value === 'string') return maskCredentialsInText(value);
  if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, String(index)], pointers));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      const memberPath = [...path, key];
      out[key] =
        isSecretKey(key) &&
        !pointers.has(JSON.stringify(memberPath)) &&
        member !== null &&
        typeof member !== 'boolean'
          ? maskValue(member)
          : walk(member, memberPath, pointers);
    }
    return out;
  }
  return value;
}

/** A masked copy of the context; the input is not modified. */
export function maskContext(
  context: Record<string, unknown>,
  sensitivePointers: readonly string[],
): Record<string, unknown> {
  const pointers = new Set(sensitivePointers.map((p) => JSON.stringify(decodePointer(p))));
  // The pointer "" names the whole context: mask every member, and keep the result an object.
  if (pointers.has(JSON.stringify([]))) {
    return Object.fromEntries(Object.keys(context).map((key) => [key, MASK]));
  }
  return walk(context, [], pointers) as Record<string, unknown>;
}
