/**
 * The error of `pvr sig`: a {@link PvrError} that also carries the exit code the Go
 * pvr gives for the same failure (11, 12, 13, 123, 125, 126, 127). Scripts around the
 * Go tool check those numbers, so the signature commands keep them.
 *
 * @module
 */

import { PvrError, type PvrErrorCode, type PvrErrorOptions } from "../errors.ts";

/** The Go pvr's exit codes of the signature commands. */
export const SIG_EXIT = {
  /** `sig ls`: the `--pubkey` path cannot be read. */
  PUBKEY_ACCESS: 11,
  /** `sig ls`: the `--pubkey` path is not a file. */
  PUBKEY_NOT_FILE: 12,
  /** `sig ls`: a signature does not verify (or cannot be checked). */
  VERIFY: 13,
  /** `sig update`: a bad pattern. */
  BAD_PATTERN: 123,
  /** `sig ls`: a named signature file does not exist. */
  NO_SIG_FILE: 125,
  /** `sig update`: signing failed. */
  SIGN: 126,
  /** `sig add`/`update`/`ls`: key problems (missing, unreadable, unsupported). */
  KEY: 127,
} as const;

/** A signature failure with the Go pvr's exit code in {@link SigError.exitCode}. */
export class SigError extends PvrError {
  /** The Go pvr's exit code for this failure (see {@link SIG_EXIT}). */
  override readonly exitCode: number;

  constructor(
    code: PvrErrorCode,
    exitCode: number,
    message: string,
    options: PvrErrorOptions = {},
  ) {
    super(code, message, options);
    this.name = "SigError";
    this.exitCode = exitCode;
  }
}

/** Wraps any error as a {@link SigError} (a SigError is kept as it is). */
export function asSigError(
  err: unknown,
  code: PvrErrorCode,
  exitCode: number,
  context?: string,
): SigError {
  if (err instanceof SigError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const pvr = err instanceof PvrError ? err : undefined;
  return new SigError(pvr?.code ?? code, exitCode, context ? `${context}: ${msg}` : msg, {
    cause: err,
    hint: pvr?.hint,
    path: pvr?.path,
  });
}
