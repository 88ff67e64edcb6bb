// Theater: a WebAssembly actor runtime.
//
// Pack file format (src/store/pack_format.h): header and record encoding, and the record scanner.
#include "store/pack_format.h"

#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/uuid.h"

namespace theater::store::internal {
namespace {

constexpr char kPackMagic[8] = {'T', 'H', 'S', 'T', 'P', 'A', 'C', 'K'};
constexpr uint32_t kPackVersion = 1;
constexpr uint8_t kRecordMagic[4] = {'T', 'S', 'R', '1'};
// Offsets in the 96-byte record header.
constexpr size_t kLengthAt = 8;
constexpr size_t kStoreIdAt = 16;
constexpr size_t kCrcAt = 52;
constexpr size_t kDigestAt = 56;
constexpr size_t kChecksumAt = 88;
// Offsets in the 64-byte pack header.
constexpr size_t kVersionAt = 8;
constexpr size_t kPackIdAt = 12;
constexpr size_t kSaltAt = 16;
constexpr size_t kPackChecksumAt = 56;

void PutU32(uint8_t* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}
void PutU64(uint8_t* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}
uint32_t GetU32(const uint8_t* in) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = value << 8 | in[i];
  return value;
}
uint64_t GetU64(const uint8_t* in) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = value << 8 | in[i];
  return value;
}

// CRC-32C, reflected polynomial 0x82f63b78: the byte-at-a-time table for CPUs without SSE 4.2.
struct Crc32cTable {
  uint32_t entries[256];
  constexpr Crc32cTable() : entries() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t crc = i;
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) != 0 ? 0x82f63b78u : 0);
      entries[i] = crc;
    }
  }
};
constexpr Crc32cTable kCrc32cTable;

uint32_t Crc32cPortable(uint32_t crc, const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) crc = kCrc32cTable.entries[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
bool HasSse42() {
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_SSE4_2) != 0;
  }();
  return has;
}

// Three streams at once. The crc32 instruction takes 3 cycles but can start one every cycle, so
// one dependent chain runs at a third of its speed; three independent chains over three
// consecutive stretches of kStretch bytes keep it busy, and are then joined: for the CRC
// register r, running it over B continues as run(r, B) = zeros(r, |B|) ^ run(0, B), where
// zeros(r, n), running r over n zero bytes, is linear in r, so for the fixed n = kStretch it is
// four table lookups (one per byte of r).
constexpr size_t kStretch = 256;

// zeros(r, kStretch) by byte of r: entries[i][v] = zeros(v << 8i, kStretch).
struct ShiftTables {
  uint32_t entries[4][256];
  ShiftTables() : entries() {
    for (int i = 0; i < 4; ++i) {
      for (uint32_t v = 0; v < 256; ++v) {
        uint32_t crc = v << (8 * i);
        for (size_t n = 0; n < kStretch; ++n) crc = kCrc32cTable.entries[crc & 0xff] ^ (crc >> 8);
        entries[i][v] = crc;
      }
    }
  }
  uint32_t Shift(uint32_t crc) const {
    return entries[0][crc & 0xff] ^ entries[1][(crc >> 8) & 0xff] ^ entries[2][(crc >> 16) & 0xff] ^
           entries[3][crc >> 24];
  }
};

const ShiftTables& Shifts() {
  static const ShiftTables tables;
  return tables;
}

__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(uint32_t crc, const uint8_t* data,
                                                       size_t size) {
  uint64_t crc64 = crc;
  if (size >= 3 * kStretch) {
    const ShiftTables& shifts = Shifts();
    for (; size >= 3 * kStretch; size -= 3 * kStretch, data += 3 * kStretch) {
      uint64_t b = 0;
      uint64_t c = 0;
      for (size_t i = 0; i < kStretch; i += 8) {
        uint64_t wa, wb, wc;
        std::memcpy(&wa, data + i, 8);
        std::memcpy(&wb, data + kStretch + i, 8);
        std::memcpy(&wc, data + 2 * kStretch + i, 8);
        crc64 = _mm_crc32_u64(crc64, wa);
        b = _mm_crc32_u64(b, wb);
        c = _mm_crc32_u64(c, wc);
      }
      crc64 = shifts.Shift(shifts.Shift(static_cast<uint32_t>(crc64)) ^ static_cast<uint32_t>(b)) ^
              static_cast<uint32_t>(c);
    }
  }
  for (; size >= 8; size -= 8, data += 8) {
    uint64_t word;
    std::memcpy(&word, data, sizeof word);
    crc64 = _mm_crc32_u64(crc64, word);
  }
  crc = static_cast<uint32_t>(crc64);
  for (; size > 0; --size, ++data) crc = _mm_crc32_u8(crc, *data);
  return crc;
}
#endif

