// Auditing a server's key transparency log: that it only ever grows (append-only), from
// genesis or from the last checkpoint this auditor verified. The auditor pins the log's keys
// on first use and keeps its newest verified checkpoint; a server that rewrote history,
// dropped an entry, swapped its keys or served a checkpoint inconsistent with an earlier one
// fails the audit.
import { routes } from '@ghostproof/api';
import {
  formatNoteVerifierKey,
  KtError,
  openCheckpoint,
  parseNoteVerifierKey,
  verifyAuditProof,
  type KtTrustAnchor,
} from '@ghostproof/kt';
import { ClientError } from './errors.js';
import type { HttpApi } from './http.js';
import { fromHex, toHex } from './bytes.js';

/** What an auditor keeps between runs (JSON-serialisable). */
export interface AuditState {
  readonly logKey: string;
  readonly vrfPublicKey: string;
  /** The newest checkpoint note this auditor verified. */
  readonly checkpoint: string;
}

export interface AuditOutcome {
  readonly state: AuditState;
  readonly fromSize: number;
  readonly toSize: number;
  readonly epochsVerified: number;
  readonly updatesVerified: number;
}

export async function auditLog(http: HttpApi, previous?: AuditState): Promise<AuditOutcome> {
  const keys = await http.call(routes.ktKeys);
  if (previous && (previous.logKey !== keys.logKey || previous.vrfPublicKey !== toHex(keys.vrfPublicKey))) {
    throw new ClientError('audit-failed', 'the log’s keys differ from the ones pinned at the last audit');
  }
  try {
    const anchor: KtTrustAnchor = {
      logKey: parseNoteVerifierKey(keys.logKey),
      vrfPublicKey: keys.vrfPublicKey,
    };
    const from = previous ? openCheckpoint(previous.checkpoint, anchor.logKey) : undefined;
    const latest = openCheckpoint((await http.call(routes.ktCheckpoint)).note, anchor.logKey);
    if (from && latest.size < from.size) {
      throw new ClientError('audit-failed', `the log shrank from ${from.size} to ${latest.size} entries`);
    }
    if (from && latest.size === from.size) {
      // Nothing new: the same size must be the same tree, or the log forked.
      if (toHex(latest.rootHash) !== toHex(from.rootHash)) {
        throw new ClientError('audit-failed', `two different logs of size ${from.size} under the same key`);
      }
      return {
        state: { ...previous!, checkpoint: previous!.checkpoint },
        fromSize: from.size,
        toSize: from.size,
        epochsVerified: 0,
        updatesVerified: 0,
      };
    }
    const { proof } = await http.call(routes.ktAudit, {
      params: { from: String(from?.size ?? 0), to: String(latest.size) },
    });
    const result = verifyAuditProof(anchor, from, proof);
    if (result.checkpoint.size !== latest.size) {
      throw new ClientError('audit-failed', 'the audit proof ends at another size than the checkpoint');
    }
    return {
      state: {
        logKey: formatNoteVerifierKey(anchor.logKey),
        vrfPublicKey: toHex(anchor.vrfPublicKey),
        checkpoint: result.checkpointNote,
      },
      fromSize: from?.size ?? 0,
      toSize: result.checkpoint.size,
      epochsVerified: result.epochsVerified,
      updatesVerified: result.updatesVerified,
    };
  } catch (error) {
    if (KtError.is(error)) throw new ClientError('audit-failed', error.message, { cause: error });
    throw error;
  }
}

export function parseAuditState(text: string): AuditState {
  const parsed = JSON.parse(text) as Partial<AuditState>;
  if (
    typeof parsed.logKey !== 'string' ||
    typeof parsed.vrfPublicKey !== 'string' ||
    typeof parsed.checkpoint !== 'string'
  ) {
    throw new ClientError('audit-failed', 'audit state file: not an audit state');
  }
  fromHex(parsed.vrfPublicKey);
  return { logKey: parsed.logKey, vrfPublicKey: parsed.vrfPublicKey, checkpoint: parsed.checkpoint };
}
