/**
 * `compress`: gzip, brotli or zstd (where `node:zlib` has it) of compressible answers the client
 * accepts compressed and the server did not compress. Never for ranges (206, Content-Range),
 * `Cache-Control: no-transform`, `text/event-stream` (it must flow unbuffered), HEAD, or answers
 * known to be shorter than `min_size`. A body at hand is compressed at once; a streamed one as it
 * comes, flushed whenever the server pauses (so a slow stream keeps flowing). Content-Length goes, Vary gains
 * Accept-Encoding, a strong ETag becomes weak (the bytes differ, the meaning does not).
 */
import process from "node:process";
import type * as Zlib from "node:zlib";
import type { CompressConfig } from "../config/policy-schema.ts";
import { COMPRESSIBLE_TYPES } from "../config/policy-schema.ts";
import type { PolicyStats } from "../observe/policy-metrics.ts";
import { LightResponse } from "../http/message.ts";
import type { HeaderMap, ProxyResponse } from "../runtime/types.ts";
import { type ResponseStep, withEditedHeaders } from "./step.ts";

/** An encoding tenbin can produce. */
export type Encoding = "zstd" | "br" | "gzip";

/** A streamed body whose server pauses this long has what was compressed so far sent on. */
export const IDLE_FLUSH_MS = 5;

/**
 * `node:zlib`, loaded when a route compresses (a compress step is compiled), not at start: ~0.4 MB
 * of RSS less for every other config (Bun 1.4.5, from source). `getBuiltinModule` loads it
 * synchronously on both runtimes, so the answer path never awaits it.
 */
let loaded: typeof Zlib | undefined;
function loadZlib(): typeof Zlib {
  return (loaded ??= (process as unknown as { getBuiltinModule(id: "node:zlib"): typeof Zlib }).getBuiltinModule("node:zlib"));
}

const hasZstd = (): boolean => typeof (loadZlib() as { createZstdCompress?: unknown }).createZstdCompress === "function";

/** The `compress` section with its defaults, for `compress: true`. */
export function compressConfigOf(value: boolean | CompressConfig): CompressConfig {
  return value === true ? { encodings: ["br", "gzip"], min_size: 1024, types: [...COMPRESSIBLE_TYPES] } : value as CompressConfig;
}

/** The encoding to use for an Accept-Encoding value, in `offered` order; undefined for none. */
export function chooseEncoding(accept: string | null, offered: readonly Encoding[]): Encoding | undefined {
  if (accept === null || accept === "") return undefined;
  const q = new Map<string, number>();
  for (const part of accept.split(",")) {
    const [token = "", ...params] = part.trim().toLowerCase().split(";");
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q=([\d.]+)\s*$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(token.trim(), weight);
  }
  for (const encoding of offered) {
    const weight = q.get(encoding) ?? q.get("*");
    if (weight !== undefined && weight > 0) return encoding;
  }
  return undefined;
}

function typeMatcher(types: readonly string[]): (contentType: string) => boolean {
  const exact = new Set(types.filter((t) => !t.endsWith("/*")).map((t) => t.toLowerCase()));
  const prefixes = types.filter((t) => t.endsWith("/*")).map((t) => t.slice(0, -1).toLowerCase());
  return (contentType) => {
    const type = contentType.split(";")[0]!.trim().toLowerCase();
    if (type === "text/event-stream") return false;
    return exact.has(type) || prefixes.some((p) => type.startsWith(p));
  };
}

function makeCompressor(encoding: Encoding, level: number | undefined): Zlib.Gzip | Zlib.BrotliCompress {
  const zlib = loadZlib();
  if (encoding === "gzip") return zlib.createGzip({ level: level ?? 6 });
  if (encoding === "br") {
    return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: Math.min(level ?? 4, 11) } });
  }
  const create = (zlib as unknown as { createZstdCompress(o?: object): Zlib.Gzip }).createZstdCompress;
  return create(level === undefined ? {} : { params: { [(zlib.constants as unknown as Record<string, number>).ZSTD_c_compressionLevel!]: level } });
}

function compressWhole(encoding: Encoding, body: Uint8Array, level: number | undefined): Uint8Array {
  const zlib = loadZlib();
  if (encoding === "gzip") return zlib.gzipSync(body, { level: level ?? 6 });
  if (encoding === "br") return zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: Math.min(level ?? 4, 11) } });
  return (zlib as unknown as { zstdCompressSync(b: Uint8Array): Uint8Array }).zstdCompressSync(body);
}

