// deno-lint-ignore-file no-console
/**
 * `deno task bundle [output]`: `dist/pvr.js` (or `output`), pvr as one self-contained
 * JavaScript file (`deno run -A dist/pvr.js …`, offline, from any directory).
 *
 * A plain `deno bundle main.ts` keeps the CLI's modules lazy, but hoists every
 * `import … from "node:…"` of the bundled npm packages (and the `createRequire` of
 * `node:module` for CommonJS ones) to static imports at the top of the file: even
 * `pvr --version` then loads those Node built-ins and compiles 2 MB of code. So the
 * file is built in two parts:
 *
 * - the **lean part**: `main.ts` bundled with the CLI's modules ({@link CLI_MODULES},
 *   the modules `main.ts` imports only when it hands over to the CLI) left external.
 *   This is `main.ts`'s own code — `--version`, the lean `status` — and nothing else;
 * - the **CLI part**: those modules bundled on their own in CommonJS form (there, a Node
 *   built-in is `require`d where a module is first initialised, not up front),
 *   gzip-compressed and embedded as a base64 string. Each `import("<CLI module>")` of the
 *   lean part becomes a call that inflates the text once and runs it as a function of
 *   `require` (Node built-ins from `process.getBuiltinModule`, taken when first
 *   needed: a command that uses none loads no Node compatibility layer), `module`, `exports` and
 *   `__pvrImportMeta` (the bundle's `import.meta`, for any `import.meta` in the CLI).
 *
 * Running the text as a function, not importing it as a `blob:` or `data:` module,
 * matters: an imported module goes through Deno's module loading, which for 2 MB costs
 * more than the rest of a command. The fast paths load no Node built-in and pay for a
 * 0.7 MB string literal; every other command pays the inflating (10–20 ms cold). The two
 * parts share no module instance: state that a lean-part module keeps for the CLI
 * (`noteStatusSnapshotMiss`) does not reach the CLI part's copy of that module.
 *
 * @module
 */

/** The modules `main.ts` imports lazily to run the CLI (specifiers as written there). */
export const CLI_MODULES: readonly string[] = ["./commands/cli.ts", "./commands/output.ts"];

/** The name under which the CLI part sees the bundle file's `import.meta`. */
const META = "__pvrImportMeta";

/** The global (a `Symbol.for` key) through which the cached CLI module gets its inputs. */
const ENV_KEY = "pvr.cliModuleEnv";

/** The names of the CLI part's exports (`m<i>` for `CLI_MODULES[i]`), as a JS array. */
const CLI_PARTS = JSON.stringify(CLI_MODULES.map((_, i) => `m${i}`));

/** The first line of the cached CLI module: its CommonJS inputs, from {@link ENV_KEY}. */
const CACHED_PREFIX = `const { require, module, exports, cliMeta: ${META} } = ` +
  `globalThis[Symbol.for(${JSON.stringify(ENV_KEY)})];\n`;

/** The project root (where `main.ts` and `deno.json` are). */
const ROOT_URL = new URL("../", import.meta.url);
const ROOT = decodeURIComponent(ROOT_URL.pathname).replace(/\/$/, "");

/** Runs `deno bundle` and returns the bundle's text. */
async function denoBundle(
  entry: string,
  output: string,
  opts: { external?: readonly string[]; format?: "esm" | "cjs" } = {},
): Promise<{ text: string; log: string }> {
  const args = ["bundle", "--platform", "deno", "--config", `${ROOT}/deno.json`];
  if (opts.format) args.push("--format", opts.format);
  for (const e of opts.external ?? []) args.push("--external", e);
  args.push("-o", output, entry);
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`deno ${args.join(" ")} failed:\n${log}`);
  return { text: await Deno.readTextFile(output), log };
}

async function gzipBase64(text: string): Promise<string> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer()).toBase64();
}

/**
 * The loader appended to the lean part: function declarations, hoisted, so that
 * `main.ts`'s top-level code can call them before this point of the file is reached.
 */
