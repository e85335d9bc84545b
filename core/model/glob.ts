/**
 * Path globs over slash-separated keys: `*` and `?` stay within one segment, `**`
 * spans segments, `[...]` classes (`[!...]` negated) and `{a,b}` alternatives.
 * Used by `pvr add` and `pvr sig`. Written here because the glob semantics must be
 * exactly these (doublestar-like) and no regex escaping may leak through.
 *
 * @module
 */

const SPECIAL = /[\\^$.|+()]/;

/** True when `pattern` has glob syntax (as opposed to a plain path). */
export function hasGlobSyntax(pattern: string): boolean {
  return /[*?[{]/.test(pattern);
}

/** Compiles a glob to an anchored RegExp over whole keys. */
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        const atStart = i === 0 || pattern[i - 1] === "/";
        const atEnd = i + 2 === pattern.length || pattern[i + 2] === "/";
        i++;
        if (atStart && atEnd) {
          if (pattern[i + 1] === "/") {
            i++;
            re += "(?:[^/]*(?:/[^/]*)*/)?";
          } else {
            re += ".*";
          }
        } else {
          re += "[^/]*";
        }
      } else {
        re += "[^/]*";
      }
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, end);
      if (body.startsWith("!")) body = "^" + body.slice(1);
      re += "[" + body.replace(/\\/g, "\\\\") + "]";
      i = end;
    } else if (c === "{") {
      depth++;
      re += "(?:";
    } else if (c === "}" && depth > 0) {
      depth--;
      re += ")";
    } else if (c === "," && depth > 0) {
      re += "|";
    } else if (c === "\\" && i + 1 < pattern.length) {
      i++;
      re += "\\" + pattern[i];
    } else {
      re += SPECIAL.test(c) ? "\\" + c : c;
    }
  }
  while (depth-- > 0) re += ")";
  return new RegExp("^" + re + "$", "s");
}

/** True when `key` matches `pattern`. */
export function globMatch(pattern: string, key: string): boolean {
  return globToRegExp(pattern).test(key);
}
