// A route's requests and answers: matching a path to a route, decoding and checking a body
// before any handler sees it (size first, then schema, then the route's rules), encoding
// both ways, and reading path parameters strictly. Clients run the same checks before
// sending.
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import { fromBase64Url } from './encoding.js';
import { ApiError } from './errors.js';
import { ATTACHMENT_ID_LENGTH, defaultLimits, type Limits } from './limits.js';
import { routeList, type Route } from './routes.js';
import { canonicalUsername } from './username.js';

const compiled = routeList.map((r) => ({
  route: r,
  segments: r.path.split('/'),
}));

/** The route a request is for, with its path parameters; undefined when none matches. */
export function matchRoute(
  method: string,
  pathname: string,
): { route: Route; params: Record<string, string> } | undefined {
  const parts = pathname.split('/');
  for (const { route: r, segments } of compiled) {
    if (segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const segment = segments[i]!;
      const part = parts[i]!;
      if (segment.startsWith('{')) {
        if (part.length === 0 || part.length > 128) ok = false;
        else params[segment.slice(1, -1)] = part;
      } else if (segment !== part) ok = false;
    }
    if (ok && r.method === method) return { route: r, params };
  }
  return undefined;
}

/** True when some route has this path under another method (for 405 rather than 404). */
export function pathExists(pathname: string): boolean {
  return ['GET', 'POST', 'PUT'].some((method) => matchRoute(method, pathname) !== undefined);
}

/** Decodes and checks a request body for a route. */
export function decodeRequest<Req extends DescMessage>(
  r: Route<Req, DescMessage | null>,
  body: Uint8Array,
  limits: Limits = defaultLimits,
): MessageShape<Req> {
  const max = r.maxRequestBytes(limits);
  if (body.length > max) throw new ApiError('too-large', `request body: over ${max} bytes`);
  let message: MessageShape<Req>;
  try {
    message = fromBinary(r.request, body, { readUnknownFields: false });
  } catch (cause) {
    throw new ApiError('malformed', `request body: not a ${r.request.typeName}`, { cause });
  }
  r.validate?.(message as never, limits);
  return message;
}

/** Encodes a request body for a route, running its checks first (for clients). */
export function encodeRequest<Req extends DescMessage>(
  r: Route<Req, DescMessage | null>,
  init: MessageInitShape<Req>,
  limits: Limits = defaultLimits,
): Uint8Array {
  const message = create(r.request, init);
  r.validate?.(message as never, limits);
  const bytes = toBinary(r.request, message);
  const max = r.maxRequestBytes(limits);
  if (bytes.length > max) throw new ApiError('too-large', `request body: over ${max} bytes`);
  return bytes;
}

export function encodeResponse<Res extends DescMessage>(
  schema: Res,
  init: MessageInitShape<Res>,
): Uint8Array {
  return toBinary(schema, create(schema, init));
}

/** Decodes a response body (for clients), bounded by `maxBytes`. */
export function decodeResponse<Res extends DescMessage>(
  schema: Res,
  body: Uint8Array,
  maxBytes: number,
): MessageShape<Res> {
  if (body.length > maxBytes) throw new ApiError('too-large', `response body: over ${maxBytes} bytes`);
  try {
    return fromBinary(schema, body, { readUnknownFields: false });
  } catch (cause) {
    throw new ApiError('malformed', `response body: not a ${schema.typeName}`, { cause });
  }
}

/** A path parameter that names an account: its canonical form. */
export function usernameParam(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch (cause) {
    throw new ApiError('invalid-username', 'username: bad escape', { cause });
  }
  return canonicalUsername(decoded);
}

/** A path parameter that names an attachment: base64url of 16 bytes. */
export function attachmentIdParam(raw: string): Uint8Array {
  const id = fromBase64Url(raw, 'attachment id', ATTACHMENT_ID_LENGTH);
  if (id.length !== ATTACHMENT_ID_LENGTH) throw new ApiError('malformed', 'attachment id: wrong length');
  return id;
}

/** Fills a path template: pathFor(routes.downloadAttachment, { id }). */
export function pathFor(r: Route, params: Record<string, string> = {}): string {
  return r.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new ApiError('malformed', `path: missing parameter ${name}`);
    return encodeURIComponent(value);
  });
}

/** A non-negative integer path parameter (a version or a tree size). */
export function countParam(raw: string, what = 'number'): number {
  if (!/^(0|[1-9][0-9]{0,14})$/.test(raw)) throw new ApiError('malformed', `${what}: not a whole number`);
  return Number(raw);
}
