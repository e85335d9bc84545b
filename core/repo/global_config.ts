/**
 * The global config dir (`~/.pvr` by default): where it is, and its `config.json`.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { writeFileAtomic } from "../../native/durability.ts";

/** `<config-dir>/config.json` as the Go pvr writes it. */
export interface GlobalConfig {
  Spec: string;
  AutoUpgrade: boolean;
  DistributionTag: string;
  [key: string]: unknown;
}

/** The defaults the Go pvr writes on first run. */
export const DEFAULT_GLOBAL_CONFIG: Readonly<GlobalConfig> = {
  Spec: "1",
  AutoUpgrade: true,
  DistributionTag: "develop",
};

/** The environment variables pvr reads (a subset of the process environment). */
export type PvrEnv = Readonly<Record<string, string | undefined>>;

/**
 * Resolves the global config dir: `--config-dir`, else `PVR_CONFIG_DIR`, else
 * `$HOME/.pvr`. Relative values are resolved against `cwd`.
 */
export function resolveConfigDir(env: PvrEnv, cwd: string, flag?: string): string {
  const raw = flag || env.PVR_CONFIG_DIR || (env.HOME ? `${env.HOME}/.pvr` : "");
  if (!raw) {
    throw new PvrError("FAILED", "cannot find the config dir: HOME is not set", {
      hint: "set PVR_CONFIG_DIR or pass --config-dir",
    });
  }
  return absolutePath(raw, cwd);
}

/** Makes `p` absolute against `cwd` and removes `.`/`..`/double slashes. */
export function absolutePath(p: string, cwd: string): string {
  const full = p.startsWith("/") ? p : `${cwd}/${p}`;
  const out: string[] = [];
  for (const seg of full.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return "/" + out.join("/");
}

/** Reads `config.json`, creating the dir (0700) and the defaults when missing. */
export async function loadGlobalConfig(configDir: string): Promise<GlobalConfig> {
  const path = `${configDir}/config.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new PvrError("FAILED", `cannot read ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    await Deno.mkdir(configDir, { recursive: true, mode: 0o700 });
    const cfg = { ...DEFAULT_GLOBAL_CONFIG };
    await saveGlobalConfig(configDir, cfg);
    return cfg;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PvrError("CORRUPT_REPO", `${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new PvrError("CORRUPT_REPO", `${path} is not a JSON object`);
  }
  return { ...DEFAULT_GLOBAL_CONFIG, ...(parsed as Record<string, unknown>) } as GlobalConfig;
}

/** Writes `config.json` compactly (Go field order), atomically, mode 0644. */
export async function saveGlobalConfig(configDir: string, cfg: GlobalConfig): Promise<void> {
  await Deno.mkdir(configDir, { recursive: true, mode: 0o700 });
  const { Spec, AutoUpgrade, DistributionTag, ...rest } = cfg;
  const ordered = { Spec, AutoUpgrade, DistributionTag, ...rest };
  await writeFileAtomic(`${configDir}/config.json`, JSON.stringify(ordered), { mode: 0o644 });
}