// The checksum of a record header: SHA-256 of the pack's salt and the first 88 header bytes.
void RecordChecksum(const PackSalt& salt, const uint8_t* header, uint8_t out[8]) {
  Sha256Hasher hasher;
  hasher.Update(salt);
  hasher.Update(std::span<const uint8_t>(header, kChecksumAt));
  const Sha256Digest digest = hasher.Final();
  std::memcpy(out, digest.data(), 8);
}

// pread()s of one file through a buffer, so that scanning many small records costs one system
// call per megabyte rather than two per record.
class BufferedFile {
 public:
  BufferedFile(int fd, uint64_t file_size) : fd_(fd), file_size_(file_size) {}

  // The bytes [offset, offset + size), which must lie within the file.
  Result<std::span<const uint8_t>> At(uint64_t offset, size_t size) {
    if (offset >= start_ && offset + size <= start_ + filled_) {
      return std::span<const uint8_t>(buffer_.data() + (offset - start_), size);
    }
    const size_t want = std::max<size_t>(size, kChunk);
    const size_t length = static_cast<size_t>(std::min<uint64_t>(want, file_size_ - offset));
    if (buffer_.size() < length) buffer_.resize(length);
    size_t done = 0;
    while (done < length) {
      const ssize_t n =
          ::pread(fd_, buffer_.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("reading a pack file at offset " + std::to_string(offset + done), errno);
      }
      if (n == 0) break;  // shrank meanwhile: the caller sees a short file
      done += static_cast<size_t>(n);
    }
    start_ = offset;
    filled_ = done;
    if (done < size) {
      return IOError("pack file ended at offset " + std::to_string(offset + done) +
                     " while reading up to " + std::to_string(offset + size));
    }
    return std::span<const uint8_t>(buffer_.data(), size);
  }

 private:
  static constexpr size_t kChunk = size_t{1} << 20;
  int fd_;
  uint64_t file_size_;
  std::vector<uint8_t> buffer_;
  uint64_t start_ = 0;
  size_t filled_ = 0;
};

}  // namespace

uint32_t Crc32c(std::span<const uint8_t> bytes) {
  uint32_t crc = 0xffffffffu;
#if defined(__x86_64__)
  if (HasSse42()) return ~Crc32cSse42(crc, bytes.data(), bytes.size());
#endif
  return ~Crc32cPortable(crc, bytes.data(), bytes.size());
}

PackSalt NewPackSalt() {
  // NewUuid() draws from a cryptographic generator; two of them give 244 random bits.
  Sha256Hasher hasher;
  hasher.Update(NewUuid());
  hasher.Update(NewUuid());
  const Sha256Digest digest = hasher.Final();
  PackSalt salt;
  std::memcpy(salt.data(), digest.data(), salt.size());
  return salt;
}

PackHeaderBytes EncodePackHeader(const PackHeader& header) {
  PackHeaderBytes out{};
  std::memcpy(out.data(), kPackMagic, sizeof kPackMagic);
  PutU32(out.data() + kVersionAt, kPackVersion);
  PutU32(out.data() + kPackIdAt, header.pack_id);
  std::memcpy(out.data() + kSaltAt, header.salt.data(), header.salt.size());
  const Sha256Digest digest = Sha256(std::span<const uint8_t>(out.data(), kPackChecksumAt));
  std::memcpy(out.data() + kPackChecksumAt, digest.data(), 8);
  return out;
}

std::optional<PackHeader> DecodePackHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() < kPackHeaderBytes) return std::nullopt;
  if (std::memcmp(bytes.data(), kPackMagic, sizeof kPackMagic) != 0) return std::nullopt;
  if (GetU32(bytes.data() + kVersionAt) != kPackVersion) return std::nullopt;
  const Sha256Digest digest = Sha256(bytes.first(kPackChecksumAt));
  if (std::memcmp(bytes.data() + kPackChecksumAt, digest.data(), 8) != 0) return std::nullopt;
  PackHeader header;
  header.pack_id = GetU32(bytes.data() + kPackIdAt);
  std::memcpy(header.salt.data(), bytes.data() + kSaltAt, header.salt.size());
  return header;
}

RecordHeaderBytes EncodeRecordHeader(const PackSalt& salt, std::string_view store_id,
                                     const Sha256Digest& digest, uint64_t length,
                                     uint32_t content_crc) {
  RecordHeaderBytes out{};
  std::memcpy(out.data(), kRecordMagic, sizeof kRecordMagic);
  PutU64(out.data() + kLengthAt, length);
  PutU32(out.data() + kCrcAt, content_crc);
  std::memcpy(out.data() + kStoreIdAt, store_id.data(), std::min(store_id.size(), kStoreIdBytes));
  std::memcpy(out.data() + kDigestAt, digest.data(), digest.size());
  RecordChecksum(salt, out.data(), out.data() + kChecksumAt);
  return out;
}