/** A stream of `source` compressed; `done(inBytes, outBytes)` when it ended. */
export function compressStream(source: ReadableStream<Uint8Array>, compressor: Zlib.Gzip | Zlib.BrotliCompress, done: (inBytes: number, outBytes: number) => void): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let inBytes = 0;
  let outBytes = 0;
  // A flush costs ratio and CPU: a body that keeps coming is compressed as one; only when the server
  // pauses (no chunk for IDLE_FLUSH_MS) is what was written so far flushed to the client.
  let idle: ReturnType<typeof setTimeout> | undefined;
  const flushLater = () => {
    clearTimeout(idle);
    idle = setTimeout(() => compressor.flush(), IDLE_FLUSH_MS);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      compressor.on("data", (chunk: Buffer) => {
        outBytes += chunk.byteLength;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      });
      compressor.on("end", () => {
        clearTimeout(idle);
        controller.close();
        done(inBytes, outBytes);
      });
      compressor.on("error", (error) => controller.error(error));
    },
    async pull() {
      // Read on until the compressor gives something (zlib keeps ~16 KB of input before it writes):
      // a pull whose promise settles without an enqueue is not called again (the Streams standard
      // pulls again only after an enqueue or a new read; Bun and Deno alike), so returning early
      // left each chunk waiting for the idle flush: ~33 ms per 100 KB answer, 0.82x Caddy's req/s.
      const before = outBytes;
      while (outBytes === before) {
        let read: Awaited<ReturnType<typeof reader.read>>;
        try {
          read = await reader.read();
        } catch (error) {
          // The server's body failed (cut, timed out): so does this one, and zlib's state goes.
          clearTimeout(idle);
          compressor.destroy();
          throw error;
        }
        const { done: ended, value } = read;
        if (ended) {
          clearTimeout(idle);
          compressor.end();
          return;
        }
        inBytes += value.byteLength;
        await new Promise<void>((resolve) => compressor.write(value, () => resolve()));
        flushLater();
      }
    },
    cancel(reason) {
      clearTimeout(idle);
      compressor.destroy();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** The compression step. */
export function compressStep(config: CompressConfig, policy: string, stats: PolicyStats): ResponseStep {
  loadZlib(); // here, when the config is loaded, rather than on the first answer
  const offered = config.encodings.filter((e) => e !== "zstd" || hasZstd());
  const compressible = typeMatcher(config.types);
  return {
    policy,
    kind: "compress",
    stats,
    run(_ctx, response, request): ProxyResponse {
      if (request.method === "HEAD" || response.body === null || response.status < 200 || response.status === 204 || response.status === 206) return response;
      const h = response.headers;
      const type = h.get("content-type");
      if (type === null || !compressible(type)) return response;
      if (h.has("content-encoding") || h.has("content-range") || /(^|,)\s*no-transform\s*(,|$)/i.test(h.get("cache-control") ?? "")) return response;
      const length = h.get("content-length");
      if (length !== null && Number(length) < config.min_size) return response;
      const encoding = chooseEncoding(request.acceptEncoding, offered);
      const vary = h.get("vary");
      const etag = h.get("etag");
      const whole = encoding !== undefined && response instanceof LightResponse && response.whole !== undefined
        ? compressWhole(encoding, response.whole, config.level)
        : undefined;
      const out = withEditedHeaders(response, (headers: HeaderMap) => {
        // Whatever is chosen, a cache must know the answer depends on Accept-Encoding.
        if (vary === null) headers.set("vary", "Accept-Encoding");
        else if (!/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(vary)) headers.set("vary", `${vary}, Accept-Encoding`);
        if (encoding === undefined) return;
        headers.set("content-encoding", encoding);
        if (whole === undefined) headers.delete("content-length");
        else headers.set("content-length", String(whole.byteLength));
        if (etag !== null && !etag.startsWith("W/")) headers.set("etag", `W/${etag}`);
      }, undefined);
      if (encoding === undefined) return out;
      stats.count("compressed");
      if (whole !== undefined && out instanceof LightResponse) {
        stats.count("compress_saved_bytes", Math.max(0, out.whole!.byteLength - whole.byteLength));
        return new LightResponse(out.status, out.statusText, out.headers, whole);
      }
      const body = compressStream(out.body!, makeCompressor(encoding, config.level), (inBytes, outBytes) => stats.count("compress_saved_bytes", Math.max(0, inBytes - outBytes)));
      if (out instanceof LightResponse) return out.withBody(body);
      return new Response(body, { status: out.status, statusText: out.statusText, headers: out.headers as Headers });
    },
    explain: () => `compress: ${offered.join(", ")} of ${config.types.length} types from ${config.min_size} bytes when the client accepts it`,
  };
}
