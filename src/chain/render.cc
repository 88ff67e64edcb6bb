// Theater: a WebAssembly actor runtime.
//
// Renders events for people: JSON for tools and `theater events`, one line for a live terminal.
// Everything a guest controls (strings, bytes, log text) is made valid UTF-8 for JSON and has its
// control characters escaped for the terminal, so a hostile actor cannot break either.
#include <cmath>
#include <cstdio>
#include <string>

#include "common/utf8.h"
#include "theater/chain.h"

namespace theater::chain {
namespace {

using abi::TypeKind;
using abi::Value;
using nlohmann::json;

constexpr size_t kMaxLineSummary = 160;

std::string_view AsChars(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

json BytesToJson(std::span<const uint8_t> bytes) {
  if (IsPrintableUtf8(AsChars(bytes))) return std::string(AsChars(bytes));
  return json{{"hex", ToHex(bytes)}};
}

json FloatToJson(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

json ValuesToJson(const std::vector<Value>& values) {
  json out = json::array();
  for (const Value& v : values) out.push_back(ValueToJson(v));
  return out;
}

json OptionalToJson(const Value* v) {
  return v ? ValueToJson(*v) : json(nullptr);
}

json OutcomeToJson(const CallOutcome& o) {
  if (!o.ok()) return json{{"error", SanitizeUtf8(*o.error)}};
  return json{{"ok", ValuesToJson(o.values)}};
}

json StateToJson(const StateRecord& s) {
  switch (s.form) {
    case StateRecord::Form::kNone:
      return nullptr;
    case StateRecord::Form::kInline:
      return json{{"size", s.size}, {"bytes", BytesToJson(s.bytes)}};
    case StateRecord::Form::kDigest:
      return json{{"size", s.size}, {"sha256", ToHex(s.digest)}};
  }
  return nullptr;
}

// ISO 8601 UTC with milliseconds, e.g. 2024-05-06T07:08:09.010Z. Civil-from-days after Howard
// Hinnant's date algorithms, which are exact for every uint64 millisecond count.
std::string IsoTime(uint64_t ms) {
  int64_t days = static_cast<int64_t>(ms / 86'400'000);
  uint64_t rem = ms % 86'400'000;
  int64_t z = days + 719468;
  int64_t era = z / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lldT%02llu:%02llu:%02llu.%03lluZ",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<unsigned long long>(rem / 3'600'000),
                static_cast<unsigned long long>(rem / 60'000 % 60),
                static_cast<unsigned long long>(rem / 1000 % 60),
                static_cast<unsigned long long>(rem % 1000));
  return buf;
}

// Cuts `s` to at most `max` bytes on a UTF-8 boundary, marking the cut with "…".
std::string Truncate(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<uint8_t>(s[cut]) & 0xc0) == 0x80) --cut;
  s.resize(cut);
  s += "…";
  return s;
}

std::string ValuesInline(const std::vector<Value>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += ValueToJson(values[i]).dump();
  }
  return out;
}

std::string OutcomeInline(const CallOutcome& o) {
  if (!o.ok()) return "-> error: " + *o.error;
  if (o.values.empty()) return "-> ok";
  return "-> ok " + ValuesInline(o.values);
}

std::string StateInline(const StateRecord& s) {
  if (s.form == StateRecord::Form::kNone) return "state none";
  return "state " + std::to_string(s.size) + " B";
}

std::string PayloadSummary(const Event& event) {
  Result<Payload> payload = DecodePayload(event.payload);
  if (!payload.ok()) {
    return "<" + std::to_string(event.payload.size()) + " bytes, undecodable>";
  }
  struct Visitor {
    std::string operator()(const HostCall& p) const {
      return p.function + "(" + ValuesInline(p.input) + ") " + OutcomeInline(p.output);
    }
    std::string operator()(const ExportCall& p) const {
      return p.function + "(" + ValuesInline(p.params) + ") " + OutcomeInline(p.result) + ", " +
             StateInline(p.new_state);
    }
    std::string operator()(const Lifecycle& p) const { return p.kind + ": " + p.message; }
    std::string operator()(const Log& p) const { return "[" + p.level + "] " + p.message; }
    std::string operator()(const InitialState& p) const {
      return "initial-state (" + p.source + "): " + ValuesInline({p.state});
    }
  };
  return std::visit(Visitor{}, *payload);
}

}  // namespace

json ValueToJson(const abi::Value& v) {
  switch (v.kind()) {
    case TypeKind::kBool:
      return v.as_bool();
    case TypeKind::kS8:
    case TypeKind::kS16:
    case TypeKind::kS32:
    case TypeKind::kS64:
      return v.as_s64();
    case TypeKind::kU8:
    case TypeKind::kU16:
    case TypeKind::kU32:
    case TypeKind::kU64:
      return v.as_u64();
    case TypeKind::kF32:
      return FloatToJson(v.as_f32());
    case TypeKind::kF64:
      return FloatToJson(v.as_f64());
    case TypeKind::kChar: {
      char32_t cp = v.as_char();
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return json{{"char", static_cast<uint32_t>(cp)}};
      }
      std::string s;
      AppendUtf8(cp, &s);
      return s;
    }
    case TypeKind::kString:
      return SanitizeUtf8(v.as_string());
    case TypeKind::kList:
      if (v.is_bytes_digest()) {
        return json{{"size", v.bytes_digest().size}, {"sha256", ToHex(v.bytes_digest().sha256)}};
      }
      if (v.is_bytes()) return BytesToJson(v.as_bytes());
      return ValuesToJson(v.items());
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      return ValuesToJson(v.items());
    case TypeKind::kVariant: {
      json out{{"case", v.case_index()}};
      if (v.payload()) out["value"] = ValueToJson(*v.payload());
      return out;
    }
    case TypeKind::kEnum:
      return json{{"enum", v.case_index()}};
    case TypeKind::kFlags: {
      json out = json::array();
      for (bool f : v.flags()) out.push_back(f);
      return out;
    }
    case TypeKind::kOption:
      if (!v.is_some()) return nullptr;
      return json{{"some", OptionalToJson(v.payload())}};
    case TypeKind::kResult:
      return json{{v.is_err() ? "err" : "ok", OptionalToJson(v.payload())}};
    case TypeKind::kOwn:
      return json{{"own", v.handle()}};
    case TypeKind::kBorrow:
      return json{{"borrow", v.handle()}};
  }
  return nullptr;
}

