// Theater: a WebAssembly actor runtime.
//
// theater::Mutex and its scoped locks (theater/mutex.h): exclusion, TryLock, waiting on a
// condition variable with and without a predicate, timed waits that time out and that are woken,
// and the reader/writer lock. The annotations themselves are checked by the compiler, not here.
#include "theater/mutex.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <thread>
#include <vector>

namespace theater {
namespace {

using std::chrono::milliseconds;

struct Counter {
  Mutex mu;
  std::condition_variable cv;
  int value THEATER_GUARDED_BY(mu) = 0;
};

TEST(MutexTest, ExcludesOtherThreads) {
  Counter counter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counter] {
      for (int i = 0; i < 10000; ++i) {
        MutexLock lock(counter.mu);
        ++counter.value;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  MutexLock lock(counter.mu);
  EXPECT_EQ(counter.value, 40000);
}

TEST(MutexTest, TryLockFailsWhileHeldElsewhere) {
  Mutex mu;
  MutexLock lock(mu);
  bool taken = true;
  std::thread other([&] {
    if (mu.TryLock()) {
      taken = true;
      mu.Unlock();
    } else {
      taken = false;
    }
  });
  other.join();
  EXPECT_FALSE(taken);
  lock.Unlock();
  bool free_again = false;
  if (mu.TryLock()) {
    free_again = true;
    mu.Unlock();
  }
  EXPECT_TRUE(free_again);
  lock.Lock();  // the scope ends holding it, as the destructor expects
}

TEST(MutexTest, WaitWithPredicateSeesTheWriteItWaitedFor) {
  Counter counter;
  std::thread writer([&counter] {
    for (int i = 0; i < 5; ++i) {
      MutexLock lock(counter.mu);
      ++counter.value;
      counter.cv.notify_all();
    }
  });
  {
    MutexLock lock(counter.mu);
    lock.Wait(counter.cv, [&]() THEATER_REQUIRES(counter.mu) { return counter.value == 5; });
    EXPECT_EQ(counter.value, 5);
  }
  writer.join();
}

TEST(MutexTest, WaitWithoutPredicateReturnsOnNotify) {
  Counter counter;
  std::thread writer([&counter] {
    MutexLock lock(counter.mu);
    counter.value = 1;
    counter.cv.notify_all();
  });
  {
    MutexLock lock(counter.mu);
    while (counter.value == 0) lock.Wait(counter.cv);
    EXPECT_EQ(counter.value, 1);
  }
  writer.join();
}

TEST(MutexTest, TimedWaitsTimeOutAndHoldTheLockAgain) {
  Counter counter;
  MutexLock lock(counter.mu);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(lock.WaitFor(counter.cv, milliseconds(20),
                            [&]() THEATER_REQUIRES(counter.mu) { return counter.value != 0; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(20));
  EXPECT_FALSE(lock.WaitUntil(counter.cv, std::chrono::steady_clock::now() + milliseconds(5),
                              [&]() THEATER_REQUIRES(counter.mu) { return counter.value != 0; }));
  // Spurious wake-ups aside, a wait nobody notifies ends by its timeout.
  std::cv_status status = std::cv_status::no_timeout;
  for (int i = 0; i < 100 && status == std::cv_status::no_timeout; ++i) {
    status = lock.WaitFor(counter.cv, milliseconds(1));
  }
  EXPECT_EQ(status, std::cv_status::timeout);
  // The lock is held again after each wait: another thread cannot take it.
  bool taken = true;
  std::thread other([&] {
    if (counter.mu.TryLock()) {
      taken = true;
      counter.mu.Unlock();
    } else {
      taken = false;
    }
  });
  other.join();
  EXPECT_FALSE(taken);
}

TEST(MutexTest, TimedWaitWokenBeforeItsDeadline) {
  Counter counter;
  std::thread writer([&counter] {
    std::this_thread::sleep_for(milliseconds(10));
    MutexLock lock(counter.mu);
    counter.value = 7;
    counter.cv.notify_all();
  });
  {
    MutexLock lock(counter.mu);
    EXPECT_TRUE(lock.WaitFor(counter.cv, std::chrono::seconds(30),
                             [&]() THEATER_REQUIRES(counter.mu) { return counter.value == 7; }));
    EXPECT_TRUE(lock.WaitUntil(counter.cv,
                               std::chrono::steady_clock::now() + std::chrono::seconds(30),
                               [&]() THEATER_REQUIRES(counter.mu) { return counter.value == 7; }));
  }
  writer.join();
}

TEST(SharedMutexTest, ReadersShareAndWritersExclude) {
  SharedMutex mu;
  {
    ReaderLock first(mu);
    // A second reader gets in beside the first; a writer does not.
    bool reader_in = false;
    bool writer_in = true;
    std::thread other([&] {
      reader_in = false;
      if (mu.TryLockShared()) {
        reader_in = true;
        mu.UnlockShared();
      }
      writer_in = false;
      if (mu.TryLock()) {
        writer_in = true;
        mu.Unlock();
      }
    });
    other.join();
    EXPECT_TRUE(reader_in);
    EXPECT_FALSE(writer_in);
  }
  {
    WriterLock writer(mu);
    bool reader_in = true;
    std::thread other([&] {
      reader_in = false;
      if (mu.TryLockShared()) {
        reader_in = true;
        mu.UnlockShared();
      }
    });
    other.join();
    EXPECT_FALSE(reader_in);
    writer.Unlock();
    bool free_again = false;
    if (mu.TryLockShared()) {
      free_again = true;
      mu.UnlockShared();
    }
    EXPECT_TRUE(free_again);
  }
}

}  // namespace
}  // namespace theater
