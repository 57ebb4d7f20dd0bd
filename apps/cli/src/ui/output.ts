// Everything a command prints goes through Output: human-readable lines by default, or with
// --json one JSON object per line on stdout. Notes (hints, warnings) go to stderr in both
// modes so that stdout stays parseable; progress bars appear only on a terminal.
import type { CommandIo } from '../commands/command.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as Partial<NodeJS.WriteStream>).isTTY === true;
}

export class Output {
  constructor(
    private readonly io: CommandIo,
    readonly json: boolean,
  ) {}

  /** One result: the object with --json, the text otherwise. */
  result(object: Record<string, JsonValue>, human: string): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(object)}\n`);
    else this.io.stdout.write(`${human}\n`);
  }

  /** Human output only (headings, blank lines). */
  text(human: string): void {
    if (!this.json) this.io.stdout.write(`${human}\n`);
  }

  /** A hint or warning on stderr. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  /** A progress bar on stderr when it is a terminal and output is for people; otherwise nothing. */
  progress(label: string): Progress {
    if (this.json || !isTerminal(this.io.stderr)) return { update() {}, done() {} };
    return new TerminalProgress(this.io.stderr, label, (this.io.stderr as NodeJS.WriteStream).columns || 80);
  }
}

export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** One line of a progress bar, e.g. `upload big.bin [#####-----]  50%  5.0 MiB / 10 MiB`. */
export function renderProgress(label: string, done: number, total: number, columns: number): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const tail = ` ${percent}  ${formatBytes(done)} / ${formatBytes(total)}`;
  const barWidth = Math.max(10, Math.min(40, columns - label.length - tail.length - 4));
  const filled = Math.round(fraction * barWidth);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`;
}

class TerminalProgress implements Progress {
  private last = 0;
  private shown = false;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly label: string,
    private readonly columns: number,
  ) {}

  update(done: number, total: number): void {
    const now = Date.now();
    if (now - this.last < 100 && done < total) return;
    this.last = now;
    this.shown = true;
    this.stream.write(`\r\x1b[2K${renderProgress(this.label, done, total, this.columns)}`);
  }

  done(): void {
    if (this.shown) this.stream.write('\n');
  }
}
