// The servers of bench:relay, each run as its own child process (never in the load
// generator's process):
//   raw <port>          the baseline: a minimal WebSocket forwarding relay with no storage,
//                       no authentication and no acknowledgements. A client connects to
//                       /?id=N and sends [u32 recipient][payload]; the relay forwards
//                       [u32 sender][payload] to the recipient's socket, or drops it.
//   ghostproof <data> [full|normal]
//                       our server as `ghostproof serve` runs it: createServer with the
//                       default configuration (durable SQLite, synchronous=FULL, group
//                       commit, default limits), except the per-address registration and
//                       sign-in limits, since all simulated people share 127.0.0.1.
// Each prints {"port": n} when listening and stops on SIGTERM.
import { WebSocketServer, type WebSocket } from 'ws';
import { createServer } from '@ghostproof/server';

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
  process.on('SIGTERM', () => {
    wss.close();
    for (const ws of clients.values()) ws.terminate();
  });
}

async function runGhostproof(dataDir: string, synchronous: 'full' | 'normal'): Promise<void> {
  const controller = new AbortController();
  process.on('SIGTERM', () => controller.abort());
  const unlimited = { limit: 1_000_000, windowMs: 3_600_000 };
  const server = await createServer({
    dataDir,
    port: 0,
    rates: { registrationsPerAddress: unlimited, signInsPerAddress: unlimited },
    sqlite: { synchronous },
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
}

const [mode, dataDir, synchronous = 'full'] = process.argv.slice(2);
if (mode === 'raw') runRaw();
else if (mode === 'ghostproof' && dataDir && (synchronous === 'full' || synchronous === 'normal')) {
  await runGhostproof(dataDir, synchronous);
} else throw new Error('usage: relay-servers.ts raw | ghostproof <data dir> [full|normal]');
