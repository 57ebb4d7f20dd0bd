// `ghostproof chat [<user|conversation>]`: the interactive full-screen client. It stays
// online, redraws on every event (messages, receipts, roster changes, typing, connection),
// sends read receipts for what is on screen, and deletes disappearing messages when their
// time comes. Drawn with plain ANSI sequences on the alternate screen; keys read in raw mode.
import { emitKeypressEvents } from 'node:readline';
import { Writable } from 'node:stream';
import type { ConversationInfo, Messenger, StoredMessage } from '@ghostproof/client';
import { defineCommand } from '../cli/define.js';
import { CliError, describeError } from '../cli/errors.js';
import { describeConversation, lookupAccount, resolveConversation, shortId } from '../session/names.js';
import { PrintedMessages } from '../session/printed.js';
import { Session } from '../session/session.js';
import { inputCursor, renderChat, type ChatScreenState } from '../ui/chat-screen.js';
import { describeAlarm, describeRosterEvent, formatTime } from '../ui/format.js';
import { formatBytes, Output } from '../ui/output.js';
import { hasControl } from '../ui/terminal-text.js';
import { formatDuration } from './disappear.js';

const HELP =
  'Enter send · Up/Down or Tab conversation · PgUp/PgDn scroll · /accept /decline /block /quit · Ctrl-C quit';
const TYPING_SHOWN_MS = 8000;

interface Key {
  readonly name?: string;
  readonly ctrl?: boolean;
  readonly meta?: boolean;
  readonly sequence?: string;
}

function messageText(message: StoredMessage): string {
  if (!message.attachment) return message.text + (message.edited ? ' (edited)' : '');
  const file = `[file ${message.attachment.fileName}, ${formatBytes(message.attachment.size)}]`;
  return message.text ? `${file} ${message.text}` : file;
}

class ChatApp {
  private conversations: ConversationInfo[] = [];
  private selected: string | undefined;
  private input = '';
  private scroll = 0;
  private notice = '';
  // The session is online when the app starts; later changes arrive as events.
  private connection = 'online';
  private readonly typing = new Map<string, Map<string, number>>();
  private rendering = false;
  private dirty = false;
  private closed = false;
  private readonly printed: PrintedMessages;
  private finished!: () => void;
  readonly done = new Promise<void>((resolve) => (this.finished = resolve));

  constructor(
    private readonly session: Session,
    private readonly terminal: NodeJS.WriteStream,
    private readonly keyboard: NodeJS.ReadStream,
  ) {
    this.printed = new PrintedMessages(session.profile.store);
  }

  private get messenger(): Messenger {
    return this.session.messenger;
  }

  start(selected: string | undefined): void {
    this.selected = selected;
    const m = this.messenger;
    const redraw = () => this.schedule();
    for (const kind of [
      'message',
      'edit',
      'delete',
      'reaction',
      'receipt',
      'conversation',
      'request',
    ] as const) {
      m.on(kind, redraw);
    }
    m.on('connection', ({ state }) => {
      this.connection = state;
      redraw();
    });
    m.on('roster', ({ conversationId, events }) => {
      this.notify(`${this.nameOf(conversationId)}: ${events.map(describeRosterEvent).join('; ')}`);
    });
    m.on('typing', ({ conversationId, from, started }) => {
      const who = this.typing.get(conversationId) ?? new Map<string, number>();
      if (started) who.set(from.username, Date.now());
      else who.delete(from.username);
      this.typing.set(conversationId, who);
      redraw();
    });
    m.on('alarm', (alarm) => {
      const id = 'conversationId' in alarm ? alarm.conversationId : '';
      this.notify(`ALARM${id ? ` ${this.nameOf(id)}` : ''}: ${describeAlarm(alarm)}`);
    });
    m.on('identity-changed', ({ username }) => {
      this.notify(
        `WARNING: ${username}'s identity key changed; compare safety numbers (ghostproof verify ${username})`,
      );
    });

    this.terminal.write('\x1b[?1049h\x1b[H\x1b[2J');
    this.keyboard.setRawMode(true);
    emitKeypressEvents(this.keyboard);
    this.keyboard.on('keypress', (text: string | undefined, key: Key | undefined) => this.onKey(text, key));
    this.keyboard.resume();
    this.terminal.on('resize', redraw);
    // Timers (disappearing messages, typing indicators) are checked every second.
    const tick = setInterval(redraw, 1000);
    void this.done.then(() => clearInterval(tick));
    this.schedule();
  }

