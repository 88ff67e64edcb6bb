// Theater: a WebAssembly actor runtime.
#include "engine/compile/unit_splitter.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "engine/compile/c_line_lexer.h"

namespace theater::engine {
namespace {

constexpr std::string_view kStatic = "static ";

struct Line {
  std::string_view text;
  bool in_code = false;  // the line starts in code, not inside a comment or literal
};

std::vector<Line> ReadLines(std::string_view source) {
  std::vector<Line> lines;
  ForEachCLine(source, [&](std::string_view text, bool in_code, bool) {
    lines.push_back(Line{text, in_code});
  });
  return lines;
}

// The identifier that ends just before `end` in `line`, or "" when there is none.
std::string_view IdentifierBefore(std::string_view line, size_t end) {
  size_t start = end;
  while (start > 0 && IsCIdentChar(line[start - 1])) --start;
  return line.substr(start, end - start);
}

// "static <return type> <name>(<instance type>* ..." ending in `tail`: a function's definition
// (tail ") {") or forward declaration (tail ");"). wasm2c names most functions w2c_<name>, but
// not all (an export named "" gives "_"), so the caller checks the name against the forward
// declarations. An empty `tail` accepts any ending (the first line of a wrapped definition).
struct FunctionLine {
  std::string_view name;      // empty: not such a line
  std::string_view unstatic;  // the line without "static "
};
FunctionLine AsFunctionLine(const Line& line, std::string_view instance_param,
                            std::string_view tail) {
  if (!line.in_code || !line.text.starts_with(kStatic) || !line.text.ends_with(tail)) return {};
  const size_t paren = line.text.find('(');
  if (paren == std::string_view::npos) return {};
  const std::string_view name = IdentifierBefore(line.text, paren);
  const size_t name_at = paren - name.size();
  if (name.empty() || name_at <= kStatic.size() || line.text[name_at - 1] != ' ') return {};
  if (!line.text.substr(paren + 1).starts_with(instance_param)) return {};
  return FunctionLine{name, line.text.substr(kStatic.size())};
}

// A function definition's first line at `at`, and the line that ends its header with ") {".
// wasm2c writes a definition's parameters eight to a line: the first line then ends in ", " and
// each continuation starts with four spaces (forward declarations are never wrapped).
struct DefinitionHeader {
  std::string_view name;  // empty: no definition starts at `at`
  size_t last = 0;
};
DefinitionHeader AsDefinitionHeader(const std::vector<Line>& lines, size_t at,
                                    std::string_view instance_param) {
  const Line& line = lines[at];
  if (const FunctionLine whole = AsFunctionLine(line, instance_param, ") {"); !whole.name.empty()) {
    return {whole.name, at};
  }
  const FunctionLine first = AsFunctionLine(line, instance_param, ", ");
  if (first.name.empty()) return {};
  for (size_t i = at + 1; i < lines.size(); ++i) {
    const Line& next = lines[i];
    if (!next.in_code || !next.text.starts_with("    ")) return {};
    if (next.text.ends_with(") {")) return {first.name, i};
    if (!next.text.ends_with(", ")) return {};
  }
  return {};
}

// "static const <type> <name>[] = {" (a data or element segment): returns "const <type> <name>".
std::string_view AsSegmentArray(const Line& line) {
  constexpr std::string_view kPrefix = "static const ";
  constexpr std::string_view kOpen = "[] = {";
  if (!line.in_code || !line.text.starts_with(kPrefix)) return {};
  const size_t open = line.text.find(kOpen);
  if (open == std::string_view::npos) return {};
  const std::string_view rest = line.text.substr(open + kOpen.size());
  if (!rest.empty() && rest != "};") return {};
  if (IdentifierBefore(line.text, open).empty()) return {};
  return line.text.substr(kStatic.size(), open - kStatic.size());
}

// The index of the first line at or after `from` that is "}" (or `closing`) in code, or npos.
size_t FindClosing(const std::vector<Line>& lines, size_t from, std::string_view closing) {
  for (size_t i = from; i < lines.size(); ++i) {
    if (lines[i].in_code && lines[i].text == closing) return i;
  }
  return std::string_view::npos;
}

bool IsBlank(const Line& line) {
  return line.text.find_first_not_of(" \t\r") == std::string_view::npos;
}

void AppendLine(std::string& out, std::string_view text) {
  out.append(text);
  out.push_back('\n');
}

struct Function {
  size_t first = 0;  // its definition line
  size_t last = 0;   // its closing "}"
  size_t bytes = 0;
};

SplitTranslation NotSplit(std::string reason) {
  SplitTranslation out;
  out.not_split_reason = std::move(reason);
  return out;
}

std::string Quote(std::string_view text) {
  return "'" + std::string(text.substr(0, 80)) + (text.size() > 80 ? "…'" : "'");
}

}  // namespace

SplitTranslation SplitTranslatedModule(std::string_view c_source, size_t defined_functions,
                                       const UnitSplitOptions& options) {
  if (options.unit_bytes == 0 || options.max_units < 2) return NotSplit("splitting is off");
  // The functions are part of the text: a text within one unit needs no reading.
  if (c_source.size() <= options.unit_bytes) return NotSplit("small enough to compile whole");
  const std::vector<Line> lines = ReadLines(c_source);
  const std::string instance_param = "Z_" + std::string(options.module_prefix) + "_instance_t*";
  constexpr std::string_view kInitializedFlag = "static bool s_module_initialized = false;";
  constexpr std::string_view kFuncTypes = "static u32 func_types[";

  // The common part ends where the module's own items begin.
  size_t at = 0;
  while (at < lines.size() && !(lines[at].in_code && (lines[at].text == kInitializedFlag ||
                                                      lines[at].text.starts_with(kFuncTypes)))) {
    ++at;
  }
  if (at == lines.size()) return NotSplit("no module items after the common part");
  const size_t common_end = at;

  // The module's items, up to the first function definition. Each goes to unit 0; what a
  // function may refer to is also declared in the header.
  std::string header_decls;
  std::string unit0_items;
  std::set<std::string_view> declared;  // the functions the module defines
  const auto is_definition = [&](size_t index) {
    const DefinitionHeader header = AsDefinitionHeader(lines, index, instance_param);
    return !header.name.empty() && declared.count(header.name) != 0;
  };
  while (at < lines.size() && !is_definition(at)) {
    const Line& line = lines[at];
    if (IsBlank(line)) {
      ++at;
      continue;
    }
    if (!line.in_code) return NotSplit("a module item starts inside a comment or literal");
    if (line.text == kInitializedFlag) {
      AppendLine(unit0_items, line.text);
      ++at;
      continue;
    }
    if (line.text.starts_with(kFuncTypes) && line.text.ends_with("];")) {
      const std::string_view definition = line.text.substr(kStatic.size());
      AppendLine(header_decls, "extern " + std::string(definition));
      AppendLine(unit0_items, definition);
      ++at;
      continue;
    }
    if (const FunctionLine declaration = AsFunctionLine(line, instance_param, ");");
        !declaration.name.empty()) {
      if (!declared.insert(declaration.name).second) {
        return NotSplit("a function declared twice " + Quote(line.text));
      }
      AppendLine(header_decls, declaration.unstatic);
      ++at;
      continue;
    }
    if (const std::string_view array = AsSegmentArray(line); !array.empty()) {
      AppendLine(header_decls, "extern " + std::string(array) + "[];");
      const size_t last = line.text.ends_with("};") ? at : FindClosing(lines, at + 1, "};");
      if (last == std::string_view::npos) return NotSplit("a segment array does not end");
      AppendLine(unit0_items, line.text.substr(kStatic.size()));
      for (size_t i = at + 1; i <= last; ++i) AppendLine(unit0_items, lines[i].text);
      at = last + 1;
      continue;
    }
    if (line.text.starts_with("static void init_") && line.text.ends_with(") {")) {
      const size_t last = FindClosing(lines, at + 1, "}");
      if (last == std::string_view::npos) return NotSplit("an init function does not end");
      for (size_t i = at; i <= last; ++i) AppendLine(unit0_items, lines[i].text);
      at = last + 1;
      continue;
    }
    return NotSplit("an unrecognised module item " + Quote(line.text));
  }

  // The function definitions, separated by blank lines.
  std::vector<Function> functions;
  while (at < lines.size()) {
    if (IsBlank(lines[at])) {
      ++at;
      continue;
    }
    if (!is_definition(at)) break;
    Function function{at, FindClosing(lines, at + 1, "}"), 0};
    if (function.last == std::string_view::npos) return NotSplit("a function does not end");
    for (size_t i = function.first; i <= function.last; ++i) {
      function.bytes += lines[i].text.size() + 1;
    }
    functions.push_back(function);
    at = function.last + 1;
  }
  const size_t epilogue_begin = at;
  for (size_t i = epilogue_begin; i < lines.size(); ++i) {
    if (is_definition(i)) {
      return NotSplit("a function definition after the epilogue began " + Quote(lines[i].text));
    }
  }
  if (functions.size() != defined_functions) {
    return NotSplit("found " + std::to_string(functions.size()) +
                    " function definitions for a module that defines " +
                    std::to_string(defined_functions));
  }

  const size_t function_bytes =
      std::accumulate(functions.begin(), functions.end(), size_t{0},
                      [](size_t sum, const Function& function) { return sum + function.bytes; });
  const size_t unit_count =
      std::min({options.max_units, (function_bytes + options.unit_bytes - 1) / options.unit_bytes,
                functions.size()});
  if (unit_count < 2) return NotSplit("small enough to compile whole");

  // Largest first, each to the unit with the least so far; unit 0 starts with the module's
  // items and the epilogue.
  std::vector<size_t> order(functions.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return functions[a].bytes > functions[b].bytes; });
  std::vector<size_t> load(unit_count, 0);
  std::vector<std::vector<size_t>> members(unit_count);
  load[0] = unit0_items.size();
  for (size_t i = epilogue_begin; i < lines.size(); ++i) load[0] += lines[i].text.size() + 1;
  for (const size_t index : order) {
    const size_t unit =
        static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    members[unit].push_back(index);
    load[unit] += functions[index].bytes;
  }

  SplitTranslation out;
  out.functions = functions.size();
  for (size_t i = 0; i < common_end; ++i) AppendLine(out.header, lines[i].text);
  // Names stay inside the shared object; declared hidden, cross-unit references need no GOT.
  AppendLine(out.header, "#pragma GCC visibility push(hidden)");
  out.header += header_decls;

  const std::string include = "#include \"" + std::string(options.header_name) + "\"\n";
  out.units.resize(unit_count);
  for (size_t unit = 0; unit < unit_count; ++unit) {
    std::string& text = out.units[unit];
    text.reserve(load[unit] + include.size() + 64);
    text += include;
    if (unit == 0) text += unit0_items;
    std::sort(members[unit].begin(), members[unit].end());  // the module's order, for reading
    for (const size_t index : members[unit]) {
      const Function& function = functions[index];
      AppendLine(text, "");
      AppendLine(text, lines[function.first].text.substr(kStatic.size()));
      for (size_t i = function.first + 1; i <= function.last; ++i) {
        AppendLine(text, lines[i].text);
      }
    }
    if (unit == 0) {
      for (size_t i = epilogue_begin; i < lines.size(); ++i) AppendLine(text, lines[i].text);
    }
  }
  return out;
}

}  // namespace theater::engine
