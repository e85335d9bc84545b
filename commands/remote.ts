/**
 * What the remote commands share: the Pantahub session built from the global flags
 * (created on first use, so local references never touch `auth.json`), the transfer
 * flags (`-j/--jobs`, `-q/--quiet`) and the per-object result lines.
 *
 * @module
 */

import { PvrError } from "../core/errors.ts";
import type { RemoteOptions } from "../core/remote/pantahub/remote.ts";
import type { PantahubSession } from "../core/remote/pantahub/session.ts";
import type { PantahubCaller } from "../core/remote/pantahub/types.ts";
import type { UploadedObject } from "../core/remote/pantahub/upload.ts";
import type { CliContext } from "./context.ts";
import { transferReporter } from "./progress.ts";
import { commandTransport, pantahubOptions } from "./pantahub.ts";

/** The transfer flags as the command line gives them. */
export interface TransferFlags {
  jobs?: string;
  quiet?: boolean;
}

/** Help text of `-j/--jobs`. */
export const JOBS_HELP = "objects moved at once, 1-256 (default 8; env PVR_JOBS)";

/** Help text of `-q/--quiet`. */
export const QUIET_HELP = "no progress bars and no per-object lines";

/** Parses a `--jobs` value (flag, else `PVR_JOBS`); `USAGE` unless a whole number 1–256. */
export function parseJobs(ctx: CliContext, value: string | undefined): number | undefined {
  const raw = value ?? ctx.env("PVR_JOBS");
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 256) {
    throw new PvrError("USAGE", `--jobs must be a whole number from 1 to 256, not "${raw}"`);
  }
  return n;
}

/**
 * The Pantahub caller of a command: the session of `pantahubOptions` (tokens of
 * `auth.json` or `-a`, prompts on the terminal when there is one), built on first use so
 * that local references never touch `auth.json`.
 */
export function sessionCaller(ctx: CliContext): PantahubCaller {
  let session: PantahubSession | undefined;
  return {
    call(req) {
      session ??= pantahubOptions(ctx).session;
      return session.call(req);
    },
  };
}

/**
 * How signed-URL transfers reach the blob server: the command's transport (see
 * `core/remote/transport.ts`), from `--http-proxy` and `-i/--insecure`.
 */
export function blobTransport(ctx: CliContext): Pick<RemoteOptions, "fetch" | "putBlob"> {
  const t = commandTransport(ctx);
  return { fetch: t.getBlob, putBlob: t.putBlob };
}

/** The remote options of a command: session, `--repo-baseurl`, jobs and progress bars. */
export function remoteOptions(ctx: CliContext, flags: TransferFlags = {}): RemoteOptions {
  const g = ctx.globals();
  return {
    caller: sessionCaller(ctx),
    repoBaseUrl: g.repoBaseUrl,
    jobs: parseJobs(ctx, flags.jobs),
    reporter: transferReporter(ctx.io.stderr, flags.quiet ?? false),
    ...blobTransport(ctx),
  };
}

/**
 * The per-object lines of an upload, on stderr as the Go pvr prints them: `<name> [OK]`
 * for sent and already-present objects, `<name> [LK]` for links; nothing for objects
 * of the baseline. Then one summary line.
 */
export function reportUpload(
  ctx: CliContext,
  objects: readonly UploadedObject[],
  quiet: boolean,
): void {
  if (quiet) return;
  let sent = 0;
  let bytes = 0;
  for (const o of objects) {
    if (o.outcome === "baseline") continue;
    ctx.err(`${o.key.slice(0, 15)} ${o.outcome === "link" ? "[LK]" : "[OK]"}\n`);
    if (o.outcome === "uploaded") {
      sent++;
      bytes += o.size;
    }
  }
  const there = objects.length - sent;
  ctx.err(`Uploaded ${sent} objects (${bytes} bytes); ${there} already on the remote\n`);
}
