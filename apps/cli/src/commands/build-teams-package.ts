// The Teams app package: a zip with manifest.json and the two icons at its root, as the Teams
// admin center and "Upload a custom app" expect it.
import { readFile } from 'node:fs/promises';
import { strToU8, zipSync } from 'fflate';
import { buildTeamsManifest, TEAMS_ICON_FILES, type TeamsManifestInput } from './build-teams-manifest.ts';

const ASSETS = new URL('../../assets/teams/', import.meta.url);

export async function buildTeamsPackage(input: TeamsManifestInput): Promise<Uint8Array> {
  const manifest = buildTeamsManifest(input);
  const [color, outline] = await Promise.all([
    readFile(new URL(TEAMS_ICON_FILES.color, ASSETS)),
    readFile(new URL(TEAMS_ICON_FILES.outline, ASSETS)),
  ]);
  return zipSync({
    'manifest.json': strToU8(`${JSON.stringify(manifest, null, 2)}\n`),
    // PNGs are compressed already.
    [TEAMS_ICON_FILES.color]: [color, { level: 0 }],
    [TEAMS_ICON_FILES.outline]: [outline, { level: 0 }],
  });
}
