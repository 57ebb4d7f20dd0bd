// Deterministic randomness for tests: a seeded xorshift generator, so that every run of the
// randomised tests (trees, fuzzing) checks the same cases and a failure can be replayed.
export function seededRandom(seed: number): (length: number) => Uint8Array {
  let s = seed >>> 0 || 1;
  return (length: number) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = s & 255;
    }
    return out;
  };
}

export function seededInt(seed: number): (max: number) => number {
  const bytes = seededRandom(seed);
  return (max: number) => {
    const b = bytes(4);
    return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % max;
  };
}