function loader(cliGzBase64: string, cliHash: string): string {
  return `
// -- the CLI part (scripts/bundle.ts): ${CLI_MODULES.join(", ")}
var __pvrCli;
function __pvrLoadCli() {
  return __pvrCli ??= (async () => {
    const meta = import.meta;
    const cliMeta = {
      url: meta.url,
      main: false,
      filename: meta.filename,
      dirname: meta.dirname,
      resolve: (specifier) => meta.resolve(specifier),
    };
    const cached = { exports: {} };
    if (await __pvrCachedCli(cached, cliMeta)) return cached.exports;
    const module = { exports: {} };
    new Function("require", "module", "exports", "${META}", await __pvrInflate())(
      __pvrRequire,
      module,
      module.exports,
      cliMeta,
    );
    return module.exports;
  })();
}
async function __pvrInflate() {
  const gz = Uint8Array.fromBase64(__pvrCliSource());
  const inflated = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(inflated).text();
}
// The CLI part as a module file in a cache directory, written once per build
// (cli-<hash of the file>.mjs): imported from there, its compiled code is kept by Deno's
// code cache, where compiling the text afresh costs every command ~70 ms. The CLI's code
// is the module's own top-level code (its require, module, exports and import.meta are
// taken from a global set just for the import): wrapped in a function, all 2 MB of that
// function had to be compiled again on every call (~25 ms). Runs the CLI part into the
// given module object and returns true; false when the cache cannot be used (permissions
// not granted, no home, a write error, a damaged file): the text is then compiled as it is.
async function __pvrCachedCli(module, cliMeta) {
  try {
    const granted = (d) => Deno.permissions.querySync(d).state === "granted";
    if (!granted({ name: "env" })) return false;
    const env = (k) => Deno.env.get(k) || undefined;
    const base = env("PVR_BUNDLE_CACHE") ?? (env("DENO_DIR") ? env("DENO_DIR") + "/pvr" :
      env("XDG_CACHE_HOME") ? env("XDG_CACHE_HOME") + "/pvr" :
      env("HOME") ? env("HOME") + "/.cache/pvr" : undefined);
    if (base === undefined || !base.startsWith("/")) return false;
    if (!granted({ name: "read", path: base }) || !granted({ name: "write", path: base })) {
      return false;
    }
    const name = "cli-${cliHash}.mjs";
    const path = base + "/" + name;
    let present = true;
    try {
      Deno.statSync(path);
    } catch {
      present = false;
    }
    if (!present) {
      const text = ${JSON.stringify(CACHED_PREFIX)} + (await __pvrInflate());
      Deno.mkdirSync(base, { recursive: true, mode: 0o700 });
      const tmp = path + "." + Deno.pid + "." + Date.now() + ".tmp";
      Deno.writeTextFileSync(tmp, text, { createNew: true, mode: 0o644 });
      Deno.renameSync(tmp, path);
      // Files of other builds go, and temp files a killed process left (best effort).
      for (const e of Deno.readDirSync(base)) {
        try {
          const other = e.name !== name && /^cli-[0-9a-f]+\\.mjs$/.test(e.name);
          const stale = /^cli-[0-9a-f]+\\.mjs\\.\\d+\\.\\d+\\.tmp$/.test(e.name) &&
            Date.now() - (Deno.statSync(base + "/" + e.name).mtime?.getTime() ?? 0) > 60_000;
          if (other || stale) Deno.removeSync(base + "/" + e.name);
        } catch { /* another process's, or gone */ }
      }
    }
    const url = new URL("file://");
    url.pathname = path;
    const key = Symbol.for("${ENV_KEY}");
    globalThis[key] = { require: __pvrRequire, module, exports: module.exports, cliMeta };
    try {
      await import(url.href);
      // A file cut short at a statement boundary would import without an error.
      if (${CLI_PARTS}.some((m) => !(m in module.exports))) {
        throw new Error("incomplete");
      }
      return true;
    } catch {
      // A damaged file: the next command writes it again.
      Deno.removeSync(path);
      return false;
    } finally {
      delete globalThis[key];
    }
  } catch {
    return false;
  }
}
// The CLI part requires only Node built-ins (npm packages are bundled into it); they
// come from process.getBuiltinModule when first needed, so a command that uses none
// does not load node:module and the Node compatibility layer.
function __pvrRequire(id) {
  const m = globalThis.process?.getBuiltinModule?.(id);
  if (m === undefined) throw new Error(\`pvr: the bundle cannot load \${id}\`);
  return m;
}
function __pvrCliSource() {
  return "${cliGzBase64}";
}
`;
}

/** Builds the single-file bundle at `output` (an absolute path or relative to the cwd). */
export async function buildBundle(output: string): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "pvr-bundle-" });
  try {
    // The lean part: main.ts, with the CLI modules left as dynamic imports.
    let lean = (await denoBundle(`${ROOT}/main.ts`, `${tmp}/lean.js`, { external: CLI_MODULES }))
      .text;
    // The CLI part: one module whose export `m<i>` is the namespace of CLI_MODULES[i].
    const entry = `${tmp}/cli_entry.ts`;
    await Deno.writeTextFile(
      entry,
      CLI_MODULES.map((spec, i) =>
        `export * as m${i} from ${JSON.stringify(new URL(spec, ROOT_URL).href)};\n`
      ).join(""),
    );
    const built = await denoBundle(entry, `${tmp}/cli.js`, { format: "cjs" });
    // esbuild turns each module's `import.meta` into an empty object in CommonJS form.
    const emptyMeta = /^var (import_meta\d*) = \{\};$/gm;
    if (built.log.includes("empty-import-meta") && !emptyMeta.test(built.text)) {
      throw new Error(`an import.meta of the CLI part could not be replaced:\n${built.log}`);
    }
    const cli = built.text.replace(emptyMeta, `var $1 = ${META};`);
    CLI_MODULES.forEach((spec, i) => {
      const call = `import(${JSON.stringify(spec)})`;
      if (!lean.includes(call)) {
        throw new Error(`the bundle of main.ts has no ${call}: update CLI_MODULES`);
      }
      lean = lean.replaceAll(call, `__pvrLoadCli().then((m) => m.m${i})`);
    });
    const left = lean.match(/\bimport\((["'`])\.{1,2}\/[^"'`]*\1\)/);
    if (left) throw new Error(`the bundle of main.ts still imports a file: ${left[0]}`);
    const source = `"use strict";\n${cli}\n//# sourceURL=pvr-cli.js\n`;
    const hash = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(CACHED_PREFIX + source)),
    ).toHex().slice(0, 16);
    const out = lean.replace(/\n*$/, "\n") + loader(await gzipBase64(source), hash);
    const dir = output.includes("/") ? output.slice(0, output.lastIndexOf("/")) : "";
    if (dir) await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${output}.tmp`, out);
    await Deno.rename(`${output}.tmp`, output);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const output = Deno.args[0] ?? `${ROOT}/dist/pvr.js`;
  await buildBundle(output);
  console.error(`Wrote ${output}`);
}
