// Renders docs/reference/configuration.md from the zod schema in apps/server/src/config.ts (names,
// types, defaults, allowed values) and the comments of .env.example (what each variable means),
// so the reference cannot drift from what the server accepts.
import { format, resolveConfigFile, resolveConfig } from 'prettier';
import { z } from 'zod';
import { envSchema } from '../../server/src/config.ts';

interface JsonSchemaFacts {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  format?: string;
  pattern?: string;
}

interface ExampleEntry {
  name: string;
  section: string;
  description: string;
  example: string | null;
}

const factsSchema = z.looseObject({
  type: z.string().optional(),
  enum: z.array(z.unknown()).optional(),
  default: z.unknown().optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  minLength: z.number().optional(),
  format: z.string().optional(),
  pattern: z.string().optional(),
});

function jsonFacts(field: z.ZodType, io: 'input' | 'output'): JsonSchemaFacts {
  return factsSchema.parse(z.toJSONSchema(field, { io, unrepresentable: 'any' }));
}

/** The allowed values of an enum anywhere inside a field (through optional, default and pipes). */
function findEnum(schema: z.core.$ZodType): string[] | null {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  if (def.type === 'enum') return Object.values(def['entries'] as Record<string, string>);
  for (const key of ['innerType', 'in', 'out']) {
    const inner = def[key];
    if (inner && typeof inner === 'object' && '_zod' in inner) {
      const found = findEnum(inner as z.core.$ZodType);
      if (found) return found;
    }
  }
  return null;
}

const code = (value: unknown) => `\`${String(value)}\``;

function describeType(field: z.ZodType): { type: string; defaultValue: string } {
  const output = jsonFacts(field, 'output');
  const input = jsonFacts(field, 'input');
  const facts = output.type || output.enum ? output : input;
  const values = facts.enum ?? findEnum(field);
  const defaultValue = 'default' in output ? output.default : input.default;
  let type: string;
  if (values) type = `one of ${values.map(code).join(', ')}`;
  else if (facts.type === 'integer' || facts.type === 'number') {
    const kind = facts.type === 'integer' ? 'integer' : 'number';
    const max = facts.maximum !== undefined && facts.maximum < Number.MAX_SAFE_INTEGER ? facts.maximum : null;
    if (facts.minimum !== undefined && max !== null) type = `${kind} from ${facts.minimum} to ${max}`;
    else if (facts.minimum !== undefined) type = `${kind} ≥ ${facts.minimum}`;
    else if (max !== null) type = `${kind} ≤ ${max}`;
    else type = kind;
  } else if (facts.format === 'uri') type = 'URL';
  else if (facts.format === 'starts_with' && facts.pattern)
    type = `text starting with ${code(facts.pattern.replace(/^\^|\.\*$/g, ''))}`;
  else if (facts.pattern) type = `text matching ${code(facts.pattern)}`;
  else if (facts.minLength !== undefined) type = `text, at least ${facts.minLength} characters`;
  else type = 'text';
  return { type, defaultValue: defaultValue === undefined ? 'unset' : code(defaultValue) };
}

/** Each variable of .env.example with its section heading and the comment lines above it. */
export function parseEnvExample(text: string): ExampleEntry[] {
  const entries: ExampleEntry[] = [];
  let section = '';
  let comment: string[] = [];
  let lastDescription = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const heading = /^# --- (.+?) ---$/.exec(line);
    const variable = /^#? ?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (heading?.[1]) {
      section = heading[1];
      comment = [];
    } else if (variable?.[1]) {
      const description = comment.length > 0 ? comment.join(' ') : lastDescription;
      entries.push({
        name: variable[1],
        section,
        description,
        example: variable[2] ? variable[2] : null,
      });
      lastDescription = description;
      comment = [];
    } else if (line.startsWith('#')) {
      comment.push(line.replace(/^#\s?/, ''));
    } else if (line === '') {
      comment = [];
    }
  }
  return entries;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The whole reference as formatted Markdown. */
export async function renderConfigReference(envExample: string, markdownPath: string): Promise<string> {
  const documented = parseEnvExample(envExample);
  const byName = new Map(documented.map((entry) => [entry.name, entry]));
  const shape = envSchema.shape as Record<string, z.ZodType>;
  const sections = new Map<string, string[]>();
  const add = (section: string, row: string) => {
    const rows = sections.get(section) ?? [];
    rows.push(row);
    sections.set(section, rows);
  };
  for (const [name, field] of Object.entries(shape)) {
    const { type, defaultValue } = describeType(field);
    const entry = byName.get(name);
    const description = entry?.description ?? 'not described in `.env.example` yet';
    add(
      entry?.section || 'Not in .env.example',
      `| ${code(name)} | ${cell(type)} | ${cell(defaultValue)} | ${cell(description)} |`,
    );
  }
  const clientOnly = documented.filter((entry) => !(entry.name in shape));
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs:config` from apps/server/src/config.ts and .env.example. Do not edit. -->',
    '',
    'Every environment variable the server reads, parsed once at start-up by the zod schema in',
    '`apps/server/src/config.ts`; a bad value stops start-up naming the variable. Types, defaults and',
    'allowed values come from that schema, descriptions from `.env.example`. Blank counts as unset.',
    'How to set them: [configuration](../operate/configuration.md).',
  ];
  for (const [section, rows] of sections) {
    lines.push(
      '',
      `## ${section}`,
      '',
      '| variable | type | default | meaning |',
      '| --- | --- | --- | --- |',
    );
    lines.push(...rows);
  }
  if (clientOnly.length > 0) {
    lines.push(
      '',
      '## Read by the command line only',
      '',
      'The server ignores these; `countersign request`, `audit … --url`, `mcp` and `hook` read them.',
      '',
      '| variable | meaning |',
      '| --- | --- |',
      ...clientOnly.map((entry) => `| ${code(entry.name)} | ${cell(entry.description)} |`),
    );
  }
  const configFile = await resolveConfigFile(markdownPath);
  const options = configFile ? await resolveConfig(markdownPath) : null;
  return format(`${lines.join('\n')}\n`, { ...options, filepath: markdownPath });
}
