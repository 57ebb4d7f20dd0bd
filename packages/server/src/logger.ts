// Structured logs (pino). Logs never contain user data: no usernames, message or client
// ids, group ids, tokens, keys, addresses or message bytes; only event names, route names,
// error codes, counts and durations. Callers pass fields explicitly; errors are reduced to
// their type, code and stack frames (never their message, which may quote input).
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LogOptions {
  /** pino level; default 'info'. */
  readonly level?: string;
  /** Where JSON lines go; default standard output. */
  readonly destination?: NodeJS.WritableStream;
}

export function createRootLogger(options: LogOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'ghostproof' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Nothing is serialized implicitly: an error must go through describeError.
      serializers: {},
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A component's logger: createLogger(root, 'server:ws'). */
export function createLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}

/** What a log may say about an error: its type, code and stack frames, not its message. */
export function describeError(error: unknown): { type: string; code?: string; frames?: string } {
  if (!(error instanceof Error)) return { type: typeof error };
  const code = (error as { code?: unknown }).code;
  const frames = error.stack
    ?.split('\n')
    .filter((line) => line.trimStart().startsWith('at '))
    .slice(0, 8)
    .join('\n');
  return {
    type: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    ...(frames ? { frames } : {}),
  };
}
