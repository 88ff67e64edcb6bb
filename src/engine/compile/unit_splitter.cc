// Theater: a WebAssembly actor runtime.
#include "engine/compile/unit_splitter.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

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

// wasm2c's header, rewritten: the instance structure's own fields first, then the pointers to
// the imported modules' instances. `own_view` is the header a unit that reaches no import sees:
// the same up to the end of the own fields, without the pointers, the imports' forward
// declarations and the function declarations.
struct ModuleHeader {
  std::string reordered;
  std::string own_view;
};

std::optional<ModuleHeader> RewriteModuleHeader(std::string_view header,
                                                std::string_view module_prefix) {
  const std::vector<Line> lines = ReadLines(header);
  const std::string instance = "Z_" + std::string(module_prefix) + "_instance_t";
  const std::string open = "typedef struct " + instance + " {";
  const std::string close = "} " + instance + ";";
  size_t first = 0;
  while (first < lines.size() && !(lines[first].in_code && lines[first].text == open)) ++first;
  const size_t last = FindClosing(lines, first + 1, close);
  if (first == lines.size() || last == std::string_view::npos) return std::nullopt;
  // The header ends by closing `extern "C"` and its include guard.
  size_t tail = lines.size();
  for (size_t i = last + 1; i < lines.size(); ++i) {
    if (lines[i].in_code && lines[i].text == "#ifdef __cplusplus") tail = i;
  }
  if (tail == lines.size()) return std::nullopt;

  const auto is_import_pointer = [](std::string_view text) {
    return text.starts_with("  struct Z_") && text.ends_with("_instance;");
  };
  const auto is_import_forward = [](std::string_view text) {
    return text.starts_with("struct Z_") && text.ends_with("_instance_t;");
  };
  ModuleHeader out;
  for (size_t i = 0; i < first; ++i) {
    AppendLine(out.reordered, lines[i].text);
    if (!is_import_forward(lines[i].text)) AppendLine(out.own_view, lines[i].text);
  }
  AppendLine(out.reordered, open);
  AppendLine(out.own_view, open);
  for (size_t i = first + 1; i < last; ++i) {
    if (is_import_pointer(lines[i].text)) continue;
    AppendLine(out.reordered, lines[i].text);
    AppendLine(out.own_view, lines[i].text);
  }
  for (size_t i = first + 1; i < last; ++i) {
    if (is_import_pointer(lines[i].text)) AppendLine(out.reordered, lines[i].text);
  }
  for (size_t i = last; i < lines.size(); ++i) AppendLine(out.reordered, lines[i].text);
  AppendLine(out.own_view, close);
  for (size_t i = tail; i < lines.size(); ++i) AppendLine(out.own_view, lines[i].text);
  return out;
}

// Calls visit(identifier) for every C identifier in `text` (in code, comments or literals
// alike: a name there only adds a declaration).
template <typename Visit>
void ForEachIdentifier(std::string_view text, Visit&& visit) {
  size_t at = 0;
  while (at < text.size()) {
    if (!IsCIdentStart(text[at])) {
      // A number's digits and letters (1u, 0x1F) are skipped whole.
      if (text[at] >= '0' && text[at] <= '9') {
        while (at < text.size() && IsCIdentChar(text[at])) ++at;
      } else {
        ++at;
      }
      continue;
    }
    const size_t start = at;
    while (at < text.size() && IsCIdentChar(text[at])) ++at;
    visit(text.substr(start, at - start));
  }
}

}  // namespace

