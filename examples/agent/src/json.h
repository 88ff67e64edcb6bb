// agent_json: the small JSON reader and writer the agent example's actors share.
//
// The wasm sysroot has no JSON library, and what the agent parses comes from outside (the
// model's replies, tool arguments the model wrote, the state a user gave), so the reader is
// built for untrusted input:
//   * bounded: the document's size, its nesting depth and its number of values each have a
//     limit (Limits), and exceeding one is an error naming it, not a crash;
//   * without recursion: the parser walks the text once with an explicit stack of open
//     containers (at most `max_depth` entries), so no input can exhaust the guest's stack;
//   * strict: RFC 8259 grammar, valid UTF-8 only, escapes (\uXXXX surrogate pairs included)
//     decoded, duplicate keys allowed (lookups take the first).
// A parsed Document is a flat vector of nodes (first child / next sibling links); a Value is a
// cheap view of one node. Every node remembers its span in the source, so a sub-document can be
// copied out verbatim (Value::raw).
//
// The Writer builds compact JSON text and never emits invalid JSON: strings are escaped and any
// invalid UTF-8 in them becomes U+FFFD (tool output may be binary; the model's API takes UTF-8).
//
// Header-only, C++20, no exceptions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agent_json {

struct Limits {
  size_t max_bytes = 8u << 20;   // the whole text
  size_t max_depth = 32;         // arrays and objects open at once
  size_t max_values = 1u << 18;  // values of every kind, containers included
};

enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

inline constexpr uint32_t kNoNode = 0xffffffffu;

// The length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not
// one (overlong forms, surrogates and values above U+10FFFF are invalid).
inline size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2, cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3, cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  return len;
}

inline void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// `s` with every invalid UTF-8 sequence replaced by U+FFFD.
inline std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

// At most `max` bytes of `s`, cut back to a UTF-8 boundary (for log lines and error texts).
inline std::string_view Prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  return s.substr(0, end);
}

class Document;

// A view of one value of a Document; invalid (valid() == false) when a lookup found nothing.
// Accessors on the wrong type return empty answers rather than failing.
class Value {
 public:
  Value() = default;
  bool valid() const { return doc_ != nullptr && index_ != kNoNode; }
  Type type() const;
  bool is_null() const { return valid() && type() == Type::kNull; }
  bool is_string() const { return valid() && type() == Type::kString; }
  bool is_number() const { return valid() && type() == Type::kNumber; }
  bool is_bool() const { return valid() && type() == Type::kBool; }
  bool is_array() const { return valid() && type() == Type::kArray; }
  bool is_object() const { return valid() && type() == Type::kObject; }

  // The decoded text of a string; "" for anything else.
  std::string_view str() const;
  bool boolean() const;
  // An integer number within int64 (no fraction or exponent), else nullopt.
  std::optional<int64_t> integer() const;
  // The value's text exactly as it is in the source.
  std::string_view raw() const;

  // The member `key` of an object (the first, if repeated); invalid when absent.
  Value operator[](std::string_view key) const;
  // Element `i` of an array; invalid when out of range.
  Value at(size_t i) const;
  size_t size() const;  // elements or members of a container; 0 otherwise
  // Children in order: `for (Value v = x.first(); v.valid(); v = v.next())`.
  Value first() const;
  Value next() const;
  // The key of an object member (this value's name in its parent object).
  std::string_view key() const;

 private:
  friend class Document;
  Value(const Document* doc, uint32_t index) : doc_(doc), index_(index) {}
  const Document* doc_ = nullptr;
  uint32_t index_ = kNoNode;
};

class Document {
 public:
  // Parses `text`; on failure returns nullopt and sets *error to what is wrong and where.
  static std::optional<Document> Parse(std::string_view text, std::string* error,
                                       const Limits& limits = {});

  Value root() const { return Value(this, nodes_.empty() ? kNoNode : 0); }

