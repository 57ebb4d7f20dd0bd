// Text from other people on a terminal: control characters (and with them ANSI escape
// sequences, which could rewrite the screen or the clipboard) are replaced before anything
// is printed, and widths are measured in terminal columns (wide East Asian characters and
// most emoji take two, combining marks none).

/** Replaces C0/C1 control characters (ESC included) with U+FFFD; newlines and tabs become spaces unless kept. */
export function sanitize(text: string, keepNewlines = false): string {
  return (
    text
      .replace(/\r\n?/g, '\n')
      .replace(/\t/g, ' ')
      // Matching control characters is the point here.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? (keepNewlines ? c : ' ') : '\ufffd'))
  );
}

/** True if `text` holds a control character (a key that is not text). */
export function hasControl(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(text);
}

function charWidth(codePoint: number): number {
  if (codePoint === 0) return 0;
  // Combining marks and zero-width characters.
  if (
    (codePoint >= 0x0300 && codePoint <= 0x036f) ||
    (codePoint >= 0x200b && codePoint <= 0x200f) ||
    (codePoint >= 0xfe00 && codePoint <= 0xfe0f) ||
    (codePoint >= 0x20d0 && codePoint <= 0x20ff)
  ) {
    return 0;
  }
  if (
    (codePoint >= 0x1100 && codePoint <= 0x115f) ||
    (codePoint >= 0x2e80 && codePoint <= 0xa4cf) ||
    (codePoint >= 0xac00 && codePoint <= 0xd7a3) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0xfe30 && codePoint <= 0xfe4f) ||
    (codePoint >= 0xff00 && codePoint <= 0xff60) ||
    (codePoint >= 0xffe0 && codePoint <= 0xffe6) ||
    (codePoint >= 0x1f300 && codePoint <= 0x1faff) ||
    (codePoint >= 0x20000 && codePoint <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char.codePointAt(0)!);
  return width;
}

/** Cuts `text` to at most `width` columns. */
export function truncate(text: string, width: number): string {
  let out = '';
  let used = 0;
  for (const char of text) {
    const w = charWidth(char.codePointAt(0)!);
    if (used + w > width) break;
    out += char;
    used += w;
  }
  return out;
}

/** `text` cut or padded with spaces to exactly `width` columns. */
export function fit(text: string, width: number): string {
  const cut = truncate(text, width);
  return cut + ' '.repeat(Math.max(0, width - displayWidth(cut)));
}

/** Word-wraps one line of text to `width` columns; long words are broken. */
export function wrap(text: string, width: number): string[] {
  if (width <= 0) return [];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    let rest = word;
    while (displayWidth(rest) > width) {
      if (line) {
        lines.push(line);
        line = '';
      }
      const head = truncate(rest, width);
      lines.push(head);
      rest = rest.slice(head.length);
    }
    const candidate = line ? `${line} ${rest}` : rest;
    if (displayWidth(candidate) > width) {
      lines.push(line);
      line = rest;
    } else {
      line = candidate;
    }
  }
  lines.push(line);
  return lines;
}
