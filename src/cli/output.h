// Theater: a WebAssembly actor runtime.
//
// How the `theater` command prints: human tables or JSON (--json, or [output] format = "json"),
// colour only when allowed (a terminal, no NO_COLOR, [output] color), errors on stderr as
// "theater: error: ...", and helpers that show byte strings (state, messages, payloads) as text
// when they are text and as hex otherwise.
//
// Thread-safety: an Output is used by the command's main thread only.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "theater/chain.h"
#include "theater/status.h"

namespace theater::cli {

// Exit codes (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;  // 128 + SIGINT

enum class Style { kPlain, kBold, kDim, kRed, kGreen, kYellow, kCyan };

class Output {
 public:
  Output(bool json, bool color_stdout, bool color_stderr)
      : json_(json), color_stdout_(color_stdout), color_stderr_(color_stderr) {}

  bool json() const { return json_; }
  bool color() const { return color_stdout_; }

  // `text` wrapped in the style's escape codes when stdout is coloured.
  std::string Paint(std::string_view text, Style style) const;

  // Pretty-printed JSON on stdout (invalid UTF-8 replaced, never throws).
  void PrintJson(const nlohmann::json& value) const;
  // One compact JSON value per line (streams: events, channel messages).
  void PrintJsonLine(const nlohmann::json& value) const;

  // "theater: error: <status>" on stderr; returns kExitFailure.
  int Error(const Status& status) const;
  // "theater: error: <message>" on stderr; returns `code`.
  int Error(std::string_view message, int code = kExitFailure) const;
  void Warning(std::string_view message) const;

 private:
  bool json_;
  bool color_stdout_;
  bool color_stderr_;
};

// A table of columns padded to their widest cell. The last column is never padded, so a long
// manifest path does not push trailing spaces.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  size_t rows() const { return rows_.size(); }
  // Headers are painted bold when the output is coloured.
  void Print(const Output& out, std::ostream& os) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Whether `bytes` are valid UTF-8 with no control characters other than tab, CR and LF.
bool IsPrintableText(std::span<const uint8_t> bytes);
std::string BytesToText(std::span<const uint8_t> bytes);
// A JSON form of bytes for --json output: the parsed value when they are JSON, the string when
// they are printable text, else {"hex": "..."}.
nlohmann::json BytesForJson(std::span<const uint8_t> bytes);
// A human form: the text when printable (pretty-printed when it is JSON), else "hex:<digits>".
std::string BytesForHuman(std::span<const uint8_t> bytes);

// A chain event in JSON for --json output: chain::EventToJson plus its "index".
nlohmann::json EventJson(const chain::Event& event, size_t index);
// One line for people: "#3 9f2c1ab 12:00:01.123 type summary" (time in local time).
std::string EventLine(const Output& out, const chain::Event& event, size_t index);

// Milliseconds since the Unix epoch, now.
uint64_t NowMs();
// "2026-11-22 12:00:01" (local time) for a millisecond timestamp.
std::string FormatTime(uint64_t timestamp_ms);
// "1.2 ms", "3 s", "2 h 5 m" for durations; "12.3 KiB" for sizes.
std::string FormatNanos(uint64_t ns);
std::string FormatDurationMs(uint64_t ms);
std::string FormatBytes(uint64_t bytes);

}  // namespace theater::cli
