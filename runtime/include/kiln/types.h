/* types.h - the numbering of element types shared by the compiler and the runtime.
 *
 * kiln's dtype codes appear in generated glue; GGML type ids appear in GGUF weights files.
 * The compiler (compiler/codegen) and the runtime both take them from here, so the two
 * sides cannot drift apart.
 */
#ifndef KILN_TYPES_H_
#define KILN_TYPES_H_

#ifdef __cplusplus
extern "C" {
#endif

/** Element types. The numbering is kiln's own and is stable (it appears in generated code). */
typedef enum kiln_dtype_e {
  KILN_DTYPE_F32 = 0,
  KILN_DTYPE_F16 = 1,
  KILN_DTYPE_F64 = 2,
  KILN_DTYPE_I8 = 3,
  KILN_DTYPE_I16 = 4,
  KILN_DTYPE_I32 = 5,
  KILN_DTYPE_I64 = 6,
  KILN_DTYPE_U8 = 7,
  KILN_DTYPE_U16 = 8,
  KILN_DTYPE_U32 = 9,
  KILN_DTYPE_U64 = 10,
  KILN_DTYPE_BOOL = 11,
} kiln_dtype_t;

/** GGML tensor type ids (GGUF files carry them), and kiln's interleaved twins. */
enum {
  KILN_GGML_F32 = 0, KILN_GGML_F16 = 1, KILN_GGML_Q4_0 = 2, KILN_GGML_Q4_1 = 3,
  KILN_GGML_Q5_0 = 6, KILN_GGML_Q5_1 = 7, KILN_GGML_Q8_0 = 8, KILN_GGML_I8 = 24,
  KILN_GGML_I16 = 25, KILN_GGML_I32 = 26, KILN_GGML_I64 = 27, KILN_GGML_F64 = 28,
  /* kiln-specific: GGML block formats' bytes interleaved 16 rows at a time (docs/formats.md). */
  KILN_Q4_0_X16 = 1024 + 2, KILN_Q4_1_X16 = 1024 + 3, KILN_Q5_0_X16 = 1024 + 6,
  KILN_Q5_1_X16 = 1024 + 7, KILN_Q8_0_X16 = 1024 + 8,
};

#ifdef __cplusplus
}
#endif

#endif /* KILN_TYPES_H_ */
