// Theater: a WebAssembly actor runtime.
#include "cli/output.h"
#include "common/bytes.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/json_writer.h"
#include "common/utf8.h"

namespace theater::cli {
namespace {

std::string_view Code(Style style) {
  switch (style) {
    case Style::kPlain:
      return "";
    case Style::kBold:
      return "\033[1m";
    case Style::kDim:
      return "\033[2m";
    case Style::kRed:
      return "\033[31m";
    case Style::kGreen:
      return "\033[32m";
    case Style::kYellow:
      return "\033[33m";
    case Style::kCyan:
      return "\033[36m";
  }
  return "";
}

std::string Painted(bool color, std::string_view text, Style style) {
  if (!color || style == Style::kPlain) return std::string(text);
  return std::string(Code(style)) + std::string(text) + "\033[0m";
}

}  // namespace

std::string Output::Paint(std::string_view text, Style style) const {
  return Painted(color_stdout_, text, style);
}

void Output::PrintJson(const nlohmann::json& value) const {
  std::cout << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  std::cout.flush();
}

void Output::PrintJsonLine(const nlohmann::json& value) const {
  std::cout << JsonText(value) << "\n";
  std::cout.flush();
}

int Output::Error(const Status& status) const {
  return Error(status.ToString(), kExitFailure);
}

int Output::Error(std::string_view message, int code) const {
  std::cout.flush();
  std::cerr << Painted(color_stderr_, "theater: error:", Style::kRed) << " " << message << "\n";
  return code;
}

void Output::Warning(std::string_view message) const {
  std::cerr << Painted(color_stderr_, "theater: warning:", Style::kYellow) << " " << message
            << "\n";
}

void Table::Print(const Output& out, std::ostream& os) const {
  std::vector<size_t> widths(headers_.size(), 0);
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = headers_[c].size();
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row, Style style) {
    std::string line;
    for (size_t c = 0; c < headers_.size(); ++c) {
      const std::string cell = c < row.size() ? row[c] : "";
      const bool last = c + 1 == headers_.size();
      std::string padded = cell;
      if (!last) padded.append(widths[c] - cell.size() + 2, ' ');
      line += out.Paint(padded, style);
    }
    os << line << "\n";
  };
  print_row(headers_, Style::kBold);
  for (const auto& row : rows_) print_row(row, Style::kPlain);
}

bool IsPrintableText(std::span<const uint8_t> bytes) {
  return theater::IsPrintableUtf8(
      {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

std::string BytesToText(std::span<const uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

nlohmann::json BytesForJson(std::span<const uint8_t> bytes) {
  if (IsPrintableText(bytes)) {
    const std::string text = BytesToText(bytes);
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) return parsed;
    return text;
  }
  return nlohmann::json{{"hex", HexEncode(bytes)}};
}

std::string BytesForHuman(std::span<const uint8_t> bytes) {
  if (!IsPrintableText(bytes)) return "hex:" + HexEncode(bytes);
  const std::string text = BytesToText(bytes);
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded() && (parsed.is_object() || parsed.is_array())) {
    return parsed.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return text;
}

nlohmann::json EventJson(const chain::Event& event, size_t index) {
  nlohmann::json j = chain::EventToJson(event);
  j["index"] = index;
  return j;
}

std::string EventLine(const Output& out, const chain::Event& event, size_t index) {
  // chain::EventToLine gives "#<index> <hash> <type> <summary>"; the time goes after the hash.
  const std::string line = chain::EventToLine(event, index);
  const size_t hash_end = line.find(' ', line.find(' ') + 1);
  if (hash_end == std::string::npos) return line;
  const size_t type_end = line.find(' ', hash_end + 1);
  const time_t seconds = static_cast<time_t>(event.timestamp_ms / 1000);
  tm local{};
  localtime_r(&seconds, &local);
  char clock[32];
  std::snprintf(clock, sizeof clock, "%02d:%02d:%02d.%03u", local.tm_hour, local.tm_min,
                local.tm_sec, static_cast<unsigned>(event.timestamp_ms % 1000));
  std::string type = type_end == std::string::npos
                         ? line.substr(hash_end + 1)
                         : line.substr(hash_end + 1, type_end - hash_end - 1);
  std::string rest = type_end == std::string::npos ? "" : line.substr(type_end);
  return out.Paint(line.substr(0, hash_end), Style::kDim) + " " + out.Paint(clock, Style::kDim) +
         " " + out.Paint(type, Style::kCyan) + rest;
}

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string FormatTime(uint64_t timestamp_ms) {
  const time_t seconds = static_cast<time_t>(timestamp_ms / 1000);
  tm local{};
  localtime_r(&seconds, &local);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

std::string FormatNanos(uint64_t ns) {
  char text[64];
  if (ns < 1'000) {
    std::snprintf(text, sizeof text, "%llu ns", static_cast<unsigned long long>(ns));
  } else if (ns < 1'000'000) {
    std::snprintf(text, sizeof text, "%.1f us", static_cast<double>(ns) / 1e3);
  } else if (ns < 1'000'000'000) {
    std::snprintf(text, sizeof text, "%.1f ms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.2f s", static_cast<double>(ns) / 1e9);
  }
  return text;
}

std::string FormatDurationMs(uint64_t ms) {
  const uint64_t s = ms / 1000;
  if (s < 60) return std::to_string(s) + "." + std::to_string(ms % 1000 / 100) + " s";
  if (s < 3600) return std::to_string(s / 60) + " m " + std::to_string(s % 60) + " s";
  if (s < 86400) return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " m";
  return std::to_string(s / 86400) + " d " + std::to_string(s % 86400 / 3600) + " h";
}

std::string FormatBytes(uint64_t bytes) {
  char text[64];
  if (bytes < 1024) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < (1u << 20)) {
    std::snprintf(text, sizeof text, "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else if (bytes < (1ull << 30)) {
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  } else {
    std::snprintf(text, sizeof text, "%.2f GiB", static_cast<double>(bytes) / (1 << 30));
  }
  return text;
}

}  // namespace theater::cli
