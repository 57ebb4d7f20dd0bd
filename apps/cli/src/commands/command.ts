// What a subcommand is: a name, a one-line summary for `ghostproof --help`, and a run
// function that returns the exit code. Commands write through `io`, never to the console.
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  run(args: readonly string[], io: CommandIo): Promise<number>;
}
