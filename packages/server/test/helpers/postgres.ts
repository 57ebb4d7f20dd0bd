// A fresh database on the local PostgreSQL for one test file: the test kit's.
export { createTestDatabase, type TestDatabase } from '@ghostproof/testkit/postgres';
