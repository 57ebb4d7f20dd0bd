// The `ghostproof` command line: dispatches to a subcommand. Adding a command is one entry
// in `commands`. Usage errors print the message and exit 2; anything else is a bug.
import { serve } from './commands/serve.js';
import type { Command, CommandIo } from './commands/command.js';
import { UsageError } from './config/config.js';

export const commands: readonly Command[] = [serve];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: ghostproof <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "ghostproof <command> --help" for the options of a command.',
    'More commands (register, chat, send, receive, group, verify, devices, audit) are planned.',
  ].join('\n');
}

export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`ghostproof: unknown command "${name}"\n\n${usage()}\n`);
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
