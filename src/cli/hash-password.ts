/**
 * `tenbin hash-password [--algorithm bcrypt|argon2id]`: reads a password from standard input (its
 * first line; never from the command line, where it would stay in the shell's history and in `ps`)
 * and prints a hash for `basic_auth.users`.
 */
import { readFileSync } from "node:fs";
import type { Runtime } from "../runtime/types.ts";
import { UsageError } from "./args.ts";

/** The hash of the password on standard input. */
export async function hashPasswordCommand(runtime: Pick<Runtime, "hashPassword">, algorithm: string, readInput: () => string = () => readFileSync(0, "utf8")): Promise<string> {
  if (algorithm !== "bcrypt" && algorithm !== "argon2id") throw new UsageError(`unknown algorithm "${algorithm}"; expected bcrypt or argon2id`);
  if (!runtime.hashPassword) throw new Error("this runtime cannot hash passwords (bcrypt and argon2 come with Bun); run tenbin hash-password with Bun or the tenbin binary");
  const password = readInput().split(/\r?\n/)[0] ?? "";
  if (password === "") throw new UsageError("no password on standard input; try: printf '%s' 'secret' | tenbin hash-password");
  return `${await runtime.hashPassword(password, algorithm)}\n`;
}
