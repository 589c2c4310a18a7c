package rl.core.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import rl.core.chat.JinjaLexer.Gap;
import rl.core.chat.JinjaLexer.Segment;
import rl.core.chat.JinjaLexer.Tag;
import rl.core.chat.JinjaLexer.Text;
import rl.core.chat.JinjaLexer.Token;
import rl.core.chat.JinjaLexer.Type;

/**
 * Compiles a Jinja2 template into an equivalent Jinjava template.
 *
 * <p>Jinja2's grammar is parsed here (statements and expressions, with Jinja2's precedence), and
 * the output uses only the parts of Jinjava that behave like Jinja2: text, {@code if}, {@code for},
 * {@code set} (including {@code ns.attr} on Jinjava's namespace), {@code macro}, {@code
 * break}/{@code continue}, filters, and the {@code namespace()} function. Every operator,
 * attribute, index, slice, method call and test becomes a call to a {@code py:} function ({@link
 * Py}), fully parenthesized, so Jinjava's EL precedence and type coercions never apply. This is
 * also how the constructs Jinjava lacks are supported: slices with a step ({@code messages[::-1]}),
 * keyword arguments whose value is an expression ({@code namespace(i=messages|length - 1)}, which
 * Jinjava would parse as {@code (i=messages|length) - 1}), for-else, loop filters, Python string
 * methods.
 *
 * <p>Text is emitted as it comes out of {@link JinjaLexer} (whitespace control already applied);
 * text containing braces is emitted as a string literal so Jinjava's scanner never sees a delimiter
 * in it. Newlines that produce no output are emitted inside comments, so the compiled template has
 * the same line numbers as the source.
 */
final class JinjaCompiler {
  /** EL keywords (and Jinjava's), which cannot be used as plain identifiers in the output. */
  private static final Set<String> EL_RESERVED =
      Set.of(
          "and",
          "or",
          "not",
          "eq",
          "ne",
          "lt",
          "gt",
          "le",
          "ge",
          "true",
          "false",
          "null",
          "instanceof",
          "empty",
          "div",
          "mod",
          "in",
          "is",
          "if",
          "else",
          "for");

  private final List<Segment> segments;
  private final Predicate<String> filterExists;
  private int next;
  private int temporaries;

  /** The end tag at which the last {@link #parseBody} stopped, with its tokens after the name. */
  private TokenStream stop;

  private String stopName;

  private JinjaCompiler(List<Segment> segments, Predicate<String> filterExists) {
    this.segments = segments;
    this.filterExists = filterExists;
  }

  /** The Jinjava source for a Jinja2 source; filterExists says which filter names are known. */
  static String compile(String source, Predicate<String> filterExists) {
    JinjaCompiler compiler = new JinjaCompiler(JinjaLexer.lex(source), filterExists);
    List<Node> body = compiler.parseBody(Set.of(), null, 0);
    StringBuilder out = new StringBuilder();
    compiler.emit(body, out);
    return out.toString();
  }

  // ================================================================ statements

  sealed interface Node {}

  record TextNode(String text) implements Node {}

  record GapNode(int newlines) implements Node {}

  record Output(Expr expr) implements Node {}

  record If(List<Expr> tests, List<List<Node>> bodies, List<Node> otherwise) implements Node {}

  record For(
      List<String> targets,
      Expr iterable,
      Expr condition,
      List<Node> body,
      List<Node> otherwise,
      int line)
      implements Node {}

  record Assign(List<String> targets, String attribute, Expr value) implements Node {}

  record AssignBlock(String target, List<FilterCall> filters, List<Node> body) implements Node {}

  record Macro(String name, List<String> params, List<Expr> defaults, List<Node> body)
      implements Node {}

  /** {@code break} or {@code continue}. */
  record LoopControl(String name) implements Node {}

  /**
   * Nodes up to one of the end tags (their names); the stopping tag is left in {@link #stop}.
   * Without end tags, up to the end of the template.
   */
  private List<Node> parseBody(Set<String> ends, String block, int blockLine) {
    List<Node> nodes = new ArrayList<>();
    while (next < segments.size()) {
      Segment segment = segments.get(next++);
      switch (segment) {
        case Text t -> nodes.add(new TextNode(t.text()));
        case Gap g -> nodes.add(new GapNode(g.newlines()));
        case Tag t when t.variable() -> {
          TokenStream ts = new TokenStream(t.tokens());
          Expr e = new ExprParser(ts, filterExists).parseTuple(true, false, Set.of());
          ts.expectEnd("end of print statement");
          nodes.add(new Output(e));
        }
        case Tag t -> {
          TokenStream ts = new TokenStream(t.tokens());
          Token name = ts.next();
          if (name.type() != Type.NAME) {
            throw JinjaLexer.error(name.line(), "tag name expected");
          }
          String tag = (String) name.value();
          if (ends.contains(tag)) {
            stop = ts;
            stopName = tag;
            return nodes;
          }
          nodes.add(parseStatement(tag, ts, t.line(), ends, block));
        }
      }
    }
    if (!ends.isEmpty()) {
      throw JinjaLexer.error(
          blockLine,
          "unexpected end of template: Jinja was looking for "
              + String.join(" or ", ends.stream().sorted().map(e -> "'" + e + "'").toList())
              + "; the innermost block that needs to be closed is '"
              + block
              + "'");
    }
    return nodes;
  }

