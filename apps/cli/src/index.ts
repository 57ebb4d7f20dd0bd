/**
 * @ghostproof/cli: the `ghostproof` command. `main(argv, io)` runs it (bin/ghostproof.mjs
 * is the executable); each subcommand is a Command in src/commands.
 */
export { main, commands } from './main.js';
export type { Command, CommandIo } from './commands/command.js';
export { serveSettings, serveHelp, UsageError } from './config/config.js';
export { readServeEnv } from './config/env.js';
