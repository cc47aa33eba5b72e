// Every relative link in README.md, ARCHITECTURE.md and docs/ points at a file that exists and,
// with a #fragment, at a heading that file has: guides moved or renamed cannot leave dead links.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.ts';

async function markdownFiles(): Promise<string[]> {
  const files = [join(REPO_ROOT, 'README.md'), join(REPO_ROOT, 'ARCHITECTURE.md')];
  for (const entry of await readdir(join(REPO_ROOT, 'docs'), { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.md')) files.push(join(entry.parentPath, entry.name));
  }
  return files;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function withoutCode(text: string): string {
  return text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
}

describe('documentation links', () => {
  it('resolve to files and headings that exist', async () => {
    const files = await markdownFiles();
    expect(files.length).toBeGreaterThan(20);
    const broken: string[] = [];
    for (const file of files) {
      const text = withoutCode(await readFile(file, 'utf8'));
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1] ?? '';
        if (/^[a-z]+:/.test(target)) continue;
        const [path = '', fragment] = target.split('#');
        const resolved = path ? join(dirname(file), path) : file;
        if (!existsSync(resolved)) {
          broken.push(`${relative(REPO_ROOT, file)}: ${target} (no such file)`);
          continue;
        }
        if (fragment && resolved.endsWith('.md')) {
          const headings = [...(await readFile(resolved, 'utf8')).matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
            anchorOf(m[1] ?? ''),
          );
          if (!headings.includes(fragment))
            broken.push(`${relative(REPO_ROOT, file)}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
