//===- AttnAttrs.td - attn enums and attributes ------------*- tablegen -*-===//
//
// Enums are plain I32EnumAttrs so that ops print them as bare keywords
// (`attn.norm rms ...`), the way arith.cmpi prints its predicate. Masks,
// token groups and attention patterns are dialect attributes.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_ATTRS_TD
#define ATTN_ATTRS_TD

include "attnc/Dialect/Attn/IR/AttnDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Attn_MaskKind : I32EnumAttr<"MaskKind", "which keys a query may attend to", [
    I32EnumAttrCase<"Full", 0, "full">,
    I32EnumAttrCase<"Causal", 1, "causal">,
    I32EnumAttrCase<"SlidingWindow", 2, "sliding_window">,
    I32EnumAttrCase<"Local", 3, "local">]> {
  let cppNamespace = "::mlir::attn";
  // Only used as a parameter of #attn.mask.
  let genSpecializedAttr = 0;
}

def Attn_RopeStyleAttr : I32EnumAttr<"RopeStyle", "how RoPE pairs the dims", [
    I32EnumAttrCase<"SplitHalf", 0, "split_half">,
    I32EnumAttrCase<"Interleaved", 1, "interleaved">]> {
  let cppNamespace = "::mlir::attn";
}

def Attn_NormKindAttr : I32EnumAttr<"NormKind", "normalisation over the last dim", [
    I32EnumAttrCase<"RMS", 0, "rms">,
    I32EnumAttrCase<"Layer", 1, "layer">,
    I32EnumAttrCase<"Identity", 2, "identity">]> {
  let cppNamespace = "::mlir::attn";
}

def Attn_ActivationAttr : I32EnumAttr<"Activation", "elementwise activation", [
    I32EnumAttrCase<"Gelu", 0, "gelu">,
    I32EnumAttrCase<"GeluTanh", 1, "gelu_tanh">,
    I32EnumAttrCase<"Relu", 2, "relu">,
    I32EnumAttrCase<"Silu", 3, "silu">,
    I32EnumAttrCase<"Tanh", 4, "tanh">]> {
  let cppNamespace = "::mlir::attn";
}

def Attn_PoolKindAttr : I32EnumAttr<"PoolKind", "sequence pooling", [
    I32EnumAttrCase<"Cls", 0, "cls">,
    I32EnumAttrCase<"Mean", 1, "mean">]> {
  let cppNamespace = "::mlir::attn";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class Attn_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Attn_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Attn_MaskAttr : Attn_Attr<"Mask", "mask"> {
  let summary = "an attention mask kind, with its window where it has one";
  let description = [{
    `#attn.mask<full>`, `#attn.mask<causal>`, `#attn.mask<sliding_window 128>`
    or `#attn.mask<local 128>`. With query position `i` and key position
    `j`: full allows `j >= 0`; causal allows `0 <= j <= i`; sliding_window
    `W` allows `0 <= j <= i` and `i - j < W` (W keys including the query
    itself, as penzai and gemma count); local `W` allows `j >= 0` and
    `|i - j| < W` (a bidirectional band: gemma's LOCAL_SLIDING on a
    non-causal pattern).
  }];
  let parameters = (ins EnumParameter<Attn_MaskKind>:$kind,
                        DefaultValuedParameter<"int64_t", "0">:$window);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "MaskKind":$kind), [{
      return $_get($_ctxt, kind, 0);
    }]>
  ];
  let extraClassDeclaration = [{
    bool isFull() const { return getKind() == MaskKind::Full; }
    bool hasWindow() const {
      return getKind() == MaskKind::SlidingWindow || getKind() == MaskKind::Local;
    }
    /// Prints `full`, `causal`, `sliding_window W` or `local W` (no brackets).
    void printBody(::llvm::raw_ostream &os) const;
  }];
}

def Attn_TokenGroupAttr : Attn_Attr<"TokenGroup", "token_group"> {
  let summary = "a named, contiguous group of tokens (noether's TokenSpec)";
  let description = [{
    `#attn.token_group<"surface_anchors": 100>` has a fixed size;
    `#attn.token_group<"text": ?>` has a size known at run time (at most one
    group of a sequence may be dynamic: its size is what the others leave);
    `#attn.token_group<"past": cache>` is not in the input sequence: its keys
    and values come from the KV cache (noether's `size: null`). Ops print a
    list of groups without the prefix: `["past": cache, "text": ?]`.
  }];
  let parameters = (ins StringRefParameter<"the group's name">:$name,
                        "int64_t":$size,
                        "bool":$fromCache);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool isDynamic() const { return !getFromCache() && ::mlir::ShapedType::isDynamic(getSize()); }
    bool isStatic() const { return !getFromCache() && !::mlir::ShapedType::isDynamic(getSize()); }
    /// Prints `"name": 100`, `"name": ?` or `"name": cache`.
    void printBody(::llvm::raw_ostream &os) const;
  }];
}

def Attn_AttentionPatternAttr : Attn_Attr<"AttentionPattern", "pattern"> {
  let summary = "query groups attending to key/value groups under a mask";
  let description = [{
    `#attn.pattern<["queries"] -> ["anchors", "queries"] causal>`: the
    tokens of the query groups (concatenated in the listed order) attend to
    the tokens of the key/value groups (concatenated in the listed order)
    under the mask. Positions used by the mask are indices in the full
    sequence (cache groups included, in declaration order). Ops print a
    list of patterns without the prefix:
    `[["a"] -> ["a"] full, ["b"] -> ["a", "b"] sliding_window 128]`.
  }];
  let parameters = (ins "::mlir::ArrayAttr":$queries,
                        "::mlir::ArrayAttr":$keyValues,
                        "MaskAttr":$mask);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    void printBody(::llvm::raw_ostream &os) const;
  }];
}

def Attn_TokenGroupArrayAttr
    : TypedArrayAttrBase<Attn_TokenGroupAttr, "array of token groups">;
def Attn_AttentionPatternArrayAttr
    : TypedArrayAttrBase<Attn_AttentionPatternAttr, "array of attention patterns">;

#endif // ATTN_ATTRS_TD
