// The MLS messages and deserialization vectors: wire syntax only, no ciphersuite, so every
// vector runs. Each field decodes as its structure with no byte left over and re-encodes to
// the same bytes; each variable-length header decodes to its length and is what we write for
// it. Negative controls: a field cut short by one byte does not decode, one with a bit flipped
// in its first byte does not decode back to the original, and a header with a bit flipped
// decodes to another length.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkMessages,
  checkVlbytesHeader,
  messageFields,
  reencodeMessageField,
  type DeserializationVector,
  type MessagesVector,
} from './helpers/mls-protocol-vectors.js';
import { hex, loadVectorFile } from './helpers/mls-vectors.js';

function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 1;
  return out;
}

describe('MLS messages vectors', () => {
  const vectors = loadVectorFile<MessagesVector[]>('mls/messages.json');

  it('has no ciphersuite: runs all 300 vectors, each with every field FORMAT.md lists', () => {
    assert.equal(vectors.length, 300);
    for (const vector of vectors) assert.deepEqual(Object.keys(vector).sort(), [...messageFields].sort());
  });

  it('decodes every field of every vector and re-encodes it to the same bytes', () => {
    for (const [i, vector] of vectors.entries()) {
      try {
        checkMessages(vector);
      } catch (err) {
        throw new Error(`messages vector ${i} failed`, { cause: err });
      }
    }
  });

  it('refuses every field cut short by one byte', () => {
    for (const vector of vectors) {
      for (const field of messageFields) {
        const bytes = hex(vector[field]);
        assert.throws(() => reencodeMessageField(field, bytes.subarray(0, -1)), `${field} cut short`);
      }
    }
  });

  it('does not decode a field with a bit flipped in its first byte back to the original', () => {
    for (const vector of vectors) {
      for (const field of messageFields) {
        const original = hex(vector[field]);
        let reencoded: Uint8Array | undefined;
        try {
          reencoded = reencodeMessageField(field, flipBit(original, 0));
        } catch {
          continue; // does not decode: the corruption is caught
        }
        assert.notDeepEqual(reencoded, original, `${field} with a flipped bit`);
      }
    }
  });
});

describe('MLS deserialization vectors', () => {
  const vectors = loadVectorFile<DeserializationVector[]>('mls/deserialization.json');

  it('has no ciphersuite: runs all 14 vectors', () => {
    assert.equal(vectors.length, 14);
  });

  it('decodes every variable-length header to its length and writes the same header for it', () => {
    for (const vector of vectors) checkVlbytesHeader(vector);
  });

  it('fails every vector whose header has one bit flipped', () => {
    for (const vector of vectors) {
      const header = hex(vector.vlbytes_header);
      const corrupted = Buffer.from(flipBit(header, header.length - 1)).toString('hex');
      assert.throws(
        () => checkVlbytesHeader({ ...vector, vlbytes_header: corrupted }),
        vector.vlbytes_header,
      );
    }
  });
});
