// `ghostproof receive [--wait SECONDS]`: processes what waited in the mailbox, prints every
// message not printed before (once: the profile remembers what it showed), saves received
// files, and with --wait keeps listening. Printing a message counts as reading it: the
// sender gets a read receipt.
import { resolve } from 'node:path';
import type { ConversationInfo, StoredMessage } from '@ghostproof/client';
import { ClientError } from '@ghostproof/client';
import { defineCommand } from '../cli/define.js';
import { describeError } from '../cli/errors.js';
import { UsageError } from '../config/usage-error.js';
import { saveAttachment, type SavedFile } from '../session/attachments.js';
import { shortId } from '../session/names.js';
import { PrintedMessages } from '../session/printed.js';
import { withOnlineSession, type Session } from '../session/session.js';
import { describeRosterEvent, formatTime } from '../ui/format.js';
import { formatBytes, type JsonValue, type Output } from '../ui/output.js';
import { sanitize } from '../ui/terminal-text.js';

const MAX_WAIT_SECONDS = 24 * 3600;

/** Where a message is from: `alice` for a 1:1, `[Reporters 9c04e1d2] alice` in a group. */
function origin(
  info: ConversationInfo | undefined,
  all: readonly ConversationInfo[],
  sender: string,
): string {
  const request = info?.status === 'request' ? ' (message request)' : '';
  if (!info || info.kind === 'direct') return `${sender}${request}`;
  return `[${sanitize(info.name) || 'group'} ${shortId(info.id, all)}]${request} ${sender}`;
}

async function printMessage(
  session: Session,
  out: Output,
  message: StoredMessage,
  downloads: string,
): Promise<boolean> {
  const { messenger } = session;
  const all = await messenger.listConversations();
  const info = all.find((c) => c.id === message.conversationId);
  const sender = message.sender.username;
  let saved: SavedFile | undefined;
  let failure: string | undefined;
  if (message.attachment) {
    try {
      saved = await saveAttachment(messenger, message, downloads, out);
    } catch (error) {
      if (ClientError.is(error, 'offline')) return false; // Tried again next time.
      failure = describeError(error);
    }
  }
  const object: Record<string, JsonValue> = {
    conversation: message.conversationId,
    sender,
    sent_at: new Date(message.sentAt).toISOString(),
    type: message.attachment ? 'attachment' : 'text',
    text: message.text,
    id: message.id,
  };
  if (info?.status === 'request') object.request = true;
  let human = `${formatTime(message.sentAt)} ${origin(info, all, sender)}: `;
  if (message.attachment) {
    const name = message.attachment.fileName;
    object.file_name = name;
    object.size = message.attachment.size;
    object.file = saved ? saved.path : null;
    if (saved) object.sha256 = saved.sha256;
    if (failure) object.error = failure;
    human += `sent a file "${sanitize(name)}" (${formatBytes(message.attachment.size)})`;
    human += saved ? `, saved to ${sanitize(saved.path)}` : `, not saved: ${failure}`;
    if (message.text) human += `\n    ${sanitize(message.text)}`;
  } else {
    human += sanitize(message.text, true).replaceAll('\n', '\n    ');
  }
  out.result(object, human);
  return true;
}

