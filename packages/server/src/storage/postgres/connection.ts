// PostgreSQL: the connection pool, the schema's migration at start, and the error mapping
// shared by the table families: a failure of the database or the connection (not of the
// request) is 'unavailable', and constraint violations keep their SQLSTATE for the batch.
import pg from 'pg';
import { ApiError } from '@ghostproof/api';
import { MIGRATION_LOCK, POSTGRES_SCHEMA_VERSION, postgresMigrations } from '../postgres-schema.js';

/** A pool or a client: what the table families run their statements on. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Errors that are the database's or the connection's, not the request's: try again later. */
export function unavailable(error: unknown): unknown {
  return error instanceof ApiError
    ? error
    : new ApiError('unavailable', 'storage: unavailable', { cause: error });
}

/** The SQLSTATE of a PostgreSQL error. */
export function pgCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/** SQLSTATE of a unique-key violation. */
export const UNIQUE_VIOLATION = '23505';

export const ignore = (): void => {};

// BIGINT columns hold times and sequences below 2^53: read them as numbers.
const INT8_OID = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(
          oid,
          format,
        )) as pg.CustomTypesConfig['getTypeParser'],
};

function quoteIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new TypeError('schema: lowercase letters, digits and _, at most 63');
  }
  return `"${name}"`;
}

/** Connects, creates the schema if needed and migrates it to the current version. */
export async function openPool(options: {
  readonly connectionString: string;
  readonly schema?: string | undefined;
  readonly maxConnections?: number | undefined;
}): Promise<pg.Pool> {
  const schema = options.schema === undefined ? undefined : quoteIdentifier(options.schema);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client that loses its server (a terminated backend) must not crash the process.
  pool.on('error', ignore);
  try {
    await migrate(pool, schema);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return pool;
}

async function migrate(pool: pg.Pool, schema: string | undefined): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = (await client.query<{ version: number }>('SELECT version FROM schema_version')).rows[0];
    let version = row?.version ?? 0;
    if (!row) await client.query('INSERT INTO schema_version (version) VALUES (0)');
    if (version > POSTGRES_SCHEMA_VERSION) {
      throw new Error(`database schema ${version} is newer than this server (${POSTGRES_SCHEMA_VERSION})`);
    }
    while (version < POSTGRES_SCHEMA_VERSION) {
      await client.query(postgresMigrations[version]!);
      version += 1;
      await client.query('UPDATE schema_version SET version = $1', [version]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Reads outside the group commit, through the pool: a lost connection answers 'unavailable'. */
export function poolReads(pool: pg.Pool): Queryable {
  return {
    query: async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
      try {
        return await pool.query<R>(text, values);
      } catch (error) {
        throw unavailable(error);
      }
    },
  };
}
