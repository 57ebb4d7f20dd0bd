// The SQLite schema, versioned: `schema_version` holds the version the file is at, and each
// migration moves it up by one inside a transaction. Secrets (session tokens, invite codes,
// attachment capabilities) are stored only as SHA-256 hashes; message bodies are the MLS
// ciphertext as received, kept until every recipient acknowledged it or it expired.

export const SCHEMA_VERSION = 3;

export const migrations: readonly string[] = [
  // 0 → 1
  `
  CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    skeleton TEXT NOT NULL UNIQUE,
    identity_key BLOB NOT NULL,
    sequence INTEGER NOT NULL,
    device_list BLOB NOT NULL,
    max_device_id INTEGER NOT NULL,
    logged_sequence INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  -- Skeletons of deleted accounts: the name and its lookalikes are never registered again.
  CREATE TABLE username_tombstones (
    skeleton TEXT PRIMARY KEY,
    deleted_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE devices (
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    signature_key BLOB NOT NULL,
    PRIMARY KEY (account_id, device_id)
  ) WITHOUT ROWID;
  -- The in-process AccountLog: every accepted account update, in order.
  CREATE TABLE account_updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    version INTEGER NOT NULL,
    device_list BLOB,
    at INTEGER NOT NULL,
    UNIQUE (username, version)
  );
  CREATE TABLE invites (
    code_hash BLOB PRIMARY KEY,
    uses_left INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX sessions_by_device ON sessions (account_id, device_id);
  CREATE INDEX sessions_by_expiry ON sessions (expires_at);
  CREATE TABLE key_packages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    ref BLOB NOT NULL UNIQUE,
    body BLOB NOT NULL,
    last_resort INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX key_packages_by_device ON key_packages (account_id, device_id, last_resort, id);
  CREATE INDEX key_packages_by_expiry ON key_packages (not_after);
  -- Which mailbox each claimed KeyPackageRef belongs to: how a Welcome is routed.
  CREATE TABLE key_package_claims (
    ref BLOB PRIMARY KEY,
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    claimed_by INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX claims_by_device ON key_package_claims (account_id, device_id);
  CREATE INDEX claims_by_expiry ON key_package_claims (expires_at);
  CREATE TABLE groups (
    id BLOB PRIMARY KEY,
    epoch INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  -- The routing list: which mailboxes get the group's messages.
  CREATE TABLE group_members (
    group_id BLOB NOT NULL,
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    PRIMARY KEY (group_id, account_id, device_id)
  ) WITHOUT ROWID;
  CREATE INDEX members_by_device ON group_members (account_id, device_id);
  -- A stored message, once however many mailboxes it goes to. seq is its mailbox position
  -- (allocated in increasing order, never reused: see meta.next_message_seq); remaining
  -- counts the mailbox entries not yet acknowledged.
  CREATE TABLE messages (
    seq INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    body BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    remaining INTEGER NOT NULL,
    -- Random second half of the message id (the first half is seq).
    tag BLOB NOT NULL
  );
  CREATE INDEX messages_by_expiry ON messages (expires_at);
  -- Per-device mailboxes: one row per (recipient device, message), clustered by mailbox.
  CREATE TABLE mailbox_entries (
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    message_seq INTEGER NOT NULL,
    PRIMARY KEY (account_id, device_id, message_seq)
  ) WITHOUT ROWID;
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO meta (key, value) VALUES ('next_message_seq', 1);
  -- Idempotency: the answer given to each (sender, client id), for resends.
  CREATE TABLE sends (
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    client_id BLOB NOT NULL,
    content_hash BLOB NOT NULL,
    message_id BLOB NOT NULL,
    epoch INTEGER NOT NULL,
    accepted_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, device_id, client_id)
  ) WITHOUT ROWID;
  CREATE INDEX sends_by_expiry ON sends (expires_at);
  CREATE TABLE attachments (
    id BLOB PRIMARY KEY,
    token_hash BLOB NOT NULL,
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX attachments_by_expiry ON attachments (expires_at);
  `,
  // 1 → 2: sign-in challenges in the store (any node of several may answer the sign-in),
  // the accounts whose newest version key transparency has not logged yet, indexed, and which
  // account updates a shared key transparency log's writer has logged (several nodes).
  `
  CREATE TABLE challenges (
    nonce_hash BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX challenges_by_expiry ON challenges (expires_at);
  CREATE INDEX accounts_awaiting_log ON accounts (id) WHERE logged_sequence < sequence;
  ALTER TABLE account_updates ADD COLUMN kt_logged INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX account_updates_unlogged ON account_updates (seq) WHERE kt_logged = 0;
  `,
  // 2 → 3: a claim records the claiming device, not only its account, and a package handed
  // out to several claimers (the last-resort one) keeps one claim per claiming device: a
  // Welcome is routed only through claims the committing device made itself. SQLite cannot
  // change a primary key, so the table is rebuilt. Claims made before keep their rows, with
  // no claiming device: they still refuse a second upload of their package until they
  // expire, and route no Welcome (their claimer claims again).
  `
  CREATE TABLE key_package_claims_v3 (
    ref BLOB NOT NULL,
    account_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    claimed_by INTEGER NOT NULL,
    claimed_by_device INTEGER,
    claimed_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (ref, claimed_by, claimed_by_device)
  );
  INSERT INTO key_package_claims_v3 (ref, account_id, device_id, claimed_by, claimed_at, expires_at)
    SELECT ref, account_id, device_id, claimed_by, claimed_at, expires_at FROM key_package_claims;
  DROP TABLE key_package_claims;
  ALTER TABLE key_package_claims_v3 RENAME TO key_package_claims;
  CREATE INDEX claims_by_device ON key_package_claims (account_id, device_id);
  CREATE INDEX claims_by_expiry ON key_package_claims (expires_at);
  `,
];
