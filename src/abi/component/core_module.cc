// Theater: a WebAssembly actor runtime.
#include "abi/component/core_module.h"
#include "common/bytes.h"

#include <set>
#include <string>
#include <utility>

namespace theater::component {
namespace {

constexpr uint8_t kCoreMagic[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

// min, and max when flagged; the flags also say 64-bit (memory64) and shared (threads).
Status ReadLimits(Reader& reader) {
  const size_t at = reader.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t flags, reader.ReadByte());
  if (flags > 0x07) return reader.ParseErrorAt(at, "invalid limits flags " + HexNumber(flags));
  const bool is64 = (flags & 0x04) != 0;
  const int bounds = (flags & 0x01) != 0 ? 2 : 1;
  for (int i = 0; i < bounds; ++i) {
    if (is64) {
      THEATER_RETURN_IF_ERROR(reader.ReadU64().status());
    } else {
      THEATER_RETURN_IF_ERROR(reader.ReadU32().status());
    }
  }
  return Status::Ok();
}

Result<std::shared_ptr<const CoreFuncType>> LookUpFuncType(
    Reader& reader, size_t at, uint32_t index,
    const std::vector<std::shared_ptr<const CoreFuncType>>& types) {
  if (index >= types.size()) {
    return reader.ValidationErrorAt(at, "core type index " + std::to_string(index) +
                                            " out of range (" + std::to_string(types.size()) +
                                            " defined)");
  }
  if (types[index] == nullptr) {
    return reader.ValidationErrorAt(
        at, "core type " + std::to_string(index) + " is not a function type");
  }
  return types[index];
}

}  // namespace

Result<CoreValType> ReadCoreValType(Reader& reader) {
  const size_t at = reader.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t byte, reader.ReadByte());
  switch (byte) {
    case 0x7f:
      return CoreValType::kI32;
    case 0x7e:
      return CoreValType::kI64;
    case 0x7d:
      return CoreValType::kF32;
    case 0x7c:
      return CoreValType::kF64;
    case 0x7b:
      return CoreValType::kV128;
    case 0x70:
      return CoreValType::kFuncRef;
    case 0x6f:
      return CoreValType::kExternRef;
    default:
      return reader.ParseErrorAt(at, "unsupported core value type " + HexNumber(byte) +
                                         " (GC reference types are not supported)");
  }
}

Result<CoreFuncType> ReadCoreFuncTypeBody(Reader& reader) {
  CoreFuncType type;
  THEATER_ASSIGN_OR_RETURN(const uint32_t params, reader.ReadCount("parameter"));
  for (uint32_t i = 0; i < params; ++i) {
    THEATER_ASSIGN_OR_RETURN(CoreValType t, ReadCoreValType(reader));
    type.params.push_back(t);
  }
  THEATER_ASSIGN_OR_RETURN(const uint32_t results, reader.ReadCount("result"));
  for (uint32_t i = 0; i < results; ++i) {
    THEATER_ASSIGN_OR_RETURN(CoreValType t, ReadCoreValType(reader));
    type.results.push_back(t);
  }
  return type;
}

Result<CoreImport> ReadUniqueCoreImport(
    Reader& reader, const std::vector<std::shared_ptr<const CoreFuncType>>& types,
    std::set<std::pair<std::string, std::string>>& seen) {
  const size_t at = reader.offset();
  CoreImport import;
  THEATER_ASSIGN_OR_RETURN(import.module, reader.ReadName());
  THEATER_ASSIGN_OR_RETURN(import.name, reader.ReadName());
  THEATER_ASSIGN_OR_RETURN(import.type, ReadCoreImportDesc(reader, types));
  if (!seen.emplace(import.module, import.name).second) {
    return reader.ValidationErrorAt(
        at, "duplicate import `" + import.module + "` `" + import.name + "`");
  }
  return import;
}

