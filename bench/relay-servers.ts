// The servers of bench:relay and bench:cluster, each run as its own child process (never in
// the load generator's process):
//   raw                 the baseline: a minimal WebSocket forwarding relay with no storage,
//                       no authentication and no acknowledgements. A client connects to
//                       /?id=N and sends [u32 recipient][payload]; the relay forwards
//                       [u32 sender][payload] to the recipient's socket, or drops it.
//   ghostproof <data> [full|normal] [--store <postgres url>] [--nats <url> --subject-prefix <p>]
//              [--kt-key-file <file>]
//                       our server as `ghostproof serve` runs it: createServer with the
//                       default configuration (durable SQLite, synchronous=FULL, group
//                       commit, default limits), except the per-address registration and
//                       sign-in limits, since all simulated people share 127.0.0.1. With
//                       --store, on that PostgreSQL database instead of SQLite; with --nats,
//                       delivering across nodes over that NATS, on subjects under the given
//                       prefix (so that a run never sees another deployment's notices).
//                       Nodes of one deployment share their key transparency keys: give
//                       them the same --kt-key-file.
// Each prints {"port": n} when listening and stops on SIGTERM or when its stdin closes (the
// load generator holds it open, so a server never outlives the benchmark).
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import { createServer } from '@ghostproof/server';
// Not exported by @ghostproof/server: createServer takes a NATS URL but then uses the
// default subject prefix, which `npm run cluster` on the same NATS also uses.
import { NatsBus } from '../packages/server/src/bus/nats.js';

function stopOnParentExit(stop: () => void): void {
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

function runRaw(): void {
  const clients = new Map<number, WebSocket>();
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    clientTracking: false,
  });
  wss.on('connection', (ws, req) => {
    const id = Number(new URL(req.url ?? '/', 'http://relay').searchParams.get('id'));
    clients.set(id, ws);
    ws.on('message', (data: Buffer) => {
      if (data.length < 4) return;
      const to = clients.get(data.readUInt32BE(0));
      if (!to) return;
      const out = Buffer.allocUnsafe(data.length);
      out.writeUInt32BE(id, 0);
      data.copy(out, 4, 4);
      to.send(out);
    });
    ws.on('close', () => {
      if (clients.get(id) === ws) clients.delete(id);
    });
  });
  wss.on('listening', () => {
    const address = wss.address();
    if (address !== null && typeof address === 'object')
      process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  });
  stopOnParentExit(() => {
    wss.close();
    for (const ws of clients.values()) ws.terminate();
    process.stdin.destroy();
  });
}

interface GhostproofOptions {
  readonly dataDir: string;
  readonly synchronous: 'full' | 'normal';
  readonly store: string | undefined;
  readonly nats: { readonly servers: string; readonly subjectPrefix: string } | undefined;
  readonly ktKeyFile: string | undefined;
}

async function runGhostproof(options: GhostproofOptions): Promise<void> {
  const controller = new AbortController();
  stopOnParentExit(() => controller.abort());
  const unlimited = { limit: 1_000_000, windowMs: 3_600_000 };
  const bus = options.nats ? await NatsBus.connect(options.nats) : undefined;
  const server = await createServer({
    dataDir: options.dataDir,
    port: 0,
    rates: { registrationsPerAddress: unlimited, signInsPerAddress: unlimited },
    sqlite: { synchronous: options.synchronous },
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(bus === undefined ? {} : { bus }),
    ...(options.ktKeyFile === undefined ? {} : { kt: { keyFile: options.ktKeyFile } }),
    log: { level: 'warn' },
    signal: controller.signal,
  });
  // The load generator asks for a full collection before it reads our RSS (run with
  // --expose-gc), so that memory per idle connection is not garbage waiting to be freed.
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('SIGUSR2', () => gc?.());
  const { port } = await server.listen();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  await server.closed;
  await bus?.close();
  process.stdin.destroy();
}

const usage =
  'usage: relay-servers.ts raw | ghostproof <data dir> [full|normal] [--store <postgres url>] ' +
  '[--nats <url> --subject-prefix <p>] [--kt-key-file <file>]';
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    store: { type: 'string' },
    nats: { type: 'string' },
    'subject-prefix': { type: 'string' },
    'kt-key-file': { type: 'string' },
  },
});
const [mode, dataDir, synchronous = 'full'] = positionals;
if (mode === 'raw') runRaw();
else if (mode === 'ghostproof' && dataDir && (synchronous === 'full' || synchronous === 'normal')) {
  const prefix = values['subject-prefix'];
  if (values.nats !== undefined && prefix === undefined) throw new Error(usage);
  await runGhostproof({
    dataDir,
    synchronous,
    store: values.store,
    nats: values.nats === undefined ? undefined : { servers: values.nats, subjectPrefix: prefix! },
    ktKeyFile: values['kt-key-file'],
  });
} else throw new Error(usage);
