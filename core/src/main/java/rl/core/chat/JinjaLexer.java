package rl.core.chat;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits a Jinja2 template into text and tags exactly as Jinja2's lexer does with the settings
 * transformers uses ({@code trim_blocks=True, lstrip_blocks=True}, {@code keep_trailing_newline}
 * off), and tokenizes the inside of each tag.
 *
 * <p>All whitespace control ({@code -}/{@code +} markers, trim_blocks, lstrip_blocks, the dropped
 * trailing newline) is applied here, so the text segments are the exact characters the template
 * outputs and the backend needs no whitespace handling of its own. Every newline that is dropped
 * (inside tags and comments, or stripped) is reported as a {@link Gap}, so that the compiled
 * template keeps the original line numbers.
 */
final class JinjaLexer {
  /** One piece of the template, in order. */
  sealed interface Segment permits Text, Gap, Tag {}

  /** Characters the template outputs as they are. */
  record Text(String text) implements Segment {}

  /** Newlines of the source that produce no output (kept only for line numbering). */
  record Gap(int newlines) implements Segment {}

  /** A {@code {{ ... }}} (variable) or {@code {% ... %}} (block) tag and its tokens. */
  record Tag(boolean variable, List<Token> tokens, int line) implements Segment {}

  enum Type {
    NAME,
    STRING,
    INTEGER,
    FLOAT,
    OPERATOR,
    END
  }

  /** A token inside a tag: value is the name, operator, decoded string or number. */
  record Token(Type type, Object value, int line) {
    boolean is(Type t, String v) {
      return type == t && value.equals(v);
    }

    boolean isName(String v) {
      return is(Type.NAME, v);
    }

    boolean isOp(String v) {
      return is(Type.OPERATOR, v);
    }

    String describe() {
      return switch (type) {
        case END -> "end of tag";
        case STRING -> "string '" + value + "'";
        default -> "'" + value + "'";
      };
    }
  }

  private static final String HEX_DIGITS = "0123456789abcdefABCDEF";

  /** Longest first, as Jinja2 matches them. */
  private static final String[] OPERATORS = {
    "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
    ">", "<", "=", ".", ":", "|", ",", ";"
  };

  private final String src;
  private final List<Segment> out = new ArrayList<>();
  private int pos;
  private int line = 1;

  /** Whether the previous match ended with a newline (Jinja2's {@code line_starting}). */
  private boolean lineStarting = true;

  private JinjaLexer(String source) {
    // Jinja2 normalizes every line ending to \n and drops one trailing newline of the source.
    String s = source.replace("\r\n", "\n").replace('\r', '\n');
    if (s.endsWith("\n")) {
      s = s.substring(0, s.length() - 1);
    }
    this.src = s;
  }

  static List<Segment> lex(String source) {
    JinjaLexer lexer = new JinjaLexer(source);
    lexer.run();
    return lexer.out;
  }

  private void run() {
    while (pos < src.length()) {
      int start = findTagStart(pos);
      if (start < 0) {
        emitText(src.substring(pos));
        return;
      }
      char kind = src.charAt(start + 1);
      int after = start + 2;
      char sign = after < src.length() ? src.charAt(after) : 0;
      boolean hasSign = sign == '-' || sign == '+';
      String text = src.substring(pos, start);
      String kept = stripBefore(text, hasSign ? sign : 0, kind != '{');
      emitText(kept);
      countGap(text.substring(kept.length()));
      int rawEnd = kind == '%' ? matchRawBegin(after) : -1;
      pos = after + (hasSign ? 1 : 0);
      if (rawEnd >= 0) {
        countGap(src.substring(pos, rawEnd));
        pos = rawEnd;
        lineStarting = src.charAt(pos - 1) == '\n';
        lexRawBody();
      } else if (kind == '#') {
        lexComment();
      } else {
        lexTag(kind == '{');
      }
    }
  }

  /** The first {@code {{}, {@code {%} or {@code {#} at or after from, or -1. */
  private int findTagStart(int from) {
    for (int i = from; i + 1 < src.length(); i++) {
      if (src.charAt(i) == '{') {
        char c = src.charAt(i + 1);
        if (c == '{' || c == '%' || c == '#') {
          return i;
        }
      }
    }
    return -1;
  }

