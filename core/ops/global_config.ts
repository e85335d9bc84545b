/**
 * `pvr global-config`: show or change `<config-dir>/config.json`.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import {
  DEFAULT_GLOBAL_CONFIG,
  type GlobalConfig,
  loadGlobalConfig,
  saveGlobalConfig,
} from "../repo/global_config.ts";

/** Options for {@link globalConfig}. */
export interface GlobalConfigOptions {
  configDir: string;
  /** `KEY=VALUE` settings (split at the last `=`); none to just read. */
  set?: string[];
}

/** The config after the change. */
export interface GlobalConfigResult {
  config: GlobalConfig;
  changed: boolean;
}

/**
 * Reads the global config (creating it with the defaults) and applies `KEY=VALUE`
 * settings. Keys are the Go field names (`Spec`, `AutoUpgrade`, `DistributionTag`);
 * `true`/`false` are booleans. Unlike the Go pvr, an unknown key or a value of the
 * wrong type is a usage error (the Go pvr ignores the first and panics on the second).
 *
 * Permissions: read, write, env.
 */
export async function globalConfig(opts: GlobalConfigOptions): Promise<GlobalConfigResult> {
  const config = await loadGlobalConfig(opts.configDir);
  const sets = opts.set ?? [];
  for (const arg of sets) {
    const m = /^(.*)=(.*)$/s.exec(arg);
    if (!m) throw new PvrError("USAGE", `expected KEY=VALUE, got ${arg}`);
    const [, key, raw] = m;
    if (!(key in DEFAULT_GLOBAL_CONFIG)) {
      throw new PvrError("USAGE", `unknown global config key ${key}`, {
        hint: `known keys: ${Object.keys(DEFAULT_GLOBAL_CONFIG).join(", ")}`,
      });
    }
    const value = raw === "true" ? true : raw === "false" ? false : raw;
    if (typeof value !== typeof DEFAULT_GLOBAL_CONFIG[key]) {
      throw new PvrError("USAGE", `${key} takes a ${typeof DEFAULT_GLOBAL_CONFIG[key]} value`);
    }
    config[key] = value;
  }
  if (sets.length > 0) await saveGlobalConfig(opts.configDir, config);
  return { config, changed: sets.length > 0 };
}
