// What a Bash command line runs, read the way Bash reads it: parsed with tree-sitter-bash, quotes
// and escapes resolved, every simple command found (in pipelines, lists, subshells, substitutions,
// `sh -c '…'` text, the command behind `env`/`sudo`/`xargs`…). Whatever cannot be known without
// running it (a variable or substitution as the command, eval, source, aliases, functions, a shell
// reading a script or stdin) is reported as unresolved, and the hook then treats the line as
// matching every rule.
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { Language, Parser, type Node } from 'web-tree-sitter';

export interface BashCommand {
  /** The command's words, quotes and escapes resolved; a word that is not static keeps its source text. */
  words: string[];
  /** Some argument expands at run time (a variable, a substitution, a glob or brace pattern). */
  dynamicArgs: boolean;
  /** It runs other commands from its arguments (env, sudo, xargs, sh -c, …). */
  runsOthers: boolean;
}

export interface BashAnalysis {
  commands: BashCommand[];
  /** Why the line cannot be resolved statically; empty when it can. */
  unresolved: string[];
}

/** Run their argument text as shell code, read it from elsewhere, or change what names mean. */
const EVALUATING = new Set(['eval', 'source', '.', 'alias', 'trap', 'coproc', 'fc', 'enable', 'hash']);
/** Shells: only `-c` with static text can be looked into. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'fish', 'csh', 'tcsh', 'busybox']);
/** Interpreters whose inline code (-c/-e) can run any command. */
const INTERPRETERS = /^(python[0-9.]*|perl|ruby|node|nodejs|deno|bun|php|lua|Rscript|osascript)$/;
const INLINE_CODE_FLAGS = new Set(['-c', '-e', '-E', '--eval', '-r', '--command', '-p', '--print']);
/** Run the command their arguments name (after their own options). */
const WRAPPERS = new Set([
  'env',
  'command',
  'builtin',
  'exec',
  'nice',
  'nohup',
  'time',
  'timeout',
  'sudo',
  'doas',
  'su',
  'runuser',
  'xargs',
  'parallel',
  'find',
  'stdbuf',
  'setsid',
  'ionice',
  'chrt',
  'taskset',
  'flock',
  'watch',
  'strace',
  'ltrace',
  'unbuffer',
  'chroot',
  'script',
  'ssh',
  'systemd-run',
]);

/** Variables that change which program a name runs, or run code of their own. */
const COMMAND_CHANGING_VARIABLES =
  /^(PATH|BASH_ENV|ENV|LD_PRELOAD|LD_LIBRARY_PATH|LD_AUDIT|IFS|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|PS4|BASH_FUNC_.*)$/;
/** awk programs that can start commands. */
const AWK = /^[gmn]?awk$/;
const AWK_RUNS_COMMANDS = /system|getline|\|/;

const MAX_DEPTH = 8;
/** More simple commands than this in one line is refused as unresolvable (wrappers multiply them). */
const MAX_COMMANDS = 500;

let parserReady: Promise<Parser> | undefined;

/** One parser per process; the grammar is the WebAssembly build shipped in tree-sitter-bash. */
function bashParser(): Promise<Parser> {
  parserReady ??= (async () => {
    await Parser.init();
    const require = createRequire(import.meta.url);
    const bash = await Language.load(require.resolve('tree-sitter-bash/tree-sitter-bash.wasm'));
    const parser = new Parser();
    parser.setLanguage(bash);
    return parser;
  })();
  return parserReady;
}

export async function analyzeBash(commandLine: string): Promise<BashAnalysis> {
  const parser = await bashParser();
  const analysis: BashAnalysis = { commands: [], unresolved: [] };
  analyzeText(parser, commandLine, analysis, 0);
  // Bash joins lines ending in a backslash before it splits words (the grammar reads them as
  // spaces), but not in comments or single quotes: the line is read both ways, and both count.
  if (/\\\r?\n/.test(commandLine)) analyzeText(parser, commandLine.replace(/\\\r?\n/g, ''), analysis, 0);
  analysis.unresolved = [...new Set(analysis.unresolved)];
  return analysis;
}