  /**
   * The text before a tag after whitespace control: a {@code -} strips all whitespace; otherwise,
   * for block and comment tags (lstrip_blocks), spaces and tabs between the line start and the tag.
   */
  private String stripBefore(String text, char sign, boolean lstrip) {
    if (sign == '-') {
      return Py.rstrip(text, null);
    }
    if (sign != '+' && lstrip) {
      int lpos = text.lastIndexOf('\n') + 1;
      if (lpos > 0 || lineStarting) {
        for (int i = lpos; i < text.length(); i++) {
          char c = text.charAt(i);
          if (c != ' ' && c != '\t') {
            return text;
          }
        }
        return text.substring(0, lpos);
      }
    }
    return text;
  }

  /** After {@code {%[-+]}: the end of {@code \s*raw\s*(-%}\s*|%})} if this is a raw block. */
  private int matchRawBegin(int from) {
    int i = from;
    if (i < src.length() && (src.charAt(i) == '-' || src.charAt(i) == '+')) {
      i++;
    }
    i = skipSpace(i);
    if (!src.startsWith("raw", i)) {
      return -1;
    }
    i = skipSpace(i + 3);
    if (src.startsWith("-%}", i)) {
      return skipSpace(i + 3);
    }
    return src.startsWith("%}", i) ? i + 2 : -1;
  }

  private void lexRawBody() {
    int startLine = line;
    int search = pos;
    while (true) {
      int open = src.indexOf("{%", search);
      if (open < 0) {
        throw error(startLine, "missing end of raw directive");
      }
      int i = open + 2;
      char sign = 0;
      if (i < src.length() && (src.charAt(i) == '-' || src.charAt(i) == '+')) {
        sign = src.charAt(i++);
      }
      i = skipSpace(i);
      if (!src.startsWith("endraw", i)) {
        search = open + 2;
        continue;
      }
      i = skipSpace(i + 6);
      int end = matchBlockEnd(i);
      if (end < 0) {
        search = open + 2;
        continue;
      }
      String body = src.substring(pos, open);
      String kept = stripBefore(body, sign, true);
      emitText(kept);
      countGap(body.substring(kept.length()));
      countGap(src.substring(open, end));
      lineStarting = src.charAt(end - 1) == '\n';
      pos = end;
      return;
    }
  }

  /**
   * Matches a block end at i: {@code +%}}, {@code -%}\s*} or {@code %}\n?} (trim_blocks); returns
   * the position after it or -1.
   */
  private int matchBlockEnd(int i) {
    if (src.startsWith("+%}", i)) {
      return i + 3;
    }
    if (src.startsWith("-%}", i)) {
      return skipSpace(i + 3);
    }
    if (src.startsWith("%}", i)) {
      return i + 2 < src.length() && src.charAt(i + 2) == '\n' ? i + 3 : i + 2;
    }
    return -1;
  }

  private void lexComment() {
    int startLine = line;
    for (int i = pos; i < src.length(); i++) {
      int end = -1;
      if (src.startsWith("+#}", i)) {
        end = i + 3;
      } else if (src.startsWith("-#}", i)) {
        end = skipSpace(i + 3);
      } else if (src.startsWith("#}", i)) {
        end = i + 2 < src.length() && src.charAt(i + 2) == '\n' ? i + 3 : i + 2;
      }
      if (end >= 0) {
        countGap(src.substring(pos, end));
        lineStarting = src.charAt(end - 1) == '\n';
        pos = end;
        return;
      }
    }
    throw error(startLine, "missing end of comment tag");
  }

