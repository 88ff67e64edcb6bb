// Theater: a WebAssembly actor runtime.
#include "common/json_writer.h"

#include <nlohmann/json.hpp>

#include <cassert>
#include <charconv>

#include "common/utf8.h"

namespace theater {
namespace {

// What JSON requires escaped, and the backslash forms it has short names for.
char ShortEscape(unsigned char c) {
  switch (c) {
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    case '\t':
      return 't';
    default:
      return 0;
  }
}

bool NeedsCare(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

template <typename Integer>
void AppendInteger(Integer value, std::string& out) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
  out.append(digits, end);
}

}  // namespace

std::string JsonText(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void AppendJsonString(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  out.push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    // Copy the run that needs nothing done in one piece.
    size_t run = i;
    while (run < text.size() && !NeedsCare(static_cast<unsigned char>(text[run]))) ++run;
    out.append(text.data() + i, run - i);
    i = run;
    if (i == text.size()) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      char32_t code_point = 0;
      const size_t length = Utf8SequenceAt(text, i, &code_point);
      if (length == 0) {
        out.append(kReplacement);
        ++i;
      } else {
        out.append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    if (const char short_form = ShortEscape(c); short_form != 0) {
      out.push_back('\\');
      out.push_back(short_form);
    } else {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
    ++i;
  }
  out.push_back('"');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ > 0) {
    if (wrote_ & 1) out_.push_back(',');
    wrote_ |= 1;
  }
}

void JsonWriter::Open(char bracket) {
  assert(depth_ < kMaxDepth);
  BeforeValue();
  out_.push_back(bracket);
  wrote_ <<= 1;
  ++depth_;
}

void JsonWriter::Close(char bracket) {
  assert(depth_ > 0 && !after_key_);
  out_.push_back(bracket);
  wrote_ >>= 1;
  --depth_;
}

JsonWriter& JsonWriter::BeginObject() {
  Open('{');
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  Close('}');
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Open('[');
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  Close(']');
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view name) {
  assert(depth_ > 0 && !after_key_);
  BeforeValue();
  AppendJsonString(name, out_);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view text) {
  BeforeValue();
  AppendJsonString(text, out_);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  AppendInteger(value, out_);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  AppendInteger(value, out_);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json_text) {
  BeforeValue();
  out_.append(json_text);
  return *this;
}

JsonWriter& JsonWriter::Value(const nlohmann::json& value) {
  BeforeValue();
  out_.append(JsonText(value));
  return *this;
}

}  // namespace theater
