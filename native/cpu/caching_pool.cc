#include "kernels/caching_pool.h"

#include <string>

#include "kernels/common.h"

namespace sa {

namespace {
constexpr size_t kMinBlock = 512;
constexpr size_t kLargeBlock = size_t(1) << 20;
}  // namespace

CachingPool::CachingPool(RawAllocator* raw, uint64_t limitBytes) : raw_(raw), limit_(limitBytes) {}

CachingPool::~CachingPool() {
  std::lock_guard<std::mutex> lock(mutex_);
  releaseCacheLocked();
}

// Small blocks round to 512 bytes, large ones to 1 MiB, so that reuse finds fitting blocks.
size_t CachingPool::roundSize(size_t bytes) {
  size_t unit = bytes >= kLargeBlock ? kLargeBlock : kMinBlock;
  if (bytes == 0) return kMinBlock;
  return (bytes + unit - 1) / unit * unit;
}

// A cached block is reused if it is at most twice the requested size (bounded waste).
void* CachingPool::takeCached(size_t size) {
  auto it = cached_.lower_bound(size);
  if (it == cached_.end() || it->first > 2 * size) return nullptr;
  void* ptr = it->second;
  owned_[ptr].cached = false;
  stats_.cachedBytes -= it->first;
  stats_.liveBytes += it->first;
  stats_.reuses++;
  cached_.erase(it);
  return ptr;
}

void CachingPool::releaseCacheLocked() {
  for (auto& entry : cached_) {
    raw_->release(entry.second);
    owned_.erase(entry.second);
  }
  cached_.clear();
  stats_.cachedBytes = 0;
}

void* CachingPool::allocate(size_t bytes) {
  if (bytes > kMaxRequest)
    throw KernelError(ErrorCode::OutOfMemory, "out of device memory: cannot allocate " + std::to_string(bytes) + " bytes");
  size_t size = roundSize(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  if (void* ptr = takeCached(size)) return ptr;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt == 1) releaseCacheLocked();
    bool withinLimit = limit_ == 0 || stats_.liveBytes + stats_.cachedBytes + size <= limit_;
    if (!withinLimit) continue;
    if (void* ptr = raw_->allocate(size)) {
      owned_[ptr] = Owned{size, false};
      stats_.liveBytes += size;
      stats_.rawAllocations++;
      return ptr;
    }
  }
  throw KernelError(ErrorCode::OutOfMemory,
                    "out of device memory: cannot allocate " + std::to_string(bytes) + " bytes (" +
                        std::to_string(stats_.liveBytes) + " bytes in use" +
                        (limit_ ? ", limit " + std::to_string(limit_) : std::string()) + ")");
}

void CachingPool::release(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = owned_.find(ptr);
  if (it == owned_.end() || it->second.cached) return;
  it->second.cached = true;
  stats_.liveBytes -= it->second.size;
  stats_.cachedBytes += it->second.size;
  cached_.emplace(it->second.size, ptr);
}

void CachingPool::emptyCache() {
  std::lock_guard<std::mutex> lock(mutex_);
  releaseCacheLocked();
}

PoolStats CachingPool::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace sa
