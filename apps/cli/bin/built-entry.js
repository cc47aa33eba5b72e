// Whether the built command (apps/cli/dist/, written by apps/cli/build/bundle-server.mjs) may run.
// In a git checkout, only while no source it was built from is newer than the build, so an edit,
// a `git pull` or a regenerated Prisma client is never shadowed by an old build (one stat per
// source, ~260, a few ms). An installed package (npm, the Docker image) has no .git and ships its
// build beside the sources it was made from, so it runs the build without looking.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The built entry's URL, or undefined when there is no build, a module it wrote is missing, a source is newer
 * than it (in a git checkout), or COUNTERSIGN_FROM_SOURCES=1 asks for the sources.
 * @param {string} [dist] the build's directory
 * @param {string} [root] the package's root (where .git would be)
 * @returns {URL | undefined}
 */
export function builtEntry(dist = DIST, root = ROOT) {
  if (process.env.COUNTERSIGN_FROM_SOURCES === '1') return undefined;
  const infoPath = join(dist, 'build-info.json');
  const info = statSync(infoPath, { throwIfNoEntry: false });
  if (!info) return undefined;
  /** @type {{ entry?: unknown, outputs?: unknown, sources?: unknown }} */
  let parsed;
  try {
    parsed = JSON.parse(readFileSync(infoPath, 'utf8'));
  } catch {
    return undefined;
  }
  const { entry, outputs, sources } = parsed;
  if (typeof entry !== 'string' || !Array.isArray(outputs) || !Array.isArray(sources)) return undefined;
  const entryPath = join(dist, entry);
  // Every module it wrote, not only the entry: a chunk missing would fail the command mid-import.
  for (const output of [entry, ...outputs]) {
    if (typeof output !== 'string') return undefined;
    if (!statSync(join(dist, output), { throwIfNoEntry: false })) return undefined;
  }
  if (statSync(join(root, '.git'), { throwIfNoEntry: false })) {
    for (const source of sources) {
      if (typeof source !== 'string') return undefined;
      const stat = statSync(join(dist, source), { throwIfNoEntry: false });
      if (!stat || stat.mtimeMs > info.mtimeMs) return undefined;
    }
  }
  return pathToFileURL(entryPath);
}