  private nameOf(id: string): string {
    const info = this.conversations.find((c) => c.id === id);
    return info ? describeConversation(info, this.conversations) : shortId(id, this.conversations);
  }

  private notify(text: string): void {
    this.notice = text;
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.rendering) {
      this.dirty = true;
      return;
    }
    this.rendering = true;
    setTimeout(() => {
      void this.render()
        .catch((error: unknown) => {
          this.notice = describeError(error);
        })
        .finally(() => {
          this.rendering = false;
          if (this.dirty) {
            this.dirty = false;
            this.schedule();
          }
        });
    }, 15);
  }

  private async render(): Promise<void> {
    const m = this.messenger;
    this.conversations = (await m.listConversations()).filter((c) => c.status !== 'declined');
    if (!this.selected || !this.conversations.some((c) => c.id === this.selected)) {
      this.selected = this.conversations[0]?.id;
    }
    const info = this.conversations.find((c) => c.id === this.selected);
    let messages: StoredMessage[] = [];
    let memberNames: string[] = [];
    if (info) {
      messages = await m.messages(info.id); // Also deletes what has disappeared.
      memberNames = (await m.members(info.id).catch(() => [])).map((x) => x.username);
      if (info.status === 'active' && info.unread > 0) {
        await m.markRead(info.id).catch(() => undefined);
        info.unread = 0;
      }
      // What is on screen counts as shown: `receive` will not print it again. Files are
      // left for `receive`, which saves them.
      for (const message of messages) {
        if (
          message.sender.username !== m.username &&
          !message.attachment &&
          !(await this.printed.has(message))
        ) {
          await this.printed.mark(message);
        }
      }
    }
    const width = this.terminal.columns || 80;
    const height = this.terminal.rows || 24;
    const state: ChatScreenState = {
      header: `Ghostproof · ${m.username} on ${this.session.serverUrl}`,
      connection: this.connection,
      conversations: this.conversations.map((c) => ({
        id: c.id,
        title: c.kind === 'direct' ? (c.peer ?? '?') : c.name || `group ${shortId(c.id, this.conversations)}`,
        unread: c.id === this.selected ? 0 : c.unread,
        tag: c.status === 'active' ? '' : c.status,
      })),
      selected: this.selected,
      title: info
        ? info.kind === 'direct'
          ? `${info.peer} · 1:1 · ${shortId(info.id, this.conversations)}`
          : `${info.name || 'group'} · ${memberNames.join(', ')} · ${shortId(info.id, this.conversations)}`
        : 'No conversations yet: start one with "ghostproof chat <user>"',
      messages: messages.map((message) => ({
        time: formatTime(message.sentAt),
        sender: message.sender.username,
        mine: message.sender.username === m.username,
        text: messageText(message),
        ...(message.sender.username === m.username ? { state: message.state } : {}),
      })),
      scroll: this.scroll,
      status: this.statusLine(info),
      input: this.input,
      footer: this.notice || HELP,
    };
    const rows = renderChat(state, width, height);
    const cursor = inputCursor(state, width, height);
    this.terminal.write(
      `\x1b[?25l\x1b[H${rows.map((row) => `${row}\x1b[K`).join('\r\n')}\x1b[${cursor.row};${cursor.column}H\x1b[?25h`,
    );
  }

  private statusLine(info: ConversationInfo | undefined): string {
    if (!info) return '';
    if (info.status === 'request') {
      return `Message request${info.peer ? ` from ${info.peer}` : ''}: /accept, /decline or /block`;
    }
    if (info.status === 'left') return 'You are no longer a member of this conversation.';
    const now = Date.now();
    const typing = [...(this.typing.get(info.id) ?? new Map<string, number>()).entries()]
      .filter(([, at]) => now - at < TYPING_SHOWN_MS)
      .map(([who]) => who);
    const parts = [
      typing.length > 0 ? `${typing.join(', ')} typing…` : '',
      info.disappearingSeconds > 0
        ? `messages disappear after ${formatDuration(info.disappearingSeconds)}`
        : '',
      this.scroll > 0 ? `scrolled up ${this.scroll} lines` : '',
    ];
    return parts.filter(Boolean).join(' · ');
  }

  private move(step: number): void {
    if (this.conversations.length === 0) return;
    const index = this.conversations.findIndex((c) => c.id === this.selected);
    const next = (index + step + this.conversations.length) % this.conversations.length;
    this.selected = this.conversations[next]!.id;
    this.scroll = 0;
    this.notice = '';
    this.schedule();
  }

  private onKey(text: string | undefined, key: Key | undefined): void {
    if (key?.ctrl && (key.name === 'c' || key.name === 'd')) return this.quit();
    switch (key?.name) {
      case 'escape':
        return this.quit();
      case 'return':
      case 'enter':
        void this.submit();
        return;
      case 'backspace':
        this.input = [...this.input].slice(0, -1).join('');
        break;
      case 'up':
        return this.move(-1);
      case 'down':
      case 'tab':
        return this.move(1);
      case 'pageup':
        this.scroll += 10;
        break;
      case 'pagedown':
        this.scroll = Math.max(0, this.scroll - 10);
        break;
      default:
        if (key?.ctrl && key.name === 'u') this.input = '';
        else if (text && !key?.ctrl && !key?.meta && !hasControl(text)) this.input += text;
        else return;
    }
    this.schedule();
  }

  private async submit(): Promise<void> {
    const text = this.input.trim();
    this.input = '';
    this.schedule();
    if (!text) return;
    const info = this.conversations.find((c) => c.id === this.selected);
    try {
      if (text === '/quit' || text === '/q') return this.quit();
      if (!info) throw new CliError('no conversation selected');
      if (text === '/accept' || text === '/decline' || text === '/block') {
        if (info.status !== 'request') throw new CliError('this is not a message request');
        if (text === '/accept') await this.messenger.accept(info.id);
        else if (text === '/decline') await this.messenger.decline(info.id);
        else if (info.peer) await this.messenger.block(info.peer);
        else await this.messenger.decline(info.id);
        this.notify(`${text.slice(1)}: done`);
        return;
      }
      if (text.startsWith('/')) throw new CliError(`unknown command ${text.split(' ')[0]}; ${HELP}`);
      if (info.status === 'request') throw new CliError('accept the request first: /accept');
      if (info.status !== 'active') throw new CliError('you are no longer a member of this conversation');
      this.scroll = 0;
      await this.messenger.sendText(info.id, text);
      this.notice = '';
    } catch (error) {
      this.notify(describeError(error));
    }
    this.schedule();
  }

  quit(): void {
    if (this.closed) return;
    this.closed = true;
    this.keyboard.setRawMode(false);
    this.keyboard.pause();
    this.terminal.write('\x1b[?25h\x1b[?1049l');
    this.finished();
  }
}

