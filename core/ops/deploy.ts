/**
 * `pvr deploy`: assemble a device trail directory (as Pantavisor boots it) from one
 * or more sources: get/merge them into the deploy repo, drop untracked files, check
 * out with hardlinks, and link the boot assets into `.pv/`.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { isJsonObject } from "../model/json_value.ts";
import { compareCodePoints } from "../model/canonical.ts";
import { absolutePath } from "../repo/global_config.ts";
import { Repo } from "../repo/repo.ts";
import { walkTree } from "../repo/working_state.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { init } from "./init.ts";
import { get, type GetResult, merge } from "./get.ts";
import { checkout, type CheckoutResult } from "./checkout.ts";
import { fixupRepoRef, type RemoteOptions } from "../remote/pantahub/remote.ts";
import { isUrl, splitRef } from "../remote/source.ts";

/** Options for {@link deploy}. */
export interface DeployOptions extends RemoteOptions {
  /** The deploy (trail) directory; initialised when it is not a repository yet. */
  deployDir: string;
  /** Sources (as for get); empty means the repository at `cwd`. */
  refs: string[];
  /** Replace instead of merge (`--nomerge`). */
  noMerge?: boolean;
  /** Resolves relative paths; the default source when `refs` is empty. */
  cwd: string;
  /** The global config dir (objects go to `<configDir>/objects`). */
  configDir: string;
}

/** What {@link deploy} did, step by step. */
export interface DeployResult {
  dir: string;
  /** True when the deploy dir was initialised by this call. */
  initialized: boolean;
  sources: GetResult[];
  /** Untracked files removed by the cleanup (sorted). */
  cleaned: string[];
  checkout: CheckoutResult;
  /** `.pv/<name>` → `bsp/<file>` hardlinks made. */
  links: Record<string, string>;
}

function bootLinks(run: unknown): Record<string, string> {
  if (!isJsonObject(run as never)) return {};
  const m = run as Map<string, unknown>;
  const str = (k: string) => (typeof m.get(k) === "string" ? (m.get(k) as string) : undefined);
  const fit = str("fit");
  if (fit) return { "pantavisor.fit": fit };
  // The Go pvr reads "kernel" and hard-codes "pantavisor" for the initrd; Pantavisor's
  // own bsp/run.json names them "linux" and "initrd": read those first.
  const links: Record<string, string> = {
    "pv-kernel.img": str("linux") ?? str("kernel") ?? "kernel.img",
    "pv-initrd.img": str("initrd") ?? "pantavisor",
  };
  const fdt = str("fdt");
  if (fdt) links["pv-fdt.dtb"] = fdt;
  return links;
}

async function removeEmptyDirs(root: string, rel = ""): Promise<boolean> {
  const abs = rel ? `${root}/${rel}` : root;
  let empty = true;
  for await (const e of Deno.readDir(abs)) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (!rel && (e.name === ".pvr" || e.name === ".pv")) {
      empty = false;
      continue;
    }
    if (e.isDirectory && !e.isSymlink && (await removeEmptyDirs(root, child))) {
      await Deno.remove(`${root}/${child}`);
    } else {
      empty = false;
    }
  }
  return empty;
}

/**
 * Deploys the sources into `deployDir`. Each step is atomic on its own (get/merge
 * switch the state with one rename; checkout is journalled).
 *
 * Permissions: read, write.
 */
export async function deploy(opts: DeployOptions): Promise<DeployResult> {
  const dir = absolutePath(opts.deployDir, opts.cwd);
  let refs = opts.refs;
  let spec: string | undefined;
  if (refs.length === 0) {
    const here = await Repo.open({ dir: opts.cwd, configDir: opts.configDir });
    refs = [here.paths.pvr];
    spec = here.spec;
  }
  let initialized = false;
  if ((await Deno.stat(`${dir}/.pvr/json`).catch(() => null)) === null) {
    await init({ dir, configDir: opts.configDir, spec });
    initialized = true;
  }
  const sources: GetResult[] = [];
  for (const ref of refs) {
    const fixed = await fixupRepoRef(ref, { cwd: opts.cwd, repoBaseUrl: opts.repoBaseUrl });
    const { base, fragment } = splitRef(fixed);
    const abs = isUrl(base)
      ? fixed
      : absolutePath(base, opts.cwd) + (fixed.includes("#") ? `#${fragment}` : "");
    const { deployDir: _d, refs: _r, noMerge: _n, cwd: _c, ...remote } = opts;
    const o = { ...remote, dir, configDir: opts.configDir, ref: abs };
    sources.push(opts.noMerge ? await get(o) : await merge(o));
  }
  const repo = await Repo.open({ dir, configDir: opts.configDir });
  const cleaned = await withWriteLock(repo, {}, async () => {
    const removed: string[] = [];
    for (const e of walkTree(dir, repo.store.location)) {
      if (!repo.pristine.has(e.key)) {
        await Deno.remove(e.path);
        removed.push(e.key);
      }
    }
    await removeEmptyDirs(dir);
    return removed.sort(compareCodePoints);
  });
  const co = await checkout({ dir, configDir: opts.configDir, hardlink: true });
  const links = bootLinks(repo.pristine.get("bsp/run.json"));
  const pv = `${dir}/.pv`;
  await Deno.remove(pv, { recursive: true }).catch(() => {});
  if (Object.keys(links).length > 0) await Deno.mkdir(pv, { mode: 0o755 });
  for (const [name, file] of Object.entries(links)) {
    const src = `${dir}/bsp/${file}`;
    try {
      await Deno.link(src, `${pv}/${name}`);
    } catch (err) {
      throw new PvrError(
        "FAILED",
        `cannot link .pv/${name} to bsp/${file}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
  return { dir, initialized, sources, cleaned, checkout: co, links };
}
