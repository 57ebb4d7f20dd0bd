// `npm run serve:web`: builds the client and serves it, forwarding the API and WebSocket to a
// running server, until the server serves the client itself. Options: --server <url>
// (default http://127.0.0.1:8080), --port (8081), --host (127.0.0.1).
import { parseArgs } from 'node:util';
import { buildWeb, defaultOutDir } from './build.js';
import { startWebFront } from './serve.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'http://127.0.0.1:8080' },
    port: { type: 'string', default: '8081' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const manifest = await buildWeb(defaultOutDir);
const front = await startWebFront({
  webRoot: defaultOutDir,
  backendUrl: values.server,
  host: values.host,
  port: Number(values.port),
  gzip: true,
});
process.stdout.write(`web client (bundle sha256 ${manifest.bundleSha256}) at ${front.url}/\n`);
process.stdout.write(`forwarding the API and WebSocket to ${values.server}\n`);
const stop = () => void front.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
