// HTTP calls of the API contract (@ghostproof/api routes), with bodies checked on both ends.
import {
  ApiError,
  CAPABILITY_HEADER,
  decodeResponse,
  encodeRequest,
  ErrorBodySchema,
  errorFromBody,
  pathFor,
  PROTOBUF_CONTENT_TYPE,
  routes,
  toBase64Url,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
  type Route,
} from '@ghostproof/api';
import { fromBinary } from '@bufbuild/protobuf';
import { ClientError } from './errors.js';

export type Fetch = typeof fetch;

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** An API call (not an attachment transfer) that has not completed by then fails as offline. */
export const API_CALL_TIMEOUT_MS = 30_000;

export class HttpApi {
  constructor(
    readonly baseUrl: string,
    // Called through a closure: browsers refuse `fetch` invoked with another `this`.
    private readonly fetchImpl: Fetch = (input, init) => fetch(input, init),
    private readonly callTimeoutMs = API_CALL_TIMEOUT_MS,
  ) {}

  url(path: string): string {
    return new URL(path, this.baseUrl).toString();
  }

  private async fail(response: Response): Promise<never> {
    this.failWith(response.status, new Uint8Array(await response.arrayBuffer()));
  }

  private failWith(status: number, body: Uint8Array): never {
    try {
      throw errorFromBody(fromBinary(ErrorBodySchema, body));
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError('internal', `server answered ${status}`);
    }
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(this.url(path), init);
    } catch (cause) {
      throw new ClientError('offline', 'server unreachable', { cause });
    }
  }

  async call<Req extends DescMessage | null, Res extends DescMessage>(
    route: Route<Req, Res>,
    options: {
      body?: Req extends DescMessage ? MessageInitShape<Req> : never;
      token?: Uint8Array;
      params?: Record<string, string>;
    } = {},
  ): Promise<MessageShape<Res>> {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${toBase64Url(options.token)}`;
    let body: Uint8Array | undefined;
    if (route.request && options.body) {
      body = encodeRequest(
        route as Route<DescMessage, DescMessage | null>,
        options.body as MessageInitShape<DescMessage>,
      );
      headers['content-type'] = PROTOBUF_CONTENT_TYPE;
    }
    // A server that answers slowly or dribbles its body must not hold a caller (a delivery
    // waiting for a key transparency proof) forever: the whole call, body included, is bounded.
    const signal = AbortSignal.timeout(this.callTimeoutMs);
    const response = await this.send(pathFor(route, options.params), {
      method: route.method,
      headers,
      signal,
      ...(body ? { body: body as BodyInit } : {}),
    });
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (cause) {
      throw new ClientError('offline', 'the answer was cut off', { cause });
    }
    if (!response.ok) this.failWith(response.status, bytes);
    return decodeResponse(route.response, bytes, MAX_RESPONSE_BYTES);
  }

  /** Streams an encrypted blob up, reporting progress as the body is read. */
  async uploadBlob(
    blob: Uint8Array,
    token: Uint8Array,
    onProgress?: (sent: number, total: number) => void,
  ): Promise<MessageShape<typeof routes.uploadAttachment.response>> {
    const chunk = 256 * 1024;
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= blob.length) {
          controller.close();
          return;
        }
        const next = blob.subarray(offset, Math.min(blob.length, offset + chunk));
        offset += next.length;
        controller.enqueue(next);
        onProgress?.(offset, blob.length);
      },
    });
    const response = await this.send(pathFor(routes.uploadAttachment), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${toBase64Url(token)}`,
        'content-type': 'application/octet-stream',
        'content-length': String(blob.length),
      },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    if (!response.ok) await this.fail(response);
    return decodeResponse(
      routes.uploadAttachment.response,
      new Uint8Array(await response.arrayBuffer()),
      MAX_RESPONSE_BYTES,
    );
  }

  async downloadBlob(
    id: string,
    capability: string,
    maxBytes: number,
    onProgress?: (received: number, total: number) => void,
  ): Promise<Uint8Array> {
    const response = await this.send(pathFor(routes.downloadAttachment, { id }), {
      method: 'GET',
      headers: { [CAPABILITY_HEADER]: capability },
    });
    if (!response.ok) await this.fail(response);
    const total = Number(response.headers.get('content-length') ?? 0);
    if (total > maxBytes) throw new ApiError('too-large', 'attachment larger than announced');
    const reader = response.body?.getReader();
    if (!reader) return new Uint8Array(await response.arrayBuffer());
    const parts: Uint8Array[] = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
      if (received > maxBytes) throw new ApiError('too-large', 'attachment larger than announced');
      parts.push(value);
      onProgress?.(received, total);
    }
    const out = new Uint8Array(received);
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}