 private:
  friend class Value;
  struct Node {
    Type type = Type::kNull;
    bool boolean = false;
    uint32_t first = kNoNode;     // first child
    uint32_t last = kNoNode;      // last child, while parsing
    uint32_t next = kNoNode;      // next sibling
    uint32_t count = 0;           // children
    uint32_t begin = 0, end = 0;  // span in text_
    std::string text;             // decoded string or number text
    std::string key;              // name in the parent object
  };

  // Parses the string starting at the quote at text_[*pos]; leaves *pos after the closing
  // quote. Returns false with *error set on malformed input.
  bool ParseString(size_t* pos, std::string* out, std::string* error) const;
  bool ParseNumber(size_t* pos, std::string* error) const;

  std::string text_;
  std::vector<Node> nodes_;
};

// ---------------------------------------------------------------------------------------------
// Implementation.

inline Type Value::type() const {
  return doc_->nodes_[index_].type;
}

inline std::string_view Value::str() const {
  return is_string() ? std::string_view(doc_->nodes_[index_].text) : std::string_view();
}

inline bool Value::boolean() const {
  return is_bool() && doc_->nodes_[index_].boolean;
}

inline std::optional<int64_t> Value::integer() const {
  if (!is_number()) return std::nullopt;
  std::string_view t = doc_->nodes_[index_].text;
  bool negative = !t.empty() && t[0] == '-';
  if (negative) t.remove_prefix(1);
  if (t.empty() || t.size() > 18) return std::nullopt;  // 18 digits always fit in int64
  int64_t n = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return negative ? -n : n;
}

inline std::string_view Value::raw() const {
  if (!valid()) return {};
  const auto& node = doc_->nodes_[index_];
  return std::string_view(doc_->text_).substr(node.begin, node.end - node.begin);
}

inline Value Value::operator[](std::string_view key) const {
  if (!is_object()) return {};
  for (Value v = first(); v.valid(); v = v.next()) {
    if (v.key() == key) return v;
  }
  return {};
}

inline Value Value::at(size_t i) const {
  if (!is_array()) return {};
  Value v = first();
  for (; v.valid() && i > 0; --i) v = v.next();
  return v;
}

inline size_t Value::size() const {
  return valid() ? doc_->nodes_[index_].count : 0;
}

inline Value Value::first() const {
  return valid() ? Value(doc_, doc_->nodes_[index_].first) : Value();
}

inline Value Value::next() const {
  return valid() ? Value(doc_, doc_->nodes_[index_].next) : Value();
}

inline std::string_view Value::key() const {
  return valid() ? std::string_view(doc_->nodes_[index_].key) : std::string_view();
}

inline bool Document::ParseString(size_t* pos, std::string* out, std::string* error) const {
  const std::string& s = text_;
  size_t i = *pos + 1;  // after the opening quote
  const auto hex4 = [&](size_t at, uint32_t* v) {
    if (at + 4 > s.size()) return false;
    *v = 0;
    for (size_t k = at; k < at + 4; ++k) {
      char c = s[k];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) return false;
      *v = (*v << 4) | static_cast<uint32_t>(d);
    }
    return true;
  };
  const auto fail = [&](size_t at, const char* what) {
    *error = std::string(what) + " at byte " + std::to_string(at);
    return false;
  };
  while (true) {
    if (i >= s.size()) return fail(*pos, "unterminated string starting");
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') break;
    if (c < 0x20) return fail(i, "unescaped control character in a string");
    if (c == '\\') {
      if (i + 1 >= s.size()) return fail(i, "unterminated escape");
      char e = s[i + 1];
      i += 2;
      switch (e) {
        case '"':
          *out += '"';
          break;
        case '\\':
          *out += '\\';
          break;
        case '/':
          *out += '/';
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'n':
          *out += '\n';
          break;
        case 'r':
          *out += '\r';
          break;
        case 't':
          *out += '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!hex4(i, &cp)) return fail(i - 2, "malformed \\u escape");
          i += 4;
          if (cp >= 0xd800 && cp <= 0xdbff) {  // a high surrogate needs its low half
            uint32_t low;
            if (i + 1 >= s.size() || s[i] != '\\' || s[i + 1] != 'u' || !hex4(i + 2, &low) ||
                low < 0xdc00 || low > 0xdfff) {
              return fail(i - 6, "unpaired surrogate in a \\u escape");
            }
            i += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return fail(i - 6, "unpaired surrogate in a \\u escape");
          }
          AppendUtf8(*out, cp);
          break;
        }
        default:
          return fail(i - 2, "unknown escape");
      }
      continue;
    }
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return fail(i, "invalid UTF-8");
    out->append(s, i, n);
    i += n;
  }
  *pos = i + 1;
  return true;
}

