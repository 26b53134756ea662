//===- Passes.td - attnc target passes ---------------------*- tablegen -*-===//
//
// Passes of the target pipelines (attnc/Compiler/Pipelines/Pipelines.h) that
// upstream MLIR does not have. One pass per file in compiler/lib/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_COMPILER_TRANSFORMS_PASSES_TD
#define ATTNC_COMPILER_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttncOutlineKernels : Pass<"attnc-outline-kernels", "mlir::ModuleOp"> {
  let summary = "outlines every linalg op on buffers into its own private, "
                "non-inlinable function";
  let description = [{
    After bufferization an entry point is one long function: one loop nest
    per linalg op, hundreds of them for a 12-layer model. LLVM's function
    passes (InstCombine above all) are superlinear in function size, so one
    huge function compiles many times slower than the same code split up
    (llama-style at -O3: 51 s in one function). This pass moves every
    linalg op with buffer semantics (and every `memref.copy`, first
    rewritten to `linalg.copy` so that no `memrefCopy` runtime call is left)
    into a private function `<entry>__k<N>` marked `noinline`, taking the
    op's operands and the values its body uses from above (constants are
    cloned in), and calls it. Each kernel is then lowered, optimised and
    vectorised on its own, like IREE's dispatch regions; the entry point is
    a sequence of allocations and calls.

    Sibling contractions, the ones that follow a contraction in its block
    reading the same input 0 with the same indexing maps and independent of
    it (decode's q/k/v and gate/up projections of one activation), share one
    kernel, with the allocations and views between them moved above the
    first, so that `attnc-vectorize-contractions` can give them one thread
    loop.

    ```mlir
    linalg.fill ins(%c0 : f32) outs(%buf : memref<?x768xf32>)
    ```
    becomes
    ```mlir
    call @forward__k0(%buf) : (memref<?x768xf32>) -> ()
    func.func private @forward__k0(%arg0: memref<?x768xf32>)
        attributes {passthrough = ["noinline"]} {
      %c0 = arith.constant 0.0 : f32
      linalg.fill ins(%c0 : f32) outs(%arg0 : memref<?x768xf32>)
      return
    }
    ```
  }];
  let dependentDialects = ["mlir::func::FuncDialect",
                           "mlir::linalg::LinalgDialect"];
}