SplitTranslation SplitTranslatedModule(std::string_view c_source, std::string_view header,
                                       size_t defined_functions, const UnitSplitOptions& options) {
  if (options.unit_bytes == 0 || options.max_units < 2) return NotSplit("splitting is off");
  // The functions are part of the text: a text within one unit needs no reading.
  if (c_source.size() <= options.unit_bytes) return NotSplit("small enough to compile whole");
  const std::optional<ModuleHeader> module_header =
      RewriteModuleHeader(header, options.module_prefix);
  if (!module_header) return NotSplit("an unrecognised module header");
  const std::vector<Line> lines = ReadLines(c_source);
  const std::string instance_param = "Z_" + std::string(options.module_prefix) + "_instance_t*";
  const std::string include_header = "#include \"" + std::string(options.header_name) + "\"";
  constexpr std::string_view kInitializedFlag = "static bool s_module_initialized = false;";
  constexpr std::string_view kFuncTypes = "static u32 func_types[";

  // The common part ends where the module's own items begin; it includes the header once.
  size_t at = 0;
  size_t include_at = std::string_view::npos;
  while (at < lines.size() && !(lines[at].in_code && (lines[at].text == kInitializedFlag ||
                                                      lines[at].text.starts_with(kFuncTypes)))) {
    if (lines[at].in_code && lines[at].text == include_header) {
      if (include_at != std::string_view::npos) return NotSplit("the header is included twice");
      include_at = at;
    }
    ++at;
  }
  if (at == lines.size()) return NotSplit("no module items after the common part");
  if (include_at == std::string_view::npos) return NotSplit("the header is not included");
  const size_t common_end = at;

  // The module's items, up to the first function definition. Each goes to unit 0; a function
  // unit declares the ones it uses: `shared` maps each name to its declaration.
  std::vector<std::string> shared_declarations;
  std::unordered_map<std::string_view, size_t> shared;
  const auto share = [&](std::string_view name, std::string declaration) {
    if (!shared.emplace(name, shared_declarations.size()).second) return false;
    shared_declarations.push_back(std::move(declaration));
    return true;
  };
  std::string func_types_declaration;
  std::string function_declarations;  // all of them, for unit 0
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
      // Every function unit declares it, since wasm2c's CALL_INDIRECT macro reads it; without
      // its size, which grows with types that modules sharing their functions add after theirs.
      func_types_declaration = "extern u32 func_types[];";
      AppendLine(unit0_items, definition);
      ++at;
      continue;
    }
    if (const FunctionLine declaration = AsFunctionLine(line, instance_param, ");");
        !declaration.name.empty()) {
      if (!declared.insert(declaration.name).second) {
        return NotSplit("a function declared twice " + Quote(line.text));
      }
      share(declaration.name, std::string(declaration.unstatic));
      AppendLine(function_declarations, declaration.unstatic);
      ++at;
      continue;
    }
    if (const std::string_view array = AsSegmentArray(line); !array.empty()) {
      const size_t open = line.text.find("[] = {");
      if (!share(IdentifierBefore(line.text, open), "extern " + std::string(array) + "[];")) {
        return NotSplit("a segment array defined twice " + Quote(line.text));
      }
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
  const size_t max_runs = options.max_units - 1;  // unit 0 holds no function
  size_t wanted = (function_bytes + options.unit_bytes - 1) / options.unit_bytes;
  if (std::min(wanted, functions.size()) < 2) return NotSplit("small enough to compile whole");
  // A run's size: even runs while their count fits; past that, unit_bytes doubled until it fits,
  // so that modules that differ a little in size cut their runs at the same places.
  size_t run_bytes = (function_bytes + wanted - 1) / wanted;
  if (wanted > max_runs) {
    run_bytes = options.unit_bytes;
    while ((function_bytes + run_bytes - 1) / run_bytes > max_runs) run_bytes *= 2;
  }

  // Runs of consecutive functions: a run ends before the function that would take it further
  // past its size than it is short of it, and the last run takes what is left.
  std::vector<std::pair<size_t, size_t>> runs;  // [begin, end) into functions
  size_t run_begin = 0;
  size_t run_size = 0;
  for (size_t i = 0; i < functions.size(); ++i) {
    if (run_size > 0 && run_size + functions[i].bytes / 2 > run_bytes &&
        runs.size() + 1 < max_runs) {
      runs.emplace_back(run_begin, i);
      run_begin = i;
      run_size = 0;
    }
    run_size += functions[i].bytes;
  }
  runs.emplace_back(run_begin, functions.size());

  SplitTranslation out;
  out.functions = functions.size();
  out.module_header = module_header->reordered;
  std::string common_before;  // the common part up to the header's #include
  std::string common_after;   // and after it
  for (size_t i = 0; i < include_at; ++i) AppendLine(common_before, lines[i].text);
  for (size_t i = include_at + 1; i < common_end; ++i) AppendLine(common_after, lines[i].text);
  // Names stay inside the shared object; declared hidden, cross-unit references need no GOT.
  constexpr std::string_view kHidden = "#pragma GCC visibility push(hidden)\n";

  out.units.reserve(runs.size() + 1);
  {
    std::string unit0 = common_before;
    AppendLine(unit0, include_header);
    unit0 += common_after;
    unit0 += kHidden;
    unit0 += function_declarations;
    unit0 += unit0_items;
    for (size_t i = epilogue_begin; i < lines.size(); ++i) AppendLine(unit0, lines[i].text);
    out.units.push_back(std::move(unit0));
  }
  std::vector<bool> used(shared_declarations.size());
  for (const auto& [begin, end] : runs) {
    std::fill(used.begin(), used.end(), false);
    bool reaches_imports = false;
    size_t bytes = 0;
    for (size_t f = begin; f < end; ++f) {
      bytes += functions[f].bytes;
      for (size_t i = functions[f].first; i <= functions[f].last; ++i) {
        const std::string_view text = lines[i].text;
        // wasm2c passes an import its module's instance: instance->Z_<module>_instance.
        if (text.find("instance->Z_") != std::string_view::npos) reaches_imports = true;
        ForEachIdentifier(text, [&](std::string_view name) {
          if (const auto it = shared.find(name); it != shared.end()) used[it->second] = true;
        });
      }
    }
    std::string text;
    text.reserve(bytes + common_before.size() + common_after.size() + 4096);
    text += common_before;
    text += reaches_imports ? module_header->reordered : module_header->own_view;
    text += common_after;
    text += kHidden;
    if (!func_types_declaration.empty()) AppendLine(text, func_types_declaration);
    for (size_t d = 0; d < shared_declarations.size(); ++d) {
      if (used[d]) AppendLine(text, shared_declarations[d]);
    }
    for (size_t f = begin; f < end; ++f) {
      const Function& function = functions[f];
      AppendLine(text, "");
      AppendLine(text, lines[function.first].text.substr(kStatic.size()));
      for (size_t i = function.first + 1; i <= function.last; ++i) AppendLine(text, lines[i].text);
    }
    out.units.push_back(std::move(text));
  }
  return out;
}

}  // namespace theater::engine
