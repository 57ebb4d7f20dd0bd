// `ghostproof serve`: runs the server until SIGTERM or SIGINT, then stops it gracefully.
import { ConfigError, createRootLogger, createServer, type GhostproofServer } from '@ghostproof/server';
import { readServeEnv } from '../config/env.js';
import { serveHelp, serveSettings } from '../config/config.js';
import { UsageError } from '../config/usage-error.js';
import type { Command } from './command.js';

export const serve: Command = {
  name: 'serve',
  summary: 'run the server (HTTP API, WebSocket sessions, the web client at /)',
  async run(args, io) {
    const settings = serveSettings(args, readServeEnv(io.env));
    if (settings.help) {
      io.stdout.write(`${serveHelp}\n`);
      return 0;
    }
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    try {
      let server: GhostproofServer;
      try {
        server = await createServer({
          ...settings.options,
          log: createRootLogger({ level: settings.logLevel }),
          signal: controller.signal,
        });
      } catch (error) {
        // E.g. a --web-root without a build, or one changed since: say so, without a stack.
        if (error instanceof ConfigError) throw new UsageError(error.message);
        throw error;
      }
      const { url } = await server.listen();
      io.stderr.write(
        `Ghostproof server on ${url} (data in ${settings.options.dataDir}); SIGTERM or Ctrl-C stops it.\n`,
      );
      if (server.webBundleSha256) io.stderr.write(`Web client bundle sha256 ${server.webBundleSha256}\n`);
      await server.closed;
      return 0;
    } finally {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    }
  },
};
