/**
 * Asking a person for credentials and answers (login, registration, claim challenge).
 * {@link TtyPrompter} talks to the terminal through `@inquirer/prompts` (prompts on
 * stderr, passwords without echo); {@link NullPrompter} is for when there is nobody to
 * ask (no terminal, scripts, the library), and tests use their own doubles.
 *
 * @module
 */

import { PvrError } from "../../errors.ts";

/** How pvr asks a person. */
export interface Prompter {
  /** True when a person can answer (a terminal is attached). */
  readonly interactive: boolean;
  /** Shows one line of text (a header, a failed-login notice) on the prompt stream. */
  notice(line: string): void;
  /** Asks for one line of text; resolves with the answer, trimmed. */
  input(message: string): Promise<string>;
  /** Asks for a secret without echo. */
  password(message: string): Promise<string>;
}

/** A prompter for when nobody can answer: `interactive` is false and questions fail. */
export class NullPrompter implements Prompter {
  readonly interactive = false;
  readonly #notice: (line: string) => void;

  /** `notice` receives the lines (default: dropped). */
  constructor(notice: (line: string) => void = () => {}) {
    this.#notice = notice;
  }

  notice(line: string): void {
    this.#notice(line);
  }

  input(message: string): Promise<string> {
    return Promise.reject(
      new PvrError("AUTH", `cannot ask "${message}": no terminal to prompt on`),
    );
  }

  password(message: string): Promise<string> {
    return this.input(message);
  }
}

/** Options of {@link TtyPrompter}. */
export interface TtyPrompterOptions {
  /** Writes a notice line (default: to stderr). */
  notice?: (line: string) => void;
}

/**
 * Prompts on the terminal with `@inquirer/prompts`: questions and notices on stderr
 * (stdout stays for results), answers from stdin, the password masked with `*`.
 * Ctrl-C ends the prompt with an `AUTH` error ("cancelled").
 *
 * Needs a terminal on stdin and stderr (check `Deno.stdin.isTerminal()`).
 */
export class TtyPrompter implements Prompter {
  readonly interactive = true;
  readonly #notice?: (line: string) => void;

  constructor(opts: TtyPrompterOptions = {}) {
    this.#notice = opts.notice;
  }

  notice(line: string): void {
    if (this.#notice) this.#notice(line);
    else Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
  }

  async input(message: string): Promise<string> {
    const { input } = await import("@inquirer/prompts");
    const { default: process } = await import("node:process");
    return (await ask(() => input({ message }, { output: process.stderr }))).trim();
  }

  async password(message: string): Promise<string> {
    const { password } = await import("@inquirer/prompts");
    const { default: process } = await import("node:process");
    return await ask(() => password({ message, mask: "*" }, { output: process.stderr }));
  }
}

async function ask(prompt: () => Promise<string>): Promise<string> {
  try {
    return await prompt();
  } catch (err) {
    if (err instanceof Error && /ExitPromptError|AbortPromptError/.test(err.name)) {
      throw new PvrError("AUTH", "cancelled at the prompt", { cause: err });
    }
    throw err;
  }
}