inline bool Document::ParseNumber(size_t* pos, std::string* error) const {
  const std::string& s = text_;
  size_t i = *pos;
  const auto digits = [&]() {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    *error = "malformed number at byte " + std::to_string(*pos);
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) {
      *error = "malformed number at byte " + std::to_string(*pos);
      return false;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) {
      *error = "malformed number at byte " + std::to_string(*pos);
      return false;
    }
  }
  *pos = i;
  return true;
}

inline std::optional<Document> Document::Parse(std::string_view text, std::string* error,
                                               const Limits& limits) {
  if (text.size() > limits.max_bytes || text.size() >= kNoNode) {
    *error = "the document is " + std::to_string(text.size()) + " bytes, more than the limit of " +
             std::to_string(limits.max_bytes);
    return std::nullopt;
  }
  Document doc;
  doc.text_ = std::string(text);
  const std::string& s = doc.text_;
  std::vector<uint32_t> open;  // containers being filled, innermost last
  size_t i = 0;
  const auto skip_space = [&]() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  };
  const auto fail = [&](std::string what) {
    *error = std::move(what);
    return std::nullopt;
  };
  const auto at = [&](size_t k) { return " at byte " + std::to_string(k); };

  // One pass: each iteration reads one value (scalar or container opening) in the position
  // `open` describes, after the separators that lead to it.
  bool expect_value = true;  // at the start, after ':' or ',' in an array
  std::string key;           // the member name read before the value
  while (true) {
    skip_space();
    if (!expect_value) {
      // After a value: end of input at the top level, or ',' / a closing bracket inside one.
      if (open.empty()) {
        if (i != s.size()) return fail("unexpected text after the document" + at(i));
        break;
      }
      Node& container = doc.nodes_[open.back()];
      const char close = container.type == Type::kArray ? ']' : '}';
      if (i < s.size() && s[i] == close) {
        container.end = static_cast<uint32_t>(++i);
        open.pop_back();
        continue;
      }
      if (i >= s.size() || s[i] != ',') {
        return fail(std::string("expected ',' or '") + close + "'" + at(i));
      }
      ++i;
      skip_space();
      expect_value = true;
    }
    // A member of an object starts with its name.
    const bool in_object = !open.empty() && doc.nodes_[open.back()].type == Type::kObject;
    key.clear();
    if (in_object) {
      if (i >= s.size() || s[i] != '"') return fail("expected a member name" + at(i));
      if (!doc.ParseString(&i, &key, error)) return std::nullopt;
      skip_space();
      if (i >= s.size() || s[i] != ':') return fail("expected ':'" + at(i));
      ++i;
      skip_space();
    }
    if (i >= s.size()) return fail("unexpected end of the document");
    if (doc.nodes_.size() >= limits.max_values) {
      return fail("more than " + std::to_string(limits.max_values) + " values");
    }
    // The new node, linked into its container.
    const uint32_t index = static_cast<uint32_t>(doc.nodes_.size());
    doc.nodes_.emplace_back();
    if (!open.empty()) {
      Node& parent = doc.nodes_[open.back()];
      if (parent.last != kNoNode) doc.nodes_[parent.last].next = index;
      if (parent.first == kNoNode) parent.first = index;
      parent.last = index;
      parent.count++;
    }
    Node& node = doc.nodes_[index];
    node.key = key;
    node.begin = static_cast<uint32_t>(i);
    const char c = s[i];
    expect_value = false;
    if (c == '{' || c == '[') {
      if (open.size() >= limits.max_depth) {
        return fail("nested deeper than " + std::to_string(limits.max_depth) + " levels" + at(i));
      }
      node.type = c == '{' ? Type::kObject : Type::kArray;
      open.push_back(index);
      ++i;
      skip_space();
      const char close = c == '{' ? '}' : ']';
      if (i < s.size() && s[i] == close) {  // empty container
        doc.nodes_[index].end = static_cast<uint32_t>(++i);
        open.pop_back();
      } else {
        expect_value = true;
      }
      continue;
    }
    if (c == '"') {
      node.type = Type::kString;
      std::string value;
      if (!doc.ParseString(&i, &value, error)) return std::nullopt;
      doc.nodes_[index].text = std::move(value);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      node.type = Type::kNumber;
      size_t start = i;
      if (!doc.ParseNumber(&i, error)) return std::nullopt;
      doc.nodes_[index].text = s.substr(start, i - start);
    } else if (s.compare(i, 4, "true") == 0 || s.compare(i, 5, "false") == 0) {
      node.type = Type::kBool;
      node.boolean = c == 't';
      i += node.boolean ? 4 : 5;
    } else if (s.compare(i, 4, "null") == 0) {
      node.type = Type::kNull;
      i += 4;
    } else {
      return fail("unexpected character" + at(i));
    }
    doc.nodes_[index].end = static_cast<uint32_t>(i);
  }
  return doc;
}

