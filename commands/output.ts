/**
 * The CLI's input/output: where stdout and stderr go (the real streams, or buffers in
 * tests), and the one place errors become text, JSON and exit codes.
 *
 * @module
 */

import { concatBytes } from "../core/bytes.ts";
import { EXIT_CODES, exitCodeFor, PvrError } from "../core/errors.ts";
import { redact } from "../core/remote/http.ts";
import type { Prompter } from "../core/remote/pantahub/prompt.ts";

/** An output stream the CLI writes to. */
export interface OutStream {
  /** Writes text or bytes, completely. */
  write(data: string | Uint8Array): void;
  /** A byte sink for streamed results (export to `-`). */
  writable(): WritableStream<Uint8Array>;
  /** True when the stream is a terminal (progress bars, prompts). */
  readonly isTerminal: boolean;
}

/** Everything the CLI needs from its surroundings. */
export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  /** The environment (PVR_* variables, HOME, NO_COLOR). */
  env: Readonly<Record<string, string | undefined>>;
  /** The working directory: every repository command works on it. */
  cwd: string;
  /** Standard input (import from `-`, prompts). */
  stdin?: ReadableStream<Uint8Array>;
  /** True when standard input is a terminal (prompts need one on stdin and stderr). */
  stdinIsTerminal?: boolean;
  /** Who answers prompts (login, claim challenge); default the terminal when there is one. */
  prompter?: Prompter;
}

const encoder = new TextEncoder();

function denoStream(file: typeof Deno.stdout): OutStream {
  return {
    write(data) {
      let bytes = typeof data === "string" ? encoder.encode(data) : data;
      while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
    },
    writable: () => file.writable,
    isTerminal: file.isTerminal(),
  };
}

/** The process's real stdio. */
export function processIo(): CliIo {
  return {
    stdout: denoStream(Deno.stdout),
    stderr: denoStream(Deno.stderr),
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    stdin: Deno.stdin.readable,
    stdinIsTerminal: Deno.stdin.isTerminal(),
  };
}

/** An in-memory stream that collects what is written (for tests and the library). */
export class BufferStream implements OutStream {
  private chunks: Uint8Array[] = [];
  readonly isTerminal = false;
  write(data: string | Uint8Array): void {
    this.chunks.push(typeof data === "string" ? encoder.encode(data) : data.slice());
  }
  writable(): WritableStream<Uint8Array> {
    return new WritableStream({ write: (chunk) => this.write(chunk) });
  }
  /** Everything written, as bytes. */
  bytes(): Uint8Array {
    return concatBytes(this.chunks);
  }
  /** Everything written, as text. */
  text(): string {
    return new TextDecoder().decode(this.bytes());
  }
}

/** The exit code table, as printed by `pvr --help` and documented in the README. */
export const EXIT_CODE_HELP = `Exit codes:
  0  success
  1  the operation failed
  2  usage error (unknown command or flag, wrong arguments)
  3  not a repository, or damaged input (.pvr/ files, working tree files, states, archives)
  4  an object is missing or damaged (fsck found problems)
  5  unsafe input refused (absolute or ../ paths, links or devices in archives)
  6  another pvr process holds the repository lock
  7  a reference or remote could not be used
  8  authentication needed or refused
  9  a required external program is missing`;

/** Writes `err` to stderr (one line; JSON with `--json`) and returns its exit code. */
export function reportError(io: CliIo, err: unknown, asJson: boolean): number {
  const code = exitCodeFor(err);
  const pvr = err instanceof PvrError ? err : null;
  // The last line of defence: no token or signed URL ever reaches the terminal.
  const message = redact(err instanceof Error ? err.message : String(err))
    .replace(/\s*\n\s*/g, " ");
  if (asJson) {
    io.stderr.write(
      JSON.stringify({
        error: { code: pvr?.code ?? "FAILED", message, hint: pvr?.hint, path: pvr?.path },
      }) + "\n",
    );
  } else {
    io.stderr.write(`ERROR: ${message}${pvr?.hint ? ` (${pvr.hint})` : ""}\n`);
  }
  return code;
}

export { EXIT_CODES };
