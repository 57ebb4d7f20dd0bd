// The `chat` screen as a pure function of its state: a title bar, the conversation list on
// the left, the selected conversation's messages (own ones with their delivery state) on the
// right, a status line, the input line and a line of key help or the latest notice. The
// caller draws the returned rows with plain ANSI sequences.
import { displayWidth, fit, sanitize, truncate, wrap } from './terminal-text.js';

export interface ChatConversationRow {
  readonly id: string;
  readonly title: string;
  readonly unread: number;
  /** 'request', 'left', ... shown as a tag; '' for an active conversation. */
  readonly tag: string;
}

export interface ChatMessageRow {
  readonly time: string;
  readonly sender: string;
  readonly mine: boolean;
  readonly text: string;
  /** For own messages: sending, sent, delivered or read. */
  readonly state?: string;
}

export interface ChatScreenState {
  readonly header: string;
  readonly connection: string;
  readonly conversations: readonly ChatConversationRow[];
  readonly selected: string | undefined;
  readonly title: string;
  readonly messages: readonly ChatMessageRow[];
  /** Lines scrolled up from the newest message. */
  readonly scroll: number;
  readonly status: string;
  readonly input: string;
  readonly footer: string;
}

const REVERSE = '\x1b[7m';
const BOLD = '\x1b[1m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

function messageLines(message: ChatMessageRow, width: number): string[] {
  const who = message.mine ? 'you' : sanitize(message.sender);
  const state = message.mine && message.state ? `  [${message.state}]` : '';
  const prefix = `${message.time} ${who}: `;
  return wrap(`${prefix}${sanitize(message.text)}${state}`, width);
}

/** The rows of the screen (each exactly `width` columns of text, plus styling). */
export function renderChat(state: ChatScreenState, width: number, height: number): string[] {
  const rows: string[] = [];
  const listWidth = Math.max(16, Math.min(30, Math.floor(width / 4)));
  const paneWidth = Math.max(10, width - listWidth - 3);
  const bodyHeight = Math.max(3, height - 5);

  const connection = ` ${state.connection} `;
  rows.push(`${REVERSE}${fit(` ${state.header}`, width - displayWidth(connection))}${connection}${RESET}`);

  // Left: conversations. Right: title, then messages bottom-aligned.
  const left: string[] = [];
  for (const c of state.conversations) {
    const marker = c.id === state.selected ? '>' : ' ';
    const unread = c.unread > 0 ? ` ${c.unread}` : '';
    const tag = c.tag ? ` [${c.tag}]` : '';
    const text = `${marker} ${truncate(sanitize(c.title), listWidth - 2 - unread.length - tag.length)}${tag}`;
    const line = fit(text, listWidth - unread.length) + unread;
    left.push(c.id === state.selected ? `${BOLD}${line}${RESET}` : line);
  }
  const all: string[] = [];
  for (const message of state.messages) {
    all.push(...messageLines(message, paneWidth));
  }
  const visible = bodyHeight - 1;
  const end = Math.max(0, all.length - state.scroll);
  const shown = all.slice(Math.max(0, end - visible), end);
  const right = [
    `${BOLD}${fit(sanitize(state.title), paneWidth)}${RESET}`,
    ...Array<string>(Math.max(0, visible - shown.length)).fill(''),
    ...shown,
  ];
  for (let i = 0; i < bodyHeight; i++) {
    const l = left[i] ?? ' '.repeat(listWidth);
    const r = right[i] ?? '';
    rows.push(`${l} ${DIM}│${RESET} ${r.includes('\x1b') ? r : fit(r, paneWidth)}`);
  }
  rows.push(`${DIM}${'─'.repeat(width)}${RESET}`);
  rows.push(fit(sanitize(state.status), width));
  const prompt = '> ';
  const input = sanitize(state.input);
  // Keep the end of a long input visible.
  let shownInput = input;
  while (displayWidth(prompt + shownInput) > width - 1) shownInput = shownInput.slice(1);
  rows.push(fit(prompt + shownInput, width));
  rows.push(`${DIM}${fit(sanitize(state.footer), width)}${RESET}`);
  return rows.slice(0, height);
}

/** Where the cursor goes: the end of the input line (1-based row and column). */
export function inputCursor(
  state: ChatScreenState,
  width: number,
  height: number,
): { row: number; column: number } {
  let shown = sanitize(state.input);
  while (displayWidth(`> ${shown}`) > width - 1) shown = shown.slice(1);
  return { row: Math.min(height, Math.max(3, height - 5) + 4), column: displayWidth(`> ${shown}`) + 1 };
}