  private Node parseStatement(
      String tag, TokenStream ts, int line, Set<String> ends, String block) {
    ExprParser p = new ExprParser(ts, filterExists);
    switch (tag) {
      case "if" -> {
        List<Expr> tests = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        tests.add(p.parseTuple(false, false, Set.of()));
        ts.expectEnd("end of statement block");
        while (true) {
          bodies.add(parseBody(Set.of("elif", "else", "endif"), "if", line));
          TokenStream at = stop;
          switch (stopName) {
            case "elif" -> {
              tests.add(new ExprParser(at, filterExists).parseTuple(false, false, Set.of()));
              at.expectEnd("end of statement block");
            }
            case "else" -> {
              at.expectEnd("end of statement block");
              List<Node> otherwise = parseBody(Set.of("endif"), "if", line);
              stop.expectEnd("end of statement block");
              return new If(tests, bodies, otherwise);
            }
            default -> {
              at.expectEnd("end of statement block");
              return new If(tests, bodies, List.of());
            }
          }
        }
      }
      case "for" -> {
        List<String> targets = p.parseTargets(Set.of("in"));
        ts.expectName("in");
        Expr iterable = p.parseTuple(false, false, Set.of("recursive"));
        Expr condition = null;
        if (ts.skipName("if")) {
          condition = p.parseExpression(true);
        }
        if (ts.peek().isName("recursive")) {
          throw JinjaLexer.error(line, "recursive for loops are not supported");
        }
        ts.expectEnd("end of statement block");
        List<Node> body = parseBody(Set.of("endfor", "else"), "for", line);
        List<Node> otherwise = null;
        if (stopName.equals("else")) {
          stop.expectEnd("end of statement block");
          otherwise = parseBody(Set.of("endfor"), "for", line);
        }
        stop.expectEnd("end of statement block");
        return new For(targets, iterable, condition, body, otherwise, line);
      }
      case "set" -> {
        if (ts.peek().type() == Type.NAME && ts.peek(1).isOp(".")) {
          String ns = (String) ts.next().value();
          ts.next();
          String attribute = ts.expectType(Type.NAME, "attribute name");
          ts.expectOp("=");
          Expr value = p.parseTuple(true, false, Set.of());
          ts.expectEnd("end of statement block");
          return new Assign(List.of(ns), attribute, value);
        }
        List<String> targets = p.parseTargets(Set.of());
        if (ts.skipOp("=")) {
          Expr value = p.parseTuple(true, false, Set.of());
          ts.expectEnd("end of statement block");
          return new Assign(targets, null, value);
        }
        if (targets.size() != 1) {
          throw JinjaLexer.error(line, "a block set assigns a single name");
        }
        List<FilterCall> filters = new ArrayList<>();
        while (ts.skipOp("|")) {
          filters.add(p.parseFilterCall());
        }
        ts.expectEnd("end of statement block");
        List<Node> body = parseBody(Set.of("endset"), "set", line);
        stop.expectEnd("end of statement block");
        return new AssignBlock(targets.getFirst(), filters, body);
      }
      case "macro" -> {
        String name = ts.expectType(Type.NAME, "macro name");
        ts.expectOp("(");
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        while (!ts.peek().isOp(")")) {
          if (!params.isEmpty()) {
            ts.expectOp(",");
            if (ts.peek().isOp(")")) {
              break;
            }
          }
          params.add(identifier(ts.expectType(Type.NAME, "parameter name"), line));
          if (ts.skipOp("=")) {
            defaults.add(p.parseExpression(true));
          } else if (defaults.stream().anyMatch(d -> d != null)) {
            throw JinjaLexer.error(line, "non-default argument follows default argument");
          } else {
            defaults.add(null);
          }
        }
        ts.expectOp(")");
        ts.expectEnd("end of statement block");
        List<Node> body = parseBody(Set.of("endmacro"), "macro", line);
        stop.expectEnd("end of statement block");
        return new Macro(identifier(name, line), params, defaults, body);
      }
      case "generation" -> {
        // transformers' AssistantTracker tag: it only marks assistant tokens, output unchanged.
        ts.expectEnd("end of statement block");
        List<Node> body = parseBody(Set.of("endgeneration"), "generation", line);
        stop.expectEnd("end of statement block");
        return new If(List.of(new Const(true)), List.of(body), List.of());
      }
      case "break", "continue" -> {
        ts.expectEnd("end of statement block");
        return new LoopControl(tag);
      }
      case "call",
          "filter",
          "with",
          "autoescape",
          "block",
          "extends",
          "include",
          "import",
          "from",
          "do",
          "trans" ->
          throw JinjaLexer.error(line, "the '" + tag + "' tag is not supported in chat templates");
      default -> {
        String expected =
            ends.isEmpty()
                ? ""
                : "; Jinja was looking for "
                    + String.join(" or ", ends.stream().sorted().map(e -> "'" + e + "'").toList())
                    + " (the innermost block that needs to be closed is '"
                    + block
                    + "')";
        throw JinjaLexer.error(line, "encountered unknown tag '" + tag + "'" + expected);
      }
    }
  }