// Builds compact JSON. Calls must nest properly (Begin/End pairs, Key before each member's
// value); the writer inserts the commas.
class Writer {
 public:
  Writer& BeginObject() { return Open('{'); }
  Writer& EndObject() { return Close('}'); }
  Writer& BeginArray() { return Open('['); }
  Writer& EndArray() { return Close(']'); }
  Writer& Key(std::string_view key) {
    Separate();
    Quote(key);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  Writer& String(std::string_view value) {
    Separate();
    Quote(value);
    return *this;
  }
  Writer& Int(int64_t value) {
    Separate();
    out_ += std::to_string(value);
    return *this;
  }
  Writer& Bool(bool value) {
    Separate();
    out_ += value ? "true" : "false";
    return *this;
  }
  Writer& Null() {
    Separate();
    out_ += "null";
    return *this;
  }
  // Inserts `json`, which must be one valid JSON value (e.g. a Value::raw of a parsed document).
  Writer& Raw(std::string_view json) {
    Separate();
    out_.append(json);
    return *this;
  }
  // Key(k).String(v), for brevity.
  Writer& Member(std::string_view key, std::string_view value) { return Key(key).String(value); }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  Writer& Open(char c) {
    Separate();
    out_ += c;
    first_.push_back(true);
    return *this;
  }
  Writer& Close(char c) {
    out_ += c;
    if (!first_.empty()) first_.pop_back();
    return *this;
  }
  // A comma before every value of a container but the first; none after a member's key.
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
  void Quote(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_ += '"';
    for (size_t i = 0; i < s.size();) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += static_cast<char>(c);
      } else if (c == '\n') {
        out_ += "\\n";
      } else if (c == '\r') {
        out_ += "\\r";
      } else if (c == '\t') {
        out_ += "\\t";
      } else if (c < 0x20) {
        out_ += "\\u00";
        out_ += kHex[c >> 4];
        out_ += kHex[c & 15];
      } else if (c >= 0x80) {
        size_t n = Utf8SequenceLength(s, i);
        if (n == 0) {
          out_ += "\xef\xbf\xbd";  // U+FFFD for a byte that is not UTF-8
          ++i;
        } else {
          out_.append(s.substr(i, n));
          i += n;
        }
        continue;
      } else {
        out_ += static_cast<char>(c);
      }
      ++i;
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;  // per open container: no value written yet
  bool after_key_ = false;
};

}  // namespace agent_json