def AttncVectorizeContractions
    : Pass<"attnc-vectorize-contractions", "mlir::ModuleOp"> {
  let summary = "register-blocked vector code for A.B^T-shaped contractions "
                "on buffers";
  let description = [{
    Rewrites every f32 linalg op on buffers whose body is `out + a * b`,
    whose one reduction dimension k is the last, unit-stride dimension of
    both inputs and static (a multiple of the vector width), and which has
    an m dimension (in A and C only) and an n dimension (in B and C only):
    `C[.., m, n] += A[.., m, k] * B[.., n, k]`. That is every projection by
    an [N, K] weight and Q.K^T. The result is a loop nest whose innermost
    block keeps `row-block x col-block` vector accumulators in registers over
    the whole k loop and adds their horizontal sums to C; the loop over
    chunks of column blocks is an `scf.parallel` (the loop that threads split). Other
    dimensions are plain outer loops. With at least `pack-min-rows` rows of A
    (prefill) a full chunk of B is first copied transposed into a [K, chunk]
    buffer (VL x VL tiles transposed in registers by two-input shuffles)
    and multiplied by broadcast-FMA blocks (row-block x col-block
    vectors of C in registers, no horizontal sums), the form used when n is
    innermost in B (`C += A[.., m, k] * B[.., k, n]`, P.V in attention). Each C element is summed by one
    iteration in a fixed order: results do not depend on the thread count.
    Single-row dot-product blocks (decode's matrix-vector products) prefetch
    the rows `prefetch-rows` ahead of theirs, a line per k step, so that the
    next block's rows are in flight while this one is summed. With
    `dot-streams` a block's rows are spaced a part of the chunk apart, so
    that B is read as dot-rows streams of consecutive rows (what the
    hardware prefetchers follow best on AVX2 machines).
    A contraction marked `attnc.serial` (flash attention's tiles, already
    inside a parallel loop) gets an `scf.for` instead of the `scf.parallel`
    (and no prefetches: its B tile is small and already in cache).
    Consecutive contractions over the same A (siblings grouped into one
    kernel by `attnc-outline-kernels`) that differ only in B, C and their
    sizes share one `scf.parallel`: its first iterations are the first
    contraction's chunks, the next ones the second's, and so on, all
    through one copy of the code, with B and C (cast to common types) and
    the sizes picked per iteration (one OpenMP region instead of one each,
    and one copy of the register blocks instead of one per contraction).
    One marked `attnc.zero_init` (by `attnc-fold-zero-fills`) starts its
    accumulators from zero instead of reading C; a marked op this pass does
    not rewrite gets its zero fill back.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", "16",
           "f32 lanes per vector (16 = one zmm register)">,
    Option<"rowBlock", "row-block", "int64_t", "6",
           "rows of A (m) per register block">,
    Option<"colBlock", "col-block", "int64_t", "4",
           "rows of B (n) per register block">,
    Option<"dotRows", "dot-rows", "int64_t", "4",
           "rows of B per dot-product block of a single row of A (decode; "
           "one accumulator each)">,
    Option<"chunkBlocks", "chunk-blocks", "int64_t", "16",
           "column blocks per parallel iteration (A.B^T form)">,
    Option<"packMinRows", "pack-min-rows", "int64_t", "16",
           "from this many rows of A on, a full chunk of B is copied "
           "transposed and multiplied by broadcast-FMA blocks">,
    Option<"prefetchRows", "prefetch-rows", "int64_t", "4",
           "single-row dot-product blocks prefetch B this many rows ahead "
           "(0: no prefetch)">,
    Option<"dotStreams", "dot-streams", "bool", "false",
           "single-row dot-product blocks take their dot-rows rows of B "
           "from as many equal parts of the chunk, each part read in row "
           "order (dot-rows long streams), instead of dot-rows adjacent rows "
           "(as many short ones)">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect"];
}

def AttncCudaFusedAttention
    : Pass<"attnc-cuda-fused-attention", "mlir::ModuleOp"> {
  let summary = "attn.sdpa as one flash-style GPU kernel (CUDA path)";
  let description = [{
    Replaces each `attn.sdpa` by an `scf.forall` over every (batch, query
    head, query row) whose body is sequential code: the query row is copied
    into a thread-private buffer (`memref.alloca`, in f32 for bf16/f16),
    then `scf.for` loops over key tiles of `key-tile` keys keep the running
    max and sum (online softmax) and a thread-private `[Dv]` accumulator,
    and the row is divided by the sum (zero for a query that sees no key)
    and written to the output. No `[Sq, Skv]` tensor exists. After
    bufferization and `scf-forall-to-parallel` this is one top-level
    `scf.parallel`, which attnc-cuda-map-loops maps to one kernel (one
    thread per query row); see compiler/docs/cuda.md.

    Every sdpa feature is supported (mask kinds, grouped-query heads,
    positions, allowed, unmasked_prefix, ALiBi, softcap, narrow q/k/v
    types). Without explicit positions each row visits only the key tiles
    of its causal / sliding-window / local band. An sdpa with a dynamic
    head count or head dim (the private buffers need a static size) is
    left to `-attn-decompose-attention`.
  }];
  let options = [
    Option<"keyTile", "key-tile", "int64_t", "32",
           "keys per online-softmax step (the private score buffer)">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def AttncExpandBF16Conversions
    : Pass<"attnc-expand-bf16-conversions", "mlir::ModuleOp"> {
  let summary = "bf16 <-> f32 conversions as integer bit operations, nothing "
                "else";
  let description = [{
    After `arith-emulate-unsupported-floats` has moved bf16 arithmetic to
    f32, the remaining `arith.extf` / `arith.truncf` between bf16 and f32
    become shifts and a round-to-nearest-even on the bits (upstream's bf16
    expansion patterns), so that LLVM never calls `__truncsfbf2` on a CPU
    without AVX512-BF16 (libgcc 12 lacks it).

    Only those patterns: upstream's `arith-expand` also rewrites every
    `arith.maxnumf` / `arith.minnumf` into compares and selects, which
    LLVM no longer vectorizes as a reduction: flash attention's row max
    then cost 40% more time (2048-token causal sdpa, 1 thread, 47 -> 66 ms).
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def AttncFoldZeroFills : Pass<"attnc-fold-zero-fills", "mlir::ModuleOp"> {
  let summary = "erases the zero fill in front of a contraction that can "
                "start its accumulators from zero itself";
  let description = [{
    Every projection's output buffer is filled with zeros and then
    accumulated into: a write of the whole output (32 MB for a 256-token
    forward's logits) and a read of those zeros. On buffers, before kernel
    outlining, a `linalg.fill` of 0.0 into a fresh allocation or a function
    argument whose next user is a linalg op with two inputs, one reduction
    dimension and that buffer as its only init (every other user of the
    buffer after it) is erased, and the op gets the unit attribute
    `attnc.zero_init`. `attnc-vectorize-contractions` starts such an op's
    accumulators from zero; an op it does not rewrite gets its fill back.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def AttncInlineAllocaScopes
    : Pass<"attnc-inline-alloca-scopes", "mlir::ModuleOp"> {
  let summary = "inlines memref.alloca_scope regions that allocate nothing";
  let description = [{
    `convert-scf-to-openmp` wraps every parallel loop body in a
    `memref.alloca_scope`; once `convert-scf-to-cf` splits that body into
    several blocks the scope no longer verifies. The bodies attnc makes
    allocate nothing on the stack, so the scope is dropped and its body
    inlined (a scope that holds a `memref.alloca` of its own is kept).
  }];
}

def AttncPrivateInitFills
    : Pass<"attnc-private-init-fills", "mlir::ModuleOp"> {
  let summary = "gives every op that writes into a shared linalg.fill result "
                "its own fill";
  let description = [{
    CSE merges the identical zero fills that initialise the accumulators of
    every projection into one value with many users. One-shot bufferization
    must then keep that filled buffer intact and copy it into a fresh buffer
    for each user: a read and a write of the whole output (32 MB for the
    logits of a 32000-word vocabulary at 256 tokens) where a fill would
    only write. This pass clones the `linalg.fill` (and the `tensor.empty`
    it fills) in front of every destination-style op that uses the shared
    result as its init, so each one bufferizes in place:

    ```mlir
    %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<?x768xf32>)
    %a = linalg.contract ... outs(%z : tensor<?x768xf32>)
    %b = linalg.contract ... outs(%z : tensor<?x768xf32>)
    ```
    becomes one fill per contract.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def AttncRouteAllocations
    : Pass<"attnc-route-allocations", "mlir::ModuleOp"> {
  let summary = "routes the generated code's heap allocations through "
                "pointer slots that the runtime may set";
  let description = [{
    Runs after `finalize-memref-to-llvm{use-generic-functions}`, which calls
    `_mlir_memref_to_llvm_alloc`, `_mlir_memref_to_llvm_aligned_alloc` and
    `_mlir_memref_to_llvm_free` instead of malloc and free. Each declaration
    gets a body that calls through an exported global pointer,
    `<prefix>alloc_fn`, `<prefix>aligned_alloc_fn`, `<prefix>free_fn`,
    initialised to glibc's `malloc`, `aligned_alloc` and `free`. The runtime
    sets the slots after dlopen to its caching allocator: a forward pass
    allocates the same buffers every call, and glibc returns the large ones
    to the kernel, so each call page-faulted ~160 MB back in (7% of a
    256-token llama-style prefill). A module loaded without the runtime
    still works with the defaults.
  }];
  let options = [
    Option<"prefix", "prefix", "std::string", "\"attnc_host_\"",
           "name prefix of the exported pointer slots">,
  ];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def AttncResultsInPlace : Pass<"attnc-results-in-place", "mlir::ModuleOp"> {
  let summary = "computes entry-point results directly in their out-params";
  let description = [{
    `buffer-results-to-out-params` turns each returned buffer into an
    out-param and copies the result into it before returning; for results
    with dynamic sizes the allocation stays (`hoist-dynamic-allocs` only
    helps internal callers). The copy of llama-style's logits at 256 tokens
    is 32 MB read and written per call. This pass runs right after it: when
    a `memref.copy` into an out-param (an argument nothing else uses) is the
    last use of a `memref.alloc` of the same type in the entry block, the
    allocation is replaced by the out-param and the copy erased. The caller
    (the runtime) allocates each output with the shape the manifest gives,
    the same sizes the allocation computed.
  }];
}

def AttncParallelizeElementwise
    : Pass<"attnc-parallelize-elementwise", "mlir::ModuleOp"> {
  let summary = "the linalg ops left after attnc-vectorize-contractions as "
                "an scf.parallel over their leading parallel dimensions";
  let description = [{
    Norms, RoPE, activations, residual adds, transposes, copies and fills
    would otherwise run as plain loops on one thread. Every linalg op on
    buffers whose first loop dimensions are parallel and index every output
    becomes an `scf.parallel` over those dimensions flattened into one index
    (the loop that `convert-scf-to-openmp` splits across threads; at most
    `blocks` iterations, each a contiguous range of that index, so that a
    dynamic schedule dispatches few of them), with the
    other dimensions as `scf.for` loops inside it around the payload on
    `memref.load`/`memref.store`. The innermost loop is kept whole for LLVM
    to vectorize; small static inner dimensions move inside until an
    iteration has `grain` elements; a 1-d op is split into chunks of `grain`.
    The innermost reduction loops carry the outputs in `iter_args`, their
    combining op marked `reassoc` (vectorizable, summed in one fixed order
    per output). `math.exp`, `math.tanh` and `math.erf` in the payload become
    MLIR's f32 polynomials (as flash attention's tiles), so SiLU and GELU
    vectorize instead of calling libm per element. Each output element is
    computed by one iteration: results do not depend on the thread count.
    An op with fewer than `min-parallel-work` iterations in all (a decode
    step's rows) runs the same body in an `scf.for` on the calling thread
    instead; for dynamic sizes an `scf.if` on the count picks the form.
    A kernel whose every loop comes from an op here without reduction loops
    gets `"attnc-no-unroll"` in its `passthrough`: the CPU target disables
    LLVM's unrolling in its loops (compile time; see emitCpu).

    Left alone: ops inside a parallel loop, ops in a function called from
    one (flash attention's outlined tile kernels; a kernel also called from
    the top level gets a `_serial` copy for the parallel loop's calls), ops
    marked `attnc.serial`, and ops with nothing to split.

    ```mlir
    linalg.generic {iterator_types = ["parallel", "parallel", "parallel"]}
        ins(%a, %b : memref<?x?x768xf32>, memref<?x?x768xf32>)
        outs(%c : memref<?x?x768xf32>) { addf }
    ```
    becomes
    ```mlir
    scf.parallel (%i) = (%c0) to (%d0 * %d1) step (%c1) {
      %s = arith.remui %i, %d1
      %b = arith.divui %i, %d1
      scf.for %j = %c0 to %c768 step %c1 { load, load, addf, store }
    }
    ```
  }];
  let options = [
    Option<"grain", "grain", "int64_t", "256",
           "elements an iteration of the thread loop should at least cover "
           "(static inner dimensions join the inner loops until then)">,
    Option<"blocks", "blocks", "int64_t", "64",
           "at most this many iterations of the thread loop, each a "
           "contiguous range of the flattened parallel index">,
    Option<"minParallelWork", "min-parallel-work", "int64_t", "32768",
           "loop iterations (all dimensions) below which an op runs on the "
           "calling thread: an OpenMP fork and join costs about that much"
           " (checked at run time for dynamic sizes)">,
    Option<"approximateMath", "approximate-math", "bool", "true",
           "exp, tanh and erf as f32 polynomials">,
    Option<"reassociate", "reassociate", "bool", "true",
           "mark the combining op of inner reduction loops reassoc">,
  ];
  let dependentDialects = ["mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

#endif // ATTNC_COMPILER_TRANSFORMS_PASSES_TD