  // ================================================================ emitting Jinjava

  private void emit(List<Node> nodes, StringBuilder out) {
    for (Node node : nodes) {
      switch (node) {
        case TextNode t -> {
          if (t.text().indexOf('{') >= 0 || t.text().indexOf('}') >= 0) {
            out.append("{{ ").append(literal(t.text())).append(" }}");
          } else {
            out.append(t.text());
          }
        }
        case GapNode g -> out.append("{#").append("\n".repeat(g.newlines())).append("#}");
        case Output o -> out.append("{{ py:str(").append(value(o.expr())).append(") }}");
        case If i -> {
          for (int k = 0; k < i.tests().size(); k++) {
            out.append(k == 0 ? "{% if " : "{% elif ").append(bool(i.tests().get(k))).append(" %}");
            emit(i.bodies().get(k), out);
          }
          if (!i.otherwise().isEmpty()) {
            out.append("{% else %}");
            emit(i.otherwise(), out);
          }
          out.append("{% endif %}");
        }
        case For f -> {
          String iterable =
              f.condition() == null
                  ? "py:iter(" + value(f.iterable()) + ")"
                  : "py:loopfilter("
                      + value(f.iterable())
                      + ", "
                      + literal(String.join(",", f.targets()))
                      + ", "
                      + literal(bool(f.condition()))
                      + ", "
                      + f.line()
                      + ")";
          String targets = String.join(", ", f.targets());
          if (f.otherwise() == null) {
            out.append("{% for ").append(targets).append(" in ").append(iterable).append(" %}");
            emit(f.body(), out);
            out.append("{% endfor %}");
          } else {
            // Jinjava has no for-else: keep the sequence, loop over it, test it for emptiness.
            String seq = temporary();
            out.append("{% set ").append(seq).append(" = ").append(iterable).append(" %}");
            out.append("{% for ").append(targets).append(" in ").append(seq).append(" %}");
            emit(f.body(), out);
            out.append("{% endfor %}{% if not py:truth(").append(seq).append(") %}");
            emit(f.otherwise(), out);
            out.append("{% endif %}");
          }
        }
        case Assign s -> {
          if (s.attribute() != null) {
            out.append("{% set ")
                .append(s.targets().getFirst())
                .append('.')
                .append(s.attribute())
                .append(" = ")
                .append(value(s.value()))
                .append(" %}");
          } else if (s.targets().size() == 1) {
            out.append("{% set ")
                .append(s.targets().getFirst())
                .append(" = ")
                .append(value(s.value()))
                .append(" %}");
          } else {
            String tuple = temporary();
            out.append("{% set ")
                .append(tuple)
                .append(" = py:unpack(")
                .append(value(s.value()))
                .append(", ")
                .append(s.targets().size())
                .append(") %}");
            for (int k = 0; k < s.targets().size(); k++) {
              out.append("{% set ")
                  .append(s.targets().get(k))
                  .append(" = py:getitem(")
                  .append(tuple)
                  .append(", ")
                  .append(k)
                  .append(") %}");
            }
          }
        }
        case AssignBlock s -> {
          out.append("{% set ").append(s.target()).append(" %}");
          emit(s.body(), out);
          out.append("{% endset %}");
          if (!s.filters().isEmpty()) {
            Expr filtered = new Name(s.target());
            for (FilterCall f : s.filters()) {
              filtered = new Filter(filtered, f);
            }
            out.append("{% set ").append(s.target()).append(" = ").append(value(filtered));
            out.append(" %}");
          }
        }
        case Macro m -> {
          // Jinjava splits macro parameters on commas, so defaults are applied in the body.
          out.append("{% macro ").append(m.name()).append('(');
          out.append(String.join(", ", m.params())).append(") %}");
          for (int k = 0; k < m.params().size(); k++) {
            Expr dflt = m.defaults().get(k);
            if (dflt != null) {
              String p = m.params().get(k);
              out.append("{% set ")
                  .append(p)
                  .append(" = ((")
                  .append(p)
                  .append(") if (")
                  .append(p)
                  .append(" != null) else (")
                  .append(value(dflt))
                  .append(")) %}");
            }
          }
          emit(m.body(), out);
          out.append("{% endmacro %}");
        }
        case LoopControl k -> out.append("{% ").append(k.name()).append(" %}");
      }
    }
  }

