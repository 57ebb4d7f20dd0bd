// A mistake in how a command was called (unknown flag, bad value, missing argument): the
// message names what was wrong, and the command exits 2. Its own module so that the client
// commands need not load the server's configuration.
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
