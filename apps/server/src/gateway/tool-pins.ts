// Tool pinning: each tool's definition (name, description, input schema) is fingerprinted when first
// seen; a later, different definition (a "rug pull") hides the tool until an approver accepts it
// through an approval request whose reason shows the difference. Pins live in a JSON file.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { canonicalJson } from '../audit/canonical-json.ts';

const pinSchema = z.object({
  fingerprint: z.string(),
  description: z.string().nullable(),
  inputSchema: z.record(z.string(), z.unknown()),
});
export type ToolPin = z.infer<typeof pinSchema>;
const pinFileSchema = z.record(z.string(), pinSchema);

export function pinOf(tool: Pick<Tool, 'name' | 'description' | 'inputSchema'>): ToolPin {
  const description = tool.description ?? null;
  const inputSchema = tool.inputSchema as Record<string, unknown>;
  const fingerprint =
    'sha256:' +
    createHash('sha256')
      .update(canonicalJson({ name: tool.name, description, inputSchema }))
      .digest('hex');
  return { fingerprint, description, inputSchema };
}

export interface ToolPins {
  get(name: string): Promise<ToolPin | undefined>;
  set(name: string, pin: ToolPin): Promise<void>;
}

/** Pins kept in a JSON file (written whole, through a rename, so a crash never leaves half a file). */
export function fileToolPins(path: string): ToolPins {
  let cache: Record<string, ToolPin> | undefined;
  const load = async (): Promise<Record<string, ToolPin>> => {
    if (cache) return cache;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      cache = {};
      return cache;
    }
    const parsed = pinFileSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new Error(`${path} is not a tool pin file: ${parsed.error.issues[0]?.message ?? ''}`);
    cache = parsed.data;
    return cache;
  };
  return {
    async get(name) {
      return (await load())[name];
    },
    async set(name, pin) {
      const pins = { ...(await load()), [name]: pin };
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(pins, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, path);
      cache = pins;
    },
  };
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (cut at ${max} characters)` : text;
}

/** The difference between two definitions, in words, for the approval card. */
export function describeChange(before: ToolPin, after: ToolPin): string {
  const lines: string[] = [];
  if (before.description !== after.description) {
    lines.push(
      `Description was: ${clip(before.description ?? '(none)', 700)}`,
      `Description now: ${clip(after.description ?? '(none)', 700)}`,
    );
  }
  const propsOf = (pin: ToolPin) => (pin.inputSchema['properties'] ?? {}) as Record<string, unknown>;
  const beforeProps = propsOf(before);
  const afterProps = propsOf(after);
  const added = Object.keys(afterProps).filter((k) => !(k in beforeProps));
  const removed = Object.keys(beforeProps).filter((k) => !(k in afterProps));
  const changed = Object.keys(afterProps).filter(
    (k) => k in beforeProps && canonicalJson(beforeProps[k]) !== canonicalJson(afterProps[k]),
  );
  if (added.length) lines.push(`Arguments added: ${added.join(', ')}`);
  if (removed.length) lines.push(`Arguments removed: ${removed.join(', ')}`);
  if (changed.length) lines.push(`Arguments changed: ${changed.join(', ')}`);
  const restBefore = canonicalJson({ ...before.inputSchema, properties: undefined });
  const restAfter = canonicalJson({ ...after.inputSchema, properties: undefined });
  if (restBefore !== restAfter)
    lines.push('Input schema changed outside its properties (required, types or limits)');
  return clip(`The tool definition changed since it was first seen.\n${lines.join('\n')}`, 1990);
}