export const receive = defineCommand({
  name: 'receive',
  summary: 'fetch and print new messages (and save received files)',
  usage: 'receive [--wait SECONDS] [--out DIR]',
  description: [
    'Processes what waited on the server, prints each new message once, saves received files',
    '(their digest checked) to the profile’s downloads folder, and sends read receipts.',
    'With --wait, keeps listening for that many seconds (Ctrl-C stops early).',
  ].join('\n'),
  options: {
    wait: { type: 'string', value: 'SECONDS', description: 'keep listening this long' },
    out: {
      type: 'string',
      value: 'DIR',
      description: 'save received files here (default PROFILE/downloads)',
    },
  },
  minArgs: 0,
  maxArgs: 0,
  async run({ settings, out, options }) {
    const waitRaw = typeof options.wait === 'string' ? options.wait : undefined;
    if (waitRaw !== undefined && !/^\d+$/.test(waitRaw)) {
      throw new UsageError(`--wait: expected a whole number of seconds, got "${waitRaw}"`);
    }
    const waitSeconds = Number(waitRaw ?? 0);
    if (waitSeconds > MAX_WAIT_SECONDS) throw new UsageError(`--wait: at most ${MAX_WAIT_SECONDS} seconds`);
    const notices: ((all: readonly ConversationInfo[]) => string[])[] = [];
    await withOnlineSession(
      settings,
      out,
      async (session) => {
        const { messenger } = session;
        const downloads = typeof options.out === 'string' ? resolve(options.out) : session.profile.downloads;
        const printed = new PrintedMessages(session.profile.store);
        let chain = Promise.resolve();
        let failure: Error | undefined;
        const printNew = () => {
          chain = chain
            .then(async () => {
              if (failure !== undefined) return;
              await messenger.idle();
              if (notices.length > 0) {
                const all = await messenger.listConversations();
                for (const notice of notices.splice(0)) for (const line of notice(all)) out.text(line);
              }
              const touched = new Set<string>();
              for (const message of await printed.unprinted(session.identity)) {
                if (await printMessage(session, out, message, downloads)) {
                  await printed.mark(message);
                  touched.add(message.conversationId);
                }
              }
              for (const id of touched) {
                const info = await messenger.conversationInfo(id).catch(() => undefined);
                if (info?.status === 'active' && info.unread > 0) await messenger.markRead(id);
              }
            })
            .catch((error: unknown) => {
              // Reported when the command ends; nothing more is printed.
              failure ??= error instanceof Error ? error : new Error(String(error));
            });
          return chain;
        };
        await printNew();
        if (waitSeconds > 0) {
          // Disappearing messages go when their time comes, not only at the next start.
          const sweep = setInterval(() => {
            void session.profile.store.deleteExpiredMessages(Date.now()).catch(() => undefined);
          }, 1000);
          const stopMessages = messenger.on('message', () => void printNew());
          const stopRoster = messenger.on('roster', () => void printNew());
          await new Promise<void>((done) => {
            const timer = setTimeout(finish, waitSeconds * 1000);
            function finish() {
              clearTimeout(timer);
              process.off('SIGINT', finish);
              process.off('SIGTERM', finish);
              done();
            }
            process.once('SIGINT', finish);
            process.once('SIGTERM', finish);
          });
          clearInterval(sweep);
          stopMessages();
          stopRoster();
          await session.settle(100);
          await printNew();
        }
        await chain;
        if (failure !== undefined) throw failure;
      },
      (session) => {
        const { messenger } = session;
        // Statuses before this run: leaving or declining ends with a commit that "removes"
        // this device, which is no news then.
        const before = messenger.listConversations();
        const groupLabel = (info: ConversationInfo | undefined, all: readonly ConversationInfo[]) =>
          info?.kind === 'group' ? `[${sanitize(info.name) || 'group'} ${shortId(info.id, all)}] ` : '';
        // Roster changes and new conversations, in words (not in --json, whose lines are
        // messages); worded when printed, when a new group's name has arrived too.
        messenger.on('roster', ({ conversationId, events }) => {
          void before
            .then((earlier) => {
              const was = earlier.find((c) => c.id === conversationId)?.status;
              if (was === 'left' || was === 'declined') return;
              notices.push((all) => {
                const info = all.find((c) => c.id === conversationId);
                if (info?.status === 'declined') return [];
                return events.map((event) => `${groupLabel(info, all)}${describeRosterEvent(event)}`);
              });
            })
            .catch(() => undefined);
        });
        // The conversation event also fires for a new name, admins or timer: "added" is said
        // once, and only for a group this profile did not have before this run.
        const announced = new Set<string>();
        const knownBefore = new Set<string>();
        void before.then((list) => list.forEach((c) => knownBefore.add(c.id))).catch(() => undefined);
        messenger.on('conversation', ({ conversation }) => {
          if (conversation.kind !== 'group' || announced.has(conversation.id)) return;
          announced.add(conversation.id);
          notices.push((all) => {
            if (knownBefore.has(conversation.id)) return [];
            const info = all.find((c) => c.id === conversation.id);
            const name = info?.name ? ` "${sanitize(info.name)}"` : '';
            return [`You were added to the group${name} (${shortId(conversation.id, all)})`];
          });
        });
        messenger.on('request', ({ conversation }) => {
          notices.push((all) => {
            const info = all.find((c) => c.id === conversation.id) ?? conversation;
            if (info.status !== 'request') return [];
            const id = shortId(conversation.id, all);
            const what =
              info.kind === 'direct'
                ? `from ${info.peer}`
                : `to the group${info.name ? ` "${sanitize(info.name)}"` : ''}`;
            return [`New message request ${what} (${id}): ghostproof requests accept|decline|block ${id}`];
          });
        });
      },
    );
  },
});
