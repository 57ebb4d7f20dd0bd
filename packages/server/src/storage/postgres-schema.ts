// The PostgreSQL schema, versioned like the SQLite one: `schema_version` holds the version
// the schema is at, and each migration moves it up by one inside a transaction that holds
// an advisory lock, so nodes starting together migrate once. Same rules as SQLite: secrets
// only as SHA-256 hashes, message bodies kept until acknowledged or expired. Times are
// milliseconds since 1970 (BIGINT); message positions come from one sequence shared by all
// nodes.

export const POSTGRES_SCHEMA_VERSION = 3;

/** Key of the advisory lock taken while migrating (any constant unique to Ghostproof). */
export const MIGRATION_LOCK = 0x67686f73;

export const postgresMigrations: readonly string[] = [
  // 0 → 1
  `
  CREATE TABLE accounts (
    id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    skeleton TEXT NOT NULL UNIQUE,
    identity_key BYTEA NOT NULL,
    sequence BIGINT NOT NULL,
    device_list BYTEA NOT NULL,
    max_device_id INTEGER NOT NULL,
    logged_sequence BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE username_tombstones (
    skeleton TEXT PRIMARY KEY,
    deleted_at BIGINT NOT NULL
  );
  CREATE TABLE devices (
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    signature_key BYTEA NOT NULL,
    PRIMARY KEY (account_id, device_id)
  );
  CREATE TABLE account_updates (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL,
    version BIGINT NOT NULL,
    device_list BYTEA,
    at BIGINT NOT NULL,
    UNIQUE (username, version)
  );
  CREATE TABLE invites (
    code_hash BYTEA PRIMARY KEY,
    uses_left INTEGER NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX sessions_by_device ON sessions (account_id, device_id);
  CREATE INDEX sessions_by_expiry ON sessions (expires_at);
  CREATE TABLE key_packages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    ref BYTEA NOT NULL UNIQUE,
    body BYTEA NOT NULL,
    last_resort BOOLEAN NOT NULL,
    not_after BIGINT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX key_packages_by_device ON key_packages (account_id, device_id, last_resort, id);
  CREATE INDEX key_packages_by_expiry ON key_packages (not_after);
  CREATE TABLE key_package_claims (
    ref BYTEA PRIMARY KEY,
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    claimed_by INTEGER NOT NULL,
    claimed_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX claims_by_device ON key_package_claims (account_id, device_id);
  CREATE INDEX claims_by_expiry ON key_package_claims (expires_at);
  CREATE TABLE groups (
    id BYTEA PRIMARY KEY,
    epoch BIGINT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE group_members (
    group_id BYTEA NOT NULL,
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    PRIMARY KEY (group_id, account_id, device_id)
  );
  CREATE INDEX members_by_device ON group_members (account_id, device_id);
  CREATE SEQUENCE message_seq;
  CREATE TABLE messages (
    seq BIGINT PRIMARY KEY,
    kind SMALLINT NOT NULL,
    body BYTEA NOT NULL,
    received_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    remaining INTEGER NOT NULL,
    tag BYTEA NOT NULL
  );
  CREATE INDEX messages_by_expiry ON messages (expires_at);
  CREATE TABLE mailbox_entries (
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    message_seq BIGINT NOT NULL,
    PRIMARY KEY (account_id, device_id, message_seq)
  );
  CREATE INDEX entries_by_message ON mailbox_entries (message_seq);
  CREATE TABLE sends (
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    client_id BYTEA NOT NULL,
    content_hash BYTEA NOT NULL,
    message_id BYTEA NOT NULL,
    epoch BIGINT NOT NULL,
    accepted_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, device_id, client_id)
  );
  CREATE INDEX sends_by_expiry ON sends (expires_at);
  CREATE TABLE attachments (
    id BYTEA PRIMARY KEY,
    token_hash BYTEA NOT NULL,
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX attachments_by_expiry ON attachments (expires_at);
  `,
  // 1 → 2: sign-in challenges shared by the nodes (a challenge from one node is answered
  // at another), the accounts key transparency's writer must still log, indexed, and which
  // account updates the shared log's writer has logged (on upgrade, none: it logs them all).
  `
  CREATE TABLE challenges (
    nonce_hash BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
  );
  CREATE INDEX challenges_by_expiry ON challenges (expires_at);
  CREATE INDEX accounts_awaiting_log ON accounts (id) WHERE logged_sequence < sequence;
  ALTER TABLE account_updates ADD COLUMN kt_logged BOOLEAN NOT NULL DEFAULT false;
  CREATE INDEX account_updates_unlogged ON account_updates (seq) WHERE NOT kt_logged;
  `,
  // 2 → 3: a claim records the claiming device, not only its account, and a package handed
  // out to several claimers (the last-resort one) keeps one claim per claiming device: a
  // Welcome is routed only through claims the committing device made itself. Claims made
  // before keep their rows, with no claiming device: they still refuse a second upload of
  // their package until they expire, and route no Welcome (their claimer claims again).
  `
  ALTER TABLE key_package_claims ADD COLUMN claimed_by_device INTEGER;
  ALTER TABLE key_package_claims DROP CONSTRAINT key_package_claims_pkey;
  ALTER TABLE key_package_claims
    ADD CONSTRAINT claims_by_claimer UNIQUE (ref, claimed_by, claimed_by_device);
  `,
];
