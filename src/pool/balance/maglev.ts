/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016), the table behind `hash`. Each server
 * walks its own permutation of the table's slots and takes the first free one, servers taking
 * turns, until the table is full. Every server ends up with a near-equal share of slots spread
 * over the whole table, and when one server leaves, the others keep almost all their slots.
 */

/**
 * Table sizes: primes, so every `skip` in [1, size) visits every slot. The paper needs size ≥ 100
 * × servers for ~1% imbalance; larger tables also move fewer *other* servers' keys when one server
 * leaves (measured with 10 servers: 1.5% of all keys at 2039 slots, 0.8% at 8191, 0.2% at 65521)
 * but take longer to build (0.3 ms at 2039, 0.6 ms at 8191, 4–5 ms at 65521), and a build runs on
 * the request that notices the change. So: 500 slots per server up to 65521 (131 servers), 100 per
 * server beyond. 10 servers get 8191 slots (16 KB), 256 servers 65521 (128 KB). The size follows
 * the pool's *total* server count, so health changes never change it (that would move every key).
 */
const TABLE_SIZES = [2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139] as const;
const PREFERRED_SLOTS_PER_SERVER = 500;
const MIN_SLOTS_PER_SERVER = 100;
const LARGEST_PREFERRED = 65521;

/** Table size for a pool of `servers` servers (see TABLE_SIZES). */
export function maglevTableSize(servers: number): number {
  const wanted = Math.min(servers * PREFERRED_SLOTS_PER_SERVER, Math.max(servers * MIN_SLOTS_PER_SERVER, LARGEST_PREFERRED));
  for (const size of TABLE_SIZES) if (size >= wanted) return size;
  return TABLE_SIZES[TABLE_SIZES.length - 1]!;
}

/**
 * 32-bit FNV-1a over the UTF-16 code units of `text`, then murmur3's finalizer: FNV alone mixes
 * its last characters poorly (IPs differing in the last octet), fmix32 spreads them over all bits.
 * Small, fast, no dependency, and the same on every instance (an HA pair routes keys alike).
 */
export function hashString(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Seeds for the two permutation hashes (any two distinct values). */
const OFFSET_SEED = 0x9747b28c;
const SKIP_SEED = 0x5bd1e995;

/**
 * Fills a table of `size` slots with indexes into `names`. `weights` are relative (a weight-2
 * server gets twice the slots of a weight-1 one); servers with weight 0 get no slot. The result
 * depends only on names, weights and their order, so two instances with one config agree.
 */
export function buildMaglevTable(
  names: readonly string[],
  weights: readonly number[],
  size: number,
): Uint16Array | Uint32Array {
  const n = names.length;
  const table = n <= 0xffff ? new Uint16Array(size) : new Uint32Array(size);
  const filled = new Uint8Array(size);
  const position = new Float64Array(n);
  const skip = new Float64Array(n);
  const credit = new Float64Array(n);
  let maxWeight = 0;
  for (let j = 0; j < n; j++) {
    const name = names[j]!;
    position[j] = hashString(name, OFFSET_SEED) % size;
    skip[j] = (hashString(name, SKIP_SEED) % (size - 1)) + 1;
    maxWeight = Math.max(maxWeight, weights[j]!);
  }
  if (maxWeight <= 0) return table;
  let count = 0;
  // Weighted fill: each round a server earns weight / maxWeight of a turn; the heaviest server
  // takes one slot per round, a server at half its weight one slot every other round.
  while (count < size) {
    for (let j = 0; j < n && count < size; j++) {
      const weight = weights[j]!;
      if (weight <= 0) continue;
      credit[j]! += weight / maxWeight;
      if (credit[j]! < 1) continue;
      credit[j]! -= 1;
      let slot = position[j]!;
      while (filled[slot] === 1) slot = (slot + skip[j]!) % size;
      table[slot] = j;
      filled[slot] = 1;
      position[j] = (slot + skip[j]!) % size;
      count++;
    }
  }
  return table;
}
