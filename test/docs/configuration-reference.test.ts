// docs/reference/configuration.md is generated from the configuration schema: it fails here when
// config.ts or .env.example changed and `npm run docs:config` was not run, and when a variable the
// server reads has no description in .env.example.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseEnvExample, renderConfigReference } from '../../apps/cli/build/render-config-reference.ts';
import { envSchema } from '../../apps/server/src/config.ts';

const root = new URL('../../', import.meta.url);
const referencePath = fileURLToPath(new URL('docs/reference/configuration.md', root));

describe('the configuration reference', () => {
  it('is what `npm run docs:config` writes from config.ts and .env.example today', async () => {
    const envExample = await readFile(new URL('.env.example', root), 'utf8');
    const expected = await renderConfigReference(envExample, referencePath);
    const actual = await readFile(referencePath, 'utf8');
    expect(actual, 'docs/reference/configuration.md is stale: run `npm run docs:config`').toBe(expected);
  });

  it('lists every variable of the schema, each described in .env.example', async () => {
    const documented = parseEnvExample(await readFile(new URL('.env.example', root), 'utf8'));
    const described = new Set(documented.filter((entry) => entry.description).map((entry) => entry.name));
    const names = Object.keys(envSchema.shape);
    expect(names.length).toBeGreaterThan(40);
    expect(names.filter((name) => !described.has(name))).toEqual([]);
    const reference = await readFile(referencePath, 'utf8');
    for (const name of names) expect(reference).toContain(`| \`${name}\``);
  });

  it('takes types, defaults and allowed values from the schema', async () => {
    const reference = await readFile(referencePath, 'utf8');
    expect(reference).toMatch(/\| `PORT` +\| integer from 0 to 65535 +\| `3000` +\|/);
    expect(reference).toMatch(
      /\| `MICROSOFT_CLOUD` +\| one of `public`, `usgov`, `usgovdod`, `china` +\| `public` +\|/,
    );
    expect(reference).toMatch(/\| `SLACK_APP_TOKEN` +\| text starting with `xapp-` +\| unset +\|/);
  });
});
