/**
 * `paths:` of an HTTP listener: how request paths are normalized before routing and what the server
 * receives (src/router/request-path.ts, docs/paths.md).
 */
import { z } from "zod";

/** The `paths` options of an HTTP listener. */
export const pathsSchema = z.strictObject({
  merge_slashes: z.boolean().default(true).describe("Read runs of slashes as one (`//admin/x` takes a `/admin/` route), as nginx does"),
  forward: z.enum(["normalized", "as_received"]).default("normalized").describe("What the server receives: the normalized path the route matched (`normalized`), or the path as the client sent it (`as_received`; dot segments are resolved by both HTTP servers either way)"),
  case_insensitive: z.boolean().default(false).describe("Routes compare paths without regard to case (`/ADMIN/x` takes a `/admin/` route); for servers on case-insensitive file systems"),
  ignore_path_parameters: z.boolean().default(true).describe("Routes see each segment without its `;parameters` (`/admin;x=1/` and `/x/..;/admin/` take a `/admin/` route), as servlet containers read them; the server still receives them"),
});

/** The parsed `paths` options. */
export type PathsConfig = z.infer<typeof pathsSchema>;
