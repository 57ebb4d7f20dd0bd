// A fresh database on the shared local PostgreSQL (127.0.0.1:5432, trust auth) for one test
// file or server, dropped afterwards; GHOSTPROOF_TEST_POSTGRES points elsewhere.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const ADMIN_URL = process.env.GHOSTPROOF_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** Connection string of the new database. */
  readonly url: string;
  drop(): Promise<void>;
}

async function asAdmin(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `ghostproof_test_${randomBytes(6).toString('hex')}`;
  await asAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => asAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
