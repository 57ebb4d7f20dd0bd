// How a client command is declared: its usage line, what it does, its own options and how
// many arguments it takes. defineCommand turns that into a Command that parses its arguments
// (global options included, anywhere on the line; `--` ends options), answers --help, and
// turns failures into one line and an exit code. Commands with subcommands (group, requests,
// profile) are built with defineGroup.
import { parseArgs } from 'node:util';
import type { Command, CommandIo } from '../commands/command.js';
import { clientSettings, globalFlags, globalHelp, type ClientSettings } from '../config/client.js';
import { UsageError } from '../config/usage-error.js';
import { readClientEnv } from '../config/env.js';
import { Output } from '../ui/output.js';
import { CliError, describeError } from './errors.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** e.g. "SECONDS" for `--wait SECONDS`. */
  readonly value?: string;
  readonly description: string;
}

export interface CommandContext {
  readonly io: CommandIo;
  readonly settings: ClientSettings;
  readonly out: Output;
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** After "ghostproof ", e.g. "send <user|conversation> <text...>". */
  readonly usage: string;
  readonly description: string;
  readonly options?: Readonly<Record<string, OptionSpec>>;
  readonly minArgs: number;
  /** Infinity for "the rest of the line". */
  readonly maxArgs: number;
  run(context: CommandContext): Promise<number | void>;
}

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([name, spec]) => [
    `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`,
    spec.description,
  ]);
  const width = Math.max(...rows.map(([left]) => left!.length));
  return rows.map(([left, right]) => `  ${left!.padEnd(width)}  ${right}`);
}

export function helpText(spec: CommandSpec): string {
  const options = spec.options ?? {};
  return [
    `Usage: ghostproof ${spec.usage}`,
    '',
    spec.description,
    ...(Object.keys(options).length > 0 ? ['', 'Options:', ...optionLines(options)] : []),
    '',
    globalHelp,
  ].join('\n');
}

/** The exit code of a failure: 2 for usage, 1 otherwise; the message is one line on stderr. */
export function reportFailure(io: CommandIo, prefix: string, error: unknown, debug: boolean): number {
  const hint = error instanceof UsageError ? ` (see "${prefix} --help")` : '';
  io.stderr.write(`${prefix}: ${describeError(error)}${hint}\n`);
  if (debug && error instanceof Error && !(error instanceof CliError) && !(error instanceof UsageError)) {
    io.stderr.write(`${error.stack ?? ''}\n`);
  }
  return error instanceof UsageError ? 2 : 1;
}

export function defineCommand(spec: CommandSpec, prefix = spec.name): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    async run(argv, io) {
      const env = readClientEnv(io.env);
      const debug = env.debug !== undefined && env.debug !== '0';
      try {
        const parsed = parseCommandLine(spec, argv);
        if (parsed.help) {
          io.stdout.write(`${helpText(spec)}\n`);
          return 0;
        }
        const settings = clientSettings(parsed.values, env);
        const out = new Output(io, settings.json);
        return (await spec.run({ io, settings, out, args: parsed.positionals, options: parsed.values })) ?? 0;
      } catch (error) {
        return reportFailure(io, `ghostproof ${prefix}`, error, debug);
      }
    },
  };
}

function parseCommandLine(spec: CommandSpec, argv: readonly string[]) {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { ...globalFlags };
  for (const [name, option] of Object.entries(spec.options ?? {})) {
    options[name] = { type: option.type, ...(option.short ? { short: option.short } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // parseArgs explains how to pass an argument that starts with "-"; keep the first sentence.
    throw new UsageError(message.split('. ')[0]!.replace(/\.$/, ''));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { help: true, values, positionals: parsed.positionals };
  const count = parsed.positionals.length;
  if (count < spec.minArgs) throw new UsageError(`expected: ghostproof ${spec.usage}`);
  if (count > spec.maxArgs) throw new UsageError(`too many arguments; expected: ghostproof ${spec.usage}`);
  return {
    help: false,
    values: values as { server?: string; profile?: string; json?: boolean } & Record<
      string,
      string | boolean | undefined
    >,
    positionals: parsed.positionals,
  };
}

export interface GroupSpec {
  readonly name: string;
  readonly summary: string;
  readonly description: string;
  readonly subcommands: readonly CommandSpec[];
  /** Runs when no subcommand is given (e.g. `requests` lists); otherwise that prints help. List it in subcommands too. */
  readonly fallback?: CommandSpec;
}

export function groupHelp(spec: GroupSpec): string {
  const width = Math.max(...spec.subcommands.map((s) => s.usage.length));
  return [
    `Usage: ghostproof ${spec.name} <subcommand> ...`,
    '',
    spec.description,
    '',
    'Subcommands:',
    ...spec.subcommands.map((s) => `  ${s.usage.padEnd(width)}  ${s.summary}`),
    '',
    `Run "ghostproof ${spec.name} <subcommand> --help" for its options.`,
    '',
    globalHelp,
  ].join('\n');
}

export function defineGroup(spec: GroupSpec): Command {
  const subcommands = new Map(
    spec.subcommands.map((s) => [s.name, defineCommand(s, `${spec.name} ${s.name}`)]),
  );
  const fallback = spec.fallback ? defineCommand(spec.fallback, spec.name) : undefined;
  return {
    name: spec.name,
    summary: spec.summary,
    async run(argv, io) {
      const index = firstPositional(argv);
      if (index >= 0) {
        const sub = subcommands.get(argv[index]!);
        if (sub) return sub.run([...argv.slice(0, index), ...argv.slice(index + 1)], io);
        io.stderr.write(
          `ghostproof ${spec.name}: unknown subcommand "${argv[index]}" (see "ghostproof ${spec.name} --help")\n`,
        );
        return 2;
      }
      if (argv.includes('--help') || argv.includes('-h')) {
        io.stdout.write(`${groupHelp(spec)}\n`);
        return 0;
      }
      if (fallback) return fallback.run(argv, io);
      const names = spec.subcommands.map((c) => c.name).join(', ');
      io.stderr.write(
        `ghostproof ${spec.name}: expected a subcommand: ${names} (see "ghostproof ${spec.name} --help")\n`,
      );
      return 2;
    },
  };
}

/** The index of the first argument that is neither an option nor an option's value, or -1. */
function firstPositional(argv: readonly string[]): number {
  const takesValue = new Set(
    Object.entries(globalFlags)
      .filter(([, f]) => f.type === 'string')
      .map(([n]) => `--${n}`),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return i + 1 < argv.length ? i + 1 : -1;
    if (takesValue.has(arg)) i++;
    else if (!arg.startsWith('-')) return i;
  }
  return -1;
}
