/** `tenbin hash-password` makes a hash that basic_auth accepts and the runtime verifies. */
import { expect, test } from "bun:test";
import { BUN, DENO, ROOT } from "../helpers/tenbin.ts";

async function hashOf(input: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return await hashWith([BUN], input, ...args);
}

async function hashWith(runtime: string[], input: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn([...runtime, `${ROOT}/src/main.ts`, "hash-password", ...args], { stdin: new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out, err };
}

test("bcrypt (default) and argon2id hashes of the first line of standard input", async () => {
  const bcrypt = await hashOf("s3cret\nignored\n");
  expect(bcrypt.code).toBe(0);
  expect(bcrypt.out).toMatch(/^\$2b\$10\$/);
  expect(await Bun.password.verify("s3cret", bcrypt.out.trim())).toBe(true);
  const argon = await hashOf("s3cret", "--algorithm", "argon2id");
  expect(argon.out).toStartWith("$argon2id$");
  expect(await Bun.password.verify("s3cret", argon.out.trim())).toBe(true);
});

test("a password on the command line or none at all is refused", async () => {
  const inArgs = await hashOf("", "s3cret");
  expect(inArgs.code).toBe(2);
  expect(inArgs.err).toContain("reads the password from standard input");
  expect((await hashOf("")).err).toContain("no password on standard input");
});

test("on Deno: bcrypt through bcryptjs (Bun verifies it); argon2id is refused, saying so", async () => {
  const deno = [DENO, "run", "--allow-all"];
  const bcrypt = await hashWith(deno, "s3cret\n");
  expect(bcrypt.code).toBe(0);
  expect(bcrypt.out).toMatch(/^\$2b\$10\$/);
  expect(await Bun.password.verify("s3cret", bcrypt.out.trim())).toBe(true);
  const argon = await hashWith(deno, "s3cret", "--algorithm", "argon2id");
  expect(argon.code).not.toBe(0);
  expect(argon.err).toContain('Deno cannot make "argon2id" hashes; use --algorithm bcrypt');
}, 30_000);
