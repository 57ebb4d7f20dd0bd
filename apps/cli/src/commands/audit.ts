// `ghostproof audit --server URL [--state FILE]`: verifies that the server's key transparency
// log is append-only, from genesis or from the checkpoint saved in the state file, and saves
// the newest verified checkpoint there. Any violation is one clear line and exit code 1.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApiError } from '@ghostproof/api';
import { auditLog, ClientError, HttpApi, parseAuditState } from '@ghostproof/client';
import { UsageError } from '../config/config.js';
import { readClientEnv } from '../config/env.js';
import type { Command } from './command.js';

const help = `Usage: ghostproof audit --server URL [--state FILE]

Verifies that the server's key transparency log only ever grew: every epoch since the last
audit (or since genesis) is replayed and checked against the signed checkpoints. The log's
keys are pinned in the state file at the first audit.

Options:
  --server URL   the server to audit (default http://localhost:8080)
  --state FILE   where to keep the pinned keys and the newest verified checkpoint
                 (without it, the audit starts at genesis and saves nothing)
  --json         print the result as one JSON object
  -h, --help     this help

Exit status: 0 when the log is append-only, 1 on a violation, 2 on a usage error.`;

export const audit: Command = {
  name: 'audit',
  summary: 'verify that the server’s key transparency log is append-only',
  async run(args, io) {
    let values;
    try {
      ({ values } = parseArgs({
        args: [...args],
        options: {
          server: { type: 'string' },
          state: { type: 'string' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
      }));
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : 'bad arguments');
    }
    if (values.help) {
      io.stdout.write(`${help}\n`);
      return 0;
    }
    const server = values.server ?? readClientEnv(io.env).server ?? 'http://localhost:8080';
    try {
      new URL(server);
    } catch {
      throw new UsageError(`--server: not a URL: ${server}`);
    }
    try {
      const previous =
        values.state && existsSync(values.state)
          ? parseAuditState(readFileSync(values.state, 'utf8'))
          : undefined;
      const outcome = await auditLog(new HttpApi(server), previous);
      if (values.state) {
        writeFileSync(`${values.state}.tmp`, JSON.stringify(outcome.state, null, 2) + '\n', { mode: 0o600 });
        renameSync(`${values.state}.tmp`, values.state);
      }
      if (values.json) {
        io.stdout.write(
          `${JSON.stringify({ ok: true, from: outcome.fromSize, to: outcome.toSize, epochs: outcome.epochsVerified, updates: outcome.updatesVerified })}\n`,
        );
      } else {
        io.stdout.write(
          `Log is append-only from size ${outcome.fromSize} to ${outcome.toSize}: ` +
            `${outcome.epochsVerified} epochs and ${outcome.updatesVerified} account updates verified.\n`,
        );
      }
      return 0;
    } catch (error) {
      const message =
        error instanceof ClientError || error instanceof ApiError
          ? error.message
          : error instanceof SyntaxError
            ? 'state file is not valid JSON'
            : 'unexpected failure';
      if (values.json) io.stdout.write(`${JSON.stringify({ ok: false, error: message })}\n`);
      io.stderr.write(`ghostproof audit: VIOLATION or failure: ${message}\n`);
      return 1;
    }
  },
};
