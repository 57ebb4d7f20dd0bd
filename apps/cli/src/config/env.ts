// The only place the command reads the environment: the GHOSTPROOF_* variables, as strings,
// for config.ts to validate. Flags given on the command line win over these.
export interface ServeEnv {
  readonly host?: string;
  readonly port?: string;
  readonly data?: string;
  readonly origin?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly logLevel?: string;
  readonly inviteRequired?: string;
  /** Comma-separated. */
  readonly inviteCodes?: string;
  readonly metricsToken?: string;
  readonly sqliteSynchronous?: string;
  readonly trustProxy?: string;
  readonly messageTtlDays?: string;
  readonly attachmentTtlDays?: string;
  readonly maxAttachmentMb?: string;
  readonly webRoot?: string;
  readonly store?: string;
  readonly bus?: string;
  readonly ktKeys?: string;
  readonly ktOrigin?: string;
  readonly busPrefix?: string;
}

export const envNames: Record<keyof ServeEnv, string> = {
  host: 'GHOSTPROOF_HOST',
  port: 'GHOSTPROOF_PORT',
  data: 'GHOSTPROOF_DATA',
  origin: 'GHOSTPROOF_ORIGIN',
  tlsCert: 'GHOSTPROOF_TLS_CERT',
  tlsKey: 'GHOSTPROOF_TLS_KEY',
  logLevel: 'GHOSTPROOF_LOG_LEVEL',
  inviteRequired: 'GHOSTPROOF_INVITE_REQUIRED',
  inviteCodes: 'GHOSTPROOF_INVITE_CODES',
  metricsToken: 'GHOSTPROOF_METRICS_TOKEN',
  sqliteSynchronous: 'GHOSTPROOF_SQLITE_SYNCHRONOUS',
  trustProxy: 'GHOSTPROOF_TRUST_PROXY',
  messageTtlDays: 'GHOSTPROOF_MESSAGE_TTL_DAYS',
  attachmentTtlDays: 'GHOSTPROOF_ATTACHMENT_TTL_DAYS',
  maxAttachmentMb: 'GHOSTPROOF_MAX_ATTACHMENT_MB',
  webRoot: 'GHOSTPROOF_WEB_ROOT',
  store: 'GHOSTPROOF_STORE',
  bus: 'GHOSTPROOF_BUS',
  ktKeys: 'GHOSTPROOF_KT_KEYS',
  ktOrigin: 'GHOSTPROOF_KT_ORIGIN',
  busPrefix: 'GHOSTPROOF_BUS_PREFIX',
};

export function readServeEnv(env: NodeJS.ProcessEnv): ServeEnv {
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(envNames)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/** What the client commands (everything but `serve`) take from the environment. */
export interface ClientEnv {
  readonly server?: string;
  readonly profile?: string;
  /** Prints stack traces of unexpected errors. */
  readonly debug?: string;
  /**
   * Tests only: the process kills itself with SIGKILL at this point of `send`
   * ("before-send": the message is in the outbox, not yet on the wire; "after-accepted": the
   * server accepted it, the outbox entry is not yet removed).
   */
  readonly unsafeTestKillAt?: string;
}

export const clientEnvNames: Record<keyof ClientEnv, string> = {
  server: 'GHOSTPROOF_SERVER',
  profile: 'GHOSTPROOF_PROFILE',
  debug: 'GHOSTPROOF_DEBUG',
  unsafeTestKillAt: 'GHOSTPROOF_UNSAFE_TEST_KILL_AT',
};

export function readClientEnv(env: NodeJS.ProcessEnv): ClientEnv {
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(clientEnvNames)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}
