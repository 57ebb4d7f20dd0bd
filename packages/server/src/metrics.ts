// Prometheus metrics (prom-client), one registry per server so that several servers in one
// process (tests) do not collide. Labels are route names, frame types, error codes and
// limit names: never anything a user chose.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'ghostproof_' });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: 'ghostproof_http_requests_total',
      help: 'HTTP requests by route and status.',
      labelNames: ['route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'ghostproof_http_request_duration_seconds',
      help: 'HTTP request duration by route.',
      labelNames: ['route'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    wsConnections: new Gauge({
      name: 'ghostproof_ws_connections',
      help: 'Open WebSocket connections.',
      registers,
    }),
    wsFrames: new Counter({
      name: 'ghostproof_ws_frames_total',
      help: 'WebSocket frames received by type.',
      labelNames: ['type'],
      registers,
    }),
    accepted: new Counter({
      name: 'ghostproof_messages_accepted_total',
      help: 'Messages stored and accepted, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    delivered: new Counter({
      name: 'ghostproof_deliveries_total',
      help: 'Deliveries sent to connected devices (including redeliveries).',
      registers,
    }),
    acked: new Counter({
      name: 'ghostproof_acks_total',
      help: 'Mailbox entries deleted after acknowledgement.',
      registers,
    }),
    errors: new Counter({
      name: 'ghostproof_errors_total',
      help: 'Errors answered, by code.',
      labelNames: ['code'],
      registers,
    }),
    rateLimited: new Counter({
      name: 'ghostproof_rate_limited_total',
      help: 'Requests refused by a rate limit, by limit.',
      labelNames: ['limit'],
      registers,
    }),
    storeFlushes: new Histogram({
      name: 'ghostproof_store_flush_seconds',
      help: 'Duration of one group commit.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5],
      registers,
    }),
    storeBatch: new Histogram({
      name: 'ghostproof_store_batch_writes',
      help: 'Writes per group commit.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    attachmentBytes: new Counter({
      name: 'ghostproof_attachment_bytes_total',
      help: 'Bytes of attachments stored.',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
