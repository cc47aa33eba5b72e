// Builds the single-file pipeline client (apps/cli/src/client.ts and everything it imports) with
// esbuild, on first request, once per process: nothing to run at install, nothing written to disk,
// and the file always matches the server's own version.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export interface ClientBundle {
  code: string;
  /** Strong ETag: the SHA-256 of the code. */
  etag: string;
}

const ENTRY = fileURLToPath(new URL('../../../cli/src/client.ts', import.meta.url));

// commander is CommonJS: the ESM output needs a `require` to load node: built-ins through it.
const BANNER = [
  '#!/usr/bin/env node',
  '// Countersign client, one file: run it with `node countersign.mjs --help` (Node >= 20.19).',
  "import { createRequire as __countersignCreateRequire } from 'node:module';",
  'const require = __countersignCreateRequire(import.meta.url);',
].join('\n');

export async function buildClientBundle(): Promise<ClientBundle> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    banner: { js: BANNER },
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.text;
  if (!code) throw new Error('esbuild produced no output for the client bundle');
  return { code, etag: `"${createHash('sha256').update(code).digest('hex')}"` };
}

let cached: Promise<ClientBundle> | undefined;

/** The bundle, built once; a failed build is retried on the next call. */
export function clientBundle(): Promise<ClientBundle> {
  cached ??= buildClientBundle().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}
