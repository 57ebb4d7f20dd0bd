/**
 * The client's logger: one per module (`createLogger('client:inbound', sink)`), records with
 * a level, the module, a fixed event name and a few fields. Records never hold user data (no
 * usernames, message bodies, keys, ciphertext, conversation names or ids): event names, error
 * codes and counts only; `errorFields` reduces an error to its name and code.
 *
 * Levels: `debug` for what is expected and harmless (a duplicate acknowledgement lost),
 * `info` for a step that failed and is retried later (offline at connect), `warn` for work
 * dropped or a defence that could not run, `error` for bugs only (STYLE.md).
 *
 * Default sink (MessengerOptions.logSink unset): `error` records go to `console.error`, the
 * rest is dropped. A library must not fill its app's terminal or console with expected
 * failures, but a bug must not stay silent; an app that wants more passes its own sink.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface LogRecord {
  readonly level: LogLevel;
  /** The module, e.g. `client:inbound`. */
  readonly scope: string;
  /** What happened, a fixed string such as `routing-check-failed`. */
  readonly event: string;
  readonly fields: LogFields;
}

export type LogSink = (record: LogRecord) => void;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** Bugs to the console; everything else dropped (see the file comment). */
export const defaultLogSink: LogSink = (record) => {
  // The one console write of the package: a bug must not stay silent in an app without a sink.
  // eslint-disable-next-line no-console
  if (record.level === 'error') console.error(`[${record.scope}] ${record.event}`, record.fields);
};

export function createLogger(scope: string, sink: LogSink = defaultLogSink): Logger {
  const at =
    (level: LogLevel) =>
    (event: string, fields: LogFields = {}): void => {
      try {
        sink({ level, scope, event, fields });
      } catch {
        // A failing sink must not turn logging into a failure of the work being logged.
      }
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * An error as log fields: its class name and stable code, never its message (a message may
 * quote input, such as a username).
 */
export function errorFields(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: typeof error };
  const code = (error as { code?: unknown }).code;
  return { error: error.name, ...(typeof code === 'string' ? { code } : {}) };
}
