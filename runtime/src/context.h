/* context.h - internal: what a runtime context holds (context.c). */
#ifndef KILN_RUNTIME_CONTEXT_H_
#define KILN_RUNTIME_CONTEXT_H_

#include <stdint.h>

#include "kiln/runtime.h"
#include "scratch.h"
#include "thread_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kiln_context_t {
  uint32_t magic;  // tells a context from other user_context values
  kiln_thread_pool_t *pool;
  kiln_scratch_t scratch;
  kiln_parallel_for_fn parallel_for;  // the caller's loops instead of the pool (or NULL)
  void *parallel_for_user;
};

/// The context `user_context` points at, or NULL when it is not one.
kiln_context_t *kiln_context_from_user(void *user_context);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_CONTEXT_H_ */
