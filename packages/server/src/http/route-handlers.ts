// The handlers of the routes of @ghostproof/api, thin: the body arrives decoded and checked,
// a handler makes declared calls and encodes the answer. Each is typed with its route, so
// it can produce only the codes the route declares (route-call.ts says how); errors become
// responses in handler.ts, never here.
import {
  AttachmentUploadedSchema,
  CAPABILITY_HEADER,
  ChallengeSchema,
  ClaimKeyPackagesResponseSchema,
  DeleteAccountResponseSchema,
  DeviceListResponseSchema,
  encodeResponse,
  KeyPackageCountSchema,
  KtCheckpointResponseSchema,
  KtKeysResponseSchema,
  KtProofResponseSchema,
  RegisterResponseSchema,
  ServerInfoSchema,
  SignInResponseSchema,
  UpdateDeviceListResponseSchema,
} from '@ghostproof/api';
import type { DeclaredCalls } from './declared-calls.js';
import { sendProtobuf } from './io.js';
import type { RouteHandlers } from './route-call.js';

export function createRouteHandlers(calls: DeclaredCalls): RouteHandlers {
  return {
    async serverInfo({ res, fail }) {
      sendProtobuf(res, 200, encodeResponse(ServerInfoSchema, calls.serverInfo(fail)));
    },
    async register({ body, address, res, fail }) {
      const account = await calls.register(fail, body.signedDeviceList, body.inviteCode, address);
      sendProtobuf(
        res,
        200,
        encodeResponse(RegisterResponseSchema, { username: account.username, sequence: 1n }),
      );
    },
    async challenge({ req, res, address, fail }) {
      await calls.emptyBody(fail, req);
      const { serverNonce, expiresAt } = await calls.challenge(fail, address);
      sendProtobuf(
        res,
        200,
        encodeResponse(ChallengeSchema, { serverNonce, expiresAtMs: BigInt(expiresAt) }),
      );
    },
    async signIn({ body, address, res, fail }) {
      const { token, expiresAt, session } = await calls.signIn(fail, body, address);
      sendProtobuf(
        res,
        200,
        encodeResponse(SignInResponseSchema, {
          sessionToken: token,
          expiresAtMs: BigInt(expiresAt),
          mailbox: { username: session.username, deviceId: session.deviceId },
        }),
      );
    },
    async getDeviceList({ params, session, res, fail }) {
      const username = calls.usernameParam(fail, params.username!);
      const signedDeviceList = await calls.deviceList(fail, session!, username);
      sendProtobuf(res, 200, encodeResponse(DeviceListResponseSchema, { signedDeviceList }));
    },
    async updateDeviceList({ body, session, res, fail }) {
      const account = await calls.updateDeviceList(fail, session!, body.signedDeviceList);
      sendProtobuf(res, 200, encodeResponse(UpdateDeviceListResponseSchema, { sequence: account.sequence }));
    },
    async deleteAccount({ body, session, res, fail }) {
      await calls.deleteAccount(fail, session!, body.signature);
      sendProtobuf(res, 200, encodeResponse(DeleteAccountResponseSchema, {}));
    },
    async uploadKeyPackages({ body, session, res, fail }) {
      const lastResort = body.lastResort.length > 0 ? body.lastResort : undefined;
      const count = await calls.uploadKeyPackages(fail, session!, body.oneTime, lastResort);
      sendProtobuf(res, 200, encodeResponse(KeyPackageCountSchema, count));
    },
    async countKeyPackages({ session, res, fail }) {
      const count = await calls.countKeyPackages(fail, session!);
      sendProtobuf(res, 200, encodeResponse(KeyPackageCountSchema, count));
    },
    async claimKeyPackages({ body, session, res, fail }) {
      const claimed = await calls.claimKeyPackages(fail, session!, body.username, body.deviceIds);
      sendProtobuf(res, 200, encodeResponse(ClaimKeyPackagesResponseSchema, claimed));
    },
    async uploadAttachment({ req, session, res, fail }) {
      const uploaded = await calls.uploadAttachment(fail, session!, req);
      sendProtobuf(
        res,
        200,
        encodeResponse(AttachmentUploadedSchema, {
          id: uploaded.id,
          token: uploaded.token,
          size: BigInt(uploaded.size),
          expiresAtMs: BigInt(uploaded.expiresAt),
        }),
      );
    },
    async downloadAttachment({ req, params, address, res, fail }) {
      const id = calls.attachmentIdParam(fail, params.id!);
      const capability = req.headers[CAPABILITY_HEADER];
      const { stream, size } = await calls.openAttachment(
        fail,
        id,
        Array.isArray(capability) ? undefined : capability,
        address,
      );
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
      stream.pipe(res);
      await new Promise<void>((resolve) => {
        res.once('close', () => {
          stream.destroy();
          resolve();
        });
      });
    },
    async ktKeys({ res, fail }) {
      sendProtobuf(res, 200, encodeResponse(KtKeysResponseSchema, calls.ktKeys(fail)));
    },
    async ktCheckpoint({ res, fail }) {
      const note = await calls.ktCheckpoint(fail);
      sendProtobuf(res, 200, encodeResponse(KtCheckpointResponseSchema, { note }));
    },
    async ktLookup({ params, session, res, fail }) {
      const username = calls.usernameParam(fail, params.username!);
      calls.takeLookup(fail, session!);
      const proof = await calls.ktLookup(fail, username);
      sendProtobuf(res, 200, encodeResponse(KtProofResponseSchema, { proof }));
    },
    async ktMonitor({ params, session, res, fail }) {
      const username = calls.usernameParam(fail, params.username!);
      const from = calls.countParam(fail, params.from!, 'version');
      calls.takeLookup(fail, session!);
      const proof = await calls.ktMonitor(fail, username, from);
      sendProtobuf(res, 200, encodeResponse(KtProofResponseSchema, { proof }));
    },
    async ktAudit({ params, res, fail }) {
      const from = calls.countParam(fail, params.from!, 'tree size');
      const to = calls.countParam(fail, params.to!, 'tree size');
      const proof = await calls.ktAudit(fail, from, to);
      sendProtobuf(res, 200, encodeResponse(KtProofResponseSchema, { proof }));
    },
    async ktConsistency({ params, res, fail }) {
      const from = calls.countParam(fail, params.from!, 'tree size');
      const to = calls.countParam(fail, params.to!, 'tree size');
      const proof = await calls.ktConsistency(fail, from, to);
      sendProtobuf(res, 200, encodeResponse(KtProofResponseSchema, { proof }));
    },
  };
}
