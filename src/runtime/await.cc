// Theater: a WebAssembly actor runtime.
#include "runtime/await.h"

namespace theater {

bool Waker::Wake(uint64_t value) const {
  if (!slot_) return false;
  MutexLock lock(slot_->mu);
  if (slot_->call == nullptr) return false;
  engine::GuestCall* call = slot_->call;
  slot_->call = nullptr;
  return call->Wake(value);
}

namespace runtime {

namespace {
struct ArmContext {
  const std::function<void(Waker)>* arm;
  std::shared_ptr<Waker::Slot> slot;
  Waker waker;
};
}  // namespace

Result<uint64_t> Await(engine::Instance& instance, const std::function<void(Waker)>& arm) {
  engine::GuestCall* call = instance.active_call();
  if (call == nullptr) {
    return FailedPrecondition("a host function cannot wait outside a fiber call");
  }
  auto slot = std::make_shared<Waker::Slot>(call);
  ArmContext context{&arm, slot, Waker(slot)};
  Result<uint64_t> woken = call->Suspend(
      [](engine::GuestCall&, void* arg) {
        auto* c = static_cast<ArmContext*>(arg);
        (*c->arm)(c->waker);
      },
      &context);
  // Whatever ended the wait, later wakes must not reach this call again.
  MutexLock lock(slot->mu);
  slot->call = nullptr;
  return woken;
}

}  // namespace runtime
}  // namespace theater
