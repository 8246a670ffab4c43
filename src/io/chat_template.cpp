#include "mixq/io/chat_template.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include "jinja_builtins.hpp"
#include "mixq/core/error.hpp"
#include "mixq/io/tokenizer.hpp"

namespace mixq::io {
using jinja::Args;
using jinja::Kwargs;
using jinja::Value;

namespace {

constexpr int kMaxDepth = 128;                // expression and block nesting
constexpr size_t kMaxSteps = 1'000'000;       // nodes evaluated in one render (thousands of messages)
constexpr size_t kMaxOutput = size_t(64) << 20;  // bytes one render may produce

// ---- the template's pieces: text, {{ expression }}, {% statement %} (comments dropped) ----

struct Piece {
  enum Kind { Text, Output, Statement } kind;
  std::string body;
  size_t offset;  // in the source, for errors
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The end of a tag opened at `from` (just past its "{{" or "{%"): the close `close`, skipping
// quoted strings, which may contain it.
size_t tag_end(const std::string& src, size_t from, const char* close, const std::string& where) {
  char quote = 0;
  for (size_t i = from; i + 1 < src.size(); ++i) {
    const char c = src[i];
    if (quote) {
      if (c == '\\') ++i;
      else if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == close[0] && src[i + 1] == close[1]) {
      return i;
    }
  }
  fail(where, "tag opened at offset {} is never closed", from - 2);
}

// Splits the source as Jinja2 with trim_blocks and lstrip_blocks does (transformers' settings):
// a block tag's first following newline is dropped, spaces before a block tag at a line's start
// are dropped, '-' inside a tag strips all whitespace on that side, and one trailing newline of
// the template goes.
std::vector<Piece> split_pieces(std::string src, const std::string& where) {
  if (src.ends_with("\n")) src.pop_back();
  std::vector<Piece> out;
  bool strip_next = false, trim_newline = false;
  size_t pos = 0;
  while (pos <= src.size()) {
    size_t open = src.find('{', pos);
    while (open != std::string::npos && open + 1 < src.size() && !std::strchr("{%#", src[open + 1])) open = src.find('{', open + 1);
    if (open + 1 >= src.size()) open = std::string::npos;
    std::string text = src.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    std::string body;
    char type = 0;
    bool strip_before = false, strip_after = false;
    size_t close = std::string::npos;
    if (open != std::string::npos) {
      type = src[open + 1];
      const size_t body_start = open + 2;
      close = type == '#' ? src.find("#}", body_start) : tag_end(src, body_start, type == '{' ? "}}" : "%}", where);
      if (close == std::string::npos) fail(where, "comment opened at offset {} is never closed", open);
      body = src.substr(body_start, close - body_start);
      strip_before = !body.empty() && body.front() == '-';
      strip_after = !body.empty() && body.back() == '-';
      if (strip_before) body.erase(0, 1);
      if (strip_after && !body.empty()) body.pop_back();
      const bool keep_indent = !strip_before && !body.empty() && body.front() == '+';  // {%+ disables lstrip_blocks
      if (keep_indent) body.erase(0, 1);
      if (type != '{' && !strip_before && !keep_indent) {  // lstrip_blocks, judged on the text as written
        const size_t nl = text.find_last_of('\n');
        const size_t from = nl == std::string::npos ? 0 : nl + 1;
        if ((nl != std::string::npos || pos == 0) && text.find_first_not_of(" \t", from) == std::string::npos) text.erase(from);
      }
    }
    if (trim_newline && text.starts_with("\n")) text.erase(0, 1);
    if (strip_next) text.erase(0, std::min(text.size(), text.find_first_not_of(" \t\n\r\f\v")));
    if (strip_before)
      while (!text.empty() && is_space(text.back())) text.pop_back();
    if (open == std::string::npos) {
      if (!text.empty()) out.push_back({Piece::Text, text, pos});
      break;
    }
    if (!text.empty()) out.push_back({Piece::Text, text, pos});
    if (type == '{') out.push_back({Piece::Output, body, open});
    if (type == '%') out.push_back({Piece::Statement, body, open});
    strip_next = strip_after;
    trim_newline = type != '{';  // trim_blocks: after {% %} and {# #}
    pos = close + 2;
  }
  return out;
}

// ---- expressions ----

struct Token {
  enum Kind { Name, String, Int, Float, Op, End } kind;
  std::string text;
  int64_t i = 0;
  double f = 0;
};

std::vector<Token> lex(const std::string& s, const std::string& where) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (is_space(c)) {
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t e = i;
      while (e < s.size() && (std::isalnum(static_cast<unsigned char>(s[e])) || s[e] == '_')) ++e;
      out.push_back({Token::Name, s.substr(i, e - i)});
      i = e;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t e = i;
      while (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e]))) ++e;
      const bool is_float = e + 1 < s.size() && s[e] == '.' && std::isdigit(static_cast<unsigned char>(s[e + 1]));
      if (is_float) {
        ++e;
        while (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e]))) ++e;
      }
      const std::string num = s.substr(i, e - i);
      Token t{is_float ? Token::Float : Token::Int, num};
      try {
        if (is_float) t.f = std::stod(num);
        else t.i = std::stoll(num);
      } catch (const std::exception&) {
        fail(where, "number '{}' is out of range", num);
      }
      out.push_back(t);
      i = e;
    } else if (c == '\'' || c == '"') {
      std::string v;
      size_t e = i + 1;
      for (; e < s.size() && s[e] != c; ++e) {
        if (s[e] != '\\' || e + 1 >= s.size()) {
          v += s[e];
          continue;
        }
        const char x = s[++e];
        v += x == 'n' ? '\n' : x == 't' ? '\t' : x == 'r' ? '\r' : x == '0' ? '\0' : x;
      }
      if (e >= s.size()) fail(where, "string literal is never closed");
      out.push_back({Token::String, v});
      i = e + 1;
    } else {
      static const char* ops[] = {"==", "!=", "<=", ">=", "//", "**", "<", ">", "+", "-", "*", "/", "%", "~",
                                  "(",  ")",  "[",  "]",  "{",  "}",  ".", ",", ":", "|", "="};
      const char* op = nullptr;
      for (const char* o : ops)
        if (s.compare(i, std::strlen(o), o) == 0) {
          op = o;
          break;
        }
      if (!op) fail(where, "unexpected character '{}' in an expression", c);
      out.push_back({Token::Op, op});
      i += std::strlen(op);
    }
  }
  out.push_back({Token::End, ""});
  return out;
}

