// Generates the Prisma client offline. `prisma generate` needs no schema engine, but the CLI
// tries to download one unless told where it is; a no-op binary satisfies it on POSIX systems.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY && existsSync('/bin/true'))
  env.PRISMA_SCHEMA_ENGINE_BINARY = '/bin/true';
const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, 'generate', '--config', 'prisma/prisma.config.ts'], {
  stdio: 'inherit',
  env,
});
process.exit(result.status ?? 1);
