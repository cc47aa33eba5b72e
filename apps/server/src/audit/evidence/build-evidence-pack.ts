// `countersign audit evidence`: one zip an auditor can take away for a period. The report in each
// format (md, csv, json), the chain's verification, the latest signed checkpoint with the public
// keys that verify it, the policy history, the directory's changes, the administrators' actions,
// and manifest.json listing the SHA-256 of every other file, signed with the receipt key as a
// compact JWS (manifest.jws), so a changed or missing file shows.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { strToU8, zipSync, type Zippable } from 'fflate';
import type { Database } from '../../db/client.ts';
import type { ReceiptJwks, ReceiptSigner } from '../../receipts/sign-receipt.ts';
import { generateReport, REPORT_FORMATS } from '../report/generate-report.ts';
import type { ControlFramework } from '../report/controls.ts';
import type { ReportPeriod } from '../report/report-period.ts';
import { verifyChain } from '../verify-chain.ts';
import { listCheckpoints } from '../verify-checkpoints.ts';
import { collectEvidenceEvents } from './collect-evidence-events.ts';

export const EVIDENCE_MANIFEST_FORMAT = 'countersign-evidence/1';

export interface EvidenceManifest {
  format: typeof EVIDENCE_MANIFEST_FORMAT;
  period: { name: string; from: string; to: string };
  generatedAt: string;
  generatedBy: string;
  chainIntact: boolean;
  /** The key that signed manifest.jws (its public half is in jwks.json). */
  kid: string;
  files: { name: string; bytes: number; sha256: string }[];
}

export interface BuildEvidencePackInput {
  db: Database;
  period: ReportPeriod & { name: string };
  receipts: ReceiptSigner;
  /** Public keys that verify the checkpoints and the manifest (the current and earlier receipt keys). */
  jwks: ReceiptJwks | { keys: unknown[] };
  controls?: ControlFramework | undefined;
  actor: string;
  now: () => Date;
  /** Separate sessions for the chain's verification (a real server, not the embedded one). */
  separateSessions: boolean;
}

export interface EvidencePack {
  zip: Uint8Array;
  manifest: EvidenceManifest;
}

/** A Writable that keeps what is written, for a report that goes into the zip. */
function collector(): { out: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export async function buildEvidencePack(input: BuildEvidencePackInput): Promise<EvidencePack> {
  const { db, period } = input;
  const files = new Map<string, string>();

  let chainIntact = true;
  for (const format of REPORT_FORMATS) {
    const { out, text } = collector();
    const result = await generateReport({
      db,
      period,
      format,
      controls: input.controls,
      out,
      actor: input.actor,
      now: input.now,
    });
    chainIntact &&= result.summary.chain.intact;
    files.set(`report.${format}`, text());
  }

  const verification = await verifyChain(db, { separateSessions: input.separateSessions });
  chainIntact &&= verification.intact;
  files.set('chain-verification.json', json({ verifiedAt: input.now().toISOString(), ...verification }));

  const checkpoints = await listCheckpoints(db);
  const latest = checkpoints.at(-1) ?? null;
  files.set(
    'checkpoint.json',
    json(
      latest
        ? { latest, note: 'verify with `countersign audit verify --checkpoints` and jwks.json' }
        : { latest: null, note: 'the chain holds no signed checkpoint: run `countersign audit checkpoint`' },
    ),
  );
  files.set('jwks.json', json(input.jwks));

  const events = await collectEvidenceEvents(db, period);
  files.set('policy-history.json', json(events.policyHistory));
  files.set('directory-changes.json', json(events.directoryChanges));
  files.set('admin-actions.json', json(events.adminActions));

  const zippable: Zippable = {};
  const listed: EvidenceManifest['files'] = [];
  for (const [name, text] of files) {
    const bytes = strToU8(text);
    zippable[name] = bytes;
    listed.push({ name, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  const [signingKey] = input.receipts.jwks().keys;
  if (!signingKey) throw new Error('the receipt signer has no key');
  const manifest: EvidenceManifest = {
    format: EVIDENCE_MANIFEST_FORMAT,
    period: { name: period.name, from: period.from.toISOString(), to: period.to.toISOString() },
    generatedAt: input.now().toISOString(),
    generatedBy: input.actor,
    chainIntact,
    kid: signingKey.kid,
    files: listed,
  };
  const manifestText = json(manifest);
  zippable['manifest.json'] = strToU8(manifestText);
  zippable['manifest.jws'] = strToU8(`${await input.receipts.signEvidenceManifest(manifestText)}\n`);
  // A fixed modification time: the same evidence gives the same bytes.
  return { zip: zipSync(zippable, { level: 6, mtime: period.to }), manifest };
}
