// runtime_thread_pool_test.cpp - tests of the pools that serve Halide's parallel loops, and
// of the runtime contexts that own them.
//
// Tasks add into shared atomics so every test can check that each task ran exactly once,
// whatever thread ran it; the stress cases (many tiny loops, two callers at once, resizing)
// are the ones that would expose a broken publish/claim protocol.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "context.h"
#include "kiln/runtime.h"
#include "thread_pool.h"

extern "C" int halide_do_par_for(void *, halide_task_t, int, int, uint8_t *);
extern "C" void *halide_malloc(void *, size_t);
extern "C" void halide_free(void *, void *);

namespace {

// The pool the parameterized tests run on (made per test).
kiln_thread_pool_t *pool = nullptr;

int RunOnPool(halide_task_t task, int min, int size, uint8_t *closure) {
  return kiln_thread_pool_run(pool, nullptr, task, min, size, closure);
}

struct SumClosure {
  std::atomic<int64_t> sum{0};
  std::atomic<int64_t> calls{0};
};

int AddIndex(void *, int index, uint8_t *closure) {
  auto *state = reinterpret_cast<SumClosure *>(closure);
  state->sum += index;
  state->calls++;
  return 0;
}

int64_t SumOfRange(int min, int size) {
  return static_cast<int64_t>(size) * min + static_cast<int64_t>(size) * (size - 1) / 2;
}

int64_t RunSum(int min, int size) {
  SumClosure state;
  EXPECT_EQ(RunOnPool(AddIndex, min, size,
                                        reinterpret_cast<uint8_t *>(&state)),
            0);
  EXPECT_EQ(state.calls.load(), size > 0 ? size : 0);
  return state.sum.load();
}

class ThreadPool : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    ASSERT_EQ(kiln_thread_pool_create(GetParam(), &pool), KILN_OK);
    ASSERT_EQ(kiln_thread_pool_size(pool), GetParam());
  }
  void TearDown() override {
    kiln_thread_pool_destroy(pool);
    pool = nullptr;
  }
};

TEST_P(ThreadPool, SumsTasks) {
  EXPECT_EQ(RunSum(0, 10000), SumOfRange(0, 10000));
  EXPECT_EQ(RunSum(-50, 7), SumOfRange(-50, 7));
  EXPECT_EQ(RunSum(5, 1), 5);
  EXPECT_EQ(RunSum(5, 0), 0);
}

TEST_P(ThreadPool, ManySmallLoops) {
  for (int i = 0; i < 20000; i++) ASSERT_EQ(RunSum(i, 3), SumOfRange(i, 3)) << "loop " << i;
}

int FailOnMultiplesOf7(void *, int index, uint8_t *) { return index % 7 == 6 ? index + 1000 : 0; }

TEST_P(ThreadPool, ReturnsAFailingTaskResult) {
  int result = RunOnPool(FailOnMultiplesOf7, 0, 100, nullptr);
  EXPECT_GE(result, 1000);
  EXPECT_EQ((result - 1000) % 7, 6);
  EXPECT_EQ(RunOnPool(FailOnMultiplesOf7, 0, 6, nullptr), 0);
  EXPECT_EQ(RunSum(0, 100), SumOfRange(0, 100));  // the pool recovers
}

int NestedLoop(void *, int index, uint8_t *closure) {
  auto *outer = reinterpret_cast<SumClosure *>(closure);
  SumClosure inner;
  int result = RunOnPool(AddIndex, 0, 10,
                                           reinterpret_cast<uint8_t *>(&inner));
  outer->sum += inner.sum.load() + index;
  return result;
}

TEST_P(ThreadPool, NestedLoopsRunInline) {
  SumClosure outer;
  ASSERT_EQ(RunOnPool(NestedLoop, 0, 64,
                                        reinterpret_cast<uint8_t *>(&outer)),
            0);
  EXPECT_EQ(outer.sum.load(), 64 * 45 + SumOfRange(0, 64));
}

TEST_P(ThreadPool, ConcurrentCallers) {
  // A second caller finds the pool busy and runs its loop on its own thread.
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 3; t++) {
    callers.emplace_back([&failures, t] {
      for (int i = 0; i < 2000; i++) {
        SumClosure state;
        RunOnPool(AddIndex, t, 17, reinterpret_cast<uint8_t *>(&state));
        if (state.sum.load() != SumOfRange(t, 17)) failures++;
      }
    });
  }
  for (std::thread &caller : callers) caller.join();
  EXPECT_EQ(failures.load(), 0);
}

struct ThreadSet {
  std::mutex mutex;
  std::set<std::thread::id> ids;
};

