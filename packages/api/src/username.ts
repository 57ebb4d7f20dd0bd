// Usernames: what is allowed, and the "skeleton" under which two names count as the same.
// Names are case-folded to [a-z0-9._-]{3,32}; lookalikes (0 and o; 1, l and i) are folded in
// the skeleton so that "a1ice" cannot impersonate "alice"; some names are reserved.
import { ApiError } from './errors.js';

export const USERNAME_MIN_LENGTH = 3;
export const USERNAME_MAX_LENGTH = 32;
const allowed = /^[a-z0-9._-]+$/;

/** Names nobody may register: the service's own voices and what people would mistake for them. */
export const reservedUsernames: readonly string[] = [
  'admin',
  'administrator',
  'root',
  'support',
  'security',
  'help',
  'ghostproof',
  'official',
  'system',
  'server',
  'moderator',
  'staff',
  'abuse',
  'postmaster',
  'noreply',
];

/** The canonical (case-folded) form of a username, or ApiError('invalid-username'). */
export function canonicalUsername(raw: string): string {
  if (typeof raw !== 'string' || raw.length > USERNAME_MAX_LENGTH * 4) {
    throw new ApiError('invalid-username', 'username: not a string of reasonable length');
  }
  const name = raw.normalize('NFKC').toLowerCase();
  if (name.length < USERNAME_MIN_LENGTH || name.length > USERNAME_MAX_LENGTH || !allowed.test(name)) {
    throw new ApiError(
      'invalid-username',
      `username: ${USERNAME_MIN_LENGTH} to ${USERNAME_MAX_LENGTH} characters of a-z, 0-9, ".", "_" and "-"`,
    );
  }
  return name;
}

/** The form under which names are unique: lookalikes and separators folded. */
export function usernameSkeleton(canonical: string): string {
  return canonical.replace(/0/g, 'o').replace(/[1i]/g, 'l').replace(/[._-]/g, '');
}

/** Canonical form of a name that may be registered; throws for invalid and reserved names. */
export function registrableUsername(raw: string): string {
  const name = canonicalUsername(raw);
  const skeleton = usernameSkeleton(name);
  if (reservedUsernames.some((reserved) => usernameSkeleton(reserved) === skeleton)) {
    throw new ApiError('reserved-username', 'username: reserved');
  }
  return name;
}
