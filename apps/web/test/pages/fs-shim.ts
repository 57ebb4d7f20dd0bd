// node:fs for the test pages: vector files are loaded in Node and handed to the page, so
// nothing here reads a file.
export function readFileSync(): never {
  throw new Error('the test page reads no files: vectors are passed in by the test');
}