  private String temporary() {
    return "__rl_tmp" + temporaries++;
  }

  /** A Jinjava string literal: only backslash and the quote are escaped. */
  static String literal(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  static String identifier(String name, int line) {
    if (EL_RESERVED.contains(name) || name.startsWith("__rl_")) {
      throw JinjaLexer.error(line, "the name '" + name + "' cannot be assigned in this template");
    }
    return name;
  }

  // ================================================================ expressions

  sealed interface Expr {}

  record Const(Object value) implements Expr {}

  record Name(String name) implements Expr {}

  record ListLit(List<Expr> items, boolean tuple) implements Expr {}

  record DictLit(List<Expr> keys, List<Expr> values) implements Expr {}

  record GetAttr(Expr obj, String name) implements Expr {}

  record GetItem(Expr obj, Expr key) implements Expr {}

  record Slice(Expr obj, Expr start, Expr stop, Expr step) implements Expr {}

  record Args(List<Expr> positional, List<String> names, List<Expr> values) {}

  record Call(Expr callee, Args args, int line) implements Expr {}

  record FilterCall(String name, Args args) {}

  record Filter(Expr value, FilterCall filter) implements Expr {}

  record Test(Expr value, String name, Args args) implements Expr {}

  record Not(Expr operand) implements Expr {}

  record Unary(String op, Expr operand) implements Expr {}

  record Binary(String op, Expr left, Expr right) implements Expr {}

  record Compare(Expr first, List<String> ops, List<Expr> operands) implements Expr {}

  record CondExpr(Expr test, Expr then, Expr otherwise) implements Expr {}

  /** The compiled expression as a value. */
  private String value(Expr e) {
    return switch (e) {
      case Const c -> constant(c.value());
      case Name n ->
          EL_RESERVED.contains(n.name()) || !isIdentifier(n.name())
              ? "py:var(" + literal(n.name()) + ")"
              : n.name();
      case ListLit l -> "py:" + (l.tuple() ? "tuple" : "list") + "(" + values(l.items()) + ")";
      case DictLit d -> {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < d.keys().size(); i++) {
          parts.add(value(d.keys().get(i)));
          parts.add(value(d.values().get(i)));
        }
        yield "py:dict(" + String.join(", ", parts) + ")";
      }
      case GetAttr g -> "py:getattr(" + value(g.obj()) + ", " + literal(g.name()) + ")";
      case GetItem g -> "py:getitem(" + value(g.obj()) + ", " + value(g.key()) + ")";
      case Slice s ->
          "py:slice("
              + value(s.obj())
              + ", "
              + optional(s.start())
              + ", "
              + optional(s.stop())
              + ", "
              + optional(s.step())
              + ")";
      case Call c -> call(c);
      case Filter f -> {
        String args = arguments(f.filter().args());
        yield "(("
            + value(f.value())
            + ")|"
            + f.filter().name()
            + (args.isEmpty() ? "" : "(" + args + ")")
            + ")";
      }
      case Unary u -> "py:" + (u.op().equals("-") ? "neg" : "pos") + "(" + value(u.operand()) + ")";
      case Binary b when b.op().equals("and") ->
          // Python's "a and b" is a if a is falsy, else b; Jinjava's conditional is lazy.
          "((" + value(b.right()) + ") if " + bool(b.left()) + " else (" + value(b.left()) + "))";
      case Binary b when b.op().equals("or") ->
          "((" + value(b.left()) + ") if " + bool(b.left()) + " else (" + value(b.right()) + "))";
      case Binary b ->
          "py:" + binaryFunction(b.op()) + "(" + value(b.left()) + ", " + value(b.right()) + ")";
      case CondExpr c ->
          "(("
              + value(c.then())
              + ") if "
              + bool(c.test())
              + " else ("
              + (c.otherwise() == null ? "null" : value(c.otherwise()))
              + "))";
      case Not n -> bool(n);
      case Compare c -> bool(c);
      case Test t -> bool(t);
    };
  }

