// Theater: a WebAssembly actor runtime.
//
// The on-disk format of ContentStore's pack files (docs/store.md, "Pack files"): small content
// appended one record after another to `<pack dir>/NNNNNNNN.pack`, indexed in SQLite.
//
// A pack starts with a 64-byte header: magic "THSTPACK", format version, pack id, a random
// 16-byte salt and a checksum of the header. Each record is a 96-byte header followed by the
// content:
//
//   0  u32 magic 'TSR1'        8  u64 content length      16 store id (36 ASCII bytes)
//   52 u32 CRC-32C of content  56 SHA-256 of the content   88 u64 checksum of bytes 0-88
//
// (integers little-endian). The checksum is the first 8 bytes of SHA-256(salt || bytes 0-88):
// it tells a real record header from a torn or garbled one, and, because the salt is secret to
// the pack, from a fake header an actor embedded in its own content (a scan that resynchronises
// after damage can land inside content). Scans verify the content by its own SHA-256; reads of
// indexed records by its CRC-32C (0.5 µs instead of 2.4 µs for 4 KiB here; it detects every
// burst of damage up to 32 bits and anything else but one case in four billion: damage on disk,
// not an adversary, who could rewrite the index as easily).
//
// ScanRecords() walks records from a known record boundary; it is what recovery (after a crash),
// adoption (a dead instance's pack) and the tailing of packs other live instances append to use.
//
// Thread-safety: pure functions, and ScanRecords() only preads (any number may scan one file).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "common/sha256.h"
#include "theater/status.h"

namespace theater::store::internal {

inline constexpr size_t kPackHeaderBytes = 64;
inline constexpr size_t kRecordHeaderBytes = 96;
inline constexpr size_t kStoreIdBytes = 36;

using PackSalt = std::array<uint8_t, 16>;
using PackHeaderBytes = std::array<uint8_t, kPackHeaderBytes>;
using RecordHeaderBytes = std::array<uint8_t, kRecordHeaderBytes>;

struct PackHeader {
  uint32_t pack_id = 0;
  PackSalt salt{};
};

// CRC-32C (Castagnoli) of `bytes`, with the SSE 4.2 instruction when the CPU has it.
uint32_t Crc32c(std::span<const uint8_t> bytes);

// A fresh random salt for a new pack.
PackSalt NewPackSalt();
PackHeaderBytes EncodePackHeader(const PackHeader& header);
// The header, or none when `bytes` is not a complete, intact pack header of a known version.
std::optional<PackHeader> DecodePackHeader(std::span<const uint8_t> bytes);

// A record header's fields. `store_id` is a validated store id (36 bytes).
struct RecordHeader {
  uint64_t length = 0;
  uint32_t content_crc = 0;  // Crc32c of the content
  std::array<char, kStoreIdBytes> store_id{};
  Sha256Digest digest{};

  std::string_view store() const { return {store_id.data(), store_id.size()}; }
};

RecordHeaderBytes EncodeRecordHeader(const PackSalt& salt, std::string_view store_id,
                                     const Sha256Digest& digest, uint64_t length,
                                     uint32_t content_crc);
// The header, or none when the magic or the checksum does not match (torn, damaged, not a
// record boundary). Without `check_checksum` only the magic is checked: for a reader that
// compares every field with what it expects anyway (and the content with its CRC).
std::optional<RecordHeader> DecodeRecordHeader(const PackSalt& salt, std::span<const uint8_t> bytes,
                                               bool check_checksum = true);

// The bytes a record of `length` bytes of content takes in a pack.
inline uint64_t RecordBytes(uint64_t length) {
  return kRecordHeaderBytes + length;
}

// How ScanRecords treats the first record it cannot use.
enum class ScanMode {
  // Stop there: the writer of a live pack may be in the middle of that append, so what looks
  // torn now may be complete a moment later. The next scan starts again from that offset.
  kStopAtDamage,
  // Recovery of a pack nobody appends to: skip what is damaged and carry on with the next intact
  // record (a header whose checksum holds), so one bad record never hides the ones after it;
  // damage that runs to the end of the file is a torn tail.
  kRecover,
};

struct ScanResult {
  // kStopAtDamage: where the next scan should resume (the end of the last intact record).
  // kRecover: where the intact content ends; when torn_tail, everything from here on is damage
  // that reaches the end of the file (truncate the file here before appending to it).
  uint64_t end = 0;
  bool torn_tail = false;
  uint64_t records = 0;        // intact records passed to the callback
  uint64_t damaged = 0;        // damaged records or regions skipped (kRecover) or stopped at
  uint64_t damaged_bytes = 0;  // their bytes, the torn tail included
};

// Reads the records of the pack open as `fd` from `offset` (a record boundary) up to `file_size`
// and calls `on_record(header, offset, content)` for each intact one: a header whose checksum
// holds, complete content of at most `max_length` bytes, whose SHA-256 is the header's digest.
// Returns an I/O error only when reading fails.
using RecordCallback =
    std::function<void(const RecordHeader&, uint64_t offset, std::span<const uint8_t> content)>;
[[nodiscard]] Result<ScanResult> ScanRecords(int fd, const PackSalt& salt, uint64_t offset,
                                             uint64_t file_size, uint64_t max_length, ScanMode mode,
                                             const RecordCallback& on_record);

}  // namespace theater::store::internal
