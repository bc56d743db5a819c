package org.charsight.common;

import java.nio.charset.StandardCharsets;

/**
 * A 64-bit hash that is the same on every JVM, machine and Spark version.
 *
 * <p>Splits and orderings are decided by hashing document ids; {@code String.hashCode} is too weak
 * (32 bits) and Spark's internal hashes are not a public contract, so charsight owns this one:
 * FNV-1a over UTF-8 bytes, then the SplitMix64 finaliser to spread the bits.
 */
public final class StableHash {
  private StableHash() {}

  public static long hash64(long seed, String s) {
    long h = 0xcbf29ce484222325L ^ mix(seed);
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    return mix(h);
  }

  /** The same hash over a sequence of ints (token ids): a row's key that does not depend on where the row is stored. */
  public static long hash64(long seed, int[] values) {
    long h = 0xcbf29ce484222325L ^ mix(seed);
    for (int v : values) {
      h ^= v & 0xffffffffL;
      h *= 0x100000001b3L;
    }
    return mix(h ^ values.length);
  }

  public static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /** A uniform number in [0, 1) derived from the hash: 53 random bits, like {@code Random.nextDouble}. */
  public static double unit(long seed, String s) {
    return (hash64(seed, s) >>> 11) * 0x1.0p-53;
  }

  public static double unit(long seed, int[] values) {
    return (hash64(seed, values) >>> 11) * 0x1.0p-53;
  }
}