  /** The compiled expression as a boolean (for conditions, and/or/not). */
  private String bool(Expr e) {
    return switch (e) {
      case Not n -> "(not " + bool(n.operand()) + ")";
      case Binary b when b.op().equals("and") || b.op().equals("or") ->
          "(" + bool(b.left()) + " " + b.op() + " " + bool(b.right()) + ")";
      case Compare c -> {
        List<String> parts = new ArrayList<>();
        Expr left = c.first();
        for (int i = 0; i < c.ops().size(); i++) {
          Expr right = c.operands().get(i);
          parts.add(comparison(c.ops().get(i), value(left), value(right)));
          left = right;
        }
        yield parts.size() == 1 ? parts.getFirst() : "(" + String.join(" and ", parts) + ")";
      }
      case Test t -> test(t);
      case Const c when c.value() instanceof Boolean -> c.value().toString();
      default -> "py:truth(" + value(e) + ")";
    };
  }

  private static String comparison(String op, String left, String right) {
    return switch (op) {
      case "==" -> "py:equal(" + left + ", " + right + ")";
      case "!=" -> "(not py:equal(" + left + ", " + right + "))";
      case "<" -> "py:less(" + left + ", " + right + ")";
      case "<=" -> "py:lesseq(" + left + ", " + right + ")";
      case ">" -> "py:greater(" + left + ", " + right + ")";
      case ">=" -> "py:greatereq(" + left + ", " + right + ")";
      case "in" -> "py:contains(" + right + ", " + left + ")";
      case "not in" -> "(not py:contains(" + right + ", " + left + "))";
      default -> throw new IllegalStateException(op);
    };
  }

  private String test(Test t) {
    String args = arguments(t.args());
    return "py:test("
        + literal(t.name())
        + ", "
        + value(t.value())
        + (args.isEmpty() ? "" : ", " + args)
        + ")";
  }

  private String call(Call c) {
    Args args = c.args();
    if (c.callee() instanceof GetAttr method) {
      String rest = arguments(args);
      return "py:call("
          + value(method.obj())
          + ", "
          + literal(method.name())
          + (rest.isEmpty() ? "" : ", " + rest)
          + ")";
    }
    if (!(c.callee() instanceof Name callee)) {
      throw JinjaLexer.error(c.line(), "only functions, macros and methods can be called");
    }
    String function =
        switch (callee.name()) {
          case "raise_exception" -> "py:raise";
          case "strftime_now" -> "py:strftime";
          case "range" -> "py:range";
          case "dict" -> "py:kwdict";
          default -> {
            if (EL_RESERVED.contains(callee.name()) || !isIdentifier(callee.name())) {
              throw JinjaLexer.error(c.line(), "cannot call '" + callee.name() + "'");
            }
            yield callee.name(); // a macro, or Jinjava's namespace()
          }
        };
    return function + "(" + arguments(args) + ")";
  }

  /** Positional arguments, then keyword arguments as Jinjava's named parameters. */
  private String arguments(Args args) {
    List<String> parts = new ArrayList<>();
    for (Expr e : args.positional()) {
      parts.add(value(e));
    }
    for (int i = 0; i < args.names().size(); i++) {
      // Parenthesized: Jinjava parses "k=a - 1" as "(k=a) - 1".
      parts.add(args.names().get(i) + "=(" + value(args.values().get(i)) + ")");
    }
    return String.join(", ", parts);
  }

  private String values(List<Expr> items) {
    return String.join(", ", items.stream().map(this::value).toList());
  }

  private String optional(Expr e) {
    return e == null ? "null" : value(e);
  }

  private static String binaryFunction(String op) {
    return switch (op) {
      case "+" -> "add";
      case "-" -> "sub";
      case "*" -> "mul";
      case "/" -> "truediv";
      case "//" -> "floordiv";
      case "%" -> "modulo";
      case "**" -> "power";
      case "~" -> "concat";
      default -> throw new IllegalStateException(op);
    };
  }

  private static String constant(Object v) {
    return switch (v) {
      case null -> "py:none()";
      case String s -> literal(s);
      case Boolean b -> b.toString();
      case Long l -> l.toString();
      case Double d -> Double.toString(d);
      default -> "py:bigint(" + literal(v.toString()) + ")";
    };
  }

  private static boolean isIdentifier(String name) {
    if (name.isEmpty() || !Character.isJavaIdentifierStart(name.charAt(0))) {
      return false;
    }
    return name.chars().allMatch(Character::isJavaIdentifierPart) && name.indexOf('$') < 0;
  }

