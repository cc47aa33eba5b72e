// npm run docs:config — writes docs/reference/configuration.md from the configuration schema.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderConfigReference } from './render-config-reference.ts';

const root = new URL('../../../', import.meta.url);
const target = fileURLToPath(new URL('docs/reference/configuration.md', root));
const envExample = await readFile(new URL('.env.example', root), 'utf8');
await writeFile(target, await renderConfigReference(envExample, target));
console.log(`wrote ${target}`);