std::optional<RecordHeader> DecodeRecordHeader(const PackSalt& salt, std::span<const uint8_t> bytes,
                                               bool check_checksum) {
  if (bytes.size() < kRecordHeaderBytes) return std::nullopt;
  if (std::memcmp(bytes.data(), kRecordMagic, sizeof kRecordMagic) != 0) return std::nullopt;
  if (check_checksum) {
    uint8_t checksum[8];
    RecordChecksum(salt, bytes.data(), checksum);
    if (std::memcmp(bytes.data() + kChecksumAt, checksum, sizeof checksum) != 0) {
      return std::nullopt;
    }
  }
  RecordHeader header;
  header.length = GetU64(bytes.data() + kLengthAt);
  header.content_crc = GetU32(bytes.data() + kCrcAt);
  std::memcpy(header.store_id.data(), bytes.data() + kStoreIdAt, kStoreIdBytes);
  std::memcpy(header.digest.data(), bytes.data() + kDigestAt, header.digest.size());
  return header;
}

Result<ScanResult> ScanRecords(int fd, const PackSalt& salt, uint64_t offset, uint64_t file_size,
                               uint64_t max_length, ScanMode mode,
                               const RecordCallback& on_record) {
  ScanResult result;
  result.end = offset;
  BufferedFile file(fd, file_size);
  uint64_t pos = offset;
  // kRecover: whether a damaged run is open, and where it began.
  bool damaged = false;
  uint64_t damage_start = 0;
  auto close_damage = [&](uint64_t until) {
    if (!damaged) return;
    result.damaged++;
    result.damaged_bytes += until - damage_start;
    damaged = false;
  };
  // kRecover: the next offset after `from` where an intact record header starts, or file_size.
  auto resync = [&](uint64_t from) -> Result<uint64_t> {
    uint64_t q = from;
    while (file_size - q >= kRecordHeaderBytes) {
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(file_size - q, 1 << 20));
      THEATER_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, file.At(q, chunk));
      const auto hit =
          std::search(bytes.begin(), bytes.end(), std::begin(kRecordMagic), std::end(kRecordMagic));
      if (hit == bytes.end()) {
        // The magic may straddle the chunk's end: look again from its last 3 bytes.
        q += chunk > sizeof kRecordMagic ? chunk - (sizeof kRecordMagic - 1) : chunk;
        continue;
      }
      const uint64_t candidate = q + static_cast<uint64_t>(hit - bytes.begin());
      if (file_size - candidate < kRecordHeaderBytes) break;
      THEATER_ASSIGN_OR_RETURN(std::span<const uint8_t> header,
                               file.At(candidate, kRecordHeaderBytes));
      if (DecodeRecordHeader(salt, header)) return candidate;
      q = candidate + 1;
    }
    return file_size;
  };

  while (pos < file_size) {
    std::optional<RecordHeader> header;
    if (file_size - pos >= kRecordHeaderBytes) {
      THEATER_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, file.At(pos, kRecordHeaderBytes));
      header = DecodeRecordHeader(salt, bytes);
    }
    const bool complete = header && header->length <= max_length &&
                          header->length <= file_size - pos - kRecordHeaderBytes;
    if (complete) {
      THEATER_ASSIGN_OR_RETURN(
          std::span<const uint8_t> content,
          file.At(pos + kRecordHeaderBytes, static_cast<size_t>(header->length)));
      if (Sha256(content) == header->digest) {
        close_damage(pos);
        on_record(*header, pos, content);
        result.records++;
        pos += RecordBytes(header->length);
        result.end = pos;
        continue;
      }
    }
    // Not an intact record at `pos`.
    if (mode == ScanMode::kStopAtDamage) {
      result.damaged = 1;
      result.damaged_bytes = file_size - pos;
      return result;
    }
    if (!damaged) {
      damaged = true;
      damage_start = pos;
    }
    if (complete) {
      // The header is genuine (its salted checksum holds) but the content is not what it
      // names: skip exactly this record.
      pos += RecordBytes(header->length);
    } else {
      THEATER_ASSIGN_OR_RETURN(pos, resync(pos + 1));
    }
  }
  if (damaged) {
    // Damage runs to the end of the file: a torn tail.
    result.torn_tail = true;
    result.end = damage_start;
    close_damage(file_size);
  }
  return result;
}

}  // namespace theater::store::internal