Result<CoreExternType> ReadCoreImportDesc(
    Reader& reader, const std::vector<std::shared_ptr<const CoreFuncType>>& types) {
  const size_t at = reader.offset();
  THEATER_ASSIGN_OR_RETURN(const uint8_t kind, reader.ReadByte());
  CoreExternType type;
  switch (kind) {
    case 0x00: {
      type.kind = CoreExternKind::kFunc;
      const size_t index_at = reader.offset();
      THEATER_ASSIGN_OR_RETURN(const uint32_t index, reader.ReadU32());
      THEATER_ASSIGN_OR_RETURN(type.func, LookUpFuncType(reader, index_at, index, types));
      return type;
    }
    case 0x01: {
      type.kind = CoreExternKind::kTable;
      const size_t ref_at = reader.offset();
      THEATER_ASSIGN_OR_RETURN(const CoreValType element, ReadCoreValType(reader));
      if (element != CoreValType::kFuncRef && element != CoreValType::kExternRef) {
        return reader.ParseErrorAt(ref_at, "table element type is not a reference type");
      }
      THEATER_RETURN_IF_ERROR(ReadLimits(reader));
      return type;
    }
    case 0x02:
      type.kind = CoreExternKind::kMemory;
      THEATER_RETURN_IF_ERROR(ReadLimits(reader));
      return type;
    case 0x03: {
      type.kind = CoreExternKind::kGlobal;
      THEATER_RETURN_IF_ERROR(ReadCoreValType(reader).status());
      const size_t mut_at = reader.offset();
      THEATER_ASSIGN_OR_RETURN(const uint8_t mut, reader.ReadByte());
      if (mut > 1)
        return reader.ParseErrorAt(mut_at, "invalid global mutability " + HexNumber(mut));
      return type;
    }
    case 0x04: {
      type.kind = CoreExternKind::kTag;
      const size_t attr_at = reader.offset();
      THEATER_ASSIGN_OR_RETURN(const uint8_t attribute, reader.ReadByte());
      if (attribute != 0) return reader.ParseErrorAt(attr_at, "invalid tag attribute");
      const size_t index_at = reader.offset();
      THEATER_ASSIGN_OR_RETURN(const uint32_t index, reader.ReadU32());
      THEATER_ASSIGN_OR_RETURN(type.func, LookUpFuncType(reader, index_at, index, types));
      return type;
    }
    default:
      return reader.ParseErrorAt(at, "invalid core import kind " + HexNumber(kind));
  }
}

