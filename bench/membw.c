// membw.c - measure this machine's streaming read bandwidth, in GB/s, for 1 and N threads.
//
// Bandwidth-bound kernels (elementwise ops, depthwise convs, weight streaming in skinny GEMMs)
// are judged against what memory can deliver, measured here in the same run as the kernels.
// A buffer far larger than the caches (512 MiB by default) is split evenly among the threads;
// each thread first touches its own part (so pages land near it), then all threads sum their
// parts with vector loads into several accumulators at once, in two ways: one sequential
// stream, and four streams at once (the part split in quarters, read side by side, as a
// kernel walking several weight rows does; on the 2-core Zen 4 VM this reads about 30% faster
// than one stream). Reported: total bytes read / wall time of the slowest thread, best of a
// few passes of either way. AVX-512 loads when the CPU has them, AVX2 otherwise (the sum
// itself is never the bottleneck).
//
// usage: membw [--mib N] [THREADS...]          (default: 512 MiB, threads 1 2)
// prints one line per thread count:  membw threads 2: 34.5 GB/s
// Build: cc -O3 -march=native -pthread bench/membw.c -o membw
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// Sums n floats (n a multiple of 64) with four independent vector accumulators that read
// vector by vector from `lanes`-wide steps: one stream (the accumulators take consecutive
// vectors) or, with `streams` = 4, the four quarters of p side by side.
#define SUM_LOOP(load, add, lanes)                                        \
  size_t spread = streams == 4 ? n / 4 / (lanes) * (lanes) : (lanes);     \
  size_t step = streams == 4 ? (lanes) : 4 * (lanes);                     \
  size_t end = streams == 4 ? spread : n;                                 \
  for (size_t i = 0; i < end; i += step) {                                \
    a0 = add(a0, load(p + i));                                            \
    a1 = add(a1, load(p + i + spread));                                   \
    a2 = add(a2, load(p + i + 2 * spread));                               \
    a3 = add(a3, load(p + i + 3 * spread));                               \
  }

__attribute__((target("avx512f"))) static float sum_avx512(const float *p, size_t n,
                                                           int streams) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  SUM_LOOP(_mm512_load_ps, _mm512_add_ps, 16)
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

__attribute__((target("avx2"))) static float sum_avx2(const float *p, size_t n, int streams) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  SUM_LOOP(_mm256_load_ps, _mm256_add_ps, 8)
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

typedef struct {
  float *part;
  size_t n;
  int avx512;
  pthread_barrier_t *barrier;
  double best;  // fastest pass, seconds
  float result;
} job_t;

enum { kPasses = 8 };  // best of 8 passes of each way: about 0.4 s per thread count

static void *worker(void *arg) {
  job_t *job = arg;
  for (size_t i = 0; i < job->n; i++) job->part[i] = 1.0f;  // first touch by the reader
  job->best = 1e30;
  for (int pass = 0; pass < 2 * kPasses; pass++) {
    int streams = pass % 2 ? 4 : 1;
    pthread_barrier_wait(job->barrier);  // passes start together on all threads
    double start = now_s();
    job->result += job->avx512 ? sum_avx512(job->part, job->n, streams)
                               : sum_avx2(job->part, job->n, streams);
    double s = now_s() - start;
    if (s < job->best) job->best = s;
  }
  return NULL;
}

int main(int argc, char **argv) {
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !__builtin_cpu_supports("avx2")) {
    fprintf(stderr, "membw: needs AVX2 or AVX-512\n");
    return 1;
  }
  size_t mib = 512;
  int thread_counts[64], num_counts = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
      mib = (size_t)atol(argv[++i]);
    } else if (atoi(argv[i]) > 0 && num_counts < 64) {
      thread_counts[num_counts++] = atoi(argv[i]);
    } else {
      fprintf(stderr, "usage: membw [--mib N] [THREADS...]\n");
      return 2;
    }
  }
  if (num_counts == 0) {
    thread_counts[0] = 1;
    thread_counts[1] = 2;
    num_counts = 2;
  }
  float sink = 0;
  for (int c = 0; c < num_counts; c++) {
    int threads = thread_counts[c];
    // Per-thread part: a multiple of 64 floats (one 4 x 512-bit step), 64-byte aligned.
    size_t n = (mib << 20) / sizeof(float) / (size_t)threads / 64 * 64;
    float *buffer = aligned_alloc(64, n * (size_t)threads * sizeof(float));
    if (buffer == NULL) {
      fprintf(stderr, "membw: cannot allocate %zu MiB\n", mib);
      return 1;
    }
    pthread_t tid[threads];
    job_t jobs[threads];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    for (int t = 0; t < threads; t++) {
      jobs[t] = (job_t){buffer + (size_t)t * n, n, avx512, &barrier, 0, 0};
      pthread_create(&tid[t], NULL, worker, &jobs[t]);
    }
    double slowest = 0;  // per pass the slowest thread bounds the wall time
    for (int t = 0; t < threads; t++) {
      pthread_join(tid[t], NULL);
      if (jobs[t].best > slowest) slowest = jobs[t].best;
      sink += jobs[t].result;
    }
    pthread_barrier_destroy(&barrier);
    free(buffer);
    double bytes = (double)n * (double)threads * sizeof(float);
    printf("membw threads %d: %.1f GB/s\n", threads, bytes / slowest * 1e-9);
  }
  return sink == 12345.0f;  // keeps the sums alive; never true in practice
}
