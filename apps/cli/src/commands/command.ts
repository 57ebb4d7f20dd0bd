// What a subcommand is: a name, a one-line summary for `ghostproof --help`, and a run
// function that returns the exit code. Commands write through `io`, never to the console.
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  /** The terminal for interactive commands (`chat`); absent when there is none. */
  readonly stdin?: NodeJS.ReadableStream;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  run(args: readonly string[], io: CommandIo): Promise<number>;
}
