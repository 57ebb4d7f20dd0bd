// The `ghostproof` command line: dispatches to a subcommand. Adding a command is one entry
// in `commands`. Global options may come before the command name (`ghostproof --json
// whoami`); they are handed to the command, which parses them with its own. Usage errors exit
// 2, failures 1, each with one line on stderr.
import { attach } from './commands/attach.js';
import { block } from './commands/block.js';
import { chat } from './commands/chat.js';
import type { Command, CommandIo } from './commands/command.js';
import { conversations } from './commands/conversations.js';
import { devices } from './commands/devices.js';
import { disappear } from './commands/disappear.js';
import { group } from './commands/group.js';
import { profile } from './commands/profile.js';
import { receive } from './commands/receive.js';
import { register } from './commands/register.js';
import { requests } from './commands/requests.js';
import { send } from './commands/send.js';
import { verify } from './commands/verify.js';
import { whoami } from './commands/whoami.js';
import { UsageError } from './config/usage-error.js';
import { globalHelp } from './config/client.js';

/** A command whose module (and its dependencies, e.g. the whole server) loads only when run. */
function lazy(name: string, summary: string, load: () => Promise<Command>): Command {
  return { name, summary, run: async (args, io) => (await load()).run(args, io) };
}

const audit = lazy('audit', 'verify that the server’s key transparency log is append-only', async () => {
  return (await import('./commands/audit.js')).audit;
});
const serve = lazy('serve', 'run the server (HTTP API, WebSocket sessions, placeholder page)', async () => {
  return (await import('./commands/serve.js')).serve;
});

export const commands: readonly Command[] = [
  register,
  whoami,
  send,
  receive,
  chat,
  conversations,
  requests,
  block,
  group,
  verify,
  devices,
  attach,
  disappear,
  profile,
  audit,
  serve,
];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: ghostproof <command> [options]',
    '',
    'Ghostproof: an end-to-end encrypted messenger. A profile (--profile) is one account on one',
    'server; conversations are named by username (1:1) or by a prefix of their id.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    globalHelp,
    '',
    'Run "ghostproof <command> --help" for the options of a command.',
  ].join('\n');
}

/** Global options given before the command name move behind it. */
function splitCommand(argv: readonly string[]): { name: string | undefined; args: string[] } {
  const leading: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--server' || arg === '--profile') {
      leading.push(arg, argv[i + 1] ?? '');
      i++;
    } else if (arg === '--json' || arg.startsWith('--server=') || arg.startsWith('--profile=')) {
      leading.push(arg);
    } else break;
  }
  return { name: argv[i], args: [...leading, ...argv.slice(i + 1)] };
}

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const { name, args } = splitCommand(argv);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout.write('ghostproof 0.1.0\n');
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`ghostproof: unknown command "${name}" (see "ghostproof --help")\n`);
    return 2;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`ghostproof ${command.name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
