// The floors of the code, top to bottom. A file may import files on its own floor or any floor
// below it, never one above; and no chain of imports may come back to where it started. This list
// is the one place the layout is written down; ARCHITECTURE.md describes it in words.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, readImportGraph, type ImportEdge } from './import-graph.ts';

const SERVER = 'apps/server/src/';

/** Top floor first. Each entry is a folder (ending in `/`) or a file, relative to the repository. */
const FLOORS: readonly { name: string; paths: readonly string[] }[] = [
  { name: 'command line', paths: ['apps/cli/'] },
  { name: 'composition', paths: [`${SERVER}main.ts`] },
  {
    name: 'edges',
    paths: [
      `${SERVER}http/`,
      `${SERVER}web/`,
      `${SERVER}chat/`,
      `${SERVER}mcp/`,
      `${SERVER}gateway/`,
      `${SERVER}delivery/`,
      `${SERVER}cli-bundle/`,
      `${SERVER}metrics/`,
    ],
  },
  {
    name: 'core',
    paths: [
      `${SERVER}approvals/`,
      `${SERVER}directory/`,
      `${SERVER}keys/`,
      `${SERVER}identity/`,
      `${SERVER}deps.ts`,
    ],
  },
  { name: 'audit trail', paths: [`${SERVER}audit/`, `${SERVER}receipts/`] },
  {
    name: 'infrastructure',
    paths: [
      `${SERVER}db/`,
      `${SERVER}jobs/`,
      `${SERVER}observability/`,
      `${SERVER}secrets/`,
      `${SERVER}generated/`,
      `${SERVER}config.ts`,
      `${SERVER}config-error.ts`,
      `${SERVER}errors.ts`,
      'package.json',
    ],
  },
];

/**
 * Arrows that still run upwards, each with the reason it is not straightened yet. The test fails
 * when one of them disappears too, so this list cannot go stale.
 */
const KNOWN_UPWARD: readonly { from: string; to: string; why: string }[] = [
  {
    from: `${SERVER}mcp/answer-mcp-call.ts`,
    to: 'apps/cli/src/verify-receipt.ts',
    why: 'the receipt check is shared with the CLI and its errors are CliErrors',
  },
];

const REPO = fileURLToPath(new URL('../../', import.meta.url));

function floorOf(path: string): number {
  let best = -1;
  let bestLength = -1;
  FLOORS.forEach((floor, index) => {
    for (const entry of floor.paths) {
      const matches = entry.endsWith('/') ? path.startsWith(entry) : path === entry;
      if (matches && entry.length > bestLength) {
        best = index;
        bestLength = entry.length;
      }
    }
  });
  return best;
}

const describeEdge = (edge: ImportEdge): string => {
  const from = FLOORS[floorOf(edge.from)]?.name ?? 'no floor';
  const to = FLOORS[floorOf(edge.to)]?.name ?? 'no floor';
  return `${edge.from}:${edge.line} (${from}) imports ${edge.to} (${to})`;
};

describe('floors', () => {
  const edges = readImportGraph(REPO, ['apps'], (path) => path.startsWith(`${SERVER}generated/`));

  it('reads the imports it checks', () => {
    // A parser that silently found nothing would pass every rule below.
    expect(edges.length).toBeGreaterThan(500);
    expect(edges.some((edge) => edge.to === `${SERVER}main.ts`)).toBe(true);
  });

  it('puts every imported and importing file on a floor', () => {
    const homeless = [...new Set(edges.flatMap((edge) => [edge.from, edge.to]))].filter(
      (path) => floorOf(path) === -1,
    );
    expect(homeless).toEqual([]);
  });

  it('has no import from a lower floor to a higher one', () => {
    const upward = edges.filter((edge) => floorOf(edge.to) < floorOf(edge.from));
    const unexplained = upward.filter(
      (edge) => !KNOWN_UPWARD.some((known) => known.from === edge.from && known.to === edge.to),
    );
    expect(unexplained.map(describeEdge)).toEqual([]);
    const gone = KNOWN_UPWARD.filter(
      (known) => !upward.some((edge) => edge.from === known.from && edge.to === known.to),
    );
    expect(gone.map((known) => `${known.from} -> ${known.to} no longer exists`)).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(findCycles(edges).map((cycle) => cycle.join(' -> '))).toEqual([]);
  });
});
