// fetch for the SDK in browsers. Two things differ from Node: a page's `fetch` must be called
// with the window as `this` (the SDK calls it as a method of its own object), and browsers
// refuse streamed request bodies over HTTP/1.1 (Chromium requires HTTP/2 or QUIC for
// `duplex: 'half'`), which is how the SDK uploads attachments. A streamed body is therefore
// collected and sent with XMLHttpRequest, whose upload events give real network progress.
import type { Fetch } from '../http.js';

export interface BrowserFetchOptions {
  /** Bytes of a request body sent so far, for streamed (attachment) uploads. */
  readonly onUploadProgress?: (sent: number, total: number) => void;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    length += value.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function headersOf(init: RequestInit): [string, string][] {
  const out: [string, string][] = [];
  new Headers(init.headers).forEach((value, name) => out.push([name, value]));
  return out;
}

function parseResponseHeaders(raw: string): Headers {
  const headers = new Headers();
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const at = line.indexOf(':');
    if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return headers;
}

function sendWithXhr(
  url: string,
  init: RequestInit,
  body: Uint8Array,
  onUploadProgress?: (sent: number, total: number) => void,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(init.method ?? 'POST', url);
    xhr.responseType = 'arraybuffer';
    for (const [name, value] of headersOf(init)) {
      // The browser sets the length itself and refuses to be told.
      if (name.toLowerCase() !== 'content-length') xhr.setRequestHeader(name, value);
    }
    if (onUploadProgress) {
      xhr.upload.onprogress = (ev) =>
        onUploadProgress(ev.loaded, ev.lengthComputable ? ev.total : body.length);
    }
    xhr.onload = () => {
      resolve(
        new Response(xhr.status === 204 ? null : (xhr.response as ArrayBuffer), {
          status: xhr.status,
          statusText: xhr.statusText,
          headers: parseResponseHeaders(xhr.getAllResponseHeaders()),
        }),
      );
    };
    xhr.onerror = () => reject(new TypeError('network error'));
    xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
    const signal = init.signal;
    if (signal) {
      if (signal.aborted) {
        reject(new DOMException('aborted', 'AbortError'));
        return;
      }
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(body as unknown as XMLHttpRequestBodyInit);
  });
}

/** A `fetch` for MessengerOptions in a browser. */
export function browserFetch(options: BrowserFetchOptions = {}): Fetch {
  const pageFetch = globalThis.fetch.bind(globalThis);
  return async (input, init = {}) => {
    if (!(init.body instanceof ReadableStream)) return pageFetch(input, init);
    const url = input instanceof Request ? input.url : input.toString();
    const body = await collect(init.body as ReadableStream<Uint8Array>);
    return sendWithXhr(url, init, body, options.onUploadProgress);
  };
}
