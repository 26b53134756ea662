//===- ConfigToAttn.cpp - ModelConfig -> attn: signature, inputs, outputs -===//
//
// The entry point's signature (see ConfigToAttn.h and
// compiler/docs/entry-points.md), the embedding of every input group, and
// the outputs. The blocks are in ImportLayer.cpp.
//
//===----------------------------------------------------------------------===//

#include "ImportInternal.h"

#include "attnc/Schema/Weights.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Diagnostics.h"

#include <cmath>

using namespace mlir;
using namespace attnc;
using namespace attnc::import;

static constexpr int64_t kDyn = ShapedType::kDynamic;

Location attnc::configLocation(MLIRContext &ctx, const SourceLoc &where,
                               const std::string &path,
                               const SourceLoc *fallback) {
  const SourceLoc *known = where.known() ? &where
                           : fallback && fallback->known() ? fallback
                                                           : nullptr;
  Location file = UnknownLoc::get(&ctx);
  if (known)
    file = FileLineColLoc::get(&ctx, known->file, known->line, known->column);
  else if (!where.file.empty() || (fallback && !fallback->file.empty()))
    file = FileLineColLoc::get(&ctx, where.file.empty() ? fallback->file
                                                        : where.file,
                               1, 1);
  return FusedLoc::get(&ctx, {file, NameLoc::get(StringAttr::get(&ctx, path))});
}

Importer::Importer(MLIRContext &ctx, const ModelConfig &config,
                   const ImportOptions &options)
    : ctx(ctx), c(config), options(options), b(&ctx) {
  switch (c.dtype) {
  case DType::Float32:
    et = b.getF32Type();
    break;
  case DType::BFloat16:
    et = b.getBF16Type();
    break;
  case DType::Float16:
    et = b.getF16Type();
    break;
  }
  cacheEt = et;
  if (options.cacheDtype == "f32")
    cacheEt = b.getF32Type();
  else if (options.cacheDtype == "bf16")
    cacheEt = b.getBF16Type();
  else if (options.cacheDtype == "f16")
    cacheEt = b.getF16Type();
  hidden = c.attention.hiddenDim;
  heads = c.attention.numHeads;
  kvHeads = c.attention.numKvHeads;
  headDim = c.attention.headDim;
  seqLen = 0;
  for (const TokenSpec &t : c.tokens) {
    if (t.fromCache())
      continue;
    if (t.dynamic || !t.size) {
      seqLen = kDyn;
      break;
    }
    seqLen += *t.size;
  }
}

Location Importer::loc(const SourceLoc &where, const std::string &path) {
  return configLocation(ctx, where, path, &c.loc);
}

RankedTensorType Importer::tensor(ArrayRef<int64_t> shape, Type elementType) {
  return RankedTensorType::get(shape, elementType ? elementType : et);
}

Value Importer::weight(const std::string &name) { return args.lookup(name); }

void Importer::unsupported(const SourceLoc &where, const std::string &path,
                           const std::string &message) {
  emitError(loc(where, path)) << message;
  failed = true;
}

Value Importer::norm(Value x, const std::string &prefix, Location where,
                     bool qkNorm) {
  attn::NormKind kind = qkNorm || c.norm.kind == NormKind::Rms
                            ? attn::NormKind::RMS
                            : attn::NormKind::Layer;
  Value bias = kind == attn::NormKind::Layer ? weight(prefix + ".bias")
                                             : Value();
  return attn::NormOp::create(b, where, x.getType(), kind, x,
                              weight(prefix + ".weight"), bias,
                              APFloat(c.norm.eps), c.norm.zeroCentered);
}

Value Importer::linear(Value x, const std::string &prefix, int64_t out,
                       Location where) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = out;
  return attn::LinearOp::create(b, where, tensor(shape), x,
                                weight(prefix + ".weight"),
                                weight(prefix + ".bias"));
}

bool Importer::returnKV() const {
  // prefill/decode update the caller's caches in place: no K/V results.
  if (incremental)
    return false;
  return options.returnKV || llvm::any_of(c.tokens, [](const TokenSpec &t) {
           return t.fromCache();
         });
}

//===----------------------------------------------------------------------===//
// Signature
//===----------------------------------------------------------------------===//

/// Number of tokens of an input group, or kDynamic.
static int64_t groupSize(const ModelConfig &c, const TokenSpec &t) {
  if (t.input == TokenInput::Image && c.patchEmbedding && !t.size)
    return c.patchEmbedding->numPatches();
  return t.dynamic || !t.size ? kDyn : *t.size;
}

