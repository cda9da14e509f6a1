/* main.c - the entry point of a compiled model's standalone executable.
 *
 * `kiln compile --emit exe` links this file with the generated glue, which defines
 * kiln_program, and with the kernels. The executable reads its inputs from .npy files, runs
 * the model and writes the outputs as .npy, so results can be compared with numpy or
 * onnxruntime; --bench and --profile measure it. Exit status: 0 success, 1 runtime error,
 * 2 usage error (bad options, unknown or missing inputs).
 *
 * Bare-metal executables (KILN_FREESTANDING) are the same program on picolibc, whose stdio
 * and command line go through semihosting to the host that runs the emulator: the files
 * are the host's. They open the weights and arena in memory (freestanding.c has no files),
 * cannot create directories, and time in the board's clock (board.c): under qemu's
 * `-icount shift=0` a virtual millisecond is a million instructions.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifndef KILN_FREESTANDING
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "kiln/npy.h"
#include "kiln/runtime.h"

/// Defined by the generated glue.
extern const kiln_program_t kiln_program;

enum { EXIT_RUNTIME_ERROR = 1, EXIT_USAGE = 2 };

typedef struct options_t {
  const char **inputs;  // "NAME=FILE.npy" arguments
  int num_inputs;
  const char *output_dir;
  const char *weights_path;
  long bench_runs;  // 0: run once, no timing
  long min_time_ms; // with --bench: keep running until the timed runs add up to this
  long threads;     // 0: one per online CPU
  bool profile;
  bool verify_weights;
  bool help;
} options_t;

static const char *format_shape(char *buffer, size_t size, int32_t rank, const int64_t *dims) {
  size_t used = (size_t)snprintf(buffer, size, "[");
  for (int32_t d = 0; d < rank && used < size; d++) {
    used += (size_t)snprintf(buffer + used, size - used, d ? ",%lld" : "%lld", (long long)dims[d]);
  }
  if (used < size) snprintf(buffer + used, size - used, "]");
  return buffer;
}

static void print_io_list(FILE *stream, const char *heading, const kiln_io_desc_t *ios,
                          int32_t count) {
  fprintf(stream, "%s\n", heading);
  for (int32_t i = 0; i < count; i++) {
    char shape[256];
    fprintf(stream, "  %-24s %s %s\n", ios[i].name, kiln_dtype_name(ios[i].dtype),
            format_shape(shape, sizeof shape, ios[i].rank, ios[i].dims));
  }
}

static void print_usage(FILE *stream, const char *argv0) {
  fprintf(stream,
          "usage: %s --input NAME=FILE.npy [--input ...] [options]\n"
          "Runs model '%s' on .npy inputs.\n\n"
          "  --input NAME=FILE    value of input NAME (every input is required)\n"
          "  --output-dir DIR     write each output to DIR/<name>.npy (DIR is created)\n"
          "  --bench N            one warm-up run, then N timed runs\n"
          "  --min-time MS        with --bench: more runs until they add up to MS ms\n"
          "  --threads N          threads for parallel loops (default: online CPUs)\n"
          "  --profile            print each step's mean time\n"
          "  --weights PATH       weights file (default: the embedded weights, else this\n"
          "                       executable's path + .gguf)\n"
          "  --verify-weights     check every weight's bytes against the model's checksum first\n"
          "  --help               this text\n\n",
          argv0, kiln_program.model_name);
  print_io_list(stream, "inputs:", kiln_program.inputs, kiln_program.num_inputs);
  print_io_list(stream, "outputs:", kiln_program.outputs, kiln_program.num_outputs);
}

static int usage_error(const char *argv0, const char *format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "error: ");
  vfprintf(stderr, format, args);
  va_end(args);
  fprintf(stderr, "\n(see %s --help)\n", argv0);
  return EXIT_USAGE;
}

static int runtime_error(void) {
  fprintf(stderr, "error: %s\n", kiln_last_error());
  return EXIT_RUNTIME_ERROR;
}

static bool parse_count(const char *text, long *out) {
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 1 || value > 1000000000L) return false;
  *out = value;
  return true;
}

/// Parses argv into *options; returns 0 or EXIT_USAGE (after printing why).
static int parse_options(int argc, char **argv, options_t *options) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    // "--name value" and "--name=value" are both accepted.
    char name[32];
    const char *value = NULL;
    const char *equals = strchr(arg, '=');
    size_t name_length = equals != NULL ? (size_t)(equals - arg) : strlen(arg);
    if (strncmp(arg, "--", 2) != 0 || name_length >= sizeof name) {
      if (strcmp(arg, "-h") == 0) { options->help = true; continue; }
      return usage_error(argv[0], "unexpected argument '%s'", arg);
    }
    memcpy(name, arg + 2, name_length - 2);
    name[name_length - 2] = '\0';
    static const char *const kValueOptions[] = {"input", "output-dir", "bench", "threads",
                                                "weights", "min-time"};
    bool takes_value = false;
    for (size_t k = 0; k < sizeof kValueOptions / sizeof kValueOptions[0]; k++) {
      takes_value = takes_value || strcmp(name, kValueOptions[k]) == 0;
    }
    bool flag = strcmp(name, "help") == 0 || strcmp(name, "profile") == 0 ||
                strcmp(name, "verify-weights") == 0;
    if (!takes_value && !flag) {
      return usage_error(argv[0], "unknown option '%s'", arg);
    }
    if (!takes_value) {
      if (equals != NULL) return usage_error(argv[0], "--%s takes no value", name);
      if (name[0] == 'h') options->help = true;
      else if (name[0] == 'p') options->profile = true;
      else options->verify_weights = true;
      continue;
    }
    if (equals != NULL) value = equals + 1;
    else if (i + 1 < argc) value = argv[++i];
    if (value == NULL || value[0] == '\0') return usage_error(argv[0], "--%s needs a value", name);

    if (strcmp(name, "input") == 0) {
      options->inputs[options->num_inputs++] = value;
    } else if (strcmp(name, "output-dir") == 0) {
      options->output_dir = value;
    } else if (strcmp(name, "weights") == 0) {
      options->weights_path = value;
    } else if (!parse_count(value, name[0] == 'b'   ? &options->bench_runs
                                   : name[0] == 'm' ? &options->min_time_ms
                                                    : &options->threads)) {
      return usage_error(argv[0], "--%s needs a positive integer, got '%s'", name, value);
    }
  }
  return 0;
}

/// Checks the --input names against the program; fills input_files[i] for input i.
static int match_inputs(const char *argv0, const options_t *options, const char **input_files) {
  for (int k = 0; k < options->num_inputs; k++) {
    const char *spec = options->inputs[k];
    const char *equals = strchr(spec, '=');
    if (equals == NULL || equals == spec || equals[1] == '\0') {
      return usage_error(argv0, "--input needs NAME=FILE.npy, got '%s'", spec);
    }
    int32_t index = -1;
    for (int32_t i = 0; i < kiln_program.num_inputs && index < 0; i++) {
      const char *name = kiln_program.inputs[i].name;
      if (strlen(name) == (size_t)(equals - spec) && strncmp(name, spec, strlen(name)) == 0) {
        index = i;
      }
    }
    if (index < 0 || input_files[index] != NULL) {
      fprintf(stderr, "error: %s input '%.*s'; model '%s' has:\n",
              index < 0 ? "unknown" : "repeated", (int)(equals - spec), spec,
              kiln_program.model_name);
      print_io_list(stderr, "inputs:", kiln_program.inputs, kiln_program.num_inputs);
      return EXIT_USAGE;
    }
    input_files[index] = equals + 1;
  }
  for (int32_t i = 0; i < kiln_program.num_inputs; i++) {
    if (input_files[i] == NULL) {
      fprintf(stderr, "error: missing input '%s' (pass --input %s=FILE.npy); model '%s' has:\n",
              kiln_program.inputs[i].name, kiln_program.inputs[i].name, kiln_program.model_name);
      print_io_list(stderr, "inputs:", kiln_program.inputs, kiln_program.num_inputs);
      return EXIT_USAGE;
    }
  }
  return 0;
}

static char *concat(const char *first, const char *second) {
  size_t first_length = strlen(first), second_length = strlen(second);
  char *result = malloc(first_length + second_length + 1);
  if (result != NULL) {
    memcpy(result, first, first_length);
    memcpy(result + first_length, second, second_length + 1);
  }
  return result;
}

#ifndef KILN_FREESTANDING
/// The weights file beside the executable: argv[0] + ".gguf", else /proc/self/exe + ".gguf"
/// (argv[0] may be a bare name found through PATH, or a symlink). NULL if neither exists.
static char *find_weights(const char *argv0) {
  char *beside_argv0 = concat(argv0, ".gguf");
  if (beside_argv0 == NULL || access(beside_argv0, F_OK) == 0) return beside_argv0;
  char executable[4096];
  ssize_t length = readlink("/proc/self/exe", executable, sizeof executable - 1);
  char *beside_executable = NULL;
  if (length > 0) {
    executable[length] = '\0';
    beside_executable = concat(executable, ".gguf");
    if (beside_executable != NULL && access(beside_executable, F_OK) == 0) {
      free(beside_argv0);
      return beside_executable;
    }
  }
  fprintf(stderr, "error: weights file not found: tried %s%s%s; pass --weights PATH\n",
          beside_argv0, beside_executable ? " and " : "", beside_executable ? beside_executable : "");
  free(beside_argv0);
  free(beside_executable);
  return NULL;
}
#else
static char *find_weights(const char *argv0) {
  (void)argv0;
  fprintf(stderr, "error: this executable has no embedded weights: pass --weights PATH\n");
  return NULL;
}
#endif

/// Reads every input file into the model, checking dtype and shape.
static int load_inputs(kiln_model_t *model, const char **input_files) {
  for (int32_t i = 0; i < kiln_model_input_count(model); i++) {
    const kiln_io_desc_t *input = kiln_model_input(model, i);
    kiln_npy_array_t array;
    if (kiln_npy_read(input_files[i], &array) != KILN_OK) return runtime_error();
    bool same = array.dtype == input->dtype && array.rank == input->rank;
    for (int32_t d = 0; same && d < input->rank; d++) same = array.dims[d] == input->dims[d];
    if (!same) {
      char want[256], got[256];
      fprintf(stderr, "error: input '%s' (%s): expected %s %s, got %s %s\n", input->name,
              input_files[i], kiln_dtype_name(input->dtype),
              format_shape(want, sizeof want, input->rank, input->dims),
              kiln_dtype_name(array.dtype), format_shape(got, sizeof got, array.rank, array.dims));
      kiln_npy_free(&array);
      return EXIT_RUNTIME_ERROR;
    }
    memcpy(kiln_model_input_data(model, i), array.data, (size_t)array.byte_size);
    kiln_npy_free(&array);
  }
  return 0;
}

#ifdef KILN_FREESTANDING
/// Semihosting cannot create directories: the host side must have made `path`.
static bool make_directories(const char *path) {
  (void)path;
  return true;
}
#else
/// Creates `path` and its missing parents, like mkdir -p.
static bool make_directories(const char *path) {
  char *copy = concat(path, "");
  if (copy == NULL) return false;
  for (char *cursor = copy + 1;; cursor++) {
    if (*cursor != '/' && *cursor != '\0') continue;
    char saved = *cursor;
    *cursor = '\0';
    if (mkdir(copy, 0777) != 0 && errno != EEXIST) break;
    *cursor = saved;
    if (saved == '\0') break;
  }
  free(copy);
  struct stat info;
  return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}
#endif

/// Prints the first few values of an output, for a quick look without --output-dir.
static void print_preview(const kiln_io_desc_t *output, const int64_t *dims, const void *data) {
  uint64_t count = 1;
  for (int32_t d = 0; d < output->rank; d++) count *= (uint64_t)dims[d];
  for (uint64_t i = 0; i < count && i < 8; i++) {
    const unsigned char *element = (const unsigned char *)data + i * kiln_dtype_size(output->dtype);
    double value;
    switch (output->dtype) {
      case KILN_DTYPE_F32: { float v; memcpy(&v, element, 4); value = v; break; }
      case KILN_DTYPE_F64: memcpy(&value, element, 8); break;
      case KILN_DTYPE_I32: { int32_t v; memcpy(&v, element, 4); value = v; break; }
      case KILN_DTYPE_I64: { int64_t v; memcpy(&v, element, 8); value = (double)v; break; }
      case KILN_DTYPE_I8: value = (int8_t)element[0]; break;
      case KILN_DTYPE_U8: case KILN_DTYPE_BOOL: value = element[0]; break;
      default: return;  // other types: shape only
    }
    printf(" %g", value);
  }
  if (count > 8) printf(" ...");
}

/// The files the outputs are written to: DIR/<name>.npy with '/' and ':' in the name
/// replaced by '_' (ONNX names such as "model/conv1:0" must stay out of paths), and a
/// suffix ~2, ~3... where an earlier output already took the file ("a/b", "a:b" and "a_b"
/// would otherwise overwrite each other). NULL when out of memory; free with free_paths.
static char **output_paths(const kiln_model_t *model, const char *output_dir) {
  int32_t count = kiln_model_output_count(model);
  char **paths = calloc((size_t)count + 1, sizeof *paths);
  if (paths == NULL) return NULL;
  for (int32_t i = 0; i < count; i++) {
    const char *name = kiln_model_output(model, i)->name;
    size_t capacity = strlen(output_dir) + strlen(name) + 32;
    char *path = malloc(capacity);
    if (path == NULL) break;
    for (int copy = 1; copy < 1000000; copy++) {
      int prefix = snprintf(path, capacity, "%s/", output_dir);
      snprintf(path + prefix, capacity - (size_t)prefix, "%s", name);
      for (char *c = path + prefix; *c != '\0'; c++) {
        if (*c == '/' || *c == ':') *c = '_';
      }
      size_t used = strlen(path);
      snprintf(path + used, capacity - used, copy > 1 ? "~%d.npy" : ".npy", copy);
      bool taken = false;
      for (int32_t earlier = 0; earlier < i && !taken; earlier++) {
        taken = strcmp(paths[earlier], path) == 0;
      }
      if (!taken) break;
    }
    paths[i] = path;
  }
  for (int32_t i = 0; i < count; i++) {
    if (paths[i] == NULL) {
      for (int32_t j = 0; j < count; j++) free(paths[j]);
      free(paths);
      return NULL;
    }
  }
  return paths;
}

/// Writes each output to DIR/<name>.npy, or prints a preview without --output-dir.
static int write_outputs(const kiln_model_t *model, const char *output_dir) {
  if (output_dir != NULL && !make_directories(output_dir)) {
    fprintf(stderr, "error: cannot create output directory %s: %s\n", output_dir, strerror(errno));
    return EXIT_RUNTIME_ERROR;
  }
  char **paths = output_dir != NULL ? output_paths(model, output_dir) : NULL;
  if (output_dir != NULL && paths == NULL) {
    fprintf(stderr, "error: out of memory\n");
    return EXIT_RUNTIME_ERROR;
  }
  int result = 0;
  for (int32_t i = 0; i < kiln_model_output_count(model) && result == 0; i++) {
    const kiln_io_desc_t *output = kiln_model_output(model, i);
    const void *data = kiln_model_output_data(model, i);
    int64_t dims[KILN_MAX_RANK];  // this run's shape (a data-dependent length included)
    kiln_model_output_shape(model, i, dims);
    char shape[256];
    printf("output '%s': %s %s", output->name, kiln_dtype_name(output->dtype),
           format_shape(shape, sizeof shape, output->rank, dims));
    if (output_dir == NULL) {
      print_preview(output, dims, data);
      printf("\n");
      continue;
    }
    const char *path = paths[i];
    kiln_status_t status = kiln_npy_write(path, output->dtype, output->rank, dims, data);
    if (status == KILN_OK) printf(" -> %s\n", path);
    if (status != KILN_OK) {
      printf("\n");
      result = runtime_error();
    }
  }
  for (int32_t i = 0; paths != NULL && i < kiln_model_output_count(model); i++) free(paths[i]);
  free(paths);
  return result;
}

#ifdef KILN_FREESTANDING
double kiln_clock_ms(void);  // board.c
static double now_ms(void) { return kiln_clock_ms(); }
#define LATENCY_UNIT "virtual ms"

static void *weights_memory, *arena_memory;

/// Reads `path` whole into a 64-byte aligned block (weights_memory); false after a message.
static bool read_weights(const char *path, uint64_t *out_size) {
  FILE *file = fopen(path, "rb");
  long size = -1;
  if (file != NULL && fseek(file, 0, SEEK_END) == 0) size = ftell(file);
  if (size > 0 && fseek(file, 0, SEEK_SET) == 0) {
    weights_memory = aligned_alloc(64, ((size_t)size + 63) / 64 * 64);
    if (weights_memory != NULL && fread(weights_memory, 1, (size_t)size, file) != (size_t)size) {
      free(weights_memory);
      weights_memory = NULL;
    }
  }
  if (file != NULL) fclose(file);
  if (weights_memory == NULL) {
    fprintf(stderr, "error: cannot read the weights file %s\n", path);
    return false;
  }
  *out_size = (uint64_t)size;
  return true;
}

/// The weights (embedded, or the file read into memory) and an arena from the heap; 0 or
/// an exit code after a message.
static int open_model(const char *weights_path, kiln_model_t **out_model) {
  uint64_t weights_size = 0;
  if (weights_path != NULL && !read_weights(weights_path, &weights_size)) return EXIT_RUNTIME_ERROR;
  arena_memory = aligned_alloc(64, (size_t)(kiln_program.arena_size + 63) / 64 * 64);
  if (arena_memory == NULL) {
    fprintf(stderr, "error: no memory for an arena of %llu bytes\n",
            (unsigned long long)kiln_program.arena_size);
    return EXIT_RUNTIME_ERROR;
  }
  if (kiln_model_open_memory_in(NULL, &kiln_program, weights_path, weights_memory, weights_size,
                                arena_memory, kiln_program.arena_size, out_model) != KILN_OK)
    return runtime_error();
  return 0;
}
#else
static double now_ms(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return (double)time.tv_sec * 1e3 + (double)time.tv_nsec * 1e-6;
}
#define LATENCY_UNIT "ms"

static int open_model(const char *weights_path, kiln_model_t **out_model) {
  return kiln_model_open(&kiln_program, weights_path, out_model) == KILN_OK ? 0 : runtime_error();
}
#endif

typedef struct step_time_t {
  double total_ms;
  int32_t index;
} step_time_t;

static int compare_step_times(const void *a, const void *b) {
  double difference = ((const step_time_t *)b)->total_ms - ((const step_time_t *)a)->total_ms;
  return (difference > 0) - (difference < 0);
}

static int compare_doubles(const void *a, const void *b) {
  double difference = *(const double *)a - *(const double *)b;
  return (difference > 0) - (difference < 0);
}

/// Prints steps by mean time, slowest first, then the total (a branch's test is a step:
/// on a GPU it waits for the condition; a jump costs nothing and is left out).
static void print_profile(step_time_t *times, int32_t num_steps, long runs) {
  double total = 0.0;
  int width = 5;
  for (int32_t i = 0; i < num_steps; i++) {
    total += times[i].total_ms;
    int length = (int)strlen(kiln_program.steps[i].name);
    if (length > width) width = length > 48 ? 48 : length;
  }
  qsort(times, (size_t)num_steps, sizeof *times, compare_step_times);
  printf("%-*s %10s %7s\n", width, "step", "mean ms", "%");
  for (int32_t i = 0; i < num_steps; i++) {
    if (kiln_program.steps[times[i].index].kind == KILN_STEP_JUMP) continue;
    printf("%-*.*s %10.3f %6.1f%%\n", width, width, kiln_program.steps[times[i].index].name,
           times[i].total_ms / (double)runs, total > 0 ? 100.0 * times[i].total_ms / total : 0.0);
  }
  printf("%-*s %10.3f %6.1f%%\n", width, "total", total / (double)runs, 100.0);
}

/// Runs the model once, or a warm-up plus options->bench_runs timed runs; prints the profile
/// and latency lines after the outputs are written.
static int run(kiln_model_t *model, const options_t *options) {
  int32_t num_steps = kiln_program.num_steps;
  long runs = options->bench_runs > 0 ? options->bench_runs : 1;
  double *step_ms = calloc((size_t)num_steps + 1, sizeof *step_ms);
  double *latencies = calloc((size_t)runs, sizeof *latencies);
  step_time_t *times = calloc((size_t)num_steps + 1, sizeof *times);
  int exit_code = 0;
  if (step_ms == NULL || latencies == NULL || times == NULL) {
    fprintf(stderr, "error: out of memory\n");
    exit_code = EXIT_RUNTIME_ERROR;
  }
  for (int32_t i = 0; i < num_steps && exit_code == 0; i++) times[i].index = i;
  if (exit_code == 0 && options->bench_runs > 0 && kiln_model_run(model) != KILN_OK) {
    exit_code = runtime_error();  // the warm-up run
  }
  double timed_ms = 0.0;
  long capacity = runs;
  for (long r = 0; exit_code == 0; r++) {
    // --min-time: more runs (up to 10 million) until they add up to the minimum.
    if (r >= runs) {
      if (options->bench_runs == 0 || timed_ms >= (double)options->min_time_ms || r >= 10000000L)
        break;
      if (r == capacity) {
        double *grown = realloc(latencies, (size_t)capacity * 2 * sizeof *latencies);
        if (grown == NULL) {
          fprintf(stderr, "error: out of memory\n");
          exit_code = EXIT_RUNTIME_ERROR;
          break;
        }
        latencies = grown;
        capacity *= 2;
      }
      runs = r + 1;
    }
    double start = now_ms();
    kiln_status_t status =
        options->profile ? kiln_model_run_profiled(model, step_ms) : kiln_model_run(model);
    latencies[r] = now_ms() - start;
    timed_ms += latencies[r];
    if (status != KILN_OK) exit_code = runtime_error();
    for (int32_t i = 0; i < num_steps && options->profile; i++) times[i].total_ms += step_ms[i];
  }
  if (exit_code == 0) exit_code = write_outputs(model, options->output_dir);
  if (exit_code == 0 && options->profile) print_profile(times, num_steps, runs);
  if (exit_code == 0 && options->bench_runs > 0) {
    qsort(latencies, (size_t)runs, sizeof *latencies, compare_doubles);
    double median = runs % 2 ? latencies[runs / 2]
                             : 0.5 * (latencies[runs / 2 - 1] + latencies[runs / 2]);
    printf("latency: median %.4f " LATENCY_UNIT ", min %.4f " LATENCY_UNIT " over %ld runs\n",
           median, latencies[0], runs);
  }
  free(step_ms);
  free(latencies);
  free(times);
  return exit_code;
}

int main(int argc, char **argv) {
  const char *argv0 = argc > 0 ? argv[0] : "kiln-model";
  options_t options = {0};
  options.inputs = calloc((size_t)argc + 1, sizeof *options.inputs);
  const char **input_files = calloc((size_t)kiln_program.num_inputs + 1, sizeof *input_files);
  if (options.inputs == NULL || input_files == NULL) return EXIT_RUNTIME_ERROR;
  int exit_code = parse_options(argc, argv, &options);
  if (exit_code == 0 && options.help) {
    print_usage(stdout, argv0);
    return 0;
  }
  if (exit_code == 0) exit_code = match_inputs(argv0, &options, input_files);
  if (exit_code != 0) return exit_code;

  if (options.threads > 0 && kiln_set_num_threads((int32_t)options.threads) != KILN_OK) {
    return runtime_error();
  }
  // Embedded weights (kiln compile --weights embed) unless a file is given.
  char *weights_path = NULL;
  if (options.weights_path != NULL || kiln_program.embedded_weights == NULL) {
    weights_path = options.weights_path != NULL ? concat(options.weights_path, "")
                                                : find_weights(argv0);
    if (weights_path == NULL) return EXIT_RUNTIME_ERROR;
  }
  kiln_model_t *model = NULL;
  exit_code = open_model(weights_path, &model);
  if (exit_code == 0 && options.verify_weights && kiln_model_verify_weights(model) != KILN_OK) {
    exit_code = runtime_error();
  }
  if (exit_code == 0) exit_code = load_inputs(model, input_files);
  if (exit_code == 0) exit_code = run(model, &options);
  kiln_model_close(model);
  free(weights_path);
  free(input_files);
  free(options.inputs);
  return exit_code;
}
