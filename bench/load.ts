// The load generator that bench:relay and bench:cluster share, so that their figures come
// from the same clients and the same loops. It is written against packages/api only (frames,
// routes, MLS encoders; keys from @ghostproof/crypto) and talks to servers that run as child
// processes (bench/relay-servers.ts), never in this process.
//
// - Clients: RawClient for the raw relay baseline ([u32 recipient][payload] frames),
//   OursClient for a Ghostproof server (an authenticated WebSocket session: sendMessage,
//   deliveries acknowledged once per event-loop turn, as a real client would batch them).
// - Payloads are 200 bytes (for ours: the whole MLS PrivateMessage); their last 16 bytes
//   carry the sender's index and the send time, so one clock measures send to delivery.
// - throughputRound: closed loop, a window of messages in flight per client, delivered msg/s
//   and CPU per delivered message of the processes named by the caller.
// - latencyRun: open loop at a fixed offered rate, send-to-delivery latency.
//
// The pieces live in bench/load/: processes, accounts, clients, conversations, measure.
export { call, createAccount, type Account } from './load/accounts.js';
export { OursClient, PAYLOAD_BYTES, RawClient, type LoadClient, type OnDelivery } from './load/clients.js';
export { setUpConversations, type ConversationSetup } from './load/conversations.js';
export {
  latencyRun,
  throughputRound,
  type LatencyOptions,
  type LatencyResult,
  type ThroughputOptions,
  type ThroughputResult,
} from './load/measure.js';
export {
  cpuSeconds,
  inBatches,
  pidsMatching,
  rssBytes,
  sleep,
  spawnServer,
  type ChildServer,
} from './load/processes.js';
