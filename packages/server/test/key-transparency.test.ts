// Key transparency on a real server: every account update is in the log with a proof a client
// verifies, and `ghostproof audit` (the auditor in @ghostproof/client) catches a server whose
// log history was rewritten, that dropped an entry, or that served a checkpoint inconsistent
// with an earlier one. Each attack runs beside the honest server, where the same audit passes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  encodeResponse,
  KtCheckpointResponseSchema,
  KtKeysResponseSchema,
  KtProofResponseSchema,
  matchRoute,
  PROTOBUF_CONTENT_TYPE,
  routes,
  verifySignedDeviceList,
} from '@ghostproof/api';
import {
  ClientError,
  HttpApi,
  Messenger,
  MemoryClientStore,
  auditLog,
  type AuditState,
} from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';
import { platformPrimitives } from '@ghostproof/crypto';
import {
  formatNoteVerifierKey,
  KtLogOperator,
  MemoryKtStore,
  parseNoteVerifierKey,
  verifyLookupProof,
  verifyMonitorProof,
} from '@ghostproof/kt';
import type { GhostproofServer } from '@ghostproof/server';
import { startTestServer, type TestServer } from '@ghostproof/testkit';

interface Logged {
  username: string;
  signedDeviceList: Uint8Array;
}

/** A log operator with the real server's keys but a history of the attacker's choosing. */
async function forgedOperator(
  dataDir: string,
  origin: string,
  history: readonly Logged[],
): Promise<KtLogOperator> {
  const keys = JSON.parse(readFileSync(join(dataDir, 'kt-keys.json'), 'utf8')) as {
    signingKey: string;
    vrfSecretKey: string;
  };
  const operator = await KtLogOperator.open({
    store: new MemoryKtStore(),
    origin,
    signingKey: new Uint8Array(Buffer.from(keys.signingKey, 'base64')),
    vrfSecretKey: new Uint8Array(Buffer.from(keys.vrfSecretKey, 'base64')),
  });
  for (const entry of history) {
    await operator.append(entry.username, entry.signedDeviceList);
    await operator.publishEpoch();
  }
  return operator;
}