static bool usesPositions(const ModelConfig &c) {
  if (c.position.kind == PositionKind::Learned ||
      c.position.kind == PositionKind::Sinusoidal ||
      c.position.kind == PositionKind::Alibi)
    return true;
  return llvm::any_of(c.layers,
                      [](const LayerSettings &l) { return l.useRope; });
}

std::vector<Port> Importer::signature() {
  std::vector<Port> ports;
  Type i32 = b.getI32Type();
  for (const TokenSpec &t : c.tokens) {
    int64_t n = groupSize(c, t);
    switch (t.input) {
    case TokenInput::Tokens:
      ports.push_back({"tokens." + t.name, tensor({kDyn, n}, i32)});
      break;
    case TokenInput::Image: {
      const PatchEmbeddingConfig &pe = *c.patchEmbedding;
      ports.push_back({"image." + t.name,
                       tensor({kDyn, pe.imageHeight, pe.imageWidth,
                               pe.channels})});
      break;
    }
    case TokenInput::Embeddings:
      ports.push_back({"embeddings." + t.name, tensor({kDyn, n, hidden})});
      break;
    case TokenInput::Learned:
    case TokenInput::Cache:
      break;
    }
  }
  if (c.embedding.tokenTypes > 0)
    ports.push_back({"token_types", tensor({kDyn, seqLen}, i32)});
  if (usesPositions(c))
    ports.push_back({"positions", tensor({kDyn, seqLen}, i32)});
  for (int64_t i = 0; i < c.numLayers; ++i)
    for (const TokenSpec &t : c.tokens)
      if (t.fromCache())
        for (const char *kv : {".k", ".v"})
          ports.push_back({"cache.layers." + std::to_string(i) + "." + t.name +
                               kv,
                           tensor({kDyn, kvHeads, kDyn, headDim})});
  for (const WeightSpec &w : weightTable(c))
    ports.push_back({w.name, tensor(w.shape), /*weight=*/true});
  return ports;
}

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

Value Importer::embedInputs(Location where) {
  // The batch size, for learned groups (which have no input of their own).
  Value batchSource;
  for (const TokenSpec &t : c.tokens)
    for (const char *kind : {"tokens.", "image.", "embeddings."})
      if (!batchSource)
        batchSource = args.lookup(kind + t.name);

  SmallVector<Value> parts;
  OpFoldResult offset = b.getIndexAttr(0);
  Location embLoc = loc(c.embedding.loc, "embedding");
  for (const TokenSpec &t : c.tokens) {
    if (t.fromCache())
      continue;
    if (incremental && t.input == TokenInput::Image &&
        !args.lookup("image." + t.name))
      continue; // decode: text only
    int64_t n = incremental && t.input != TokenInput::Image
                    ? seqLen
                    : groupSize(c, t);
    Location groupLoc = loc(t.loc, "tokens." + t.name);
    Value part;
    switch (t.input) {
    case TokenInput::Tokens: {
      Value ids = args.lookup("tokens." + t.name);
      FloatAttr scale;
      if (c.embedding.scaleBySqrtDim)
        scale = b.getF64FloatAttr(std::sqrt(double(hidden)));
      part = attn::EmbedOp::create(b, FusedLoc::get(&ctx, {groupLoc, embLoc}),
                                   tensor({kDyn, n, hidden}), ids,
                                   weight("embed.tokens"), scale);
      if (Value types = args.lookup("token_types")) {
        // The token types of this group's positions.
        SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), offset};
        SmallVector<OpFoldResult> sizes = {
            tensor::getMixedSize(b, groupLoc, ids, 0),
            tensor::getMixedSize(b, groupLoc, ids, 1)};
        SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
        Value slice = tensor::ExtractSliceOp::create(
            b, groupLoc, tensor({kDyn, n}, b.getI32Type()), types, offsets,
            sizes, strides);
        Value typeEmb = attn::EmbedOp::create(
            b, embLoc, tensor({kDyn, n, hidden}), slice,
            weight("embed.token_types"), FloatAttr());
        part = attn::ResidualAddOp::create(b, embLoc, part.getType(), part, typeEmb);
      }
      break;
    }
    case TokenInput::Image:
      part = attn::PatchEmbedOp::create(
          b, loc(c.patchEmbedding->loc, "patch_embedding"),
          tensor({kDyn, n, hidden}), args.lookup("image." + t.name),
          weight("embed.patch.weight"), weight("embed.patch.bias"));
      break;
    case TokenInput::Learned: {
      SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(n),
                                         b.getIndexAttr(hidden)};
      if (batchSource)
        sizes[0] = tensor::getMixedSize(b, groupLoc, batchSource, 0);
      Value init = tensor::EmptyOp::create(b, groupLoc, sizes, et);
      Value rows = linalg::BroadcastOp::create(b, groupLoc,
                                               weight("embed.learned." + t.name),
                                               init, ArrayRef<int64_t>{0})
                       .getResult()[0];
      if (rows.getType() != tensor({kDyn, n, hidden}))
        rows = tensor::CastOp::create(b, groupLoc, tensor({kDyn, n, hidden}),
                                      rows);
      part = rows;
      break;
    }
    case TokenInput::Embeddings:
      part = args.lookup("embeddings." + t.name);
      break;
    case TokenInput::Cache:
      break;
    }
    parts.push_back(part);
    if (!args.lookup("token_types"))
      continue;
    // Offset of the next group (token types are read at these offsets).
    OpFoldResult size = tensor::getMixedSize(b, groupLoc, part, 1);
    std::optional<int64_t> o = getConstantIntValue(offset),
                           s = getConstantIntValue(size);
    if (o && s)
      offset = b.getIndexAttr(*o + *s);
    else
      offset = arith::AddIOp::create(
                   b, groupLoc, getValueOrCreateConstantIndexOp(b, groupLoc, offset),
                   getValueOrCreateConstantIndexOp(b, groupLoc, size))
                   .getResult();
  }

  Value x = parts.size() == 1 ? parts.front()
                              : tensor::ConcatOp::create(b, where, 1, parts)
                                    .getResult();
  RankedTensorType seqType = tensor({kDyn, seqLen, hidden});
  if (x.getType() != seqType)
    x = tensor::CastOp::create(b, where, seqType, x);

  Location posLoc = loc(c.position.loc, "position");
  if (c.position.kind == PositionKind::Learned)
    x = attn::LearnedPositionAddOp::create(b, posLoc, seqType, x,
                                           weight("embed.positions"),
                                           positions);
  else if (c.position.kind == PositionKind::Sinusoidal)
    x = attn::SinusoidalAddOp::create(b, posLoc, seqType, x, positions,
                                      APFloat(10000.0));
  if (c.embedding.norm)
    x = norm(x, "embed.norm", loc(c.embedding.loc, "embedding.norm"));
  return x;
}