function analyzeText(parser: Parser, text: string, out: BashAnalysis, depth: number): void {
  if (depth > MAX_DEPTH) {
    out.unresolved.push('shell text nested too deeply');
    return;
  }
  const tree = parser.parse(text);
  if (!tree) {
    out.unresolved.push('the command line could not be parsed');
    return;
  }
  try {
    if (tree.rootNode.hasError) out.unresolved.push('the command line does not parse as Bash');
    visit(parser, tree.rootNode, out, depth);
  } finally {
    tree.delete();
  }
}

function visit(parser: Parser, node: Node, out: BashAnalysis, depth: number): void {
  switch (node.type) {
    case 'command':
      visitCommand(parser, node, out, depth);
      return;
    case 'function_definition':
      out.unresolved.push(`defines a function (${node.childForFieldName('name')?.text ?? '?'})`);
      break;
    case 'ERROR':
      out.unresolved.push('the command line does not parse as Bash');
      break;
    case 'variable_assignment':
      checkAssignment(node.childForFieldName('name')?.text ?? '', out);
      break;
  }
  for (const child of node.namedChildren) if (child) visit(parser, child, out, depth);
}

interface Word {
  text: string;
  /** Known before running: no expansion, substitution, glob or brace pattern. */
  static: boolean;
}

function visitCommand(parser: Parser, node: Node, out: BashAnalysis, depth: number): void {
  // Substitutions anywhere in the command (assignments, words, redirects) run too.
  for (const child of node.namedChildren) if (child) visitSubstitutions(parser, child, out, depth);
  for (const child of node.namedChildren) {
    if (child?.type === 'variable_assignment')
      checkAssignment(child.childForFieldName('name')?.text ?? '', out);
  }
  const nameNode = node.childForFieldName('name');
  const words = [nameNode, ...node.childrenForFieldName('argument')]
    .filter((n): n is Node => n !== null)
    .map((n) => resolveWord(n.type === 'command_name' ? (n.namedChild(0) ?? n) : n));
  analyzeWords(parser, words, out, depth);
}

function checkAssignment(name: string, out: BashAnalysis): void {
  if (COMMAND_CHANGING_VARIABLES.test(name))
    out.unresolved.push(`sets ${name}, which changes what commands run`);
}

function visitSubstitutions(parser: Parser, node: Node, out: BashAnalysis, depth: number): void {
  if (node.type === 'command_substitution' || node.type === 'process_substitution') {
    visit(parser, node, out, depth);
    return;
  }
  for (const child of node.namedChildren) if (child) visitSubstitutions(parser, child, out, depth);
}

function analyzeWords(parser: Parser, words: Word[], out: BashAnalysis, depth: number): void {
  const [name, ...args] = words;
  if (!name) return;
  if (depth > MAX_DEPTH || out.commands.length >= MAX_COMMANDS) {
    if (!out.unresolved.includes('too many nested commands')) out.unresolved.push('too many nested commands');
    return;
  }
  if (!name.static) {
    out.unresolved.push(`the command name is not static: ${name.text}`);
    return;
  }
  const program = basename(name.text);
  const dynamicArgs = args.some((a) => !a.static);
  const command: BashCommand = {
    words: words.map((w) => w.text),
    dynamicArgs,
    runsOthers: SHELLS.has(program) || WRAPPERS.has(program) || INTERPRETERS.test(program),
  };
  out.commands.push(command);
  if (EVALUATING.has(program)) {
    out.unresolved.push(`${program} runs or redefines commands the hook cannot see`);
    return;
  }
  if (SHELLS.has(program)) {
    analyzeShell(parser, program, args, out, depth);
    return;
  }
  if (AWK.test(program)) {
    if (args.some((a) => !a.static || AWK_RUNS_COMMANDS.test(a.text))) {
      out.unresolved.push(`${program} runs commands from its program`);
    }
    return;
  }
  if (INTERPRETERS.test(program)) {
    if (args.some((a) => !a.static || INLINE_CODE_FLAGS.has(a.text) || /^-[a-zA-Z]*[ce]$/.test(a.text))) {
      out.unresolved.push(`${program} runs inline code`);
    }
    return;
  }
  if (WRAPPERS.has(program)) {
    if (dynamicArgs) {
      out.unresolved.push(`${program} runs a command named by an argument that is not static`);
      return;
    }
    if (
      (program === 'xargs' || program === 'parallel') &&
      args.some((a) => /^(-[iIJ]|--replace)/.test(a.text))
    ) {
      out.unresolved.push(`${program} builds the command it runs from its input`);
      return;
    }
    for (const arg of args) {
      const assigned = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(arg.text);
      if (assigned?.[1]) checkAssignment(assigned[1], out);
    }
    // Every later word that could be the command it runs is tried as one; `{}` is filled in later.
    const filled = args.map((a) => (a.text.includes('{}') ? { ...a, static: false } : a));
    filled.forEach((arg, index) => {
      if (arg.text.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(arg.text)) return;
      analyzeWords(parser, filled.slice(index), out, depth + 1);
    });
  }
}

