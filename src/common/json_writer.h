// Theater: a WebAssembly actor runtime.
//
// JsonWriter: JSON written as text, front to back, without building a tree: the project's one
// way to write JSON by hand, for what is too large or too frequent for a tree (replies of
// megabytes, chain events pushed by the hundred thousand a second). It places commas and colons,
// escapes strings, and takes a small nlohmann tree, or text that is JSON already, as a value.
// Strings that are not valid UTF-8 (text from guests, processes, the network) get U+FFFD for each
// bad byte, as JsonText does for trees, so what is written is always JSON.
//
// A small reply is built as an nlohmann tree and turned into text with JsonText (the one dump
// setting: compact, invalid UTF-8 replaced, never throwing).
//
// Misuse (a value where a key belongs, an End without its Begin, nesting deeper than kMaxDepth)
// is a programming error, caught by assertions in debug builds.
//
// Thread-safety: none; one writer on one thread. Ownership: borrows the string it appends to,
// which must outlive the writer.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace theater {

// A tree's compact text; invalid UTF-8 in its strings becomes U+FFFD instead of an exception.
std::string JsonText(const nlohmann::json& value);

// Appends `text` as a JSON string literal (quoted, escaped, invalid UTF-8 replaced).
void AppendJsonString(std::string_view text, std::string& out);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // The next member's name, inside an object.
  JsonWriter& Key(std::string_view name);

  JsonWriter& String(std::string_view text);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A value given as JSON text already (an event rendered once and sent to many).
  JsonWriter& Raw(std::string_view json_text);
  // A small tree, as JsonText writes it.
  JsonWriter& Value(const nlohmann::json& value);
  // For a caller that appends one value itself, straight into the text (bytes as the protocol
  // writes them, with no copy): places what comes before a value and returns the text.
  std::string& ValueSlot() {
    BeforeValue();
    return out_;
  }

  // Shorthands for a member: Key(name) then the value.
  JsonWriter& Member(std::string_view name, std::string_view text) {
    return Key(name).String(text);
  }
  JsonWriter& Member(std::string_view name, const char* text) { return Key(name).String(text); }
  JsonWriter& Member(std::string_view name, uint64_t value) { return Key(name).Uint(value); }
  JsonWriter& Member(std::string_view name, bool value) { return Key(name).Bool(value); }

  // {"<name>": — the opening of a variant as the protocol writes one; close it with EndObject.
  JsonWriter& BeginVariant(std::string_view name) { return BeginObject().Key(name); }

  // The string written to (its size is what a budget checks).
  const std::string& text() const { return out_; }
  // True when every Begin has had its End.
  bool complete() const { return depth_ == 0; }

  // How deep objects and arrays may nest: what the project writes is its own, shallow shapes.
  static constexpr uint32_t kMaxDepth = 64;

 private:
  // Writes the comma a value needs before it (none after a key or an opening bracket).
  void BeforeValue();

  void Open(char bracket);
  void Close(char bracket);

  std::string& out_;
  // The open objects and arrays, innermost in bit 0: whether a value has been written in each
  // yet. A bit mask, not a vector: a writer for one small push allocates nothing of its own.
  uint64_t wrote_ = 0;
  uint32_t depth_ = 0;
  bool after_key_ = false;
};

}  // namespace theater
