// deno-lint-ignore-file no-console
/**
 * Floors for the benchmark's figures 2 and 3b: the least any Deno program can do to
 * answer an unchanged `status`, or to place W1 as a hardlink checkout must, measured
 * the way pvr is (a whole `deno run`). pvr cannot be faster than these; their ratio to
 * the standard tool says how much of a target is left for pvr's own work.
 *
 * ```sh
 * deno run -A scripts/bench/floors.ts stat  <list.bin> <root>    # statx each path, nothing else
 * deno run -A scripts/bench/floors.ts place <plan.json> <root>   # mkdir, link, write; nothing else
 * ```
 *
 * `stat`: `list.bin` holds the paths relative to `root`, each ended by a NUL (what an
 * unchanged status must look at: every tracked file and every directory, the root as
 * the empty path). Each is stat'ed with one `statx` through FFI, relative to a
 * descriptor of `root` (as pvr does), and its record thrown away: no snapshot to check,
 * no comparison.
 *
 * `place`: `plan.json` is `{ dirs, links, files }`: directories to make (parents
 * first), `[object path, target]` pairs to hardlink, and `[target, text]` pairs to write
 * (the inline JSON files, which a checkout must create: they are not objects). Targets
 * are relative to `root`, which must not exist. No state to parse or validate, no stat
 * of anything, no records, no journal, no durability.
 *
 * Both are planned by {@link planFloors} from a committed tree, outside the timing.
 *
 * @module
 */

import { isObjectId } from "../../core/model/object_id.ts";

/** Writes `floor-stat.bin` and `floor-place.json` into `outDir` for the committed tree `tree`. */
export async function planFloors(tree: string, objectsDir: string, outDir: string): Promise<{
  statList: string;
  placePlan: string;
}> {
  const state = JSON.parse(await Deno.readTextFile(`${tree}/.pvr/json`)) as Record<
    string,
    unknown
  >;
  const dirs = new Set<string>();
  const links: [string, string][] = [];
  const files: [string, string][] = [];
  for (const [key, value] of Object.entries(state)) {
    if (key === "#spec") continue;
    for (let i = key.indexOf("/"); i >= 0; i = key.indexOf("/", i + 1)) dirs.add(key.slice(0, i));
    if (isObjectId(value)) {
      links.push([`${objectsDir}/${value.toLowerCase()}`, key]);
    } else {
      files.push([key, await Deno.readTextFile(`${tree}/${key}`)]);
    }
  }
  const dirList = [...dirs].sort(); // a parent sorts before its children
  const statList = `${outDir}/floor-stat.bin`;
  const placePlan = `${outDir}/floor-place.json`;
  const keys = Object.keys(state).filter((k) => k !== "#spec");
  await Deno.writeTextFile(statList, ["", ...dirList, ...keys].map((p) => `${p}\0`).join(""));
  await Deno.writeTextFile(placePlan, JSON.stringify({ dirs: dirList, links, files }));
  return { statList, placePlan };
}

function statFloor(listPath: string, root: string): void {
  // The paths as one NUL-separated buffer, after a gap: each path is copied to the
  // front and the same buffer passed to every call (no string, no view per path).
  const names = Deno.readFileSync(listPath);
  const GAP = 4096;
  const work = new Uint8Array(GAP + names.length);
  work.set(names, GAP);
  const lib = Deno.dlopen("libc.so.6", {
    statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
    open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  });
  const fd = lib.symbols.open(new TextEncoder().encode(`${root}\0`), 0o200000, /* O_DIRECTORY */ 0);
  if (fd < 0) throw new Error(`cannot open ${root}`);
  const buf = new Uint8Array(256);
  for (let at = 0; at < names.length;) {
    const end = names.indexOf(0, at) + 1;
    work.copyWithin(0, GAP + at, GAP + end);
    // AT_SYMLINK_NOFOLLOW, plus AT_EMPTY_PATH for the root itself; TYPE|MODE|MTIME|CTIME|INO|SIZE
    const flags = 0x100 | (end - at === 1 ? 0x1000 : 0);
    if (lib.symbols.statx(fd, work, flags, 0x3c3, buf) !== 0) throw new Error(`statx at ${at}`);
    at = end;
  }
}

function placeFloor(planPath: string, root: string): void {
  const plan = JSON.parse(Deno.readTextFileSync(planPath)) as {
    dirs: string[];
    links: [string, string][];
    files: [string, string][];
  };
  Deno.mkdirSync(root);
  for (const d of plan.dirs) Deno.mkdirSync(`${root}/${d}`);
  for (const [obj, target] of plan.links) Deno.linkSync(obj, `${root}/${target}`);
  const enc = new TextEncoder();
  for (const [target, text] of plan.files) {
    Deno.writeFileSync(`${root}/${target}`, enc.encode(text));
  }
}

if (import.meta.main) {
  const [what, input, root] = Deno.args;
  if (what === "stat" && input && root) statFloor(input, root);
  else if (what === "place" && input && root) placeFloor(input, root);
  else {
    console.error("usage: floors.ts stat <list.bin> <root> | place <plan.json> <root>");
    Deno.exit(2);
  }
}
