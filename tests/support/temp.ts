/** Temp-dir helpers shared by the tests: each test gets its own directory. */

/** Creates a fresh temp dir (removed by the returned `cleanup`). */
export async function makeTempDir(
  prefix = "pvr-test-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix });
  return { dir, cleanup: () => Deno.remove(dir, { recursive: true }).catch(() => {}) };
}

/** Runs `fn` with a fresh temp dir, removed afterwards whatever happens. */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T> | T,
  prefix?: string,
): Promise<T> {
  const { dir, cleanup } = await makeTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    await cleanup();
  }
}

/** Writes files given as { "rel/path": content } under `dir` (parents created). */
export async function writeTree(
  dir: string,
  files: Record<string, string | Uint8Array>,
): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const path = `${dir}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
  }
}

/** Absolute path of the shared Pantavisor fixtures (../shared/fixtures/pantavisor). */
export const PANTAVISOR_FIXTURES =
  new URL("../../../shared/fixtures/pantavisor/", import.meta.url).pathname;
