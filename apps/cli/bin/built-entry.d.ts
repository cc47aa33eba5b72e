export function builtEntry(dist?: string, root?: string): URL | undefined;
