// `npm install` with every Node version the README names prints no EBADENGINE warning: each
// installed package's `engines.node`, as the lockfile records it, admits the oldest release of
// each named line.
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const lockSchema = z.object({
  packages: z.record(
    z.string(),
    z.object({ engines: z.union([z.record(z.string(), z.string()), z.array(z.string())]).optional() }),
  ),
});

/** The oldest release of each Node line the README's "Run it" section names. */
function namedNodeVersions(readme: string): string[] {
  const line = readme.split('\n').find((text) => text.startsWith('Needs Node '));
  if (!line) throw new Error('README.md: no "Needs Node …" line');
  const versions = [...line.matchAll(/\b(\d{2})(?:\.(\d+))?\+?/g)].map(
    ([, major, minor]) => `${major}.${minor ?? '0'}.0`,
  );
  return versions;
}

describe('Node versions the README names', () => {
  const readme = readFileSync('README.md', 'utf8');
  const lock = lockSchema.parse(JSON.parse(readFileSync('package-lock.json', 'utf8')));
  const versions = namedNodeVersions(readme);

  it('reads 24, 22.13 and 20.19 from the README', () => {
    expect(versions).toEqual(['24.0.0', '22.13.0', '20.19.0']);
  });

  it('satisfy every installed package’s engines.node (no EBADENGINE on install)', () => {
    const refusals: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const engines = entry.engines;
      if (!engines || Array.isArray(engines) || engines.node === undefined) continue;
      for (const version of versions) {
        if (!semver.satisfies(version, engines.node))
          refusals.push(`${path || 'the project'} wants node ${engines.node}, not ${version}`);
      }
    }
    expect(refusals).toEqual([]);
  });
});
