/**
 * A pvr repository on disk: the working tree plus `.pvr/` (layout of spec §2.1).
 *
 * `.pvr/json` is the pristine state, `.pvr/config` the remembered URLs and objects dir,
 * `.pvr/new` the files added since the last commit, `.pvr/commitmsg` the last message.
 * Beyond the Go pvr we keep `.pvr/lock` (writers serialise on it), `.pvr/journal` (an
 * interrupted checkout is finished by the next command), `.pvr/tmp/` (staging for
 * atomic renames) and `.pvr/stat-cache` (see stat_cache.ts).
 *
 * Every file pvr writes is written to a unique temp name, fsync'ed and renamed.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { parseJson } from "../model/json_parse.ts";
import { canonicalJson } from "../model/canonical.ts";
import { goIndent, goMarshal } from "../model/go_json.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../model/json_value.ts";
import { DEFAULT_SPEC, type State, validateState } from "../model/state.ts";
import { FsObjectStore } from "../store/fs_store.ts";
import { writeFileAtomic } from "../../native/durability.ts";
import { absolutePath } from "./global_config.ts";

/** `.pvr/config` (field names are the Go struct's). */
export interface RepoConfig {
  DefaultGetUrl: string;
  DefaultPutUrl: string;
  DefaultPostUrl: string;
  ObjectsDir: string;
  AccessTokens: JsonObject;
  RefreshTokens: JsonObject;
}

/** One `.pvr/new` entry. */
export interface NewEntry {
  ForceObject: boolean;
  Sha: string;
}

/** An empty config, as a freshly initialised repo has before `ObjectsDir` is set. */
export function emptyRepoConfig(): RepoConfig {
  return {
    DefaultGetUrl: "",
    DefaultPutUrl: "",
    DefaultPostUrl: "",
    ObjectsDir: "",
    AccessTokens: new Map(),
    RefreshTokens: new Map(),
  };
}

/** The `.pvr/config` text exactly as Go's `json.MarshalIndent(cfg, "", "\t")` writes it. */
export function formatRepoConfig(cfg: RepoConfig): string {
  const str = (s: string) => goMarshal(s, { numbers: "text" });
  const compact =
    `{"DefaultGetUrl":${str(cfg.DefaultGetUrl)},"DefaultPutUrl":${
      str(cfg.DefaultPutUrl)
    },"DefaultPostUrl":${str(cfg.DefaultPostUrl)},"ObjectsDir":${str(cfg.ObjectsDir)},` +
    `"AccessTokens":${goMarshal(cfg.AccessTokens, { numbers: "text" })},"RefreshTokens":${
      goMarshal(cfg.RefreshTokens, { numbers: "text" })
    }}`;
  return goIndent(compact, "", "\t");
}

/** Paths inside a repository. */
export interface RepoPaths {
  /** The working tree root (absolute). */
  dir: string;
  pvr: string;
  json: string;
  config: string;
  new: string;
  commitmsg: string;
  lock: string;
  journal: string;
  tmp: string;
  statCache: string;
}

/** The paths of the repo rooted at `dir` (absolute). */
export function repoPaths(dir: string): RepoPaths {
  const pvr = `${dir}/.pvr`;
  return {
    dir,
    pvr,
    json: `${pvr}/json`,
    config: `${pvr}/config`,
    new: `${pvr}/new`,
    commitmsg: `${pvr}/commitmsg`,
    lock: `${pvr}/lock`,
    journal: `${pvr}/journal`,
    tmp: `${pvr}/tmp`,
    statCache: `${pvr}/stat-cache`,
  };
}