  // ================================================================ token stream

  static final class TokenStream {
    private final List<Token> tokens;
    private int pos;

    TokenStream(List<Token> tokens) {
      this.tokens = tokens;
    }

    Token peek() {
      return tokens.get(pos);
    }

    Token peek(int ahead) {
      return tokens.get(Math.min(pos + ahead, tokens.size() - 1));
    }

    Token next() {
      Token t = tokens.get(pos);
      if (t.type() != Type.END) {
        pos++;
      }
      return t;
    }

    boolean skipOp(String op) {
      if (peek().isOp(op)) {
        pos++;
        return true;
      }
      return false;
    }

    boolean skipName(String name) {
      if (peek().isName(name)) {
        pos++;
        return true;
      }
      return false;
    }

    void expectOp(String op) {
      if (!skipOp(op)) {
        throw unexpected("'" + op + "'");
      }
    }

    void expectName(String name) {
      if (!skipName(name)) {
        throw unexpected("'" + name + "'");
      }
    }

    String expectType(Type type, String what) {
      if (peek().type() != type) {
        throw unexpected(what);
      }
      return (String) next().value();
    }

    void expectEnd(String what) {
      if (peek().type() != Type.END) {
        throw unexpected(what);
      }
    }

    ChatTemplateException unexpected(String expected) {
      Token t = peek();
      return JinjaLexer.error(t.line(), "expected " + expected + ", got " + t.describe());
    }
  }

  // ================================================================ expression parser

  /** Jinja2's expression grammar (jinja2/parser.py), same precedence and associativity. */
  static final class ExprParser {
    private static final Set<String> COMPARE = Set.of("==", "!=", "<", "<=", ">", ">=");
    private final TokenStream ts;
    private final Predicate<String> filterExists;

    ExprParser(TokenStream ts, Predicate<String> filterExists) {
      this.ts = ts;
      this.filterExists = filterExists;
    }

    /** Names, or a tuple of names (parenthesized or not), as assignment/loop targets. */
    List<String> parseTargets(Set<String> extraEnds) {
      List<String> names = new ArrayList<>();
      boolean parens = ts.skipOp("(");
      while (true) {
        if (!names.isEmpty()) {
          if (!ts.skipOp(",")) {
            break;
          }
        }
        Token t = ts.peek();
        if (t.type() == Type.END
            || t.isOp("=")
            || t.isOp(")")
            || t.isOp("|")
            || (t.type() == Type.NAME && extraEnds.contains((String) t.value()))) {
          break;
        }
        names.add(identifier(ts.expectType(Type.NAME, "a name to assign to"), t.line()));
      }
      if (parens) {
        ts.expectOp(")");
      }
      if (names.isEmpty()) {
        throw ts.unexpected("a name to assign to");
      }
      return names;
    }

    Expr parseExpression(boolean withCondexpr) {
      return withCondexpr ? parseCondexpr() : parseOr();
    }

    /** A comma-separated tuple or a single expression. */
    Expr parseTuple(boolean withCondexpr, boolean explicitParens, Set<String> extraEnds) {
      List<Expr> items = new ArrayList<>();
      boolean isTuple = false;
      while (true) {
        if (!items.isEmpty()) {
          ts.expectOp(",");
        }
        Token t = ts.peek();
        if (t.type() == Type.END
            || t.isOp(")")
            || (t.type() == Type.NAME && extraEnds.contains((String) t.value()))) {
          break;
        }
        items.add(parseExpression(withCondexpr));
        if (ts.peek().isOp(",")) {
          isTuple = true;
        } else {
          break;
        }
      }
      if (!isTuple) {
        if (!items.isEmpty()) {
          return items.getFirst();
        }
        if (!explicitParens) {
          throw ts.unexpected("an expression");
        }
      }
      return new ListLit(items, true);
    }

    private Expr parseCondexpr() {
      Expr expr = parseOr();
      while (ts.skipName("if")) {
        Expr test = parseOr();
        Expr otherwise = ts.skipName("else") ? parseCondexpr() : null;
        expr = new CondExpr(test, expr, otherwise);
      }
      return expr;
    }

    private Expr parseOr() {
      Expr left = parseAnd();
      while (ts.skipName("or")) {
        left = new Binary("or", left, parseAnd());
      }
      return left;
    }

    private Expr parseAnd() {
      Expr left = parseNot();
      while (ts.skipName("and")) {
        left = new Binary("and", left, parseNot());
      }
      return left;
    }

    private Expr parseNot() {
      if (ts.skipName("not")) {
        return new Not(parseNot());
      }
      return parseCompare();
    }

