// Theater: a WebAssembly actor runtime.
#include "engine/wasm2c/memory_image.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "engine/wasm2c/memory_pool.h"

namespace theater::engine::rt {
namespace {

constexpr uint64_t kOsPage = 4096;
constexpr size_t kRunHeader = 6;  // offset (4) and length (2)
alignas(64) constexpr uint8_t kZeroPage[kOsPage] = {};

// Which of the `bytes` at `base` are resident, a byte a page (bit 0); all when the kernel will
// not say (every page is then read: slower, not wrong).
std::vector<unsigned char> Residency(const uint8_t* base, uint64_t bytes) {
  const uint64_t pages = bytes / kOsPage;
  std::vector<unsigned char> resident(pages, 1);
  if (pages > 0 && mincore(const_cast<uint8_t*>(base), bytes, resident.data()) != 0) {
    resident.assign(pages, 1);
  }
  return resident;
}

void PutRun(std::vector<uint8_t>* out, uint64_t offset, const uint8_t* data, uint16_t length) {
  const auto at = static_cast<uint32_t>(offset);  // wasm32: a memory is at most 4 GiB
  uint8_t header[kRunHeader];
  std::memcpy(header, &at, 4);
  std::memcpy(header + 4, &length, 2);
  out->insert(out->end(), header, header + kRunHeader);
  out->insert(out->end(), data, data + length);
}

// Appends the runs where `page` (at byte `offset` of the memory) differs from `reference`.
void DiffPage(const uint8_t* page, const uint8_t* reference, uint64_t offset,
              std::vector<uint8_t>* out) {
  size_t i = 0;
  while (i < kOsPage) {
    while (i < kOsPage && page[i] == reference[i]) ++i;
    if (i == kOsPage) break;
    // A run ends at a stretch of equal bytes longer than a run header (a shorter one costs less
    // kept inline).
    size_t end = i, same = 0;
    for (size_t j = i; j < kOsPage; ++j) {
      if (page[j] != reference[j]) {
        end = j + 1;
        same = 0;
      } else if (++same > kRunHeader) {
        break;
      }
    }
    PutRun(out, offset + i, page + i, static_cast<uint16_t>(end - i));
    i = end;
  }
}

}  // namespace

MemoryBaseline MemoryBaseline::Copy(const uint8_t* base, uint64_t bytes) {
  MemoryBaseline baseline;
  const std::vector<unsigned char> resident = Residency(base, bytes);
  for (uint64_t p = 0; p < resident.size(); ++p) {
    const uint8_t* page = base + p * kOsPage;
    if (!(resident[p] & 1) || AllZero(page, kOsPage)) continue;
    baseline.indexes_.push_back(p);
    baseline.pages_.insert(baseline.pages_.end(), page, page + kOsPage);
  }
  baseline.pages_.shrink_to_fit();
  return baseline;
}

const uint8_t* MemoryBaseline::Page(uint64_t index) const {
  auto it = std::lower_bound(indexes_.begin(), indexes_.end(), index);
  if (it == indexes_.end() || *it != index) return nullptr;
  return pages_.data() + (it - indexes_.begin()) * kOsPage;
}

MemoryImage MemoryImage::Capture(uint8_t* base, uint64_t bytes,
                                 std::shared_ptr<const MemoryBaseline> baseline) {
  MemoryImage image;
  image.baseline_ = std::move(baseline);
  const std::vector<unsigned char> resident = Residency(base, bytes);
  for (uint64_t p = 0; p < resident.size(); ++p) {
    const uint8_t* reference = image.baseline_ ? image.baseline_->Page(p) : nullptr;
    // A page that is not resident reads as zero.
    const uint8_t* page = (resident[p] & 1) ? base + p * kOsPage : kZeroPage;
    if (reference == nullptr) {
      if (page == kZeroPage || AllZero(page, kOsPage)) continue;
      reference = kZeroPage;
    }
    DiffPage(page, reference, p * kOsPage, &image.runs_);
  }
  image.runs_.shrink_to_fit();
  if (bytes > 0) MemoryPool::Get().Trim(base, bytes);
  return image;
}

void MemoryImage::Restore(uint8_t* base) const {
  if (baseline_) {
    const std::vector<uint64_t>& indexes = baseline_->page_indexes();
    for (size_t i = 0; i < indexes.size(); ++i) {
      std::memcpy(base + indexes[i] * kOsPage, baseline_->Page(indexes[i]), kOsPage);
    }
  }
  size_t i = 0;
  while (i + kRunHeader <= runs_.size()) {
    uint32_t offset;
    uint16_t length;
    std::memcpy(&offset, runs_.data() + i, 4);
    std::memcpy(&length, runs_.data() + i + 4, 2);
    std::memcpy(base + offset, runs_.data() + i + kRunHeader, length);
    i += kRunHeader + length;
  }
}

}  // namespace theater::engine::rt