function readIfExists(path: string, what: string): Uint8Array | null {
  try {
    // Synchronous: these files are small and an async op costs more than the read.
    return Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    if (err instanceof Deno.errors.IsADirectory || isEisdir(err)) {
      throw new PvrError("CORRUPT_REPO", `repo is in bad state: ${what} is a directory`);
    }
    throw new PvrError("FAILED", `cannot read ${what}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Identifies the current versions of `.pvr/json`, `.pvr/config` and `.pvr/new`: pvr
 * replaces them by rename, so a new version has another inode (and mtime). Taken before
 * the files are read, so a change during the read shows up as a change next time.
 */
function filesStamp(paths: RepoPaths): string {
  return [paths.json, paths.config, paths.new].map((p) => {
    try {
      const st = Deno.lstatSync(p);
      return `${st.ino}:${st.size}:${st.mtime?.getTime()}:${st.ctime?.getTime()}`;
    } catch {
      return "-";
    }
  }).join("/");
}

function isEisdir(err: unknown): boolean {
  return err instanceof Error && /EISDIR|is a directory/i.test(err.message);
}

function parseRepoFile(bytes: Uint8Array, what: string): JsonValue {
  try {
    return parseJson(bytes, what);
  } catch (err) {
    throw new PvrError("CORRUPT_REPO", `repo is in bad state: ${(err as Error).message}`, {
      cause: err,
      hint: `${what} is not what pvr writes; restore it from a backup or re-clone`,
    });
  }
}

function parseConfig(bytes: Uint8Array): RepoConfig {
  const v = parseRepoFile(bytes, ".pvr/config");
  if (!isJsonObject(v)) {
    throw new PvrError("CORRUPT_REPO", "repo is in bad state: .pvr/config is not a JSON object");
  }
  const cfg = emptyRepoConfig();
  for (const k of ["DefaultGetUrl", "DefaultPutUrl", "DefaultPostUrl", "ObjectsDir"] as const) {
    const x = v.get(k);
    if (x === undefined || x === null) continue;
    if (typeof x !== "string") {
      throw new PvrError("CORRUPT_REPO", `repo is in bad state: .pvr/config ${k} is not a string`);
    }
    cfg[k] = x;
  }
  for (const k of ["AccessTokens", "RefreshTokens"] as const) {
    const x = v.get(k);
    if (isJsonObject(x)) cfg[k] = x;
  }
  return cfg;
}

function parseNew(bytes: Uint8Array): Map<string, NewEntry> {
  const v = parseRepoFile(bytes, ".pvr/new");
  const out = new Map<string, NewEntry>();
  if (v === null) return out;
  if (!isJsonObject(v)) {
    throw new PvrError("CORRUPT_REPO", "repo is in bad state: .pvr/new is not a JSON object");
  }
  for (const [k, e] of v) {
    if (!isJsonObject(e)) {
      throw new PvrError("CORRUPT_REPO", `repo is in bad state: .pvr/new entry ${k} is malformed`);
    }
    const sha = e.get("Sha");
    out.set(k, {
      ForceObject: e.get("ForceObject") === true,
      Sha: typeof sha === "string" ? sha : "",
    });
  }
  return out;
}

/** Options to open a repository. */
export interface OpenRepoOptions {
  /** The working tree root. */
  dir: string;
  /** The global config dir (for the default objects dir of repos without ObjectsDir). */
  configDir?: string;
}

/** A loaded repository. Holds no lock by itself; see lock.ts. */
export class Repo {
  readonly paths: RepoPaths;
  config: RepoConfig;
  /** The pristine state (`.pvr/json`). */
  pristine: State;
  /** `.pvr/new`: added since the last commit. */
  added: Map<string, NewEntry>;
  /** The object store the repo uses. */
  readonly store: FsObjectStore;

  private constructor(
    paths: RepoPaths,
    config: RepoConfig,
    pristine: State,
    added: Map<string, NewEntry>,
    store: FsObjectStore,
  ) {
    this.paths = paths;
    this.config = config;
    this.pristine = pristine;
    this.added = added;
    this.store = store;
  }

  /** The working tree root. */
  get dir(): string {
    return this.paths.dir;
  }

  /** The `#spec` of the pristine state, or the default. */
  get spec(): string {
    const s = this.pristine.get("#spec");
    return typeof s === "string" ? s : DEFAULT_SPEC;
  }

  /** Opens the repo at `dir`; `NOT_A_REPO` when there is no `.pvr/json`. */
  // deno-lint-ignore require-await
  static async open(opts: OpenRepoOptions): Promise<Repo> {
    const paths = repoPaths(opts.dir);
    const stamp = filesStamp(paths);
    const { config, pristine, added } = Repo.#readFiles(paths, opts.dir);
    const objectsDir = config.ObjectsDir
      ? absolutePath(config.ObjectsDir, opts.dir)
      : `${paths.pvr}/objects`;
    const store = new FsObjectStore(objectsDir);
    const repo = new Repo(paths, config, pristine, added, store);
    repo.#stamp = stamp;
    return repo;
  }

  /**
   * Reads `.pvr/json`, `.pvr/config` and `.pvr/new` again. A writer calls it once it
   * holds the lock: what it read before may have been changed by the writer it waited
   * for. The object store stays the one the repo was opened with.
   */
  // deno-lint-ignore require-await
  async reload(): Promise<void> {
    const stamp = filesStamp(this.paths);
    if (stamp === this.#stamp) return; // nothing was replaced since they were read
    const { config, pristine, added } = Repo.#readFiles(this.paths, this.paths.dir);
    this.config = config;
    this.pristine = pristine;
    this.added = added;
    this.#stamp = stamp;
  }

  /** {@link filesStamp} of the files as they were read (taken before reading them). */
  #stamp = "";

  static #readFiles(
    paths: RepoPaths,
    dir: string,
  ): { config: RepoConfig; pristine: State; added: Map<string, NewEntry> } {
    const opts = { dir };
    const jsonBytes = readIfExists(paths.json, ".pvr/json");
    if (jsonBytes === null) {
      throw new PvrError("NOT_A_REPO", `not a pvr repository: ${opts.dir}`, {
        hint: "run pvr init, or cd into a repository",
      });
    }
    const raw = parseRepoFile(jsonBytes, ".pvr/json");
    let pristine: State;
    try {
      pristine = validateState(raw, ".pvr/json");
    } catch (err) {
      // An absolute or `..` key is refused as unsafe input (exit 5) wherever the state
      // comes from, `.pvr/json` included (README exit-code table); other rule breaks
      // are a damaged repository.
      const code = err instanceof PvrError && err.code === "UNSAFE_PATH"
        ? err.code
        : "CORRUPT_REPO";
      throw new PvrError(code, `repo is in bad state: ${(err as Error).message}`, {
        cause: err,
        path: err instanceof PvrError ? err.path : undefined,
      });
    }
    const cfgBytes = readIfExists(paths.config, ".pvr/config");
    const config = cfgBytes === null ? emptyRepoConfig() : parseConfig(cfgBytes);
    const newBytes = readIfExists(paths.new, ".pvr/new");
    const added = newBytes === null ? new Map() : parseNew(newBytes);
    return { config, pristine, added };
  }

  /** Writes the pristine state canonically and atomically. */
  async writePristine(state: State): Promise<void> {
    await writeFileAtomic(this.paths.json, canonicalJson(state), { mode: 0o644 });
    this.pristine = state;
  }

  /** Writes `.pvr/config` atomically. */
  async writeConfig(config: RepoConfig = this.config): Promise<void> {
    await writeFileAtomic(this.paths.config, formatRepoConfig(config), { mode: 0o644 });
    this.config = config;
  }

  /** Writes `.pvr/new` canonically (removes it when empty). */
  async writeAdded(added: Map<string, NewEntry>): Promise<void> {
    if (added.size === 0) {
      await this.clearAdded();
      return;
    }
    const obj: JsonObject = new Map();
    for (const [k, e] of added) {
      obj.set(k, new Map<string, JsonValue>([["ForceObject", e.ForceObject], ["Sha", e.Sha]]));
    }
    await writeFileAtomic(this.paths.new, canonicalJson(obj), { mode: 0o644 });
    this.added = added;
  }

  /** Removes `.pvr/new`. */
  async clearAdded(): Promise<void> {
    await Deno.remove(this.paths.new).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    this.added = new Map();
  }

  /** Writes `.pvr/commitmsg` (no trailing newline). */
  async writeCommitMsg(msg: string): Promise<void> {
    await writeFileAtomic(this.paths.commitmsg, msg, { mode: 0o644 });
  }

  /** The staging dir `.pvr/tmp` (created on demand). */
  async tmpDir(): Promise<string> {
    await Deno.mkdir(this.paths.tmp, { recursive: true });
    return this.paths.tmp;
  }
}
