// The test kit: what the project's tests share instead of each keeping a copy. A real server
// in one call (startTestServer: SQLite or PostgreSQL, in-process bus or NATS, logs captured),
// people and accounts on it, waits that fail loudly, hex, the ciphersuites every scenario runs
// for, the known-answer vectors, attacks declared with their negative control, and the
// ClientStore contract. Servers, NATS and PostgreSQL in child processes of their own, for the
// tests that kill them, are in './processes' (`@ghostproof/testkit/processes`). Private to the
// repository; lint forbids product code (packages/*/src, apps/*/src) from importing it.
export { registerPerson, messengerOptions } from './people.js';
export { call, expectHttpError, HttpError, TestAccount } from './accounts.js';
export {
  fastKeyTransparency,
  NATS_URL,
  relaxedRates,
  startTestServer,
  type LogLevel,
  type TestServer,
  type TestServerOptions,
} from './server.js';
export { createTestDatabase, type TestDatabase } from './postgres.js';
export { DEFAULT_WAIT_MS, eventually, type Probe } from './wait.js';
export { fromHex, toHex } from './hex.js';
export { ciphersuites, type TestCiphersuite } from './ciphersuites.js';
export { loadVectorFile, vectorsRoot } from './vectors.js';
export {
  clientStoreContract,
  runClientStoreCheck,
  type ClientStoreCheck,
  type OpenClientStore,
} from './client-store-contract.js';
export { describeClientStoreContract } from './describe-client-store-contract.js';
export {
  attacksWithoutControl,
  attackWithControl,
  registeredAttacks,
  type AttackDeclaration,
  type AttackRun,
  type AttackVerdict,
  type RegisteredAttack,
} from './attack.js';