struct Expr {
  enum Kind { Literal, Name, Attr, Index, Slice, Call, Filter, Test, Not, Neg, Binary, And, Or, Cond, ListLit, DictLit } kind;
  Value value;                      // Literal
  std::string name;                 // Name, Attr, Filter, Test; the operator of Binary
  std::vector<std::unique_ptr<Expr>> args;  // operands / arguments (a missing slice bound: nullptr)
  std::vector<std::string> kw;      // keyword names of the last kw.size() args (Call, Filter)
  bool negated = false;             // Test: "is not"
};
using ExprPtr = std::unique_ptr<Expr>;

ExprPtr make(Expr::Kind k, std::string name = {}) {
  auto e = std::make_unique<Expr>();
  e->kind = k;
  e->name = std::move(name);
  return e;
}

// Jinja2's grammar, lowest precedence first: conditional, or, and, not, comparisons (in, not in),
// + -, ~, * / // %, unary minus, then postfix (. [] ()) with filters and tests.
class Parser {
 public:
  Parser(std::vector<Token> tokens, std::string where) : t_(std::move(tokens)), where_(std::move(where)) {}

  ExprPtr expression() {
    Depth d(*this);
    ExprPtr then = or_expr();
    if (!name_is("if")) return then;
    ++p_;
    auto e = make(Expr::Cond);
    e->args.push_back(std::move(then));
    e->args.push_back(or_expr());
    if (name_is("else")) {
      ++p_;
      e->args.push_back(expression());
    } else {
      e->args.push_back(nullptr);
    }
    return e;
  }
  bool op_is(const char* op) const { return t_[p_].kind == Token::Op && t_[p_].text == op; }
  bool name_is(const char* n) const { return t_[p_].kind == Token::Name && t_[p_].text == n; }
  bool at_end() const { return t_[p_].kind == Token::End; }
  void expect_op(const char* op) {
    if (!op_is(op)) fail(where_, "expected '{}', found '{}'", op, t_[p_].text);
    ++p_;
  }
  std::string expect_name() {
    if (t_[p_].kind != Token::Name) fail(where_, "expected a name, found '{}'", t_[p_].text);
    return t_[p_++].text;
  }
  void expect_end() {
    if (!at_end()) fail(where_, "unexpected '{}'", t_[p_].text);
  }