json PayloadToJson(std::span<const uint8_t> payload) {
  Result<Payload> decoded = DecodePayload(payload);
  if (!decoded.ok()) {
    return json{
        {"kind", "undecodable"}, {"error", decoded.status().ToString()}, {"hex", ToHex(payload)}};
  }
  struct Visitor {
    json operator()(const HostCall& p) const {
      return json{{"kind", "host-call"},
                  {"interface", SanitizeUtf8(p.interface)},
                  {"function", SanitizeUtf8(p.function)},
                  {"input", ValuesToJson(p.input)},
                  {"output", OutcomeToJson(p.output)}};
    }
    json operator()(const ExportCall& p) const {
      return json{{"kind", "export-call"},
                  {"function", SanitizeUtf8(p.function)},
                  {"params", ValuesToJson(p.params)},
                  {"result", OutcomeToJson(p.result)},
                  {"new_state", StateToJson(p.new_state)}};
    }
    json operator()(const Lifecycle& p) const {
      return json{{"kind", "lifecycle"},
                  {"step", SanitizeUtf8(p.kind)},
                  {"message", SanitizeUtf8(p.message)}};
    }
    json operator()(const Log& p) const {
      return json{
          {"kind", "log"}, {"level", SanitizeUtf8(p.level)}, {"message", SanitizeUtf8(p.message)}};
    }
    json operator()(const InitialState& p) const {
      return json{{"kind", "initial-state"},
                  {"source", SanitizeUtf8(p.source)},
                  {"state", ValueToJson(p.state)}};
    }
  };
  return std::visit(Visitor{}, *decoded);
}

json EventToJson(const Event& event) {
  return json{
      {"hash", ToHex(event.hash)},
      {"parent", event.parent ? json(ToHex(*event.parent)) : json(nullptr)},
      {"type", SanitizeUtf8(event.type)},
      {"timestamp", IsoTime(event.timestamp_ms)},
      {"timestamp_ms", event.timestamp_ms},
      {"description", event.description ? json(SanitizeUtf8(*event.description)) : json(nullptr)},
      {"payload_size", event.payload.size()},
      {"payload", PayloadToJson(event.payload)},
      {"payload_hex", ToHex(event.payload)}};
}

std::optional<std::string> LoggedText(const Event& event) {
  // Most events are not log lines: their type says so without decoding anything.
  const bool runtime_log = event.type == "theater:simple/runtime/log" ||
                           event.type == "theater:simple/runtime-ext/log-at";
  const bool guest_output = event.type == "wasi_snapshot_preview1/fd_write";
  if (!runtime_log && !guest_output) return std::nullopt;
  Result<Payload> payload = DecodePayload(event.payload);
  if (!payload.ok()) return std::nullopt;
  if (const Log* log = std::get_if<Log>(&*payload)) return "[" + log->level + "] " + log->message;
  const HostCall* call = std::get_if<HostCall>(&*payload);
  if (call == nullptr) return std::nullopt;
  const std::vector<Value>& in = call->input;
  auto text_at = [&](size_t i) -> const std::string* {
    return i < in.size() && in[i].kind() == TypeKind::kString ? &in[i].as_string() : nullptr;
  };
  if (guest_output) {
    // fd_write(fd, text): stdout and stderr only.
    if (in.empty() || in[0].kind() != TypeKind::kU32 || in[0].as_u64() < 1 || in[0].as_u64() > 2 ||
        text_at(1) == nullptr) {
      return std::nullopt;
    }
    std::string_view text = *text_at(1);
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    return std::string(text);
  }
  if (call->function == "log-at") {
    // log-at(level: enum log-level, msg)
    if (in.size() != 2 || in[0].kind() != TypeKind::kEnum || text_at(1) == nullptr) {
      return std::nullopt;
    }
    const uint32_t level = in[0].case_index();
    const std::string_view name = level < kLogLevels.size() ? kLogLevels[level] : "info";
    return "[" + std::string(name) + "] " + *text_at(1);
  }
  if (in.size() == 1 && text_at(0) != nullptr) return *text_at(0);  // log(msg)
  if (in.size() == 2 && text_at(0) != nullptr && text_at(1) != nullptr) {
    return "[" + *text_at(0) + "] " + *text_at(1);  // log(level, message)
  }
  return std::nullopt;
}

std::string EventToLine(const Event& event, size_t index) {
  std::string summary = PayloadSummary(event);
  if (event.description) summary += " | " + *event.description;
  return "#" + std::to_string(index) + " " + ShortHex(event.hash) + " " + TerminalSafe(event.type) +
         " " + Truncate(TerminalSafe(summary), kMaxLineSummary);
}

}  // namespace theater::chain
