/**
 * @ghostproof/api: the contract between Ghostproof clients and servers — the one table of
 * error codes, the account's signed device list, username rules, and (with the server) the
 * frames, routes and size-bounded parsers. Pure: it runs in Node and browsers and holds no
 * cryptography; callers pass in their own verification.
 */
export { ApiError, apiErrorCodes, type ApiErrorCode } from './errors.js';
export { ByteReader, ByteWriter } from './binary.js';
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
