/**
 * Repository references (spec §6) and the sources they name.
 *
 * A {@link Source} is anything a state and its objects can be fetched from: a local
 * bare repo directory (`json` + `objects/`, e.g. someone's `.pvr`), a checkout root
 * (its `.pvr` is used — the Go pvr fails there), or an export tarball (verified and
 * staged first). Remote (HTTP) sources implement the same interface
 * (`pantahub/remote.ts`): {@link openSource} opens either kind.
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
import { transferObject } from "../repo/fetch.ts";
import { openRemoteSource, type RemoteOptions } from "./pantahub/remote.ts";
import { redactUrl } from "./http.ts";

/** Moved to `http.ts` (the one redaction place); re-exported for existing callers. */
export { redactUrl };

/** A place a state and its objects come from. */
export interface Source {
  /** How the user named it (for messages and `.pvr/config`). */
  readonly label: string;
  /** True for local paths (directories and tarballs), false for remotes. */
  readonly local: boolean;
  /** The source's state (validated). */
  readonly state: State;
  /**
   * Brings the given objects (object id → its first state key) into `into`, each
   * verified before it becomes visible there. Throws on the first failure
   * (`OBJECT_MISSING`, `OBJECT_CORRUPT`, `REMOTE`, …); objects stored before it stay.
   */
  fetchObjects(objects: ReadonlyMap<string, string>, into: FsObjectStore): Promise<void>;
  /** Releases temp files. */
  close(): Promise<void>;
}

/** The {@link Source.fetchObjects} of a local store: one verified copy after the other. */
function copyFrom(label: string, from: ObjectStore): Source["fetchObjects"] {
  return async (objects, into) => {
    for (const [sha, key] of objects) {
      try {
        await transferObject(from, sha, into);
      } catch (err) {
        if (!(err instanceof PvrError && err.code === "OBJECT_MISSING")) throw err;
        throw new PvrError("OBJECT_MISSING", `object ${sha} of ${key} is missing from ${label}`, {
          path: key,
        });
      }
    }
  };
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
  return {
    label,
    local: true,
    state,
    fetchObjects: copyFrom(label, new FsObjectStore(objectsDir)),
    close: async () => {},
  };
}

async function openTarball(label: string, path: string, tmpParent: string): Promise<Source> {
  const staging = await Deno.makeTempDir({ dir: tmpParent, prefix: "pvr-tmprepo-" });
  try {
    const { state } = await readExport(path, staging);
    return {
      label,
      local: true,
      state,
      fetchObjects: copyFrom(label, new FsObjectStore(staging)),
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
  /** For URLs: the Pantahub caller and the transfer settings. */
  remote?: RemoteOptions & { configDir?: string };
}

/**
 * Opens the source named by `base` (a reference without its fragment, already through
 * `fixupRepoRef`): a URL is a Pantahub remote, anything else a local path.
 */
export async function openSource(base: string, opts: OpenSourceOptions): Promise<Source> {
  if (isUrl(base)) return await openRemoteSource(base, opts.remote ?? {});
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
