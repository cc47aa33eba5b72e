// The policy a running server decides with, switched in place when a new version is approved.
// Doors receive `deps` spread into their own contexts, so the object itself (not a field of
// deps) is what they share: switching replaces its contents, in one synchronous step.
import type { Policy } from './policy.ts';

/** A private copy the server may switch (never the shared BUILT_IN_POLICY constant itself). */
export function createLivePolicy(initial: Policy): Policy {
  return { ...initial };
}

export function switchLivePolicy(live: Policy, next: Policy): void {
  const target = live as unknown as Record<string, unknown>;
  for (const key of Object.keys(target)) {
    if (!Object.hasOwn(next, key)) Reflect.deleteProperty(target, key);
  }
  Object.assign(target, next);
}