/** Serves an operator's keys, checkpoint and audit proofs over the API routes. */
async function serveLog(operator: KtLogOperator): Promise<{ url: string; server: Server }> {
  const server = createHttpServer((req, res) => {
    void (async () => {
      const matched = matchRoute(req.method ?? '', (req.url ?? '').split('?')[0]!);
      let body: Uint8Array | undefined;
      if (matched?.route.name === 'ktKeys') {
        const keys = operator.publicKeys;
        body = encodeResponse(KtKeysResponseSchema, {
          origin: keys.origin,
          logKey: formatNoteVerifierKey(keys.logKey),
          vrfPublicKey: keys.vrfPublicKey,
        });
      } else if (matched?.route.name === 'ktCheckpoint') {
        body = encodeResponse(KtCheckpointResponseSchema, { note: operator.checkpoint });
      } else if (matched?.route.name === 'ktAudit') {
        const proof = await operator.proveAudit(Number(matched.params.from), Number(matched.params.to));
        body = encodeResponse(KtProofResponseSchema, { proof });
      }
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': PROTOBUF_CONTENT_TYPE }).end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('key transparency on the server', () => {
  let test: TestServer;
  let dataDir: string;
  let server: GhostproofServer;
  let url: string;
  const history: Logged[] = [];
  const people: Messenger[] = [];

  before(async () => {
    test = await startTestServer({ kt: { epochIntervalMs: 60_000 } });
    ({ dataDir, server, url } = test);
    for (const name of ['alice', 'bob', 'carol']) {
      const m = await Messenger.register(
        { serverUrl: url, store: new MemoryClientStore(), createSocket: nodeWebSocket },
        name,
      );
      people.push(m);
      const signed = (await (
        m as unknown as { options: { store: MemoryClientStore } }
      ).options.store.getIdentity())!.signedDeviceList;
      history.push({ username: name, signedDeviceList: signed });
      await server.kt!.publish();
    }
  });

  after(async () => {
    for (const m of people) await m.close();
    await test.stop();
  });

  it('logs every registration: a lookup proof verifies and carries the signed device list', async () => {
    const http = new HttpApi(url);
    const keys = await http.call(routes.ktKeys);
    const anchor = { logKey: parseNoteVerifierKey(keys.logKey), vrfPublicKey: keys.vrfPublicKey };
    const alice = people[0]!;
    const token = await (
      alice as unknown as { sessionToken: (r: boolean) => Promise<Uint8Array> }
    ).sessionToken(false);
    const { proof } = await http.call(routes.ktLookup, { params: { username: 'bob' }, token });
    const result = verifyLookupProof(anchor, 'bob', proof);
    assert.equal(result.version, 1);
    const list = await verifySignedDeviceList(result.value!, (pk, m, s) =>
      platformPrimitives.ed25519.verify(pk, m, s),
    );
    assert.equal(list.username, 'bob');
    // Monitoring: every version of one's own account since the first.
    const monitor = await http.call(routes.ktMonitor, { params: { username: 'alice', from: '0' }, token });
    const { versions } = verifyMonitorProof(anchor, 'alice', undefined, monitor.proof);
    assert.equal(versions.length, 1);
    // A name that was never registered proves absent (version 0).
    const absent = await http.call(routes.ktLookup, { params: { username: 'nobody' }, token });
    assert.equal(verifyLookupProof(anchor, 'nobody', absent.proof).version, 0);
  });

  it('an honest server passes the audit from genesis and again from the saved checkpoint', async () => {
    const http = new HttpApi(url);
    const first = await auditLog(http);
    assert.equal(first.fromSize, 0);
    assert.ok(first.toSize >= 4 && first.updatesVerified >= 3);
    await (people[0] as Messenger).connect();
    await server.kt!.publish();
    const second = await auditLog(http, first.state);
    assert.equal(second.fromSize, first.toSize);
    assert.ok(second.toSize > first.toSize);
  });

  const attacks: [string, (h: readonly Logged[]) => Logged[]][] = [
    [
      'rewrote its history (bob’s first device list replaced)',
      (h) => h.map((e) => (e.username === 'bob' ? { ...e, signedDeviceList: h[2]!.signedDeviceList } : e)),
    ],
    ['dropped an entry (carol’s registration)', (h) => h.filter((e) => e.username !== 'carol')],
    ['served a checkpoint of a forked log (same keys, other order)', (h) => [...h].reverse()],
  ];

  for (const [what, rewrite] of attacks) {
    it(`a server that ${what} fails the audit; the honest one passes`, async () => {
      const honest = await auditLog(new HttpApi(url));
      const state: AuditState = honest.state;
      const forged = await forgedOperator(dataDir, server.kt!.publicKeys.origin, [
        ...rewrite(history),
        // The forged log may even be longer than the one the auditor saw.
        ...history,
        ...history,
      ]);
      const { url: forgedUrl, server: forgedServer } = await serveLog(forged);
      try {
        // Caught as a log that does not extend the one verified before, not as a key change.
        await assert.rejects(
          auditLog(new HttpApi(forgedUrl), state),
          (e) =>
            ClientError.is(e, 'audit-failed') && /not the one verified before|different logs/.test(e.message),
        );
        // Control: the same saved state against the honest server still audits cleanly.
        await auditLog(new HttpApi(url), state);
      } finally {
        forgedServer.close();
      }
    });
  }

  it('a server that swapped its log keys fails the audit', async () => {
    const honest = await auditLog(new HttpApi(url));
    const other = await KtLogOperator.open({
      store: new MemoryKtStore(),
      origin: server.kt!.publicKeys.origin,
      signingKey: platformPrimitives.randomBytes(32),
      vrfSecretKey: platformPrimitives.randomBytes(32),
    });
    const { url: otherUrl, server: otherServer } = await serveLog(other);
    try {
      await assert.rejects(auditLog(new HttpApi(otherUrl), honest.state), (e) =>
        ClientError.is(e, 'audit-failed'),
      );
    } finally {
      otherServer.close();
    }
  });

  it('keeps the log keys in their own file, outside the databases', async () => {
    const keyFile = readFileSync(join(dataDir, 'kt-keys.json'), 'utf8');
    const { signingKey } = JSON.parse(keyFile) as { signingKey: string };
    const secret = Buffer.from(signingKey, 'base64');
    for (const file of ['ghostproof.sqlite', 'kt.sqlite']) {
      assert.equal(readFileSync(join(dataDir, file)).includes(secret), false, file);
    }
  });
});