//===----------------------------------------------------------------------===//
// Outputs
//===----------------------------------------------------------------------===//

void Importer::outputs(Value x, std::vector<Port> &results,
                       SmallVectorImpl<Value> &values) {
  Location outLoc = loc(c.output.loc, "output");
  auto add = [&](const std::string &name, Value v) {
    results.push_back({name, v.getType()});
    values.push_back(v);
  };
  auto pooled = [&]() {
    attn::PoolKind kind = c.output.pooling == Pooling::Cls
                              ? attn::PoolKind::Cls
                              : attn::PoolKind::Mean;
    Value p = attn::PoolOp::create(b, outLoc, tensor({kDyn, hidden}), kind, x);
    if (c.output.pooler) {
      Location poolerLoc = loc(c.output.loc, "output.pooler");
      p = linear(p, "pooler", hidden, poolerLoc);
      p = attn::ActivationOp::create(b, poolerLoc, p.getType(),
                                     attn::Activation::Tanh, p);
    }
    return p;
  };

  switch (c.output.kind) {
  case OutputKind::Logits: {
    int64_t vocab = c.vocabSize.value_or(0);
    RankedTensorType type = tensor({kDyn, seqLen, vocab});
    Value logits =
        c.embedding.tiedOutput
            ? attn::UnembedOp::create(b, loc(c.embedding.loc,
                                             "embedding.tied_output"),
                                      type, x, weight("embed.tokens"))
                  .getResult()
            : linear(x, "head", vocab, outLoc);
    if (c.finalLogitSoftcap)
      logits = attn::SoftcapOp::create(b, loc(c.loc, "final_logit_softcap"),
                                       type, logits,
                                       APFloat(*c.finalLogitSoftcap));
    add("logits", logits);
    break;
  }
  case OutputKind::HiddenStates:
    add("hidden_states", x);
    if (c.output.pooler)
      add("pooled", pooled());
    break;
  case OutputKind::Classifier:
    add("classes", linear(pooled(), "classifier", c.output.numClasses, outLoc));
    break;
  }
  if (returnKV())
    for (auto [i, kv] : llvm::enumerate(layerKV)) {
      add("layers." + std::to_string(i) + ".k", kv.first);
      add("layers." + std::to_string(i) + ".v", kv.second);
    }
}

//===----------------------------------------------------------------------===//
// The module
//===----------------------------------------------------------------------===//

