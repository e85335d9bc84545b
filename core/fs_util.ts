/**
 * Small file-system queries shared by the core layers.
 *
 * @module
 */

/**
 * True when something (file, directory, link — not followed) exists at `path`. A
 * missing path, or one under a non-directory, is false; other errors are thrown.
 *
 * Needs `--allow-read` for `path`.
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw err;
  }
}
