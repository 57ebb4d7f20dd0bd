// The log's two private keys (checkpoint signing, VRF) live in a key file of their own, never
// in a database: DESIGN.md, "Key transparency". Created with owner-only permissions on first
// start; an operator may place it on a separate secrets volume (`kt.keyFile`).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface KtKeys {
  readonly signingKey: Uint8Array;
  readonly vrfSecretKey: Uint8Array;
}

const FORMAT = 'ghostproof-kt-keys-v1';

export function loadOrCreateKtKeys(file: string): KtKeys {
  if (!existsSync(file)) {
    const body = JSON.stringify({
      format: FORMAT,
      signingKey: randomBytes(32).toString('base64'),
      vrfSecretKey: randomBytes(32).toString('base64'),
    });
    writeFileSync(file, body, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as {
    format?: string;
    signingKey?: string;
    vrfSecretKey?: string;
  };
  const signingKey = Buffer.from(parsed.signingKey ?? '', 'base64');
  const vrfSecretKey = Buffer.from(parsed.vrfSecretKey ?? '', 'base64');
  if (parsed.format !== FORMAT || signingKey.length !== 32 || vrfSecretKey.length !== 32) {
    throw new Error('kt key file: not a Ghostproof key transparency key file');
  }
  return { signingKey: new Uint8Array(signingKey), vrfSecretKey: new Uint8Array(vrfSecretKey) };
}
