/**
 * The content-addressed object store port.
 *
 * An object is a byte string named by the lowercase hex SHA-256 of its bytes. Two
 * implementations exist: {@link ../store/fs_store.ts} (the real one, a flat directory
 * `objects/<sha>` compatible with the Go pvr) and an in-memory one for unit tests.
 * Both pass the same contract suite (`tests/contract/object_store_contract.ts`).
 *
 * Guarantees every implementation gives:
 * - **Verified writes**: `put*` hashes the bytes as they stream in; when an expected sha
 *   is given and the bytes differ, nothing is stored and `OBJECT_CORRUPT` is thrown.
 * - **Atomic**: an object appears whole or not at all (temp file, fsync, rename); a
 *   crash leaves at most a temp file that no reader ever sees as an object. A write
 *   that fails (the stream errors, the disk is full) leaves no object and no temp file.
 * - **Idempotent, never overwrites**: putting an object that is present with the same
 *   size stores nothing (`stored: false`) — a full re-hash of the stored copy is
 *   `verify`'s job; a present object whose size differs is damaged and is replaced
 *   atomically by the verified new bytes. Concurrent puts of the same object (from
 *   this process or another one) all succeed and leave one intact object.
 * - **Missing objects** raise `OBJECT_MISSING`; damaged ones found on read raise
 *   `OBJECT_CORRUPT` (naming the sha) before the caller can use the bytes: `read`
 *   hashes before returning, `copyTo` removes its destination.
 * - Object ids are accepted in either case and always reported in lowercase; a string
 *   that is not 64 hex characters is never present (`has` false, `read` →
 *   `OBJECT_MISSING`), and as an expected sha of `put*` it is a `FAILED` error.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { isObjectId } from "../model/object_id.ts";

export { isObjectId } from "../model/object_id.ts";

/** Result of storing bytes. */
export interface PutResult {
  /** The object id (lowercase hex sha256 of the bytes). */
  sha: string;
  /** Byte size. */
  size: number;
  /** False when the object was already present (nothing written). */
  stored: boolean;
}

/** What {@link ObjectStore.verify} found. */
export type VerifyResult = "ok" | "missing" | "corrupt";

/** A content-addressed object store. */
export interface ObjectStore {
  /** Where the objects live (a directory for the fs store, `memory:` otherwise). */
  readonly location: string;
  /** True when an object file with this name exists (content not checked). */
  has(sha: string): Promise<boolean>;
  /** Size in bytes, or null when missing. */
  size(sha: string): Promise<number | null>;
  /**
   * Stores bytes from a stream or buffer, hashing as they arrive. When the stream
   * errors, the error is thrown and nothing is stored; when storing fails, the stream
   * is cancelled.
   */
  put(data: ReadableStream<Uint8Array> | Uint8Array, expectedSha?: string): Promise<PutResult>;
  /** Stores a file's bytes (streamed; constant memory). */
  putFile(path: string, expectedSha?: string): Promise<PutResult>;
  /** Reads a whole object, verified. For small objects only. */
  read(sha: string): Promise<Uint8Array>;
  /**
   * Writes object `sha` to the file `dest` (a path outside the store), hashing the
   * bytes while copying, and returns the number of bytes copied.
   *
   * `dest` is created, or replaced when it exists (its old name is unlinked first, never
   * written through: it may be a hardlink to a stored object), with permission bits
   * `mode` (default 0o644, set exactly). On a hash mismatch `dest` is removed and
   * `OBJECT_CORRUPT` is thrown; on any other failure `dest` is removed too.
   *
   * copyTo does not rename: the CALLER chooses a temp `dest` beside the target and
   * renames it into place after copyTo returns.
   */
  copyTo(sha: string, dest: string, mode?: number): Promise<number>;
  /** Hashes the stored bytes and compares them with the name. */
  verify(sha: string): Promise<VerifyResult>;
  /** Every object name in the store (order unspecified). Temp files are not listed. */
  list(): AsyncIterable<string>;
  /** The file path of an object, for stores on a file system (hardlink/reflink). */
  pathOf?(sha: string): string;
}

/**
 * The lowercase object name for `sha`, or null when it is not 64 hex characters.
 * Shared by the implementations.
 */
export function objectName(sha: string): string | null {
  return isObjectId(sha) ? sha.toLowerCase() : null;
}

/** An expected sha given to `put*` must be an object id: `FAILED` otherwise. */
export function requireObjectName(sha: string): string {
  const name = objectName(sha);
  if (name === null) throw new PvrError("FAILED", `not an object id: ${JSON.stringify(sha)}`);
  return name;
}

/** The `OBJECT_MISSING` error of every implementation. */
export function objectMissingError(sha: string, cause?: unknown): PvrError {
  return new PvrError("OBJECT_MISSING", `object ${sha} is not in the object store`, { cause });
}

/** The `OBJECT_CORRUPT` error for a stored object whose bytes do not hash to its name. */
export function objectCorruptError(sha: string): PvrError {
  return new PvrError(
    "OBJECT_CORRUPT",
    `object ${sha} is corrupt: its bytes do not hash to its name`,
  );
}

/** The `OBJECT_CORRUPT` error for bytes given to `put*` that do not match the expected sha. */
export function objectMismatchError(expected: string, actual: string): PvrError {
  return new PvrError("OBJECT_CORRUPT", `object ${expected}: the bytes given hash to ${actual}`);
}
