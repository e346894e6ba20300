/**
 * A Node built-in module loaded on first use instead of at start. Importing node:crypto, node:net or
 * node:tls loads Node's stream machinery: ~10 ms of a start (bench/startup.ts), and in a bundle
 * every static import of a built-in runs at start, however late the importing module is used.
 * `process.getBuiltinModule` is synchronous and works on both runtimes.
 */

/** The built-ins tenbin loads this way. */
interface LazyBuiltins {
  "node:crypto": typeof import("node:crypto");
  "node:net": typeof import("node:net");
  "node:tls": typeof import("node:tls");
  "node:dgram": typeof import("node:dgram");
  "node:dns/promises": typeof import("node:dns/promises");
}

/** A getter of the built-in module `id`; the first call loads it, later calls return it. */
export function lazyBuiltin<ID extends keyof LazyBuiltins>(id: ID): () => LazyBuiltins[ID] {
  let loaded: LazyBuiltins[ID] | undefined;
  return () => (loaded ??= process.getBuiltinModule(id) as LazyBuiltins[ID]);
}
