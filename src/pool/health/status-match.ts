/**
 * Status lists of the config file (`expect_status`, `failure_statuses`): numbers, ranges such as
 * `200-299` and classes such as `5xx`, compiled once to a lookup table so the forward path can ask
 * about every response without parsing anything.
 */

/** Whether a status is in a compiled list; `text` is the list as the user wrote it, for messages. */
export interface StatusMatcher {
  (status: number): boolean;
  readonly text: string;
}

/** Compiles a status list; an empty list matches nothing. Items the schema let through are trusted. */
export function compileStatusList(list: readonly (number | string)[]): StatusMatcher {
  // Index = status code; 600 entries cover every valid status (100-599).
  const table = new Uint8Array(600);
  for (const item of list) {
    const [from, to] = statusBounds(item);
    for (let s = Math.max(100, from); s <= Math.min(599, to); s++) table[s] = 1;
  }
  const match = (status: number): boolean => status >= 100 && status < 600 && table[status] === 1;
  return Object.assign(match, { text: list.map(String).join(", ") });
}

function statusBounds(item: number | string): [number, number] {
  if (typeof item === "number") return [item, item];
  const cls = /^([1-5])xx$/i.exec(item);
  if (cls) {
    const base = Number(cls[1]) * 100;
    return [base, base + 99];
  }
  const range = /^(\d{3})-(\d{3})$/.exec(item);
  if (range) return [Number(range[1]), Number(range[2])];
  throw new Error(`bad status "${item}"; expected a number, a range such as 200-299 or a class such as 2xx`);
}
