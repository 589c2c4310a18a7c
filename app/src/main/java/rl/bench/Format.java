package rl.bench;

import java.util.Locale;

/** Number formatting for benchmark tables. */
final class Format {
  private Format() {}

  /** 2,103,296 → "2.1M"; small counts as they are. */
  static String count(long n) {
    if (n >= 1_000_000_000L) {
      return String.format(Locale.ROOT, "%.2fB", n / 1e9);
    }
    if (n >= 1_000_000L) {
      return String.format(Locale.ROOT, "%.1fM", n / 1e6);
    }
    if (n >= 10_000L) {
      return String.format(Locale.ROOT, "%.1fk", n / 1e3);
    }
    return Long.toString(n);
  }

  /** Bytes in GiB or MiB. */
  static String bytes(long n) {
    if (n >= 1L << 30) {
      return String.format(Locale.ROOT, "%.2f GiB", n / (double) (1L << 30));
    }
    return String.format(Locale.ROOT, "%.0f MiB", n / (double) (1L << 20));
  }

  /** A rate with thousands separators and one decimal below 100. */
  static String rate(double r) {
    return r >= 100
        ? String.format(Locale.ROOT, "%,.0f", r)
        : String.format(Locale.ROOT, "%,.1f", r);
  }

  static String seconds(double s) {
    return s >= 100
        ? String.format(Locale.ROOT, "%.0f", s)
        : s >= 1 ? String.format(Locale.ROOT, "%.2f", s) : String.format(Locale.ROOT, "%.3f", s);
  }

  static String percent(double fraction) {
    return String.format(Locale.ROOT, "%.0f%%", 100 * fraction);
  }
}
