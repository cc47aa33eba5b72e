// Tool results on their way back to the model: every injected secret value, and every credential
// format Countersign masks elsewhere, replaced before the result leaves the gateway.
import { MASK, maskCredentialsInText } from '../approvals/masking.ts';

export function redactText(text: string, secretValues: readonly string[]): string {
  let redacted = text;
  // Longest first, so a secret that contains another is masked whole.
  for (const value of [...secretValues].sort((a, b) => b.length - a.length)) {
    if (value.length > 0) redacted = redacted.split(value).join(MASK);
  }
  return maskCredentialsInText(redacted);
}

/** Every string in a JSON value redacted (keys too: a secret may be used as one). */
export function redactJson<T>(value: T, secretValues: readonly string[]): T {
  const visit = (node: unknown): unknown => {
    if (typeof node === 'string') return redactText(node, secretValues);
    if (Array.isArray(node)) return node.map(visit);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([key, member]) => [redactText(key, secretValues), visit(member)]),
      );
    }
    return node;
  };
  return visit(value) as T;
}
