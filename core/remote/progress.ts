/**
 * The progress port of object transfers (downloads for get/merge/clone/deploy, uploads
 * for post/put/putobjects/device create). The transfer code only ever reports events
 * through a {@link TransferReporter}; the CLI renders them as progress bars on a
 * terminal (`commands/progress.ts`), everything else uses {@link NULL_TRANSFER_REPORTER}.
 *
 * Events of one transfer arrive in this order: {@link TransferReporter.start} once,
 * then for each object that actually moves `objectStart`, any number of
 * `objectProgress`, and one `objectDone` (objects of different workers interleave),
 * then {@link TransferReporter.finish} once — also when the transfer fails. Objects
 * that need no transfer (already in the store, already on the server) get only
 * `objectDone`.
 *
 * @module
 */

/** Which way the bytes move. */
export type TransferDirection = "download" | "upload";

/** What became of one object. */
export type TransferOutcome =
  /** Transferred and verified. */
  | "ok"
  /** Already in the local store (downloads). */
  | "cached"
  /** The server already had it (uploads: 409 `object`, or in the baseline state). */
  | "exists"
  /** The server linked a public object of another owner (uploads: 409 `link`). */
  | "link"
  /** It failed; the transfer fails. */
  | "failed";

/** The totals a transfer starts with. */
export interface TransferTotals {
  direction: TransferDirection;
  /** Objects that may move (not counting those known to be present). */
  objects: number;
  /**
   * Their total size in bytes when known up front (uploads), else 0: a download learns
   * each size from the object's info and reports it with `objectStart`.
   */
  bytes: number;
}

/** One object that starts moving. */
export interface TransferObject {
  /** The object id. */
  sha: string;
  /** A display name: the first state key that references it. */
  name: string;
  /** Its size in bytes, when known. */
  size?: number;
  /** Bytes already in place before this transfer (a resumed download), else 0. */
  from: number;
}

/** Receives the progress of a transfer. Implementations must not throw. */
export interface TransferReporter {
  /** A transfer begins. */
  start(totals: TransferTotals): void;
  /** An object begins to move (called again, with a new `from`, when it restarts). */
  objectStart(object: TransferObject): void;
  /** `done` bytes of object `sha` are in place now (absolute; it may go back on a restart). */
  objectProgress(sha: string, done: number): void;
  /** Object `sha` is finished. */
  objectDone(sha: string, outcome: TransferOutcome): void;
  /** The transfer is over (successfully or not); release terminals and timers. */
  finish(): void;
}

/**
 * A reporter that ignores everything (the default of every transfer).
 *
 * @example
 * ```ts
 * import { get, NULL_TRANSFER_REPORTER } from "./mod.ts";
 * await get({ dir, configDir, ref: url, reporter: NULL_TRANSFER_REPORTER });
 * ```
 */
export const NULL_TRANSFER_REPORTER: TransferReporter = Object.freeze({
  start() {},
  objectStart() {},
  objectProgress() {},
  objectDone() {},
  finish() {},
});
