/* board.c - what an executable on the freestanding runtime needs beyond its libc: a clock
 * and formatted error messages for the .npy reader; on bare metal also rename(), which
 * picolibc's semihosting lacks. WebAssembly (WASI) has the host's monotonic clock.
 *
 * SysTick, the Cortex-M core's 24-bit down-counter, runs from the core clock
 * (KILN_SYSTICK_HZ, the board's); its wrap interrupt extends it to 64 bits. Under qemu with
 * `-icount shift=0` each instruction advances virtual time by one nanosecond, so the clock
 * counts instructions, to within one tick (40 at 25 MHz). Only executables link this file.
 */
#define _POSIX_C_SOURCE 200809L  // clock_gettime (WASI)

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "error.h"

kiln_status_t kiln_set_error(kiln_status_t status, const char *format, ...) {
  static char message[512];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  kiln_set_error_text(message);
  return status;
}

#if defined(__wasm__)
#include <time.h>

double kiln_clock_ms(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return (double)time.tv_sec * 1e3 + (double)time.tv_nsec * 1e-6;
}

#else /* a Cortex-M board */

#ifndef KILN_SYSTICK_HZ
#error "the compiler passes the board's SysTick clock as KILN_SYSTICK_HZ"
#endif

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0xFFFFFFu

static volatile uint32_t systick_wraps;

/* picolibc's vector table names the SysTick handler arm_systick_isr (weak). */
void arm_systick_isr(void) { systick_wraps++; }

/* Started before main: the counter reads 0 until its first reload, which would look like a
 * step backwards to the first reading. */
__attribute__((constructor)) static void start_clock(void) {
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 7u;  // enabled, interrupt on wrap, core clock
}

double kiln_clock_ms(void) {
  uint32_t wraps, count;
  do {
    wraps = systick_wraps;
    count = SYST_CVR;
  } while (wraps != systick_wraps);
  uint64_t ticks = (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - count);
  return (double)ticks * 1000.0 / (double)KILN_SYSTICK_HZ;
}

/* Semihosting SYS_RENAME (0x0f): the host renames; 0 on success. */
int rename(const char *from, const char *to) {
  size_t from_length = 0, to_length = 0;
  while (from[from_length] != '\0') from_length++;
  while (to[to_length] != '\0') to_length++;
  uintptr_t block[4] = {(uintptr_t)from, from_length, (uintptr_t)to, to_length};
  register uintptr_t operation __asm__("r0") = 0x0f;
  register uintptr_t parameters __asm__("r1") = (uintptr_t)block;
  __asm__ volatile("bkpt 0xab" : "+r"(operation) : "r"(parameters) : "memory");
  return operation == 0 ? 0 : -1;
}
#endif
