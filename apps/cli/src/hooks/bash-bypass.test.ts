// The hook decides on the commands a Bash line runs, not on its text: with a rule on `pg_dump *`,
// every way of spelling or hiding pg_dump asks, while commands that plainly are something else
// pass; `default: ask` gates everything that no `allow:` glob names.
import { describe, expect, it } from 'vitest';
import { analyzeBash } from './bash-commands.ts';
import { decideToolCall, parseHookRules, type HookRulesFile } from './hook-rules.ts';

const PG_DUMP = parseHookRules(
  `rules:
  - tool: Bash
    command: "pg_dump *"
    action: db.dump
`,
  'pg_dump rules',
);

async function decide(file: HookRulesFile, command: string) {
  return decideToolCall(file, { toolName: 'Bash', command, bash: await analyzeBash(command) });
}

describe('a rule on "pg_dump *" asks for every disguise of pg_dump', () => {
  it.each([
    ['the plain command', 'pg_dump -t customers'],
    ['a variable as the command', 'PGD=pg_dump; $PGD -t customers'],
    ['a braced variable', 'PGD=pg_dump; ${PGD} -t customers'],
    ['empty quotes inside the name', 'pg_d""ump -t customers'],
    ['single quotes inside the name', "pg'_'dump -t customers"],
    ['a quoted name', '"pg_dump" -t customers'],
    ['a backslash in the name', '\\pg_dump -t customers'],
    ['an ANSI-C quoted name', "$'\\x70g_dump' -t customers"],
    ['a line continuation inside the name', 'pg_\\\ndump -t customers'],
    ['a full path', '/usr/bin/pg_dump -t customers'],
    ['a command substitution as the command', '$(echo pg_dump) -t customers'],
    ['backquotes as the command', '`echo pg_dump` -t customers'],
    ['a glob as the command', '/usr/bin/pg_d?mp -t customers'],
    ['brace expansion', '{pg_dump,-t,customers}'],
    ['eval', 'eval "pg_dump -t customers"'],
    ['eval of a variable', 'C="pg_dump -t customers"; eval $C'],
    ['sh -c with literal text', "sh -c 'pg_dump -t customers'"],
    ['bash -c with a variable', 'C="pg_dump -t customers"; bash -c "$C"'],
    ['a pipeline into sh', 'echo pg_dump -t customers | sh'],
    ['a here-string to bash', 'bash <<< "pg_dump -t customers"'],
    ['a here-document to sh', 'sh <<EOF\npg_dump -t customers\nEOF'],
    ['source', 'echo "pg_dump -t customers" > /tmp/x.sh; source /tmp/x.sh'],
    ['dot', '. /tmp/x.sh'],
    ['a script run by bash', 'bash /tmp/x.sh'],
    ['an alias', 'alias p=pg_dump; p -t customers'],
    ['a function', 'f() { pg_\\dump "$@"; }; f -t customers'],
    ['env', 'env PGPASSWORD=x pg_dump -t customers'],
    ['sudo with options', 'sudo -u postgres pg_dump -t customers'],
    ['xargs', 'echo customers | xargs pg_dump -t'],
    ['timeout', 'timeout 60 pg_dump -t customers'],
    ['find -exec', 'find . -name x -exec pg_dump -t customers \\;'],
    ['exec', 'exec pg_dump -t customers'],
    ['command', 'command pg_dump -t customers'],
    ['after other commands', 'cd /tmp && ls -la; pg_dump -t customers'],
    ['in a subshell', '(cd /tmp; pg_dump -t customers)'],
    ['inside a substitution', 'echo "$(pg_dump -t customers)"'],
    ['inside a process substitution', 'diff <(pg_dump -t customers) /dev/null'],
    ['in a loop', 'for t in customers; do pg_dump -t "$t"; done'],
    ['in an if', 'if true; then pg_dump -t customers; fi'],
    ['in the background', 'pg_dump -t customers &'],
    ['negated', '! pg_dump -t customers'],
    ['python -c', 'python3 -c "import os; os.system(\'pg_dump -t customers\')"'],
    ['a broken line', 'pg_dump -t "customers'],
    ['a PATH change before an innocent name', 'PATH=/tmp/evil:$PATH ls'],
    ['an exported PATH change', 'export PATH=/tmp/evil; ls'],
    ['BASH_ENV through env', 'env BASH_ENV=/tmp/x.sh bash -c true'],
    ['xargs building the command from its input', 'echo pg_dump | xargs -I X X -t customers'],
    ['xargs feeding sh -c', "echo 'pg_dump -t customers' | xargs -0 sh -c"],
    ['find -exec running what it finds', 'find /usr/bin -name pg_dump -exec {} -t customers \\;'],
    ['awk system()', `awk 'BEGIN { system("pg_dump -t customers") }'`],
    ['a comment hiding a continued line', '# note \\\npg_dump -t customers'],
  ])('%s: %s', async (_name, command) => {
    expect(await decide(PG_DUMP, command)).toMatchObject({ ask: true, action: 'db.dump' });
  });

  it.each([
    ['another command', 'ls -la'],
    ['pg_dump as an argument', 'echo pg_dump -t customers'],
    ['pg_dump in a quoted argument', 'grep "pg_dump -t" notes.txt'],
    ['a pipeline of other commands', 'cat a.txt | sort | uniq -c'],
    ['a variable as an argument only', 'echo "$HOME"'],
    ['a plain awk program', "awk '{ print $1 }' access.log"],
    ['an ordinary assignment', 'COUNT=3 ls -la'],
  ])('passes %s: %s', async (_name, command) => {
    expect(await decide(PG_DUMP, command)).toEqual({ ask: false });
  });

  it('says why it asks when the line cannot be resolved', async () => {
    const decision = await decide(PG_DUMP, 'PGD=pg_dump; $PGD -t customers');
    expect(decision).toMatchObject({
      ask: true,
      why: expect.stringContaining('the command name is not static: $PGD') as string,
    });
  });
});

describe('default: ask', () => {
  const GATED = parseHookRules(
    `default: ask
defaultAction: shell.run
allow:
  - "ls *"
  - "ls"
  - "git status*"
  - "git diff *"
rules:
  - tool: Bash
    command: "pg_dump *"
    action: db.dump
`,
    'gated rules',
  );

  // A line that cannot be resolved matches every rule, so it asks under the first rule's action.
  it.each([
    ['ls -la', null],
    ['ls', null],
    ['git status --short && git diff HEAD', null],
    ['/bin/ls -la', null],
    ['ls -la; rm -rf build', 'shell.run'],
    ['rm -rf build', 'shell.run'],
    ['ls $DIR', 'shell.run'],
    ['env ls', 'shell.run'],
    ['npm test', 'shell.run'],
    ['git status | sh', 'db.dump'],
    ['$CMD', 'db.dump'],
  ])('%s → asks under %s', async (command, action) => {
    const decision = await decide(GATED, command);
    expect(decision.ask ? decision.action : null).toBe(action);
  });

  it('a rule still wins over the default', async () => {
    expect(await decide(GATED, 'pg_dump -t customers')).toMatchObject({ ask: true, action: 'db.dump' });
  });

  it('leaves other tools to the rules', () => {
    expect(decideToolCall(GATED, { toolName: 'Read', filePath: 'x' })).toEqual({ ask: false });
  });

  it('the default mode passes, and the default action is shell.command', () => {
    const plain = parseHookRules('rules: []\n', 'plain');
    expect(plain).toMatchObject({ default: 'pass', defaultAction: 'shell.command', allow: [] });
  });
});
