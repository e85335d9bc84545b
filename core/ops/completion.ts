/**
 * `pvr completion` (spec pvr-reference §8.11): the bash completion script, and the nick
 * suggestions `pvr … --generate-bash-completion` prints for clone, get, post, device
 * get, device set and (device) logs.
 *
 * @module
 */

import { z } from "zod";
import { isPvrError } from "../errors.ts";
import { readJsonReply, replyFailure } from "../remote/pantahub/reply.ts";
import { baseUrlOf, type PantahubOptions, sessionOf } from "./hub_common.ts";

/**
 * The environment variable the script sets to the word being completed. The urfave/cli
 * script of the Go pvr passes only the words before it, so pvr could not know the
 * prefix typed after `alice/`; a script without it still works (the prefix is then
 * taken from the last argument, as the Go pvr did).
 */
export const COMPLETION_WORD_ENV = "PVR_COMPLETION_WORD";

/**
 * The bash script of `pvr completion`: defines `_cli_bash_autocomplete` and registers it
 * for `program` with `complete -o bashdefault -o default -o nospace`. It ends with a
 * blank line, as the Go pvr prints it.
 *
 * @example
 * ```ts
 * const script = bashCompletionScript("pvr"); // eval "$(pvr completion)"
 * ```
 */
export function bashCompletionScript(program: string): string {
  return `#! /bin/bash

_cli_bash_autocomplete() {
  if [[ "\${COMP_WORDS[0]}" != "source" ]]; then
    local cur opts base
    COMPREPLY=()
    cur="\${COMP_WORDS[COMP_CWORD]}"
    if [[ "$cur" == "-"* ]]; then
      opts=$( ${COMPLETION_WORD_ENV}="\${cur}" \${COMP_WORDS[@]:0:$COMP_CWORD} \${cur} --generate-bash-completion )
    else
      opts=$( ${COMPLETION_WORD_ENV}="\${cur}" \${COMP_WORDS[@]:0:$COMP_CWORD} --generate-bash-completion )
    fi
    COMPREPLY=( $(compgen -W "\${opts}" -- \${cur}) )
    return 0
  fi
}

complete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete ${program}

`;
}

/**
 * What is being completed:
 *
 * * `repo` — a `<user>/<device>` reference (clone, get, post): user nicks as `nick/`,
 *   then, after a `/`, that user's device nicks;
 * * `device` — a device of yours or `OWNER/NICK` (device get);
 * * `own-device` — a device of yours (device set);
 * * `log-filter` — the device list of a logs filter (`dev1,dev2/source@LEVEL#platform`):
 *   the last comma-separated device nick.
 */
export type NickKind = "repo" | "device" | "own-device" | "log-filter";

/** Options of {@link suggestNicks}. */
export interface SuggestNicksOptions extends PantahubOptions {
  kind: NickKind;
  /** The word typed so far (may be empty). */
  term: string;
}

/** What {@link suggestNicks} found. */
export interface SuggestNicksResult {
  /** False when there is no usable login (the Go pvr prints `Not-Loggedin -`). */
  loggedIn: boolean;
  /** Complete words, each starting with the term, sorted. */
  suggestions: string[];
}

const Nicks = z.array(z.looseObject({ nick: z.string().optional() }));

/**
 * Asks Pantahub for nicks starting with the term: `GET <baseUrl>/profiles/?nick=^<p>`
 * for users, `GET <baseUrl>/devices/?nick=^<p>[&owner-nick=<user>]` for devices. The
 * cached token is used (refreshed when it is about to expire); nobody is ever prompted.
 * No usable login → `loggedIn: false`.
 *
 * Permissions: net, read/write of the config dir.
 *
 * @throws {PvrError} `REMOTE` when the server answers with an error other than a refusal
 * @example
 * ```ts
 * const r = await suggestNicks({ configDir, kind: "repo", term: "alice/de" });
 * r.suggestions; // ["alice/dev1", "alice/dev2"]
 * ```
 */
export async function suggestNicks(opts: SuggestNicksOptions): Promise<SuggestNicksResult> {
  const base = baseUrlOf(opts);
  const session = sessionOf({ ...opts, prompter: null });
  const ask = async (path: "profiles" | "devices", params: Record<string, string>) => {
    const url = new URL(`${base}/${path}/`);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const res = await session.call({
      method: "GET",
      url: url.href,
      anonymous: false,
      prompt: false,
    });
    if (res.status !== 200) throw await replyFailure(res, `GET ${url.href}`);
    const rows = await readJsonReply(res, Nicks, `GET ${url.href}`);
    return rows.map((r) => r.nick).filter((n): n is string => typeof n === "string" && n !== "");
  };
  const term = opts.term;
  let words: string[];
  try {
    words = await wordsFor(opts.kind, term, ask);
  } catch (err) {
    if (isPvrError(err, "AUTH")) return { loggedIn: false, suggestions: [] };
    throw err;
  }
  const unique = [...new Set(words.filter((w) => w.startsWith(term)))].sort();
  return { loggedIn: true, suggestions: unique };
}

type Ask = (path: "profiles" | "devices", params: Record<string, string>) => Promise<string[]>;

async function wordsFor(kind: NickKind, term: string, ask: Ask): Promise<string[]> {
  const slash = term.indexOf("/");
  switch (kind) {
    case "repo": {
      if (slash < 0) return (await ask("profiles", { nick: `^${term}` })).map((n) => `${n}/`);
      const user = term.slice(0, slash);
      const rest = term.slice(slash + 1);
      if (user === "" || rest.includes("/")) return [];
      const devices = await ask("devices", { nick: `^${rest}`, "owner-nick": user });
      return devices.map((n) => `${user}/${n}`);
    }
    case "device": {
      if (slash < 0) return await ask("devices", { nick: `^${term}` });
      return await wordsFor("repo", term, ask);
    }
    case "own-device":
      return slash < 0 ? await ask("devices", { nick: `^${term}` }) : [];
    case "log-filter": {
      if (/[/@#]/.test(term)) return [];
      const comma = term.lastIndexOf(",");
      const head = term.slice(0, comma + 1);
      const devices = await ask("devices", { nick: `^${term.slice(comma + 1)}` });
      return devices.map((n) => head + n);
    }
  }
}
