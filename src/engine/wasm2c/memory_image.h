// Theater: a WebAssembly actor runtime.
//
// MemoryImage: what a linear memory holds, kept compactly on the heap while its pages are given
// back to the kernel; how an idle instance hibernates (Instance::Hibernate). MemoryBaseline: the
// memory of a module's first instance as its initialisation left it (data segments written),
// which the images of all its instances are taken against.
//
// Why: an idle small actor's memory is a few touched 4 KiB pages: its data segments, the top of
// its shadow stack, its allocator's first chunks. Kept resident they are most of what an idle
// actor costs. Most of their bytes are zero, or still what the module's data segments put there,
// and the same in every instance of the module. An image keeps only the runs of bytes that differ
// from the baseline (zero where the baseline has no page): for a small actor a few hundred bytes.
// Capturing reads the pages `mincore` reports resident (the others read as zero) and the
// baseline's pages, and gives the range back with one `madvise(MADV_DONTNEED)`. Restoring writes
// the baseline's pages and then the runs; pages fault in fresh (zero) where they are written,
// and nowhere else. Any baseline gives the same result (one that differs from an instance's
// memory only makes its image larger): the baseline is a matter of size, never of correctness.
//
// Thread-safety: a MemoryBaseline is immutable and shared. A MemoryImage is used by one thread;
// the memory must not be used by anyone else between Capture and Restore (the instance is idle
// and claimed). Ownership: both hold copies, never the memory.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace theater::engine::rt {

class MemoryBaseline {
 public:
  // Copies the pages of the first `bytes` at `base` that are resident and not all zero.
  static MemoryBaseline Copy(const uint8_t* base, uint64_t bytes);

  // Page `index` (4 KiB), or nullptr when the baseline has it as zero.
  const uint8_t* Page(uint64_t index) const;
  const std::vector<uint64_t>& page_indexes() const { return indexes_; }
  uint64_t size_bytes() const { return pages_.size(); }

 private:
  std::vector<uint64_t> indexes_;  // ascending
  std::vector<uint8_t> pages_;     // 4 KiB each, in the order of indexes_
};

class MemoryImage {
 public:
  // Captures the first `bytes` (a multiple of 4 KiB) at `base`, against `baseline` (null: all
  // zero), and gives their pages back.
  static MemoryImage Capture(uint8_t* base, uint64_t bytes,
                             std::shared_ptr<const MemoryBaseline> baseline);

  // Writes what was captured back to `base` (the same memory, every byte of it reading zero).
  void Restore(uint8_t* base) const;

  // Heap bytes the image takes (the shared baseline not counted).
  uint64_t size_bytes() const { return sizeof(MemoryImage) + runs_.capacity(); }

 private:
  std::shared_ptr<const MemoryBaseline> baseline_;
  // Runs, one after another: a 4-byte byte offset into the memory, a 2-byte length (at most a
  // page), then that many bytes: where the memory differs from the baseline.
  std::vector<uint8_t> runs_;
};

}  // namespace theater::engine::rt