/** `sh -c 'text'` with static text is looked into; a shell reading a file or stdin is not. */
function analyzeShell(parser: Parser, program: string, args: Word[], out: BashAnalysis, depth: number): void {
  let inline = false;
  for (const arg of args) {
    if (!arg.static) break;
    if (/^[-+][A-Za-z]+$/.test(arg.text)) {
      if (arg.text.includes('c')) inline = true;
      continue;
    }
    if (arg.text.startsWith('--')) continue;
    if (inline) {
      analyzeText(parser, arg.text, out, depth + 1);
      return;
    }
    break;
  }
  out.unresolved.push(
    inline
      ? `${program} -c with text that is not static`
      : `${program} runs a script or standard input the hook cannot see`,
  );
}

/** A word's value when Bash would not expand it at run time; otherwise its source text. */
function resolveWord(node: Node): Word {
  switch (node.type) {
    case 'word':
    case 'number': {
      const text = node.text;
      // Unquoted glob or brace patterns expand to names only known at run time.
      const expands = /(^|[^\\])([*?[]|\{[^}]*[,.][^}]*\})/.test(text) || /^~/.test(text);
      return { text: unescapeWord(text), static: !expands };
    }
    case 'raw_string':
      return { text: node.text.slice(1, -1), static: true };
    case 'string': {
      const parts = node.namedChildren.filter((c): c is Node => c !== null);
      if (parts.some((p) => p.type !== 'string_content')) return { text: node.text, static: false };
      return { text: unescapeDoubleQuoted(node.text.slice(1, -1)), static: true };
    }
    case 'ansi_c_string': {
      const decoded = decodeAnsiC(node.text.slice(2, -1));
      return decoded === undefined ? { text: node.text, static: false } : { text: decoded, static: true };
    }
    case 'concatenation': {
      const parts = node.children.filter((c): c is Node => c !== null).map(resolveWord);
      return { text: parts.map((p) => p.text).join(''), static: parts.every((p) => p.static) };
    }
    default:
      return { text: node.text, static: false };
  }
}

function unescapeWord(text: string): string {
  return text.replace(/\\\n/g, '').replace(/\\(.)/gs, '$1');
}

function unescapeDoubleQuoted(text: string): string {
  return text.replace(/\\\n/g, '').replace(/\\([$`"\\])/g, '$1');
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  e: '\x1b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '?': '?',
};

/** The value of `$'…'`; undefined for escapes not decoded here (then the word counts as dynamic). */
function decodeAnsiC(body: string): string | undefined {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = body[i + 1];
    if (next === undefined) return undefined;
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      out += simple;
      i += 1;
      continue;
    }
    const hex = /^(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8})/.exec(body.slice(i + 1));
    const octal = /^[0-7]{1,3}/.exec(body.slice(i + 1));
    if (hex) {
      const code = Number.parseInt(hex[0].slice(1), 16);
      if (code > 0x10ffff) return undefined;
      out += String.fromCodePoint(code);
      i += hex[0].length;
    } else if (octal) {
      out += String.fromCharCode(Number.parseInt(octal[0], 8) & 0xff);
      i += octal[0].length;
    } else return undefined;
  }
  return out;
}
