// `npm run cluster`: two Ghostproof nodes on this machine, on ports 8081 and 8082, sharing the
// local PostgreSQL (database ghostproof_cluster, created if missing) and the local NATS.
// Prints their URLs; Ctrl-C (or SIGTERM) stops both. The nodes share one key transparency log
// in the database, so they share its key file (./data/cluster-kt-keys.json, made by the first
// node); each keeps its attachments in its own data directory under ./data/cluster-<port>.
// GHOSTPROOF_CLUSTER_POSTGRES and GHOSTPROOF_CLUSTER_NATS point at other services.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'apps/cli/bin/ghostproof.mjs');
const postgres = process.env.GHOSTPROOF_CLUSTER_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432';
const nats = process.env.GHOSTPROOF_CLUSTER_NATS ?? 'nats://127.0.0.1:4222';
const database = 'ghostproof_cluster';
const ports = [8081, 8082];

async function ensureDatabase() {
  const admin = new pg.Client({ connectionString: `${postgres}/postgres` });
  await admin.connect();
  try {
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rows.length === 0) await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
}

function startNode(port) {
  const child = spawn(
    process.execPath,
    [
      bin,
      'serve',
      '--port',
      String(port),
      '--data',
      join(root, 'data', `cluster-${port}`),
      '--store',
      `${postgres}/${database}`,
      '--bus',
      nats,
      '--kt-keys',
      join(root, 'data', 'cluster-kt-keys.json'),
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  const ready = new Promise((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      process.stderr.write(`[${port}] ${line}\n`);
      const match = /Ghostproof server on (\S+)/.exec(line);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`node on port ${port} exited with code ${code}`)));
  });
  return { child, ready };
}

await ensureDatabase();
// The first node migrates the schema; the second starts once it is up.
const nodes = [];
for (const port of ports) {
  const node = startNode(port);
  nodes.push(node);
  try {
    await node.ready;
  } catch (error) {
    for (const n of nodes) n.child.kill('SIGTERM');
    throw error;
  }
}
console.log(`Ghostproof cluster: ${(await Promise.all(nodes.map((n) => n.ready))).join(' and ')}`);
console.log(`store ${postgres}/${database}, bus ${nats}; Ctrl-C stops both.`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  for (const node of nodes) node.child.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
let failed = false;
const codes = await Promise.all(
  nodes.map(
    (node) =>
      new Promise((resolve) =>
        node.child.once('exit', (code) => {
          if (!stopping) {
            failed = true;
            console.error('a node stopped; stopping the other');
            stop();
          }
          resolve(code ?? 1);
        }),
      ),
  ),
);
process.exitCode = !failed && codes.every((code) => code === 0) ? 0 : 1;
