/**
 * What `sig add`, `sig update` and `sig ls` share: the signing and verification key
 * files (given, or the default developer keys, downloaded after asking), the
 * committed state, and writing `_sigs/<name>.json`.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { PvrError } from "../errors.ts";
import type { HttpClient } from "../remote/http.ts";
import type { Prompter } from "../remote/pantahub/prompt.ts";
import { writeFileAtomic } from "../../native/durability.ts";
import {
  DEFAULT_CERTS_URL,
  DEFAULT_KEY_FILES,
  defaultKeyPath,
  DOWNLOAD_QUESTION,
  downloadDefaultKeys,
} from "../sig/defaults.ts";
import { SIG_EXIT, SigError } from "../sig/errors.ts";
import { loadCertificateDers, loadSigningKey, type SigningKey } from "../sig/keys.ts";

/** Options about keys, shared by the signature operations. */
export interface SigKeyOptions {
  /** PEM private key for signing (default `<configDir>/pvs/key.default.pem`). */
  key?: string;
  /**
   * PEM certificate chain for the `x5c` header (default
   * `<configDir>/pvs/x5c.default.pem`); `"no"` means no chain.
   */
  x5c?: string;
  /** Where the default developer keys are downloaded from (default the Go pvr's URL). */
  certsUrl?: string;
  /**
   * Asks before downloading the default keys. Without one, or when it is not
   * interactive, a missing default key file is an error saying how to provide keys.
   */
  prompter?: Prompter;
  /** The HTTP client for the download. */
  http?: HttpClient;
  /** Receives progress lines (the download URL). */
  notice?: (line: string) => void;
}

const YES = /^\s*y(es)?\s*$/i;

/**
 * The path of a key file: `given` when set, else the default file, downloaded (after
 * asking) when it is missing.
 *
 * @throws {SigError} exit 127 when the default is missing and cannot or may not be
 *   downloaded
 */
export async function resolveKeyFile(
  configDir: string,
  which: keyof typeof DEFAULT_KEY_FILES,
  given: string | undefined,
  opts: SigKeyOptions,
  flag: string,
): Promise<string> {
  if (given !== undefined && given !== "") return given;
  const path = defaultKeyPath(configDir, which);
  if (await isFile(path)) return path;
  const hint = `give ${flag}, or put the keys into ${configDir}/pvs/`;
  const prompter = opts.prompter;
  if (prompter === undefined || !prompter.interactive) {
    throw new SigError(
      "FAILED",
      SIG_EXIT.KEY,
      `${path} does not exist and there is no terminal to ask about downloading the default developer keys`,
      { hint },
    );
  }
  const answer = await prompter.input(DOWNLOAD_QUESTION);
  if (!YES.test(answer)) {
    throw new SigError(
      "FAILED",
      SIG_EXIT.KEY,
      `${path} does not exist and downloading the default developer keys was declined`,
      { hint },
    );
  }
  const url = opts.certsUrl || DEFAULT_CERTS_URL;
  opts.notice?.(`Downloading certs from: \n${url}`);
  try {
    await downloadDefaultKeys(configDir, url, opts.http);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new SigError(
      err instanceof PvrError ? err.code : "REMOTE",
      SIG_EXIT.KEY,
      `downloading the default developer keys: ${msg}`,
      { cause: err },
    );
  }
  if (!(await isFile(path))) {
    throw new SigError(
      "FAILED",
      SIG_EXIT.KEY,
      `the downloaded developer keys have no ${DEFAULT_KEY_FILES[which]}`,
      { hint },
    );
  }
  return path;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function readKeyText(path: string, what: string, exit: number): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new SigError("FAILED", exit, `cannot read ${what} ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The signing key and x5c chain of add/update (exit 127 on any key problem). */
export async function loadSigningMaterial(
  configDir: string,
  opts: SigKeyOptions,
): Promise<{ key: SigningKey; x5c: Uint8Array[] | null }> {
  const keyPath = await resolveKeyFile(configDir, "key", opts.key, opts, "--key");
  const x5cPath = opts.x5c === "no"
    ? null
    : await resolveKeyFile(configDir, "x5c", opts.x5c, opts, "--x5c (or --x5c no)");
  const keyText = await readKeyText(keyPath, "signing key", SIG_EXIT.KEY);
  let key: SigningKey;
  try {
    key = loadSigningKey(keyText, keyPath);
  } catch (err) {
    throw new SigError("FAILED", SIG_EXIT.KEY, (err as Error).message, { cause: err });
  }
  let x5c: Uint8Array[] | null = null;
  if (x5cPath !== null) {
    x5c = loadCertificateDers(await readKeyText(x5cPath, "x5c chain", SIG_EXIT.KEY));
  }
  return { key, x5c };
}

/** The posix `path.Join` of two parts, cleaned (as Go's `path.Join`). */
export function joinClean(a: string, b: string): string {
  const out: string[] = [];
  const abs = a.startsWith("/");
  for (const seg of `${a}/${b}`.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!abs) out.push("..");
    } else out.push(seg);
  }
  const s = out.join("/");
  return abs ? "/" + s : s;
}

/** Checks a signature name (`_sigs/<name>.json`): one path segment. */
export function checkSigName(name: string): void {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    throw new PvrError("USAGE", `bad signature name ${JSON.stringify(name)}: one path segment`);
  }
}

/** Writes `<dir>/_sigs/<name>.json` (`_sigs/` 0755, the file 0644, atomically). */
export async function writeSigFile(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const sigDir = `${dir}/_sigs`;
  try {
    const st = await Deno.lstat(sigDir);
    if (!st.isDirectory) {
      throw new PvrError("UNSAFE_PATH", `${sigDir} is not a directory`, { path: "_sigs" });
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    await Deno.mkdir(sigDir, { mode: 0o755 });
  }
  const rel = `_sigs/${name}.json`;
  await writeFileAtomic(`${dir}/${rel}`, bytes, { mode: 0o644 });
  return rel;
}

/**
 * Writes the signatures one command made, one after the other, to `path` (the
 * `--output` file: truncated, mode 0644).
 */
export async function writeSigOutput(path: string, files: readonly Uint8Array[]): Promise<void> {
  await Deno.writeFile(path, concatBytes(files), { mode: 0o644 });
}
