/**
 * Repository references (spec §6) and the sources they name.
 *
 * A {@link Source} is anything a state and its objects can be fetched from: a local
 * bare repo directory (`json` + `objects/`, e.g. someone's `.pvr`), a checkout root
 * (its `.pvr` is used — the Go pvr fails there), or an export tarball (verified and
 * staged first). Remote (HTTP) sources implement the same interface.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { parseJson } from "../model/json_parse.ts";
import { isJsonObject } from "../model/json_value.ts";
import { type State, validateState } from "../model/state.ts";
import type { ObjectStore } from "../store/object_store.ts";
import { FsObjectStore } from "../store/fs_store.ts";
import { readExport } from "../archive/import.ts";
import { absolutePath } from "../repo/global_config.ts";

/** A place a state and its objects come from. */
export interface Source {
  /** How the user named it (for messages and `.pvr/config`). */
  readonly label: string;
  /** True for local paths (directories and tarballs), false for remotes. */
  readonly local: boolean;
  /** The source's state (validated). */
  readonly state: State;
  /** Where its objects are. */
  readonly store: ObjectStore;
  /** Releases temp files. */
  close(): Promise<void>;
}

/** A reference split into its base and fragment. */
export interface ParsedRef {
  base: string;
  /** The text after the first `#` ("" when none). */
  fragment: string;
}

/** Splits `ref` at its first `#`. */
export function splitRef(ref: string): ParsedRef {
  const i = ref.indexOf("#");
  return i < 0
    ? { base: ref, fragment: "" }
    : { base: ref.slice(0, i), fragment: ref.slice(i + 1) };
}

/** True when `s` looks like an absolute URL (scheme://host). */
export function isUrl(s: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]/.test(s);
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch {
    return null;
  }
}

async function openBareDir(label: string, dir: string): Promise<Source> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(`${dir}/json`);
  } catch (err) {
    throw new PvrError(
      "BAD_REFERENCE",
      `cannot read the state of ${label}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const state = validateState(parseJson(bytes, `${label}/json`), `${label}/json`);
  let objectsDir = `${dir}/objects`;
  const cfgBytes = await Deno.readFile(`${dir}/config`).catch(() => null);
  if (cfgBytes) {
    const cfg = parseJson(cfgBytes, `${label}/config`);
    const od = isJsonObject(cfg) ? cfg.get("ObjectsDir") : undefined;
    if (typeof od === "string" && od !== "") {
      // As the Go pvr: absolute as is, relative to the repo root (the parent of .pvr).
      objectsDir = od.startsWith("/") ? od : absolutePath(od, `${dir}/..`);
    }
  }
  return { label, local: true, state, store: new FsObjectStore(objectsDir), close: async () => {} };
}

async function openTarball(label: string, path: string, tmpParent: string): Promise<Source> {
  const staging = await Deno.makeTempDir({ dir: tmpParent, prefix: "pvr-tmprepo-" });
  try {
    const { state } = await readExport(path, staging);
    return {
      label,
      local: true,
      state,
      store: new FsObjectStore(staging),
      close: () => Deno.remove(staging, { recursive: true }).catch(() => {}),
    };
  } catch (err) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** Options for {@link openSource}. */
export interface OpenSourceOptions {
  /** Resolves relative paths. */
  cwd: string;
  /** Where a tarball may be staged (a dir on the same file system as the store). */
  tmpDir: string;
}

/** Opens the source named by `base` (a reference without its fragment). */
export async function openSource(base: string, opts: OpenSourceOptions): Promise<Source> {
  if (isUrl(base)) {
    throw new PvrError(
      "BAD_REFERENCE",
      `remote references are not supported yet: ${redactUrl(base)}`,
    );
  }
  const path = absolutePath(base, opts.cwd);
  const st = await statOrNull(path);
  if (st === null) {
    throw new PvrError("BAD_REFERENCE", `no such repository, directory or export file: ${base}`);
  }
  if (st.isFile) return await openTarball(base, path, opts.tmpDir);
  if (!st.isDirectory) throw new PvrError("BAD_REFERENCE", `not a repository: ${base}`);
  if (await statOrNull(`${path}/json`)) return await openBareDir(base, path);
  if (await statOrNull(`${path}/.pvr/json`)) return await openBareDir(base, `${path}/.pvr`);
  throw new PvrError("BAD_REFERENCE", `not a repository: ${base} (no json or .pvr/json)`);
}

/** A URL with its query string and credentials removed (signed URLs carry secrets). */
export function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    url.username = "";
    url.password = "";
    url.search = url.search ? "?…" : "";
    return url.toString();
  } catch {
    return u.replace(/\?.*$/, "?…");
  }
}