  /** Tokenizes a tag up to its end delimiter, which counts only outside brackets (as in Jinja2). */
  private void lexTag(boolean variable) {
    int startLine = line;
    int tagStart = pos;
    // Lines inside the tag are counted here; the field moves past them once, at the end.
    int tokenLine = line;
    List<Token> tokens = new ArrayList<>();
    StringBuilder brackets = new StringBuilder();
    while (true) {
      if (pos >= src.length()) {
        throw error(startLine, "unexpected end of template: tag opened here was never closed");
      }
      if (brackets.isEmpty()) {
        int end = variable ? matchVariableEnd(pos) : matchBlockEnd(pos);
        if (end >= 0) {
          countGap(src.substring(tagStart, end));
          lineStarting = src.charAt(end - 1) == '\n';
          pos = end;
          tokens.add(new Token(Type.END, "", tokenLine));
          out.add(new Tag(variable, tokens, startLine));
          return;
        }
      }
      char c = src.charAt(pos);
      if (Py.isSpace(c)) {
        int next = skipSpace(pos);
        tokenLine += count(src, pos, next);
        pos = next;
        continue;
      }
      if (c == '\'' || c == '"') {
        int end = stringEnd(pos);
        if (end < 0) {
          throw error(tokenLine, "unterminated string literal");
        }
        String raw = src.substring(pos + 1, end - 1);
        tokens.add(new Token(Type.STRING, decodeString(raw, tokenLine), tokenLine));
        tokenLine += count(src, pos, end);
        pos = end;
        continue;
      }
      if (Character.isDigit(c)) {
        pos = lexNumber(tokens, tokenLine);
        continue;
      }
      if (c == '_' || Character.isUnicodeIdentifierStart(c)) {
        int end = pos + 1;
        while (end < src.length()
            && (src.charAt(end) == '_' || Character.isUnicodeIdentifierPart(src.charAt(end)))) {
          end++;
        }
        tokens.add(new Token(Type.NAME, src.substring(pos, end), tokenLine));
        pos = end;
        continue;
      }
      String op = null;
      for (String candidate : OPERATORS) {
        if (src.startsWith(candidate, pos)) {
          op = candidate;
          break;
        }
      }
      if (op == null) {
        throw error(tokenLine, "unexpected char '" + c + "'");
      }
      switch (op) {
        case "(", "[", "{" -> brackets.append(op);
        case ")", "]", "}" -> {
          String expected = op.equals(")") ? "(" : op.equals("]") ? "[" : "{";
          if (brackets.isEmpty()) {
            throw error(tokenLine, "unexpected '" + op + "'");
          }
          char open = brackets.charAt(brackets.length() - 1);
          if (open != expected.charAt(0)) {
            throw error(tokenLine, "unexpected '" + op + "', expected the close of '" + open + "'");
          }
          brackets.setLength(brackets.length() - 1);
        }
        default -> {}
      }
      tokens.add(new Token(Type.OPERATOR, op, tokenLine));
      pos += op.length();
    }
  }

  /** {@code -}}\s*} or {@code }}} (variables have no trim_blocks). */
  private int matchVariableEnd(int i) {
    if (src.startsWith("-}}", i)) {
      return skipSpace(i + 3);
    }
    return src.startsWith("}}", i) ? i + 2 : -1;
  }

  /** Jinja2's float_re and integer_re, underscores allowed between digits. */
  private int lexNumber(List<Token> tokens, int tokenLine) {
    int start = pos;
    char second = start + 1 < src.length() ? Character.toLowerCase(src.charAt(start + 1)) : 0;
    if (src.charAt(start) == '0' && (second == 'b' || second == 'o' || second == 'x')) {
      int radix = second == 'b' ? 2 : second == 'o' ? 8 : 16;
      int end = start + 2;
      while (end < src.length()
          && (src.charAt(end) == '_' || Character.digit(src.charAt(end), radix) >= 0)) {
        end++;
      }
      String digits = src.substring(start + 2, end).replace("_", "");
      if (digits.isEmpty()) {
        throw error(tokenLine, "invalid number literal");
      }
      tokens.add(new Token(Type.INTEGER, Py.normalize(new BigInteger(digits, radix)), tokenLine));
      return end;
    }
    int end = digits(start);
    boolean isFloat = false;
    if (end + 1 < src.length()
        && src.charAt(end) == '.'
        && Character.isDigit(src.charAt(end + 1))) {
      end = digits(end + 1);
      isFloat = true;
    }
    if (end < src.length() && Character.toLowerCase(src.charAt(end)) == 'e') {
      int e = end + 1;
      if (e < src.length() && (src.charAt(e) == '+' || src.charAt(e) == '-')) {
        e++;
      }
      if (e < src.length() && Character.isDigit(src.charAt(e))) {
        end = digits(e);
        isFloat = true;
      }
    }
    String text = src.substring(start, end).replace("_", "");
    tokens.add(
        isFloat
            ? new Token(Type.FLOAT, Double.parseDouble(text), tokenLine)
            : new Token(Type.INTEGER, Py.normalize(new BigInteger(text)), tokenLine));
    return end;
  }