 private:
  struct Depth {
    explicit Depth(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxDepth) fail(p_.where_, "expression nested more than {} deep", kMaxDepth);
    }
    ~Depth() { --p_.depth_; }
    Parser& p_;
  };

  ExprPtr binary(Expr::Kind kind, std::string op, ExprPtr l, ExprPtr r) {
    auto e = make(kind, std::move(op));
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return e;
  }
  ExprPtr or_expr() {
    ExprPtr l = and_expr();
    while (name_is("or")) ++p_, l = binary(Expr::Or, "or", std::move(l), and_expr());
    return l;
  }
  ExprPtr and_expr() {
    ExprPtr l = not_expr();
    while (name_is("and")) ++p_, l = binary(Expr::And, "and", std::move(l), not_expr());
    return l;
  }
  ExprPtr not_expr() {
    Depth d(*this);
    if (!name_is("not")) return compare();
    ++p_;
    auto e = make(Expr::Not);
    e->args.push_back(not_expr());
    return e;
  }
  ExprPtr compare() {
    ExprPtr l = additive();
    for (;;) {
      if (name_is("in")) {
        ++p_;
        l = binary(Expr::Binary, "in", std::move(l), additive());
      } else if (name_is("not") && t_[p_ + 1].kind == Token::Name && t_[p_ + 1].text == "in") {
        p_ += 2;
        l = binary(Expr::Binary, "not in", std::move(l), additive());
      } else if (t_[p_].kind == Token::Op && (op_is("==") || op_is("!=") || op_is("<") || op_is(">") || op_is("<=") || op_is(">="))) {
        const std::string op = t_[p_++].text;
        l = binary(Expr::Binary, op, std::move(l), additive());
      } else {
        return l;
      }
    }
  }
  ExprPtr additive() {
    ExprPtr l = concat();
    while (op_is("+") || op_is("-")) {
      const std::string op = t_[p_++].text;
      l = binary(Expr::Binary, op, std::move(l), concat());
    }
    return l;
  }
  ExprPtr concat() {
    ExprPtr l = multiplicative();
    while (op_is("~")) ++p_, l = binary(Expr::Binary, "~", std::move(l), multiplicative());
    return l;
  }
  ExprPtr multiplicative() {
    ExprPtr l = unary();
    while (op_is("*") || op_is("/") || op_is("//") || op_is("%")) {
      const std::string op = t_[p_++].text;
      l = binary(Expr::Binary, op, std::move(l), unary());
    }
    return l;
  }
  ExprPtr unary() {
    Depth d(*this);
    if (op_is("-")) {
      ++p_;
      auto e = make(Expr::Neg);
      e->args.push_back(unary());
      return e;
    }
    if (op_is("+")) ++p_;
    return filters(postfix(primary()));
  }
  // Arguments of a call or filter: (a, b, key=c).
  void arguments(Expr& e) {
    expect_op("(");
    while (!op_is(")")) {
      if (t_[p_].kind == Token::Name && t_[p_ + 1].kind == Token::Op && t_[p_ + 1].text == "=") {
        e.kw.push_back(t_[p_].text);
        p_ += 2;
      } else if (!e.kw.empty()) {
        fail(where_, "a positional argument follows a keyword argument");
      }
      e.args.push_back(expression());
      if (!op_is(")")) expect_op(",");
    }
    ++p_;
  }
  ExprPtr postfix(ExprPtr e) {
    for (;;) {
      if (op_is(".")) {
        ++p_;
        auto a = make(Expr::Attr, expect_name());
        a->args.push_back(std::move(e));
        e = std::move(a);
      } else if (op_is("[")) {
        ++p_;
        e = subscript(std::move(e));
      } else if (op_is("(")) {
        auto c = make(Expr::Call);
        c->args.push_back(std::move(e));
        arguments(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }
  ExprPtr subscript(ExprPtr object) {
    ExprPtr parts[3];
    int colons = 0;
    while (!op_is("]")) {
      if (op_is(":")) {
        if (++colons > 2) fail(where_, "a slice has at most 3 parts");
        ++p_;
      } else {
        if (parts[colons]) fail(where_, "malformed subscript");
        parts[colons] = expression();
      }
    }
    ++p_;
    auto e = make(colons ? Expr::Slice : Expr::Index);
    e->args.push_back(std::move(object));
    if (!colons && !parts[0]) fail(where_, "empty subscript");
    for (int i = 0; i <= (colons ? 2 : 0); ++i) e->args.push_back(std::move(parts[i]));
    return e;
  }
  ExprPtr filters(ExprPtr e) {
    for (;;) {
      if (op_is("|")) {
        ++p_;
        auto f = make(Expr::Filter, expect_name());
        f->args.push_back(std::move(e));
        if (op_is("(")) arguments(*f);
        e = std::move(f);
      } else if (name_is("is")) {
        ++p_;
        auto t = make(Expr::Test);
        if (name_is("not")) ++p_, t->negated = true;
        t->name = t_[p_].kind == Token::Name ? t_[p_++].text : expect_name();  // none/true/false are names here
        t->args.push_back(std::move(e));
        if (op_is("(")) arguments(*t);
        else if (t_[p_].kind == Token::String || t_[p_].kind == Token::Int) t->args.push_back(primary());
        e = std::move(t);
      } else {
        return e;
      }
    }
  }
  ExprPtr primary() {
    const Token& t = t_[p_];
    auto literal = [&](Value v) {
      ++p_;
      auto e = make(Expr::Literal);
      e->value = std::move(v);
      return e;
    };
    switch (t.kind) {
      case Token::String: {
        std::string s = t.text;
        ++p_;
        while (t_[p_].kind == Token::String) s += t_[p_++].text;  // adjacent literals concatenate
        auto e = make(Expr::Literal);
        e->value = Value::string(std::move(s));
        return e;
      }
      case Token::Int: return literal(Value::integer(t.i));
      case Token::Float: return literal(Value::number(t.f));
      case Token::Name:
        if (t.text == "true" || t.text == "True") return literal(Value::boolean(true));
        if (t.text == "false" || t.text == "False") return literal(Value::boolean(false));
        if (t.text == "none" || t.text == "None") return literal(Value::none());
        ++p_;
        return make(Expr::Name, t.text);
      case Token::Op:
        if (t.text == "(") {
          ++p_;
          ExprPtr e = expression();
          if (op_is(",")) {  // a tuple: held as a list
            auto list = make(Expr::ListLit);
            list->args.push_back(std::move(e));
            while (op_is(",")) {
              ++p_;
              if (op_is(")")) break;
              list->args.push_back(expression());
            }
            e = std::move(list);
          }
          expect_op(")");
          return e;
        }
        if (t.text == "[") {
          ++p_;
          auto e = make(Expr::ListLit);
          while (!op_is("]")) {
            e->args.push_back(expression());
            if (!op_is("]")) expect_op(",");
          }
          ++p_;
          return e;
        }
        if (t.text == "{") {
          ++p_;
          auto e = make(Expr::DictLit);
          while (!op_is("}")) {
            e->args.push_back(expression());
            expect_op(":");
            e->args.push_back(expression());
            if (!op_is("}")) expect_op(",");
          }
          ++p_;
          return e;
        }
        break;
      case Token::End: fail(where_, "the expression ends early");
    }
    fail(where_, "unexpected '{}'", t.text);
  }

  std::vector<Token> t_;
  std::string where_;
  size_t p_ = 0;
  int depth_ = 0;
};

}  // namespace

// ---- statements ----

struct ChatTemplate::Node {
  enum Kind { Body, Text, Output, If, For, Set, Break, Continue } kind = Body;
  std::string text;                       // Text
  std::vector<ExprPtr> exprs;             // Output: [value]; If: conditions; For: [iterable]; Set: [value]
  std::vector<std::unique_ptr<Node>> children;  // Body: statements; If: one body per branch (+ else); For: [body, else]
  std::vector<std::string> targets;       // For: loop variables; Set: [name] or [namespace, attribute]
};

namespace {
using Node = ChatTemplate::Node;

std::unique_ptr<Node> node(Node::Kind k) {
  auto n = std::make_unique<Node>();
  n->kind = k;
  return n;
}

// Builds the tree: {% if %}/{% for %} open a block that {% elif/else %} continues and {% end* %} closes.
std::unique_ptr<Node> build(const std::vector<Piece>& pieces, const std::string& where) {
  struct Open {
    Node* block;  // If or For
    Node* body;   // where statements go now
  };
  auto root = node(Node::Body);
  std::vector<Open> stack;
  auto current = [&]() -> Node& { return stack.empty() ? *root : *stack.back().body; };
  auto new_body = [&](Node& block) {
    block.children.push_back(node(Node::Body));
    return block.children.back().get();
  };
  for (const Piece& p : pieces) {
    const std::string at = fmt::format("{} (offset {})", where, p.offset);
    if (p.kind == Piece::Text) {
      auto t = node(Node::Text);
      t->text = p.body;
      current().children.push_back(std::move(t));
      continue;
    }
    Parser ps(lex(p.body, at), at);
    if (p.kind == Piece::Output) {
      auto o = node(Node::Output);
      o->exprs.push_back(ps.expression());
      ps.expect_end();
      current().children.push_back(std::move(o));
      continue;
    }
    if (ps.at_end()) fail(at, "empty statement");
    const std::string keyword = ps.expect_name();
    if (keyword == "if") {
      auto n = node(Node::If);
      n->exprs.push_back(ps.expression());
      Node* raw = n.get();
      current().children.push_back(std::move(n));
      if (stack.size() >= size_t(kMaxDepth)) fail(at, "blocks nested more than {} deep", kMaxDepth);
      stack.push_back({raw, new_body(*raw)});
    } else if (keyword == "elif" || keyword == "else") {
      if (stack.empty()) fail(at, "{{% {} %}} outside a block", keyword);
      Node& block = *stack.back().block;
      if (block.kind == Node::For) {
        if (keyword == "elif" || block.children.size() > 1) fail(at, "{{% {} %}} in a for loop", keyword);
      } else if (block.children.size() > block.exprs.size()) {
        fail(at, "{{% {} %}} after {{% else %}}", keyword);
      }
      if (keyword == "elif") block.exprs.push_back(ps.expression());
      stack.back().body = new_body(block);
    } else if (keyword == "endif" || keyword == "endfor") {
      if (stack.empty() || (stack.back().block->kind == Node::If) != (keyword == "endif"))
        fail(at, "{{% {} %}} does not close an open block", keyword);
      stack.pop_back();
    } else if (keyword == "for") {
      auto n = node(Node::For);
      n->targets.push_back(ps.expect_name());
      while (ps.op_is(",")) {
        ps.expect_op(",");
        n->targets.push_back(ps.expect_name());
      }
      if (!ps.name_is("in")) fail(at, "expected 'in' in a for loop");
      ps.expect_name();
      n->exprs.push_back(ps.expression());
      if (ps.name_is("recursive")) fail(at, "recursive loops are not supported");
      Node* raw = n.get();
      current().children.push_back(std::move(n));
      if (stack.size() >= size_t(kMaxDepth)) fail(at, "blocks nested more than {} deep", kMaxDepth);
      stack.push_back({raw, new_body(*raw)});
    } else if (keyword == "set") {
      auto n = node(Node::Set);
      n->targets.push_back(ps.expect_name());
      if (ps.op_is(".")) {
        ps.expect_op(".");
        n->targets.push_back(ps.expect_name());
      }
      if (!ps.op_is("=")) fail(at, "block {{% set %}} is not supported (only set x = value)");
      ps.expect_op("=");
      n->exprs.push_back(ps.expression());
      current().children.push_back(std::move(n));
    } else if (keyword == "break" || keyword == "continue") {
      current().children.push_back(node(keyword == "break" ? Node::Break : Node::Continue));
    } else if (keyword == "generation" || keyword == "endgeneration") {
      continue;  // transformers' marker of the assistant's tokens: prints nothing
    } else {
      fail(at, "'{{% {} %}}' is not supported in chat templates", keyword);
    }
    ps.expect_end();
  }
  if (!stack.empty()) fail(where, "a {{% {} %}} block is never closed", stack.back().block->kind == Node::If ? "if" : "for");
  return root;
}

// ---- evaluation ----

class Renderer {
 public:
  Renderer(const std::string& where, const nlohmann::json& vars) : where_(where) {
    scopes_.emplace_back();
    for (const auto& [k, v] : vars.items()) scopes_.back()[k] = Value::from_json(v);
  }
  std::string out;

  enum class Flow { Normal, Break, Continue };

  Flow run(const Node& n) {
    step();
    switch (n.kind) {
      case Node::Body:
        for (const auto& c : n.children)
          if (Flow f = run(*c); f != Flow::Normal) return f;
        return Flow::Normal;
      case Node::Text: emit(n.text); return Flow::Normal;
      case Node::Output: emit(jinja::to_text(eval(*n.exprs[0]))); return Flow::Normal;
      case Node::If:
        for (size_t i = 0; i < n.children.size(); ++i)
          if (i >= n.exprs.size() || jinja::truthy(eval(*n.exprs[i]))) return run(*n.children[i]);
        return Flow::Normal;
      case Node::For: return run_for(n);
      case Node::Set: {
        Value v = eval(*n.exprs[0]);
        if (n.targets.size() == 1) {
          scopes_.back()[n.targets[0]] = std::move(v);
        } else {
          Value ns = lookup(n.targets[0]);
          if (ns.kind != Value::Kind::Dict) fail(where_, "'{}' is not a namespace: cannot set {}.{}", n.targets[0], n.targets[0], n.targets[1]);
          ns.set(n.targets[1], std::move(v));
        }
        return Flow::Normal;
      }
      case Node::Break: return Flow::Break;
      case Node::Continue: return Flow::Continue;
    }
    return Flow::Normal;
  }

 private:
  void step() {
    if (++steps_ > kMaxSteps) fail(where_, "rendering takes more than {} steps", kMaxSteps);
  }
  void emit(const std::string& s) {
    out += s;
    if (out.size() > kMaxOutput) fail(where_, "renders more than {} bytes", kMaxOutput);
  }
  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
      if (auto f = it->find(name); f != it->end()) return f->second;
    return Value();
  }

  Flow run_for(const Node& n) {
    const Value seq = eval(*n.exprs[0]);
    jinja::List items;
    if (seq.kind == Value::Kind::List) items = *seq.list;
    else if (seq.kind == Value::Kind::Dict)
      for (const auto& [k, v] : *seq.dict) items.push_back(Value::string(k));
    else if (seq.kind == Value::Kind::String)
      for (const auto& c : jinja::characters(seq.s)) items.push_back(Value::string(c));
    else if (seq.defined() && seq.kind != Value::Kind::None)
      fail(where_, "cannot loop over a {}", jinja::kind_name(seq.kind));
    if (items.empty()) return n.children.size() > 1 ? run(*n.children[1]) : Flow::Normal;
    const int64_t len = int64_t(items.size());
    for (int64_t i = 0; i < len; ++i) {
      scopes_.emplace_back();
      auto& scope = scopes_.back();
      const Value& item = items[size_t(i)];
      if (n.targets.size() == 1) {
        scope[n.targets[0]] = item;
      } else {
        if (item.kind != Value::Kind::List || item.list->size() != n.targets.size())
          fail(where_, "cannot unpack a {} into {} loop variables", jinja::kind_name(item.kind), n.targets.size());
        for (size_t t = 0; t < n.targets.size(); ++t) scope[n.targets[t]] = (*item.list)[t];
      }
      scope["loop"] = Value::new_dict({{"index0", Value::integer(i)},
                                       {"index", Value::integer(i + 1)},
                                       {"revindex0", Value::integer(len - i - 1)},
                                       {"revindex", Value::integer(len - i)},
                                       {"first", Value::boolean(i == 0)},
                                       {"last", Value::boolean(i == len - 1)},
                                       {"length", Value::integer(len)},
                                       {"previtem", i > 0 ? items[size_t(i - 1)] : Value()},
                                       {"nextitem", i + 1 < len ? items[size_t(i + 1)] : Value()}});
      const Flow f = run(*n.children[0]);
      scopes_.pop_back();
      if (f == Flow::Break) break;
    }
    return Flow::Normal;
  }

  // Python's integer index into a sequence of `size` (negative from the end); -1 when outside.
  static int64_t index_of(int64_t i, size_t size) {
    if (i < 0) i += int64_t(size);
    return i >= 0 && i < int64_t(size) ? i : -1;
  }

  Value slice(const Value& obj, const Expr& e) {
    auto bound = [&](size_t k) -> std::optional<int64_t> {
      if (!e.args[k]) return std::nullopt;
      const Value v = eval(*e.args[k]);
      if (v.kind == Value::Kind::None) return std::nullopt;
      if (v.kind != Value::Kind::Int) fail(where_, "slice bounds must be integers");
      return v.i;
    };
    const auto start = bound(1), stop = bound(2), step_opt = bound(3);
    const int64_t step = step_opt.value_or(1);
    if (step == 0) fail(where_, "slice step cannot be zero");
    const std::vector<std::string> chars = obj.kind == Value::Kind::String ? jinja::characters(obj.s) : std::vector<std::string>();
    const int64_t n = obj.kind == Value::Kind::String ? int64_t(chars.size()) : obj.kind == Value::Kind::List ? int64_t(obj.list->size()) : -1;
    if (n < 0) fail(where_, "cannot slice a {}", jinja::kind_name(obj.kind));
    // Python's slice.indices().
    auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
      if (!v) return dflt;
      int64_t x = *v < 0 ? *v + n : *v;
      return step > 0 ? std::clamp<int64_t>(x, 0, n) : std::clamp<int64_t>(x, -1, n - 1);
    };
    const int64_t b = clamp(start, step > 0 ? 0 : n - 1), end = clamp(stop, step > 0 ? n : -1);
    jinja::List items;
    std::string s;
    for (int64_t i = b; step > 0 ? i < end : i > end; i += step) {
      if (obj.kind == Value::Kind::String) s += chars[size_t(i)];
      else items.push_back((*obj.list)[size_t(i)]);
    }
    return obj.kind == Value::Kind::String ? Value::string(s) : Value::new_list(std::move(items));
  }

  void arguments(const Expr& e, size_t first, Args& args, Kwargs& kwargs) {
    const size_t positional = e.args.size() - e.kw.size();
    for (size_t i = first; i < positional; ++i) args.push_back(eval(*e.args[i]));
    for (size_t i = 0; i < e.kw.size(); ++i) kwargs.emplace_back(e.kw[i], eval(*e.args[positional + i]));
  }

  Value binary(const std::string& op, const Value& a, const Value& b) {
    using K = Value::Kind;
    if (op == "==") return Value::boolean(jinja::equal(a, b));
    if (op == "!=") return Value::boolean(!jinja::equal(a, b));
    if (op == "<") return Value::boolean(jinja::less(a, b, where_));
    if (op == ">") return Value::boolean(jinja::less(b, a, where_));
    if (op == "<=") return Value::boolean(!jinja::less(b, a, where_));
    if (op == ">=") return Value::boolean(!jinja::less(a, b, where_));
    if (op == "~") return Value::string(jinja::to_text(a) + jinja::to_text(b));
    if (op == "in" || op == "not in") {
      bool found = false;
      if (b.kind == K::String && a.kind == K::String) found = b.s.find(a.s) != std::string::npos;
      else if (b.kind == K::List) found = std::any_of(b.list->begin(), b.list->end(), [&](const Value& x) { return jinja::equal(a, x); });
      else if (b.kind == K::Dict) found = a.kind == K::String && b.get(a.s).defined();
      else if (b.defined()) fail(where_, "'in' needs a string, list or dict on its right, not a {}", jinja::kind_name(b.kind));
      return Value::boolean(found == (op == "in"));
    }
    if (op == "+" && a.kind == K::String && b.kind == K::String) return Value::string(a.s + b.s);
    if (op == "+" && a.kind == K::List && b.kind == K::List) {
      jinja::List items = *a.list;
      items.insert(items.end(), b.list->begin(), b.list->end());
      return Value::new_list(std::move(items));
    }
    if (!a.is_number() || !b.is_number())
      fail(where_, "cannot apply '{}' to a {} and a {}", op, jinja::kind_name(a.kind), jinja::kind_name(b.kind));
    const bool ints = a.kind == K::Int && b.kind == K::Int;
    if (op == "/") {
      if (b.as_double() == 0) fail(where_, "division by zero");
      return Value::number(a.as_double() / b.as_double());
    }
    if (ints) {
      const int64_t x = a.i, y = b.i;
      if (op == "+") return Value::integer(x + y);
      if (op == "-") return Value::integer(x - y);
      if (op == "*") return Value::integer(x * y);
      if (y == 0) fail(where_, "division by zero");
      const int64_t q = x / y - ((x % y != 0) && ((x < 0) != (y < 0)));  // Python floors
      if (op == "//") return Value::integer(q);
      if (op == "%") return Value::integer(x - q * y);
    }
    const double x = a.as_double(), y = b.as_double();
    if (op == "+") return Value::number(x + y);
    if (op == "-") return Value::number(x - y);
    if (op == "*") return Value::number(x * y);
    if (y == 0) fail(where_, "division by zero");
    if (op == "//") return Value::number(std::floor(x / y));
    if (op == "%") return Value::number(x - std::floor(x / y) * y);
    fail(where_, "unknown operator '{}'", op);
  }

  Value eval(const Expr& e) {
    step();
    switch (e.kind) {
      case Expr::Literal: return e.value;
      case Expr::Name: return lookup(e.name);
      case Expr::Attr: return eval(*e.args[0]).get(e.name);
      case Expr::Index: {
        const Value obj = eval(*e.args[0]), key = eval(*e.args[1]);
        if (obj.kind == Value::Kind::Dict) return key.kind == Value::Kind::String ? obj.get(key.s) : Value();
        if (key.kind != Value::Kind::Int) return Value();
        if (obj.kind == Value::Kind::List) {
          const int64_t i = index_of(key.i, obj.list->size());
          return i < 0 ? Value() : (*obj.list)[size_t(i)];
        }
        if (obj.kind == Value::Kind::String) {
          const auto chars = jinja::characters(obj.s);
          const int64_t i = index_of(key.i, chars.size());
          return i < 0 ? Value() : Value::string(chars[size_t(i)]);
        }
        return Value();
      }
      case Expr::Slice: return slice(eval(*e.args[0]), e);
      case Expr::Call: {
        Args args;
        Kwargs kwargs;
        arguments(e, 1, args, kwargs);
        const Expr& callee = *e.args[0];
        if (callee.kind == Expr::Attr) return jinja::call_method(eval(*callee.args[0]), callee.name, args, kwargs, where_);
        if (callee.kind == Expr::Name) return jinja::call_function(callee.name, args, kwargs, where_);
        fail(where_, "only functions and methods can be called");
      }
      case Expr::Filter: {
        Args args;
        Kwargs kwargs;
        arguments(e, 1, args, kwargs);
        return jinja::apply_filter(e.name, eval(*e.args[0]), args, kwargs, where_);
      }
      case Expr::Test: {
        Args args;
        Kwargs kwargs;
        arguments(e, 1, args, kwargs);
        return Value::boolean(jinja::apply_test(e.name, eval(*e.args[0]), args, where_) != e.negated);
      }
      case Expr::Not: return Value::boolean(!jinja::truthy(eval(*e.args[0])));
      case Expr::Neg: {
        const Value v = eval(*e.args[0]);
        if (v.kind == Value::Kind::Int) return Value::integer(-v.i);
        if (v.kind == Value::Kind::Float) return Value::number(-v.f);
        fail(where_, "cannot negate a {}", jinja::kind_name(v.kind));
      }
      case Expr::And: {
        Value l = eval(*e.args[0]);
        return jinja::truthy(l) ? eval(*e.args[1]) : l;
      }
      case Expr::Or: {
        Value l = eval(*e.args[0]);
        return jinja::truthy(l) ? l : eval(*e.args[1]);
      }
      case Expr::Binary: return binary(e.name, eval(*e.args[0]), eval(*e.args[1]));
      case Expr::Cond:
        if (jinja::truthy(eval(*e.args[1]))) return eval(*e.args[0]);
        return e.args[2] ? eval(*e.args[2]) : Value();
      case Expr::ListLit: {
        jinja::List items;
        for (const auto& a : e.args) items.push_back(eval(*a));
        return Value::new_list(std::move(items));
      }
      case Expr::DictLit: {
        Value d = Value::new_dict();
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          const Value k = eval(*e.args[i]);
          if (k.kind != Value::Kind::String) fail(where_, "dict keys must be strings");
          d.set(k.s, eval(*e.args[i + 1]));
        }
        return d;
      }
    }
    return Value();
  }

  std::string where_;
  std::vector<std::map<std::string, Value>> scopes_;
  size_t steps_ = 0;
};

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source, const std::string& where)
    : where_(where), root_(build(split_pieces(source, where), where)) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string apply_chat_template(const Tokenizer& tokenizer, const nlohmann::json& messages, bool add_generation_prompt) {
  if (tokenizer.chat_template().empty())
    fail("--chat", "the tokenizer has no chat_template (tokenizer_config.json beside a tokenizer.json carries it)");
  if (!messages.is_array()) fail("messages", "must be a list of {{\"role\": ..., \"content\": ...}}");
  for (const auto& m : messages)
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content"))
      fail("messages", "every message needs a string \"role\" and a \"content\", got {}", m.dump());
  const ChatTemplate tpl(tokenizer.chat_template(), "chat_template");
  return tpl.render({{"messages", messages},
                     {"bos_token", tokenizer.bos_text()},
                     {"eos_token", tokenizer.eos_text()},
                     {"add_generation_prompt", add_generation_prompt}});
}

std::string ChatTemplate::render(const nlohmann::json& variables) const {
  Renderer r(where_, variables);
  r.run(*root_);
  return std::move(r.out);
}

}  // namespace mixq::io
