/**
 * `pvr sig update`: re-sign existing pvs@2 signatures with the current key and x5c,
 * keeping each one's match rule (spec §10.4).
 *
 * @module
 */

import { isJsonObject } from "../model/json_value.ts";
import { compareCodePoints } from "../model/canonical.ts";
import { globToRegExp } from "../model/glob.ts";
import { createPvs, parsePvs, PVS_SPEC } from "../sig/jws.ts";
import { asSigError, SIG_EXIT, SigError } from "../sig/errors.ts";
import { openRepo, type RepoOptions } from "./common.ts";
import { loadSigningMaterial, type SigKeyOptions, writeSigFile } from "./sig_common.ts";

/** Options for {@link sigUpdate}. */
export interface SigUpdateOptions extends RepoOptions, SigKeyOptions {
  /**
   * Which signatures: `NAME` → `_sigs/NAME.json`, an argument ending in `.json` is a
   * glob over state keys. Default `_sigs/*.json`.
   */
  names?: string[];
  /** Keep the payload (base64url) in the written signatures. */
  withPayload?: boolean;
  /** Told before (`start`) and after (`done`, `error`) each signature. */
  onProgress?: (key: string, phase: "start" | "done" | "error") => void;
}

/** One re-signed signature. */
export interface SigUpdated {
  /** The committed state key of the signature that was re-signed. */
  key: string;
  /** The file written (`_sigs/<name>.json`). */
  path: string;
  /** Its bytes. */
  file: Uint8Array;
}

/** What {@link sigUpdate} re-signed, in key order. */
export interface SigUpdateResult {
  updated: SigUpdated[];
}

/** The update patterns for the arguments (exit 123 for a pattern pvr refuses). */
export function sigUpdatePatterns(names: readonly string[] | undefined): RegExp[] {
  const list = names && names.length > 0
    ? names.map((v) => v.endsWith(".json") ? v : `_sigs/${v}.json`)
    : ["_sigs/*.json"];
  return list.map((p) => {
    if (p.startsWith("/") || p.split("/").includes("..") || p.includes("\0")) {
      throw new SigError("USAGE", SIG_EXIT.BAD_PATTERN, `bad pattern ${JSON.stringify(p)}`);
    }
    return globToRegExp(p);
  });
}

/**
 * Re-signs every committed pvs@2 signature whose key matches: the match rule is read
 * from the working-tree file at that key, the result written to
 * `_sigs/<basename>.json`. Stops at the first failure.
 *
 * Permissions: read, write (`_sigs/`), net (default key download only).
 *
 * @throws {SigError} exit 123 for a bad pattern, 127 for key problems, 126 when a
 *   signature cannot be re-signed
 */
export async function sigUpdate(opts: SigUpdateOptions): Promise<SigUpdateResult> {
  const patterns = sigUpdatePatterns(opts.names);
  const repo = await openRepo(opts);
  const { key, x5c } = await loadSigningMaterial(opts.configDir, opts);
  const keys = [...repo.pristine.keys()].sort(compareCodePoints).filter((k) => {
    const v = repo.pristine.get(k);
    return isJsonObject(v) && v.get("#spec") === PVS_SPEC && patterns.some((re) => re.test(k));
  });
  const updated: SigUpdated[] = [];
  for (const k of keys) {
    opts.onProgress?.(k, "start");
    try {
      const parsed = parsePvs(await Deno.readFile(`${repo.dir}/${k}`), k);
      const name = k.slice(k.lastIndexOf("/") + 1).replace(/\.json$/, "");
      const file = createPvs(repo.pristine, parsed.match, key, x5c, opts.withPayload ?? false)
        .file;
      const path = await writeSigFile(repo.dir, name, file);
      updated.push({ key: k, path, file });
    } catch (err) {
      opts.onProgress?.(k, "error");
      throw asSigError(err, "FAILED", SIG_EXIT.SIGN, `updating ${k}`);
    }
    opts.onProgress?.(k, "done");
  }
  return { updated };
}