  private int digits(int i) {
    while (i < src.length()
        && (Character.isDigit(src.charAt(i))
            || (src.charAt(i) == '_'
                && i + 1 < src.length()
                && Character.isDigit(src.charAt(i + 1))))) {
      i++;
    }
    return i;
  }

  /** Position after the closing quote of the string starting at i, or -1. */
  private int stringEnd(int i) {
    char quote = src.charAt(i);
    for (int j = i + 1; j < src.length(); j++) {
      char c = src.charAt(j);
      if (c == '\\') {
        j++;
      } else if (c == quote) {
        return j + 1;
      }
    }
    return -1;
  }

  /**
   * A string literal's value as Python's {@code unicode-escape} codec gives it (which is what
   * Jinja2 applies): the usual one-letter escapes, octal, hex (x, u, U) and named (N) escapes; an
   * unknown escape keeps its backslash.
   */
  static String decodeString(String raw, int line) {
    StringBuilder sb = new StringBuilder(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c != '\\' || i + 1 >= raw.length()) {
        sb.append(c);
        continue;
      }
      char e = raw.charAt(++i);
      switch (e) {
        case '\n' -> {}
        case '\\' -> sb.append('\\');
        case '\'' -> sb.append('\'');
        case '"' -> sb.append('"');
        case 'a' -> sb.append('\u0007');
        case 'b' -> sb.append('\b');
        case 'f' -> sb.append('\f');
        case 'n' -> sb.append('\n');
        case 'r' -> sb.append('\r');
        case 't' -> sb.append('\t');
        case 'v' -> sb.append('\u000b');
        case 'x', 'u', 'U' -> {
          int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          String hex = i + len < raw.length() ? raw.substring(i + 1, i + 1 + len) : "";
          if (hex.isEmpty() || !hex.chars().allMatch(h -> HEX_DIGITS.indexOf(h) >= 0)) {
            throw error(line, "truncated \\" + e + " escape in string literal");
          }
          long cp = Long.parseLong(hex, 16);
          if (cp > 0x10FFFF) {
            throw error(line, "illegal Unicode character in \\" + e + " escape");
          }
          sb.appendCodePoint((int) cp);
          i += len;
        }
        case 'N' -> {
          int close = raw.indexOf('}', i);
          if (i + 1 >= raw.length() || raw.charAt(i + 1) != '{' || close < 0) {
            throw error(line, "malformed \\N character escape in string literal");
          }
          try {
            sb.appendCodePoint(Character.codePointOf(raw.substring(i + 2, close)));
          } catch (IllegalArgumentException ex) {
            throw error(line, "unknown Unicode character name in string literal");
          }
          i = close;
        }
        default -> {
          if (e >= '0' && e <= '7') {
            int end = i;
            while (end < raw.length()
                && end < i + 3
                && raw.charAt(end) >= '0'
                && raw.charAt(end) <= '7') {
              end++;
            }
            sb.append((char) Integer.parseInt(raw.substring(i, end), 8));
            i = end - 1;
          } else if (e > 0x7f) {
            // Jinja2 first turns non-ASCII into backslash escapes, so "\é" pairs the user's
            // backslash with that escape's: the result is a backslash and the escape's letters.
            int cp = raw.codePointAt(i);
            sb.append('\\')
                .append(
                    cp <= 0xff
                        ? String.format("x%02x", cp)
                        : cp <= 0xffff ? String.format("u%04x", cp) : String.format("U%08x", cp));
            i += Character.charCount(cp) - 1;
          } else {
            sb.append('\\').append(e);
          }
        }
      }
    }
    return sb.toString();
  }

  private int skipSpace(int i) {
    while (i < src.length() && Py.isSpace(src.charAt(i))) {
      i++;
    }
    return i;
  }

  private void emitText(String text) {
    if (!text.isEmpty()) {
      out.add(new Text(text));
      line += count(text, 0, text.length());
    }
  }

  private void countGap(String dropped) {
    int n = count(dropped, 0, dropped.length());
    if (n > 0) {
      out.add(new Gap(n));
      line += n;
    }
  }

  private static int count(String s, int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
      if (s.charAt(i) == '\n') {
        n++;
      }
    }
    return n;
  }

  static ChatTemplateException error(int line, String message) {
    return new ChatTemplateException("line " + line + ": " + message, line);
  }
}