void Importer::buildFunction(ModuleOp module, const std::string &name,
                             int64_t incrementalLength) {
  Location fileLoc = loc(c.loc, c.name.empty() ? "model" : c.name);
  incremental = incrementalLength != 0;
  args.clear();
  layerKV.clear();
  cacheArgs.clear();
  kvCaches.clear();
  if (incremental)
    seqLen = incrementalLength;
  std::vector<Port> ports =
      incremental ? incrementalSignature(incrementalLength) : signature();
  SmallVector<Type> argTypes;
  for (const Port &p : ports)
    argTypes.push_back(p.type);
  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, fileLoc, name,
                                   b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  for (auto [i, p] : llvm::enumerate(ports)) {
    func.setArgAttr(i, "attnc.name", b.getStringAttr(p.name));
    func.setArgAttr(i, "attnc.role", b.getStringAttr(p.weight ? "weight"
                                                              : "input"));
    if (p.window)
      func.setArgAttr(i, "attnc.window", b.getI64IntegerAttr(p.window));
    args[p.name] = entry->getArgument(i);
  }
  positions = args.lookup("positions");
  cacheArgs.resize(c.numLayers);
  for (int64_t i = 0; i < c.numLayers; ++i)
    for (const TokenSpec &t : c.tokens)
      if (t.fromCache()) {
        std::string p = "cache.layers." + std::to_string(i) + "." + t.name;
        cacheArgs[i].push_back({args.lookup(p + ".k"), args.lookup(p + ".v")});
      }

  b.setInsertionPointToStart(entry);
  if (incremental)
    setUpIncremental(loc(c.loc, "tokens"));
  Value x = embedInputs(loc(c.loc, "tokens"));
  for (int64_t i = 0; i < c.numLayers && !failed; ++i)
    x = layer(i, x);
  if (failed)
    return;
  if (incremental && incrementalLength != 1 && options.returnLastOnly) {
    // return_last_only: the last row, before the final norm and the head.
    Location where = loc(c.output.loc, "output");
    Value one = arith::ConstantIndexOp::create(b, where, 1);
    Value n = tensor::DimOp::create(b, where, x, 1);
    Value last = arith::SubIOp::create(b, where, n, one);
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), last,
                                         b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, where, x, 0),
                                       b.getIndexAttr(1),
                                       b.getIndexAttr(hidden)};
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    x = tensor::ExtractSliceOp::create(b, where, tensor({kDyn, 1, hidden}), x,
                                       offsets, sizes, strides);
    seqLen = 1;
  }
  if (c.finalNorm)
    x = norm(x, "final_norm", loc(c.norm.loc, "final_norm"));

  std::vector<Port> results;
  SmallVector<Value> values;
  outputs(x, results, values);
  func::ReturnOp::create(b, fileLoc, values);
  SmallVector<Type> resultTypes;
  for (const Port &r : results)
    resultTypes.push_back(r.type);
  func.setType(b.getFunctionType(argTypes, resultTypes));
  for (auto [i, r] : llvm::enumerate(results))
    func.setResultAttr(i, "attnc.name", b.getStringAttr(r.name));
}

OwningOpRef<ModuleOp> Importer::run() {
  Location fileLoc = loc(c.loc, c.name.empty() ? "model" : c.name);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  if (!c.name.empty())
    (*module)->setAttr("attnc.model", b.getStringAttr(c.name));

  if (!c.hasInput(TokenInput::Tokens) && !c.hasInput(TokenInput::Image) &&
      !c.hasInput(TokenInput::Embeddings))
    unsupported(c.tokens.empty() ? c.loc : c.tokens.front().loc, "tokens",
                "a model whose input groups are all learned has no batch "
                "size; expected at least one group with input tokens, image "
                "or embeddings");
  if (failed)
    return nullptr;

  if (!options.cacheDtype.empty() &&
      (!options.incremental || (options.cacheDtype != "f32" &&
                                options.cacheDtype != "bf16" &&
                                options.cacheDtype != "f16"))) {
    unsupported(c.loc, "dtype",
                "cache dtype '" + options.cacheDtype +
                    "': expected f32, bf16 or f16, with prefill/decode "
                    "(--incremental)");
    return nullptr;
  }
  if (options.incremental) {
    if (!checkIncremental())
      return nullptr;
    buildFunction(*module, "prefill", kDyn);
    if (!failed)
      buildFunction(*module, "decode", 1);
  } else {
    buildFunction(*module, "forward", 0);
  }
  if (failed)
    return nullptr;
  return module;
}

OwningOpRef<ModuleOp> attnc::importConfig(MLIRContext &context,
                                          const ModelConfig &config,
                                          const ImportOptions &options) {
  context.loadDialect<attn::AttnDialect, func::FuncDialect,
                      linalg::LinalgDialect, tensor::TensorDialect,
                      arith::ArithDialect, bufferization::BufferizationDialect,
                      memref::MemRefDialect>();
  return Importer(context, config, options).run();
}
