// deno-lint-ignore-file no-console
/**
 * `deno task compile [--target T ...]`: single-file pvr binaries with `deno compile`.
 *
 * Targets: x86_64 and aarch64 Linux, x86_64 and aarch64 macOS (all by default), written
 * to `dist/pvr-<target>`. `deno compile` downloads the runtime (denort) of each target;
 * where that is impossible (offline), set `DENORT_BIN` to a local denort binary — deno
 * then uses it, and since one denort serves one target, only the host target (or the
 * single `--target` given) is built.
 */

const ALL_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
];

const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-net",
  "--allow-run",
  "--allow-ffi",
  "--allow-sys",
];

function hostTarget(): string {
  const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
  return Deno.build.os === "darwin" ? `${arch}-apple-darwin` : `${arch}-unknown-linux-gnu`;
}

function requestedTargets(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--target" && args[i + 1]) out.push(args[++i]);
    else if (args[i].startsWith("--target=")) out.push(args[i].slice(9));
  }
  for (const t of out) {
    if (!ALL_TARGETS.includes(t)) {
      throw new Error(`unknown target ${t}; one of ${ALL_TARGETS.join(", ")}`);
    }
  }
  return out;
}

async function main(): Promise<number> {
  let targets = requestedTargets(Deno.args);
  const denort = Deno.env.get("DENORT_BIN");
  if (targets.length === 0) targets = denort ? [hostTarget()] : ALL_TARGETS;
  if (denort && targets.length > 1) {
    throw new Error("DENORT_BIN names one runtime: build one --target at a time");
  }
  await Deno.mkdir("dist", { recursive: true });
  let failed = 0;
  for (const target of targets) {
    const output = `dist/pvr-${target}`;
    const args = ["compile", ...PERMISSIONS, "--target", target, "--output", output, "main.ts"];
    const { code } = await new Deno.Command(Deno.execPath(), { args }).spawn().status;
    if (code === 0) console.log(`built ${output}`);
    else {
      console.error(`failed to build ${output} (exit ${code})`);
      failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
