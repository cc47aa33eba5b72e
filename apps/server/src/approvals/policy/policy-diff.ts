// A unified line diff between two policy texts, for proposals, the chain and `policy diff`.
// Policy files are small (a few hundred lines), so a plain longest-common-subsequence table is
// fast enough and needs no library.

const CONTEXT_LINES = 3;

type Edit = { op: ' ' | '-' | '+'; line: string; a: number; b: number };

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function edits(a: string[], b: string[]): Edit[] {
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      const row = lcs[i] as Uint32Array;
      const below = lcs[i + 1] as Uint32Array;
      row[j] =
        a[i] === b[j] ? (below[j + 1] as number) + 1 : Math.max(below[j] as number, row[j + 1] as number);
    }
  }
  const out: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ op: ' ', line: a[i] as string, a: i, b: j });
      i += 1;
      j += 1;
    } else if (i < a.length && (j === b.length || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) {
      // Removals first, as diff(1) shows a changed line.
      out.push({ op: '-', line: a[i] as string, a: i, b: j });
      i += 1;
    } else {
      out.push({ op: '+', line: b[j] as string, a: i, b: j });
      j += 1;
    }
  }
  return out;
}

/** The unified diff (`--- from`, `+++ to`, `@@` hunks); empty when the texts are equal. */
export function diffPolicyText(before: string, after: string, from: string, to: string): string {
  const all = edits(splitLines(before), splitLines(after));
  if (all.every((e) => e.op === ' ')) return '';
  const out = [`--- ${from}`, `+++ ${to}`];
  let index = 0;
  while (index < all.length) {
    const firstChange = all.findIndex((e, k) => k >= index && e.op !== ' ');
    if (firstChange === -1) break;
    const start = Math.max(index, firstChange - CONTEXT_LINES);
    // A hunk runs until more than 2×CONTEXT_LINES unchanged lines separate it from the next change.
    let end = firstChange;
    let unchanged = 0;
    for (let k = firstChange; k < all.length; k += 1) {
      if (all[k]?.op === ' ') {
        unchanged += 1;
        if (unchanged > CONTEXT_LINES * 2) break;
      } else {
        unchanged = 0;
        end = k;
      }
    }
    const stop = Math.min(all.length, end + 1 + CONTEXT_LINES);
    const hunk = all.slice(start, stop);
    const aLines = hunk.filter((e) => e.op !== '+').length;
    const bLines = hunk.filter((e) => e.op !== '-').length;
    const aStart = (hunk[0]?.a ?? 0) + (aLines > 0 ? 1 : 0);
    const bStart = (hunk[0]?.b ?? 0) + (bLines > 0 ? 1 : 0);
    out.push(`@@ -${aStart},${aLines} +${bStart},${bLines} @@`);
    for (const e of hunk) out.push(`${e.op}${e.line}`);
    index = stop;
  }
  return `${out.join('\n')}\n`;
}
