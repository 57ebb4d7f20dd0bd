/**
 * @ghostproof/api: the contract between Ghostproof clients and servers — the one table of
 * error codes, the HTTP routes and WebSocket frames (Protocol Buffers, schema in
 * proto/ghostproof/api/v1/api.proto), the structures devices sign (sign-in, device list,
 * account deletion), username rules, default limits, and the size-bounded MLS parsers the
 * server needs to sequence and route ciphertext. Pure: it runs in Node and browsers and
 * holds no cryptography; callers pass in their own hash and signature verification.
 */
export { ApiError, apiErrorCodes, apiErrorTable, isApiErrorCode, type ApiErrorCode } from './errors.js';
export { ByteReader, ByteWriter } from './binary.js';
export { fromBase64Url, toBase64Url } from './encoding.js';
export {
  canonicalUsername,
  registrableUsername,
  reservedUsernames,
  usernameSkeleton,
  USERNAME_MAX_LENGTH,
  USERNAME_MIN_LENGTH,
} from './username.js';
export {
  decodeDeviceList,
  decodeSignedDeviceList,
  deviceListSignatureInput,
  encodeDeviceList,
  encodeSignedDeviceList,
  verifySignedDeviceList,
  DEVICE_LIST_FORMAT,
  ED25519_KEY_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  MAX_DEVICE_LIST_BYTES,
  MAX_DEVICES,
  type Device,
  type DeviceList,
  type SignedDeviceList,
} from './device-list.js';
export {
  accountDeletionSignatureInput,
  checkOrigin,
  signInSignatureInput,
  ACCOUNT_DELETION_LABEL,
  NONCE_LENGTH,
  SIGN_IN_LABEL,
  type AccountDeletionFields,
  type SignInFields,
} from './signatures.js';
export {
  ATTACHMENT_ID_LENGTH,
  ATTACHMENT_TOKEN_LENGTH,
  CLIENT_ID_LENGTH,
  defaultLimits,
  FRAME_OVERHEAD_BYTES,
  KiB,
  MESSAGE_ID_LENGTH,
  MiB,
  SESSION_TOKEN_LENGTH,
  type Limits,
} from './limits.js';
export {
  ContentType,
  CredentialType,
  defaultMlsParseLimits,
  keyPackageRef,
  keyPackageSignatureInput,
  mlsSignContent,
  mlsVectors,
  MLS_VERSION_10,
  parseKeyPackage,
  parseWelcome,
  readMlsMessageHeader,
  refHashInput,
  refHashOf,
  WireFormat,
  type ContentTypeId,
  type Digest,
  type MlsMessageHeader,
  type MlsParseLimits,
  type ParsedKeyPackage,
  type ParsedWelcome,
  type RefHashName,
  type WireFormatId,
} from './mls.js';
export {
  encodeKeyPackage,
  encodePrivateMessage,
  encodeWelcome,
  type KeyPackageFields,
  type PrivateMessageFields,
  type WelcomeFields,
} from './mls-encode.js';
export {
  checkMailbox,
  decodeClientFrame,
  decodeServerFrame,
  encodeAcceptedFrame,
  encodeClientFrame,
  encodeDeliveryFrame,
  encodeServerFrame,
  errorFrame,
  errorFromBody,
  unsafeTestingEncodeClientFrame,
  validateClientFrame,
  type FrameLimits,
} from './frames.js';
export {
  API_VERSION,
  CAPABILITY_HEADER,
  ERROR_CODE_HEADER,
  everyRouteErrors,
  PROTOBUF_CONTENT_TYPE,
  routeErrors,
  routeList,
  routes,
  WEBSOCKET_PATH,
  type EveryRouteError,
  type Route,
  type RouteAuth,
  type RouteErrorCode,
  type RouteName,
} from './routes.js';
export {
  attachmentIdParam,
  countParam,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  matchRoute,
  pathExists,
  pathFor,
  usernameParam,
} from './route-codec.js';
export { renderRouteTable, ROUTE_TABLE_END, ROUTE_TABLE_START, withRouteTable } from './route-docs.js';
export * from './gen/ghostproof/api/v1/api_pb.js';
/** Types for working with the generated schemas without depending on @bufbuild/protobuf. */
export type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