Result<std::shared_ptr<const CoreModuleShape>> ReadCoreModuleShape(Reader& reader) {
  const size_t start = reader.offset();
  THEATER_ASSIGN_OR_RETURN(auto preamble,
                           reader.ReadBytes(std::min<size_t>(8, reader.remaining())));
  if (preamble.size() != 8 || !std::equal(preamble.begin(), preamble.end(), kCoreMagic)) {
    return reader.ParseErrorAt(start, "not a core module (bad magic or version)");
  }
  auto shape = std::make_shared<CoreModuleShape>();
  std::vector<std::shared_ptr<const CoreFuncType>> types;
  // The function and tag index spaces (imports first, then definitions), by signature; the
  // table, memory and global spaces only by size.
  std::vector<std::shared_ptr<const CoreFuncType>> funcs;
  std::vector<std::shared_ptr<const CoreFuncType>> tags;
  uint64_t tables = 0, memories = 0, globals = 0;
  std::set<std::pair<std::string, std::string>> import_names;
  std::set<std::string> export_names;
  while (!reader.done()) {
    const size_t section_at = reader.offset();
    THEATER_ASSIGN_OR_RETURN(const uint8_t id, reader.ReadByte());
    THEATER_ASSIGN_OR_RETURN(const uint32_t size, reader.ReadU32());
    if (size > reader.remaining()) {
      return reader.ParseErrorAt(section_at, "core section " + std::to_string(id) + " of " +
                                                 std::to_string(size) + " bytes overruns the " +
                                                 std::to_string(reader.remaining()) +
                                                 " bytes left");
    }
    THEATER_ASSIGN_OR_RETURN(Reader section, reader.Sub(size, reader.context() + ", core section " +
                                                                  std::to_string(id)));
    switch (id) {
      case 1: {  // type
        THEATER_ASSIGN_OR_RETURN(const uint32_t count, section.ReadCount("type"));
        for (uint32_t i = 0; i < count; ++i) {
          const size_t at = section.offset();
          THEATER_ASSIGN_OR_RETURN(const uint8_t form, section.ReadByte());
          if (form != 0x60) {
            return section.ParseErrorAt(at,
                                        "type form " + HexNumber(form) +
                                            " is not a function type (GC types are not supported)");
          }
          THEATER_ASSIGN_OR_RETURN(CoreFuncType type, ReadCoreFuncTypeBody(section));
          types.push_back(std::make_shared<const CoreFuncType>(std::move(type)));
        }
        break;
      }
      case 2: {  // import
        THEATER_ASSIGN_OR_RETURN(const uint32_t count, section.ReadCount("import"));
        for (uint32_t i = 0; i < count; ++i) {
          THEATER_ASSIGN_OR_RETURN(CoreImport import,
                                   ReadUniqueCoreImport(section, types, import_names));
          switch (import.type.kind) {
            case CoreExternKind::kFunc:
              funcs.push_back(import.type.func);
              break;
            case CoreExternKind::kTag:
              tags.push_back(import.type.func);
              break;
            case CoreExternKind::kTable:
              ++tables;
              break;
            case CoreExternKind::kMemory:
              ++memories;
              break;
            case CoreExternKind::kGlobal:
              ++globals;
              break;
          }
          shape->imports.push_back(std::move(import));
        }
        break;
      }
      case 3: {  // function
        THEATER_ASSIGN_OR_RETURN(const uint32_t count, section.ReadCount("function"));
        for (uint32_t i = 0; i < count; ++i) {
          const size_t at = section.offset();
          THEATER_ASSIGN_OR_RETURN(const uint32_t index, section.ReadU32());
          THEATER_ASSIGN_OR_RETURN(auto type, LookUpFuncType(section, at, index, types));
          funcs.push_back(std::move(type));
        }
        break;
      }
      case 4: {  // table
        THEATER_ASSIGN_OR_RETURN(const uint32_t count, section.ReadU32());
        tables += count;
        continue;  // the table types are the engine's business
      }
      case 5: {  // memory
        THEATER_ASSIGN_OR_RETURN(const uint32_t count, section.ReadU32());
        memories += count;
        continue;
      }
      case 6: {  // global
        THEATER_ASSIGN_OR_RETURN(const uint32_t count, section.ReadU32());
        globals += count;
        continue;
      }
      case 13: {  // tag
        THEATER_ASSIGN_OR_RETURN(const uint32_t count, section.ReadCount("tag"));
        for (uint32_t i = 0; i < count; ++i) {
          const size_t at = section.offset();
          THEATER_ASSIGN_OR_RETURN(const uint8_t attribute, section.ReadByte());
          if (attribute != 0) return section.ParseErrorAt(at, "invalid tag attribute");
          const size_t index_at = section.offset();
          THEATER_ASSIGN_OR_RETURN(const uint32_t index, section.ReadU32());
          THEATER_ASSIGN_OR_RETURN(auto type, LookUpFuncType(section, index_at, index, types));
          tags.push_back(std::move(type));
        }
        break;
      }
      case 7: {  // export
        THEATER_ASSIGN_OR_RETURN(const uint32_t count, section.ReadCount("export"));
        for (uint32_t i = 0; i < count; ++i) {
          const size_t at = section.offset();
          CoreExport out;
          THEATER_ASSIGN_OR_RETURN(out.name, section.ReadName());
          const size_t kind_at = section.offset();
          THEATER_ASSIGN_OR_RETURN(const uint8_t kind, section.ReadByte());
          THEATER_ASSIGN_OR_RETURN(const uint32_t index, section.ReadU32());
          uint64_t limit = 0;
          switch (kind) {
            case 0x00:
              out.type.kind = CoreExternKind::kFunc;
              limit = funcs.size();
              if (index < limit) out.type.func = funcs[index];
              break;
            case 0x01:
              out.type.kind = CoreExternKind::kTable;
              limit = tables;
              break;
            case 0x02:
              out.type.kind = CoreExternKind::kMemory;
              limit = memories;
              break;
            case 0x03:
              out.type.kind = CoreExternKind::kGlobal;
              limit = globals;
              break;
            case 0x04:
              out.type.kind = CoreExternKind::kTag;
              limit = tags.size();
              if (index < limit) out.type.func = tags[index];
              break;
            default:
              return section.ParseErrorAt(kind_at, "invalid export kind " + HexNumber(kind));
          }
          if (index >= limit) {
            return section.ValidationErrorAt(
                at, "export `" + out.name + "`: " + CoreExternKindName(out.type.kind) + " index " +
                        std::to_string(index) + " out of range (" + std::to_string(limit) +
                        " defined)");
          }
          if (!export_names.insert(out.name).second) {
            return section.ValidationErrorAt(at, "duplicate export `" + out.name + "`");
          }
          shape->exports.push_back(std::move(out));
        }
        break;
      }
      default:
        continue;  // code, data, custom, ...: not needed for linking
    }
    THEATER_RETURN_IF_ERROR(section.ExpectDone());
  }
  return std::shared_ptr<const CoreModuleShape>(std::move(shape));
}

}  // namespace theater::component
