// A bounded big-endian reader and writer for the project's own binary structures. Every read
// checks the remaining length first and reports a typed error, never a RangeError.
import { ApiError } from './errors.js';

export class ByteWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  u8(value: number): this {
    return this.push(Uint8Array.of(value));
  }

  u16(value: number): this {
    const out = new Uint8Array(2);
    new DataView(out.buffer).setUint16(0, value);
    return this.push(out);
  }

  u32(value: number): this {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value);
    return this.push(out);
  }

  u64(value: bigint): this {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, value);
    return this.push(out);
  }

  bytes(value: Uint8Array): this {
    return this.push(value.slice());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  private push(chunk: Uint8Array): this {
    this.chunks.push(chunk);
    this.length += chunk.length;
    return this;
  }
}

export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly input: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }

  u16(): number {
    this.need(2);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): bigint {
    this.need(8);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return value;
  }

  bytes(length: number): Uint8Array {
    this.need(length);
    const value = this.input.slice(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** Every structure is read whole: trailing bytes are an error, not ignored. */
  end(): void {
    if (this.offset !== this.input.length) throw new ApiError('malformed', `${this.what}: trailing bytes`);
  }

  private need(length: number): void {
    if (this.input.length - this.offset < length) throw new ApiError('malformed', `${this.what}: truncated`);
  }
}