    private Expr parseCompare() {
      Expr first = parseMath1();
      List<String> ops = new ArrayList<>();
      List<Expr> operands = new ArrayList<>();
      while (true) {
        Token t = ts.peek();
        if (t.type() == Type.OPERATOR && COMPARE.contains((String) t.value())) {
          ts.next();
          ops.add((String) t.value());
        } else if (t.isName("in")) {
          ts.next();
          ops.add("in");
        } else if (t.isName("not") && ts.peek(1).isName("in")) {
          ts.next();
          ts.next();
          ops.add("not in");
        } else {
          break;
        }
        operands.add(parseMath1());
      }
      return ops.isEmpty() ? first : new Compare(first, ops, operands);
    }

    private Expr parseMath1() {
      Expr left = parseConcat();
      while (ts.peek().isOp("+") || ts.peek().isOp("-")) {
        String op = (String) ts.next().value();
        left = new Binary(op, left, parseConcat());
      }
      return left;
    }

    private Expr parseConcat() {
      Expr left = parseMath2();
      while (ts.skipOp("~")) {
        left = new Binary("~", left, parseMath2());
      }
      return left;
    }

    private Expr parseMath2() {
      Expr left = parsePow();
      while (ts.peek().isOp("*")
          || ts.peek().isOp("/")
          || ts.peek().isOp("//")
          || ts.peek().isOp("%")) {
        String op = (String) ts.next().value();
        left = new Binary(op, left, parsePow());
      }
      return left;
    }

    private Expr parsePow() {
      Expr left = parseUnary(true);
      while (ts.skipOp("**")) {
        left = new Binary("**", left, parseUnary(true));
      }
      return left;
    }

    private Expr parseUnary(boolean withFilter) {
      Expr node;
      if (ts.skipOp("-")) {
        node = new Unary("-", parseUnary(false));
      } else if (ts.skipOp("+")) {
        node = new Unary("+", parseUnary(false));
      } else {
        node = parsePrimary();
      }
      node = parsePostfix(node);
      if (withFilter) {
        node = parseFilterExpr(node);
      }
      return node;
    }

    private Expr parsePrimary() {
      Token t = ts.next();
      switch (t.type()) {
        case NAME -> {
          return switch ((String) t.value()) {
            case "true", "True" -> new Const(true);
            case "false", "False" -> new Const(false);
            case "none", "None" -> new Const(null);
            default -> new Name((String) t.value());
          };
        }
        case STRING -> {
          StringBuilder sb = new StringBuilder((String) t.value());
          while (ts.peek().type() == Type.STRING) {
            sb.append((String) ts.next().value());
          }
          return new Const(sb.toString());
        }
        case INTEGER, FLOAT -> {
          return new Const(t.value());
        }
        case OPERATOR -> {
          switch ((String) t.value()) {
            case "(" -> {
              Expr e = parseTuple(true, true, Set.of());
              ts.expectOp(")");
              return e;
            }
            case "[" -> {
              List<Expr> items = new ArrayList<>();
              while (!ts.peek().isOp("]")) {
                if (!items.isEmpty()) {
                  ts.expectOp(",");
                  if (ts.peek().isOp("]")) {
                    break;
                  }
                }
                items.add(parseExpression(true));
              }
              ts.expectOp("]");
              return new ListLit(items, false);
            }
            case "{" -> {
              List<Expr> keys = new ArrayList<>();
              List<Expr> values = new ArrayList<>();
              while (!ts.peek().isOp("}")) {
                if (!keys.isEmpty()) {
                  ts.expectOp(",");
                  if (ts.peek().isOp("}")) {
                    break;
                  }
                }
                keys.add(parseExpression(true));
                ts.expectOp(":");
                values.add(parseExpression(true));
              }
              ts.expectOp("}");
              return new DictLit(keys, values);
            }
            default -> {}
          }
        }
        default -> {}
      }
      throw JinjaLexer.error(t.line(), "unexpected " + t.describe());
    }

    private Expr parsePostfix(Expr node) {
      while (true) {
        Token t = ts.peek();
        if (t.isOp(".")) {
          ts.next();
          Token attr = ts.next();
          if (attr.type() == Type.NAME) {
            node = new GetAttr(node, (String) attr.value());
          } else if (attr.type() == Type.INTEGER) {
            node = new GetItem(node, new Const(attr.value()));
          } else {
            throw JinjaLexer.error(attr.line(), "expected name or number after '.'");
          }
        } else if (t.isOp("[")) {
          ts.next();
          List<Expr> args = new ArrayList<>();
          while (!ts.peek().isOp("]")) {
            if (!args.isEmpty()) {
              ts.expectOp(",");
            }
            args.add(parseSubscribed(node));
          }
          ts.expectOp("]");
          if (args.size() == 1 && args.getFirst() instanceof Slice s) {
            node = s;
          } else if (args.size() == 1) {
            node = new GetItem(node, args.getFirst());
          } else {
            node = new GetItem(node, new ListLit(args, true));
          }
        } else if (t.isOp("(")) {
          node = new Call(node, parseCallArgs(), t.line());
        } else {
          return node;
        }
      }
    }