export const chat = defineCommand({
  name: 'chat',
  summary: 'interactive full-screen chat',
  usage: 'chat [<user|conversation>]',
  description: [
    'Opens the full-screen client: conversations on the left, messages with their delivery state',
    '(sending, sent, delivered, read) on the right, and an input line. Starts a 1:1 with <user>',
    'if there is none. Keys: Enter sends; Up/Down or Tab switch conversation; PgUp/PgDn scroll;',
    '/accept, /decline, /block answer a message request; Ctrl-C or /quit leaves.',
  ].join('\n'),
  minArgs: 0,
  maxArgs: 1,
  async run({ io, settings, args }) {
    const keyboard = io.stdin as NodeJS.ReadStream | undefined;
    const terminal = io.stdout as NodeJS.WriteStream;
    if (!keyboard?.isTTY || !terminal.isTTY) {
      throw new CliError('chat needs a terminal; in scripts use "ghostproof send" and "ghostproof receive"');
    }
    // Alarms and warnings are drawn on the screen by the app, not written over it.
    const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const notes = new Output({ ...io, stderr: discard }, false);
    const session = await Session.online(settings, notes);
    let app: ChatApp | undefined;
    try {
      let selected: string | undefined;
      if (args[0] !== undefined) {
        const resolved = await resolveConversation(session.messenger, args[0]);
        selected =
          resolved.kind === 'conversation'
            ? resolved.info.id
            : await startDirect(session.messenger, resolved.username);
      }
      app = new ChatApp(session, terminal, keyboard);
      app.start(selected);
      const stop = () => app?.quit();
      process.once('SIGTERM', stop);
      process.once('SIGHUP', stop);
      await app.done;
      process.off('SIGTERM', stop);
      process.off('SIGHUP', stop);
    } catch (error) {
      app?.quit();
      await session.close().catch(() => undefined);
      throw error;
    }
    await session.finish();
  },
});

async function startDirect(messenger: Messenger, username: string): Promise<string> {
  if (username === messenger.username) throw new CliError('that is you: name someone else');
  await lookupAccount(messenger, username);
  return messenger.direct(username);
}
