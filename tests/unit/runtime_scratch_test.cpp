// runtime_scratch_test.cpp - Halide scratch blocks are kept and reused across runs.
//
// After a kernel frees its intermediates, the next run's allocations of the same sizes must
// get the same blocks back (so steady-state runs allocate nothing), aligned to 64 bytes.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>

extern "C" {
void *halide_malloc(void *user_context, size_t size);
void halide_free(void *user_context, void *data);
}

TEST(Scratch, BlocksAreAlignedAndReused) {
  void *a = halide_malloc(nullptr, 1000);
  void *b = halide_malloc(nullptr, 64 * 1024);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 64, 0u);
  halide_free(nullptr, a);
  halide_free(nullptr, b);
  // A second "run" asks for the same sizes and gets the same blocks.
  void *b2 = halide_malloc(nullptr, 64 * 1024);
  void *a2 = halide_malloc(nullptr, 1000);
  EXPECT_EQ(a2, a);
  EXPECT_EQ(b2, b);
  halide_free(nullptr, a2);
  halide_free(nullptr, b2);
}

TEST(Scratch, SmallRequestsDoNotTakeLargeBlocks) {
  void *big = halide_malloc(nullptr, 1 << 20);
  halide_free(nullptr, big);
  void *small = halide_malloc(nullptr, 128);
  EXPECT_NE(small, big);
  halide_free(nullptr, small);
  void *again = halide_malloc(nullptr, 1 << 20);
  EXPECT_EQ(again, big);
  halide_free(nullptr, again);
}

TEST(Scratch, ManyLiveBlocksAreDistinct) {
  std::set<void *> live;
  for (int i = 0; i < 300; ++i)
    live.insert(halide_malloc(nullptr, 256 + i));
  EXPECT_EQ(live.size(), 300u);
  for (void *p : live)
    halide_free(nullptr, p);
}