int RecordThread(void *, int, uint8_t *closure) {
  auto *threads = reinterpret_cast<ThreadSet *>(closure);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::lock_guard<std::mutex> lock(threads->mutex);
  threads->ids.insert(std::this_thread::get_id());
  return 0;
}

TEST_P(ThreadPool, UsesItsWorkers) {
  ThreadSet threads;
  ASSERT_EQ(RunOnPool(RecordThread, 0, 32,
                                        reinterpret_cast<uint8_t *>(&threads)),
            0);
  EXPECT_LE(static_cast<int>(threads.ids.size()), GetParam());
  if (GetParam() > 1) {
    EXPECT_GT(threads.ids.size(), 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, ThreadPool, ::testing::Values(1, 2, 4, 8));

TEST(ThreadPoolConfig, RejectsBadSizesAndResizes) {
  EXPECT_EQ(kiln_set_num_threads(0), KILN_ERROR_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("thread count 0"), std::string::npos);
  EXPECT_EQ(kiln_set_num_threads(KILN_THREAD_POOL_MAX_THREADS + 1), KILN_ERROR_ARGUMENT);
  ASSERT_EQ(kiln_thread_pool_create(2, &pool), KILN_OK);
  EXPECT_EQ(kiln_thread_pool_set_size(pool, 0), KILN_ERROR_ARGUMENT);
  for (int size : {3, 1, 5, 2}) {
    ASSERT_EQ(kiln_thread_pool_set_size(pool, size), KILN_OK);
    EXPECT_EQ(kiln_thread_pool_size(pool), size);
    EXPECT_EQ(RunSum(1, 999), SumOfRange(1, 999));
  }
  kiln_thread_pool_destroy(pool);
  pool = nullptr;
}

// Halide's loops go through one process-wide hook; it runs each loop on the pool of the
// context the kernel passes as user_context.
TEST(Context, HalideLoopsRunOnTheirContextsPool) {
  kiln_context_t *first = nullptr, *second = nullptr;
  ASSERT_EQ(kiln_context_create(2, &first), KILN_OK);
  ASSERT_EQ(kiln_context_create(3, &second), KILN_OK);
  EXPECT_EQ(kiln_context_num_threads(first), 2);
  EXPECT_EQ(kiln_context_num_threads(second), 3);
  ThreadSet a, b;
  ASSERT_EQ(halide_do_par_for(first, RecordThread, 0, 32, reinterpret_cast<uint8_t *>(&a)), 0);
  ASSERT_EQ(halide_do_par_for(second, RecordThread, 0, 48, reinterpret_cast<uint8_t *>(&b)), 0);
  EXPECT_LE(a.ids.size(), 2u);
  EXPECT_LE(b.ids.size(), 3u);
  // Workers belong to one context: only the calling thread is in both sets.
  size_t shared = 0;
  for (const auto &id : a.ids) shared += b.ids.count(id);
  EXPECT_LE(shared, 1u);
  // Without a context a loop runs serially on the caller.
  ThreadSet none;
  ASSERT_EQ(halide_do_par_for(nullptr, RecordThread, 0, 8, reinterpret_cast<uint8_t *>(&none)), 0);
  EXPECT_EQ(none.ids.size(), 1u);
  // Two contexts run loops at the same time without waiting for each other.
  std::thread other([&] {
    for (int i = 0; i < 500; i++) {
      SumClosure state;
      halide_do_par_for(second, AddIndex, 0, 64, reinterpret_cast<uint8_t *>(&state));
      EXPECT_EQ(state.sum.load(), SumOfRange(0, 64));
    }
  });
  for (int i = 0; i < 500; i++) {
    SumClosure state;
    halide_do_par_for(first, AddIndex, 0, 64, reinterpret_cast<uint8_t *>(&state));
    EXPECT_EQ(state.sum.load(), SumOfRange(0, 64));
  }
  other.join();
  kiln_context_destroy(first);
  kiln_context_destroy(second);
}

TEST(Context, ScratchIsPerContext) {
  kiln_context_t *first = nullptr, *second = nullptr;
  ASSERT_EQ(kiln_context_create(1, &first), KILN_OK);
  ASSERT_EQ(kiln_context_create(1, &second), KILN_OK);
  void *block = halide_malloc(first, 4096);
  ASSERT_NE(block, nullptr);
  halide_free(first, block);
  // The freed block is kept for its own context, not handed to another.
  void *other = halide_malloc(second, 4096);
  EXPECT_NE(other, block);
  void *again = halide_malloc(first, 4096);
  EXPECT_EQ(again, block);
  halide_free(second, other);
  halide_free(first, again);
  kiln_context_destroy(first);
  kiln_context_destroy(second);
}

}  // namespace
