// Naming conversations on the command line: a 1:1 by the other person's username, any
// conversation by a prefix of its id (at least four hex digits, like git), and "@name" to
// mean a username even when it looks like an id prefix. Ids are shown as the shortest
// prefix, of at least eight digits, that is unique in the profile.
import { canonicalUsername } from '@ghostproof/api';
import { ClientError, type ConversationInfo, type Messenger } from '@ghostproof/client';
import { CliError } from '../cli/errors.js';
import { sanitize } from '../ui/terminal-text.js';

const MIN_PREFIX = 4;
const SHORT_ID = 8;

export function shortId(id: string, all: readonly ConversationInfo[]): string {
  for (let length = SHORT_ID; length < id.length; length++) {
    const prefix = id.slice(0, length);
    if (all.every((c) => c.id === id || !c.id.startsWith(prefix))) return prefix;
  }
  return id;
}

function usernameOf(ref: string): string | undefined {
  try {
    return canonicalUsername(ref.startsWith('@') ? ref.slice(1) : ref);
  } catch {
    return undefined;
  }
}

/** 1:1 conversations with `username`, the most useful first: active, then requests, then the rest. */
function directWith(all: readonly ConversationInfo[], username: string): ConversationInfo | undefined {
  const rank = { active: 0, request: 1, left: 2, declined: 3 } as const;
  return all
    .filter((c) => c.kind === 'direct' && c.peer === username)
    .sort((a, b) => rank[a.status] - rank[b.status] || b.lastActivity - a.lastActivity)[0];
}

export type Resolved =
  | { readonly kind: 'conversation'; readonly info: ConversationInfo }
  /** No conversation yet: a username to start a 1:1 with. */
  | { readonly kind: 'user'; readonly username: string };

export async function resolveConversation(messenger: Messenger, ref: string): Promise<Resolved> {
  const all = await messenger.listConversations();
  const username = usernameOf(ref);
  if (username !== undefined) {
    const direct = directWith(all, username);
    if (direct) return { kind: 'conversation', info: direct };
  }
  if (!ref.startsWith('@') && /^[0-9a-f]+$/i.test(ref) && ref.length >= MIN_PREFIX) {
    const prefix = ref.toLowerCase();
    const matches = all.filter((c) => c.id.startsWith(prefix));
    if (matches.length === 1) return { kind: 'conversation', info: matches[0]! };
    if (matches.length > 1) {
      throw new CliError(
        `"${ref}" matches ${matches.length} conversations (${matches.map((c) => shortId(c.id, all)).join(', ')}): give more digits`,
      );
    }
  }
  if (username !== undefined) return { kind: 'user', username };
  throw new CliError(`no conversation matches "${ref}" (a username, or a prefix of a conversation id)`);
}

/** An existing conversation, or a usage-level explanation of why there is none. */
export async function existingConversation(messenger: Messenger, ref: string): Promise<ConversationInfo> {
  const resolved = await resolveConversation(messenger, ref);
  if (resolved.kind === 'conversation') return resolved.info;
  throw new CliError(`no conversation with "${ref}" yet ("ghostproof conversations" lists them)`);
}

/**
 * What a failed lookup of `username` means to the person: no such account only when the
 * server (with proof) says so; a proof that does not verify is a warning, not "no account";
 * anything else (offline, the server busy) is said as such by describeError.
 */
export function lookupFailure(username: string, error: unknown): Error {
  if (ClientError.is(error, 'unknown-user')) {
    return new CliError(`no account named "${username}" on this server`, { cause: error });
  }
  if (ClientError.is(error, 'identity-changed')) {
    return new CliError(
      `the server could not prove "${username}"'s keys in its key transparency log (possible key substitution): not continuing`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Looks `username` up, failing with what the failure means (lookupFailure). */
export async function lookupAccount(messenger: Messenger, username: string): Promise<void> {
  await messenger.lookup(username).catch((error: unknown) => {
    throw lookupFailure(username, error);
  });
}

/** The conversation to send to: an active one, or a new 1:1 with a username. */
export async function conversationToSend(messenger: Messenger, ref: string): Promise<ConversationInfo> {
  const resolved = await resolveConversation(messenger, ref);
  if (resolved.kind === 'user') {
    if (resolved.username === messenger.username) throw new CliError('that is you: name someone else');
    await lookupAccount(messenger, resolved.username);
    return messenger.conversationInfo(await messenger.direct(resolved.username));
  }
  const info = resolved.info;
  const all = await messenger.listConversations();
  switch (info.status) {
    case 'active':
      return info;
    case 'request':
      throw new CliError(
        `${describeConversation(info, all)} is a message request: accept it first ("ghostproof requests accept ${shortId(info.id, all)}")`,
      );
    case 'declined':
    case 'left':
      if (info.kind === 'direct' && info.peer) {
        // A fresh 1:1 replaces one that was declined or left.
        return messenger.conversationInfo(await messenger.direct(info.peer));
      }
      throw new CliError(`you are no longer a member of ${describeConversation(info, all)}`);
  }
}

/** `bob (3f2a91c0)` for a 1:1, `"Reporters" (9c04e1d2)` for a group. */
export function describeConversation(info: ConversationInfo, all: readonly ConversationInfo[]): string {
  const id = shortId(info.id, all);
  if (info.kind === 'direct') return `${info.peer ?? 'someone'} (${id})`;
  return info.name ? `"${sanitize(info.name)}" (${id})` : `group ${id}`;
}

/** A username argument in its canonical form ("@" allowed in front). */
export function usernameArgument(raw: string): string {
  const name = usernameOf(raw);
  if (name === undefined) throw new CliError(`"${raw}" is not a valid username`);
  return name;
}
