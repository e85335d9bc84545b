/**
 * Building `root.squashfs` with `mksquashfs` (squashfs-tools), without root or fakeroot.
 *
 * The flattened image is streamed as a tar into `mksquashfs - <out> -tar` (supported by
 * the squashfs-tools 4.5.1 of Debian 12): owners, modes (setuid included), hardlinks,
 * symlinks and device nodes come from the tar headers, so nothing is extracted and no
 * privilege is needed. mksquashfs ignores the tar's root entry, so the root directory's
 * attributes are passed with `-root-mode/-root-uid/-root-gid/-root-time`.
 *
 * Reproducible (spec §13.3 items 24, 25): `-noappend` (a stale output is never appended
 * to), `SOURCE_DATE_EPOCH` set to the newest time in the image (it fixes
 * the creation time and the root directory's time, which `-root-time` does not in -tar
 * mode, and changes no file's time), file times taken from the image (so Python's
 * `.pyc` checks and the like keep working), and a tar whose order depends only on the
 * image. The same image gives a
 * byte-identical squashfs. The output is written to `<out>.new` and renamed into place.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { sha256File } from "../store/hash.ts";

/** The default `format_options` (spec §9.2). */
export const DEFAULT_FORMAT_OPTIONS = "-comp xz";

/** The Debian package that provides `mksquashfs`. */
export const MKSQUASHFS_PACKAGE = "squashfs-tools";

/**
 * Finds an executable by name on `pathEnv` (a `PATH` value; default the process's).
 * Returns its path, or null. A name with a `/` is checked as it is.
 */
export async function findExecutable(name: string, pathEnv?: string): Promise<string | null> {
  const candidates = name.includes("/")
    ? [name]
    : (pathEnv ?? Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "").map((d) =>
      `${d}/${name}`
    );
  for (const c of candidates) {
    try {
      const st = await Deno.stat(c);
      if (st.isFile && st.mode !== null && (st.mode & 0o111) !== 0) return c;
    } catch {
      // not there
    }
  }
  return null;
}

/** The `mksquashfs` to run, or a `MISSING_TOOL` error naming the Debian package. */
export async function requireMksquashfs(pathEnv?: string, name = "mksquashfs"): Promise<string> {
  const found = await findExecutable(name, pathEnv);
  if (found === null) {
    throw new PvrError(
      "MISSING_TOOL",
      `mksquashfs not found: install the Debian package ${MKSQUASHFS_PACKAGE}`,
      { hint: `apt-get install ${MKSQUASHFS_PACKAGE}` },
    );
  }
  return found;
}

/** mksquashfs options that set timestamps (they cannot be mixed with SOURCE_DATE_EPOCH). */
const TIME_OPTIONS = new Set(["-all-time", "-mkfs-time", "-fstime", "-root-time"]);

/** Splits `format_options` on whitespace (empty or blank means the default). */
export function splitFormatOptions(options: string | undefined): string[] {
  const text = options === undefined || options.trim() === "" ? DEFAULT_FORMAT_OPTIONS : options;
  return text.trim().split(/\s+/);
}

/** Options of {@link mksquashfsFromTar}. */
export interface MksquashfsFromTarOptions {
  /** The tar stream (uncompressed) of the file system. */
  tar: ReadableStream<Uint8Array>;
  /** Where the squashfs goes (replaced atomically). */
  outPath: string;
  /** mksquashfs options, space separated (default {@link DEFAULT_FORMAT_OPTIONS}). */
  formatOptions?: string;
  /** The root directory's attributes (default 0755, 0:0, time 0). */
  root?: { mode: number; uid: number; gid: number; mtime: number };
  /** `PATH` used to find mksquashfs (default the process's). */
  pathEnv?: string;
  /**
   * `SOURCE_DATE_EPOCH` for mksquashfs: the creation time and the root directory's
   * time; later file times would be clamped to it, so pass the newest time in the tree
   * (default 0). Not used when `formatOptions` set times themselves (`-all-time`, …).
   */
  sourceDateEpoch?: number;
  /** Receives the command line before it runs. */
  onCommand?: (argv: string[]) => void;
}

/** Result of {@link mksquashfsFromTar}. */
export interface MksquashfsResult {
  /** `sha256:<hex>` of the squashfs file. */
  digest: string;
  /** Its size in bytes. */
  size: number;
  /** The arguments given to mksquashfs. */
  argv: string[];
}

/**
 * Runs `mksquashfs - <out>.new -tar …` on `tar`, then renames the result to `outPath`.
 *
 * Needs `--allow-run` (mksquashfs), `--allow-read`/`--allow-write` for `outPath`,
 * `--allow-env` (PATH).
 *
 * @throws {PvrError} `MISSING_TOOL` without mksquashfs; `FAILED` when it fails (its
 *   last lines of stderr in the message); errors of the tar stream as they are
 */
export async function mksquashfsFromTar(opts: MksquashfsFromTarOptions): Promise<MksquashfsResult> {
  const bin = await requireMksquashfs(opts.pathEnv);
  const tmp = `${opts.outPath}.new`;
  await Deno.remove(tmp).catch(() => {});
  const root = opts.root ?? { mode: 0o755, uid: 0, gid: 0, mtime: 0 };
  const extra = splitFormatOptions(opts.formatOptions);
  // In -tar mode mksquashfs ignores -root-time and stamps the root with the current
  // time; SOURCE_DATE_EPOCH clamps it (and the creation time). Set to the newest time in
  // the tree, it changes no file's time. Options that set times themselves exclude it.
  const timeOptions = extra.some((o) => TIME_OPTIONS.has(o));
  const env = Deno.env.toObject();
  delete env.SOURCE_DATE_EPOCH;
  if (!timeOptions) env.SOURCE_DATE_EPOCH = String(Math.max(0, opts.sourceDateEpoch ?? 0));
  const argv = [
    "-",
    tmp,
    "-tar",
    "-noappend",
    "-no-progress",
    "-quiet",
    "-root-mode",
    (root.mode & 0o7777).toString(8),
    "-root-uid",
    String(root.uid),
    "-root-gid",
    String(root.gid),
    ...extra,
  ];
  opts.onCommand?.([bin, ...argv]);
  const child = new Deno.Command(bin, {
    args: argv,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let feedError: unknown = null;
  try {
    await opts.tar.pipeTo(child.stdin);
  } catch (err) {
    feedError = err;
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
  const status = await child.status;
  const errText = await stderr;
  if (feedError !== null) {
    await Deno.remove(tmp).catch(() => {});
    // mksquashfs stopping early shows up as a broken pipe: report its own error then.
    if (status.success || errText.trim() === "" || feedError instanceof PvrError) throw feedError;
  }
  if (!status.success) {
    await Deno.remove(tmp).catch(() => {});
    const tail = errText.trim().split("\n").slice(-5).join("; ");
    throw new PvrError("FAILED", `mksquashfs failed (exit ${status.code}): ${tail}`);
  }
  await Deno.rename(tmp, opts.outPath);
  const { sha, size } = await sha256File(opts.outPath);
  return { digest: `sha256:${sha}`, size, argv };
}
