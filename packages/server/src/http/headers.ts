// Security headers on every response, and the placeholder page served at `/` until the web
// client exists. The API answers only Protocol Buffers and blobs, so its policy forbids
// everything; the page gets a strict policy that allows only itself.
import type { ServerResponse } from 'node:http';

const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function setSecurityHeaders(res: ServerResponse, options: { page: boolean; tls: boolean }): void {
  res.setHeader('Content-Security-Policy', options.page ? PAGE_CSP : API_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), interest-cohort=()');
  res.setHeader('Cache-Control', 'no-store');
  if (options.tls) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
}

/** The page at `/`: says plainly that the web client is not built yet. */
export const placeholderPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ghostproof server</title>
</head>
<body>
<h1>Ghostproof server</h1>
<p>This server is running. The web client is not built yet, so there is nothing to use in a
browser here for now.</p>
<p>The server relays end-to-end encrypted messages only: it cannot read them. Clients speak
the API described in <code>docs/api.md</code> of the Ghostproof repository. Health:
<a href="/health">/health</a>.</p>
</body>
</html>
`;
