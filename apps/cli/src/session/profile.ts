// A profile is one directory holding one account on one server: the SDK's encrypted SQLite
// store (which also records the server URL the account registered on), a lock file while a
// command uses it, and downloads/. Only one ghostproof process uses a profile at a time: two
// would be two connections of one device, each replacing the other at the server.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredIdentity } from '@ghostproof/client';
import { SqliteClientStore } from '@ghostproof/client/node';
import type { ClientSettings } from '../config/client.js';
import { CliError } from '../cli/errors.js';

const LOCK_FILE = 'ghostproof.lock';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the profile's lock file, or explains who holds it. A lock of a dead process is taken over. */
function takeLock(dir: string): () => void {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file);
        } catch {
          // Already gone.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && processAlive(holder)) {
        throw new CliError(
          `the profile ${dir} is in use by another ghostproof process (pid ${holder}); close that first or use --profile`,
        );
      }
      rmSync(file, { force: true }); // Left by a process that was killed.
    }
  }
  throw new CliError(`could not lock the profile ${dir}`);
}

export class Profile {
  private constructor(
    readonly dir: string,
    readonly store: SqliteClientStore,
    private readonly unlock: () => void,
  ) {}

  /**
   * Opens the profile in `settings.profileDir`. `create` allows a new one (register);
   * otherwise it must hold an account. `lock: false` is for commands that only read.
   */
  static open(settings: ClientSettings, options: { create?: boolean; lock?: boolean } = {}): Profile {
    const dir = settings.profileDir;
    if (!options.create && !existsSync(join(dir, 'client.db'))) {
      throw new CliError(
        `no account in the profile ${dir}: run "ghostproof register <username>" first (or pass --profile)`,
      );
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const unlock = options.lock === false ? () => {} : takeLock(dir);
    try {
      return new Profile(dir, SqliteClientStore.open(dir), unlock);
    } catch (error) {
      unlock();
      throw error;
    }
  }

  /** The account, checked against --server: a profile belongs to the server it registered on. */
  async identity(settings: ClientSettings): Promise<StoredIdentity> {
    const identity = await this.store.getIdentity();
    if (!identity) {
      throw new CliError(`no account in the profile ${this.dir}: run "ghostproof register <username>" first`);
    }
    if (settings.serverExplicit && new URL(identity.serverUrl).origin !== settings.serverUrl) {
      throw new CliError(
        `the profile ${this.dir} is an account on ${identity.serverUrl}, not ${settings.serverUrl}; use --profile DIR for an account on another server`,
      );
    }
    return identity;
  }

  get downloads(): string {
    return join(this.dir, 'downloads');
  }

  async close(): Promise<void> {
    try {
      await this.store.close();
    } finally {
      this.unlock();
    }
  }
}
