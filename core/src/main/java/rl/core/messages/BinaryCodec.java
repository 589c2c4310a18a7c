package rl.core.messages;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;
import java.nio.charset.StandardCharsets;

/**
 * Base of the message codecs: a compact binary wire format (token arrays and tensors as raw
 * big-endian numbers, strings as UTF-8), so the same messages cross a clustered event bus. Local
 * delivery passes the immutable message itself.
 */
abstract class BinaryCodec<T> implements MessageCodec<T, T> {
  private final String name;

  BinaryCodec(Class<T> type) {
    this.name = "rl." + type.getSimpleName();
  }

  /** Appends {@code message}. */
  abstract void write(Buffer out, T message);

  /** Reads a message at the reader's position. */
  abstract T read(Reader in);

  @Override
  public final void encodeToWire(Buffer buffer, T message) {
    Buffer body = Buffer.buffer();
    write(body, message);
    buffer.appendInt(body.length());
    buffer.appendBuffer(body);
  }

  @Override
  public final T decodeFromWire(int pos, Buffer buffer) {
    if (pos + 4 > buffer.length()) {
      throw new IllegalArgumentException("truncated " + name + " message: no length prefix");
    }
    int length = buffer.getInt(pos);
    if (length < 0 || pos + 4L + length > buffer.length()) {
      throw new IllegalArgumentException(
          "truncated "
              + name
              + " message: body claims "
              + length
              + " bytes, "
              + (buffer.length() - pos - 4)
              + " present");
    }
    return read(new Reader(buffer, pos + 4, pos + 4 + length));
  }

  @Override
  public final T transform(T message) {
    return message;
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final byte systemCodecID() {
    return -1;
  }

  static void writeString(Buffer out, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    out.appendInt(bytes.length);
    out.appendBytes(bytes);
  }

  static void writeInts(Buffer out, int[] values) {
    out.appendInt(values.length);
    for (int v : values) {
      out.appendInt(v);
    }
  }

  static void writeFloats(Buffer out, float[] values) {
    out.appendInt(values.length);
    for (float v : values) {
      out.appendFloat(v);
    }
  }

  static void writeLongs(Buffer out, long[] values) {
    out.appendInt(values.length);
    for (long v : values) {
      out.appendLong(v);
    }
  }

  /** Sequential reads within one message's bytes, with bounds checks that name the field. */
  static final class Reader {
    private final Buffer buffer;
    private int pos;
    private final int end;

    Reader(Buffer buffer, int pos, int end) {
      this.buffer = buffer;
      this.pos = pos;
      this.end = end;
    }

    private void need(int bytes, String what) {
      if (bytes < 0 || pos + (long) bytes > end) {
        throw new IllegalArgumentException(
            "truncated message: " + what + " needs " + bytes + " bytes, " + (end - pos) + " left");
      }
    }

    int readInt() {
      need(4, "an int");
      int v = buffer.getInt(pos);
      pos += 4;
      return v;
    }

    long readLong() {
      need(8, "a long");
      long v = buffer.getLong(pos);
      pos += 8;
      return v;
    }

    double readDouble() {
      need(8, "a double");
      double v = buffer.getDouble(pos);
      pos += 8;
      return v;
    }

    String readString() {
      int length = readInt();
      need(length, "a string");
      String s = buffer.getString(pos, pos + length, "UTF-8");
      pos += length;
      return s;
    }

    int[] readInts() {
      int length = readInt();
      need(4 * length, "an int array of " + length);
      int[] out = new int[length];
      for (int i = 0; i < length; i++) {
        out[i] = buffer.getInt(pos);
        pos += 4;
      }
      return out;
    }

    float[] readFloats() {
      int length = readInt();
      need(4 * length, "a float array of " + length);
      float[] out = new float[length];
      for (int i = 0; i < length; i++) {
        out[i] = buffer.getFloat(pos);
        pos += 4;
      }
      return out;
    }

    long[] readLongs() {
      int length = readInt();
      need(8 * length, "a long array of " + length);
      long[] out = new long[length];
      for (int i = 0; i < length; i++) {
        out[i] = buffer.getLong(pos);
        pos += 8;
      }
      return out;
    }
  }
}
