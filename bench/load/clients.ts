// The load clients: RawClient for the raw relay baseline ([u32 recipient][payload] frames),
// OursClient for a Ghostproof server (an authenticated WebSocket session). Every payload is
// PAYLOAD_BYTES and carries its sender and send time, so one clock measures send to delivery.
import { WebSocket } from 'ws';
import {
  ContentType,
  DeliveryKind,
  decodeServerFrame,
  encodeClientFrame,
  encodePrivateMessage,
  type ClientFrameSchema,
  type MessageInitShape,
} from '@ghostproof/api';

export const PAYLOAD_BYTES = 200;

// The last 16 bytes of every payload: sender index (u32), spare (u32), send time (f64, ms).

function stamp(buffer: Uint8Array, sender: number, at: number): void {
  const view = new DataView(buffer.buffer, buffer.byteOffset + buffer.length - 16, 16);
  view.setUint32(0, sender);
  view.setFloat64(8, at);
}

function readStamp(buffer: Uint8Array): { sender: number; at: number } {
  const view = new DataView(buffer.buffer, buffer.byteOffset + buffer.length - 16, 16);
  return { sender: view.getUint32(0), at: view.getFloat64(8) };
}

export type OnDelivery = (sender: number, sentAt: number) => void;

export interface LoadClient {
  /** Sends one payload to a random recipient, stamped with the send time. */
  send(at: number): void;
  close(): void;
}

export class RawClient implements LoadClient {
  private constructor(
    private readonly ws: WebSocket,
    private readonly index: number,
    private readonly peers: number,
  ) {}

  /** Client `index` of `peers`, all on one relay; it sends to a random one of the others. */
  static async connect(
    port: number,
    index: number,
    peers: number,
    onDelivery: OnDelivery,
  ): Promise<RawClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?id=${index}`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (data: Buffer) => {
      const { sender, at } = readStamp(data);
      onDelivery(sender, at);
    });
    return new RawClient(ws, index, peers);
  }

  send(at: number): void {
    let to = Math.floor(Math.random() * (this.peers - 1));
    if (to >= this.index) to++;
    const frame = new Uint8Array(4 + PAYLOAD_BYTES);
    new DataView(frame.buffer).setUint32(0, to);
    stamp(frame, this.index, at);
    this.ws.send(frame);
  }

  close(): void {
    this.ws.close();
  }
}

export class OursClient implements LoadClient {
  /** Message templates, one per conversation (group id, epoch 1, 200 bytes in all). */
  readonly conversations: Uint8Array[] = [];
  private nextRequest = 1;
  private readonly waiting = new Map<number, (ok: boolean) => void>();
  private acks: Uint8Array[] = [];
  private ackScheduled = false;
  errors = 0;

  private constructor(
    readonly ws: WebSocket,
    readonly index: number,
    private onDelivery: OnDelivery,
  ) {
    ws.on('message', (data: Buffer) => {
      const frame = decodeServerFrame(data);
      if (frame.body.case === 'delivery') {
        const delivery = frame.body.value;
        this.queueAck(delivery.messageId);
        if (delivery.kind === DeliveryKind.MESSAGE) {
          const { sender, at } = readStamp(delivery.message);
          this.onDelivery(sender, at);
        }
      } else if (frame.body.case === 'response') {
        const { requestId, result } = frame.body.value;
        if (result.case === 'error') this.errors++;
        const resolve = this.waiting.get(requestId);
        if (resolve) {
          this.waiting.delete(requestId);
          resolve(result.case !== 'error');
        }
      }
    });
  }

  static async connect(
    port: number,
    index: number,
    token: Uint8Array,
    onDelivery: OnDelivery,
  ): Promise<OursClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const client = new OursClient(ws, index, onDelivery);
    if (!(await client.request({ case: 'authenticate', value: { sessionToken: token } }))) {
      throw new Error('not authenticated');
    }
    return client;
  }

  setOnDelivery(onDelivery: OnDelivery): void {
    this.onDelivery = onDelivery;
  }

  request(body: NonNullable<MessageInitShape<typeof ClientFrameSchema>['body']>): Promise<boolean> {
    const requestId = this.nextRequest++;
    const done = new Promise<boolean>((resolve) => this.waiting.set(requestId, resolve));
    this.ws.send(encodeClientFrame({ requestId, body }));
    return done;
  }

  /** Acks go out once per event-loop turn, as a real client would batch them. */
  private queueAck(id: Uint8Array): void {
    this.acks.push(id);
    if (!this.ackScheduled) {
      this.ackScheduled = true;
      setImmediate(() => this.flushAcks());
    }
  }

  private flushAcks(): void {
    this.ackScheduled = false;
    while (this.acks.length > 0 && this.ws.readyState === WebSocket.OPEN) {
      const messageIds = this.acks.splice(0, 1000);
      this.ws.send(
        encodeClientFrame({ requestId: this.nextRequest++, body: { case: 'ack', value: { messageIds } } }),
      );
    }
  }

  send(at: number): void {
    const template = this.conversations[Math.floor(Math.random() * this.conversations.length)]!;
    const message = template.slice();
    stamp(message, this.index, at);
    const requestId = this.nextRequest++;
    this.ws.send(
      encodeClientFrame({
        requestId,
        body: {
          case: 'sendMessage',
          value: { clientId: crypto.getRandomValues(new Uint8Array(16)), message },
        },
      }),
    );
  }

  close(): void {
    this.ws.close();
  }
}

export function messageTemplate(groupId: Uint8Array): Uint8Array {
  const empty = encodePrivateMessage({
    groupId,
    epoch: 1n,
    contentType: ContentType.Application,
    encryptedSenderData: crypto.getRandomValues(new Uint8Array(32)),
    ciphertext: new Uint8Array(0),
  });
  // Fill the ciphertext so that the whole MLSMessage is PAYLOAD_BYTES (one-byte length prefix).
  const ciphertextLength = PAYLOAD_BYTES - empty.length;
  return encodePrivateMessage({
    groupId,
    epoch: 1n,
    contentType: ContentType.Application,
    encryptedSenderData: crypto.getRandomValues(new Uint8Array(32)),
    ciphertext: crypto.getRandomValues(new Uint8Array(ciphertextLength)),
  });
}