    /** One subscript: an expression or a slice a:b:c with any part left out. */
    private Expr parseSubscribed(Expr obj) {
      Expr start = null;
      if (ts.peek().isOp(":")) {
        ts.next();
      } else {
        Expr e = parseExpression(true);
        if (!ts.peek().isOp(":")) {
          return e;
        }
        ts.next();
        start = e;
      }
      Expr stop = null;
      if (!ts.peek().isOp(":") && !ts.peek().isOp("]") && !ts.peek().isOp(",")) {
        stop = parseExpression(true);
      }
      Expr step = null;
      if (ts.skipOp(":") && !ts.peek().isOp("]") && !ts.peek().isOp(",")) {
        step = parseExpression(true);
      }
      return new Slice(obj, start, stop, step);
    }

    private Expr parseFilterExpr(Expr node) {
      while (true) {
        Token t = ts.peek();
        if (t.isOp("|")) {
          ts.next();
          node = new Filter(node, parseFilterCall());
        } else if (t.isName("is")) {
          ts.next();
          node = parseTest(node);
        } else if (t.isOp("(")) {
          node = new Call(node, parseCallArgs(), t.line());
        } else {
          return node;
        }
      }
    }

    FilterCall parseFilterCall() {
      int line = ts.peek().line();
      String name = ts.expectType(Type.NAME, "filter name");
      while (ts.skipOp(".")) {
        name += "." + ts.expectType(Type.NAME, "filter name");
      }
      if (!filterExists.test(name)) {
        // Jinja2 rejects these when compiling; Jinjava would silently print nothing.
        throw JinjaLexer.error(line, "no filter named '" + name + "'");
      }
      Args args = ts.peek().isOp("(") ? parseCallArgs() : new Args(List.of(), List.of(), List.of());
      return new FilterCall(name, args);
    }

    private Expr parseTest(Expr node) {
      boolean negated = ts.skipName("not");
      int line = ts.peek().line();
      String name = ts.expectType(Type.NAME, "test name");
      while (ts.skipOp(".")) {
        name += "." + ts.expectType(Type.NAME, "test name");
      }
      if (!Py.TESTS.contains(name)) {
        throw JinjaLexer.error(line, "no test named '" + name + "'");
      }
      Args args;
      Token t = ts.peek();
      if (t.isOp("(")) {
        args = parseCallArgs();
      } else if ((t.type() == Type.NAME && !t.isName("else") && !t.isName("or") && !t.isName("and"))
          || t.type() == Type.STRING
          || t.type() == Type.INTEGER
          || t.type() == Type.FLOAT
          || t.isOp("(")
          || t.isOp("[")
          || t.isOp("{")) {
        if (t.isName("is")) {
          throw JinjaLexer.error(t.line(), "you cannot chain multiple tests with is");
        }
        args = new Args(List.of(parsePostfix(parsePrimary())), List.of(), List.of());
      } else {
        args = new Args(List.of(), List.of(), List.of());
      }
      Expr test = new Test(node, name, args);
      return negated ? new Not(test) : test;
    }

    private Args parseCallArgs() {
      ts.expectOp("(");
      List<Expr> positional = new ArrayList<>();
      List<String> names = new ArrayList<>();
      List<Expr> values = new ArrayList<>();
      boolean requireComma = false;
      while (!ts.peek().isOp(")")) {
        if (requireComma) {
          ts.expectOp(",");
          if (ts.peek().isOp(")")) {
            break;
          }
        }
        if (ts.peek().isOp("*") || ts.peek().isOp("**")) {
          throw JinjaLexer.error(ts.peek().line(), "*args and **kwargs in calls are not supported");
        }
        if (ts.peek().type() == Type.NAME && ts.peek(1).isOp("=")) {
          names.add((String) ts.next().value());
          ts.next();
          values.add(parseExpression(true));
        } else {
          if (!names.isEmpty()) {
            throw JinjaLexer.error(
                ts.peek().line(), "positional argument follows keyword argument");
          }
          positional.add(parseExpression(true));
        }
        requireComma = true;
      }
      ts.expectOp(")");
      return new Args(positional, names, values);
    }
  }
}
