// Counts things in use (uploads being received, open event streams) so that
// their number can be capped. A slot is held as long as its handle lives, and
// the count stays valid even if the counter's owner goes first.
#pragma once

#include <memory>

namespace demucs {

class SlotCounter {
 public:
  using Slot = std::shared_ptr<void>;

  /// A slot, or nullptr when `limit` are in use.
  Slot take(int limit) {
    if (*count_ >= limit) return nullptr;
    ++*count_;
    std::shared_ptr<int> count = count_;
    return Slot(count.get(), [count](void *) { --*count; });  // not null: a held slot tests true
  }
  int in_use() const { return *count_; }

 private:
  std::shared_ptr<int> count_ = std::make_shared<int>(0);
};

}  // namespace demucs
