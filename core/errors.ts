/**
 * The one error type of pvr. Every failure that a user or a calling script can act on
 * is a {@link PvrError} with a machine-readable {@link PvrErrorCode}; callers and tests
 * branch on `code`, never on message text. Low-level errors are kept as `cause`.
 *
 * Messages never contain secrets (tokens, passwords, signed URL query strings).
 *
 * @module
 */

/** Machine-readable error codes. Each maps to one exit code (see {@link exitCodeFor}). */
export type PvrErrorCode =
  /** Bad command-line usage: unknown flag, wrong argument count. */
  | "USAGE"
  /** The directory is not a pvr repository (no `.pvr/json`). */
  | "NOT_A_REPO"
  /** `pvr init` in a directory that already has `.pvr`. */
  | "ALREADY_A_REPO"
  /** A file under `.pvr/` (json, config, new) is not what pvr wrote. */
  | "CORRUPT_REPO"
  /** A tracked `.json` file in the working tree does not parse. */
  | "BAD_JSON"
  /** A state document violates the state rules (non-string value for a blob key, ...). */
  | "BAD_STATE"
  /** A path (state key, tar entry, argument) is absolute, has `..`, or escapes the repo. */
  | "UNSAFE_PATH"
  /** An object is not in the store. */
  | "OBJECT_MISSING"
  /** An object's bytes do not hash to its name. */
  | "OBJECT_CORRUPT"
  /** A tarball is truncated, not a tar, or has entries pvr refuses. */
  | "BAD_ARCHIVE"
  /** A file in the working tree cannot be read as the state needs (dangling symlink, ...). */
  | "BAD_WORKTREE"
  /** Another pvr process holds the repository lock. */
  | "LOCKED"
  /** A reference (URL, path, fragment) cannot be resolved. */
  | "BAD_REFERENCE"
  /** A remote answered with an error or could not be reached. */
  | "REMOTE"
  /** Authentication is needed or was refused. */
  | "AUTH"
  /** `pvr fsck` found problems. */
  | "FSCK"
  /** A needed external program is missing. */
  | "MISSING_TOOL"
  /** Anything else that went wrong while doing the operation. */
  | "FAILED";

/** Options accepted by {@link PvrError}. */
export interface PvrErrorOptions {
  /** The lower-level error this one wraps. */
  cause?: unknown;
  /** A short suggestion shown to the user after the message. */
  hint?: string;
  /** A path the error is about (relative state key or file system path). */
  path?: string;
}

/** The base error of pvr: a message, a machine `code`, an optional `hint` and `cause`. */
export class PvrError extends Error {
  readonly code: PvrErrorCode;
  readonly hint?: string;
  readonly path?: string;
  /**
   * An exit code that replaces the one of {@link EXIT_CODES} for this error (`pvr sig`
   * keeps the Go pvr's codes, which scripts test).
   */
  readonly exitCode?: number;

  constructor(code: PvrErrorCode, message: string, options: PvrErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PvrError";
    this.code = code;
    this.hint = options.hint;
    this.path = options.path;
  }
}

/** A failure with one or more problems listed (fsck, bulk verification). */
export class PvrProblemsError extends PvrError {
  readonly problems: readonly string[];
  constructor(code: PvrErrorCode, message: string, problems: readonly string[]) {
    super(code, message);
    this.problems = problems;
  }
}

/** Exit codes, documented in the README and in `pvr --help`. */
export const EXIT_CODES: Readonly<Record<PvrErrorCode, number>> = {
  FAILED: 1,
  USAGE: 2,
  NOT_A_REPO: 3,
  ALREADY_A_REPO: 3,
  CORRUPT_REPO: 3,
  BAD_JSON: 3,
  BAD_STATE: 3,
  BAD_WORKTREE: 3,
  BAD_ARCHIVE: 3,
  OBJECT_MISSING: 4,
  OBJECT_CORRUPT: 4,
  FSCK: 4,
  UNSAFE_PATH: 5,
  LOCKED: 6,
  BAD_REFERENCE: 7,
  REMOTE: 7,
  AUTH: 8,
  MISSING_TOOL: 9,
};

/** The exit code for an error of any kind (non-pvr errors give 1). */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof PvrError)) return 1;
  return err.exitCode ?? EXIT_CODES[err.code];
}

/** True when `err` is a {@link PvrError} with the given code. */
export function isPvrError(err: unknown, code?: PvrErrorCode): err is PvrError {
  return err instanceof PvrError && (code === undefined || err.code === code);
}

/** Wraps an unknown error as a {@link PvrError} (keeps pvr errors as they are). */
export function asPvrError(err: unknown, code: PvrErrorCode, context: string): PvrError {
  if (err instanceof PvrError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new PvrError(code, `${context}: ${msg}`, { cause: err });
}
