//===- Config.cpp ---------------------------------------------------------===//

#include "attnc/Schema/Config.h"

#include "EnumNames.h"

namespace attnc {

const char *toString(DType v) { return enumName(v); }
const char *toString(TokenInput v) { return enumName(v); }
const char *toString(MaskKind v) { return enumName(v); }
const char *toString(InitWeights v) { return enumName(v); }
const char *toString(PositionKind v) { return enumName(v); }
const char *toString(RopeStyle v) { return enumName(v); }
const char *toString(MlpKind v) { return enumName(v); }
const char *toString(Activation v) { return enumName(v); }
const char *toString(NormKind v) { return enumName(v); }
const char *toString(BlockStructure v) { return enumName(v); }
const char *toString(OutputKind v) { return enumName(v); }
const char *toString(Pooling v) { return enumName(v); }
const char *toString(ModelKind v) { return enumName(v); }

int64_t byteSize(DType t) { return t == DType::Float32 ? 4 : 2; }

const TokenSpec *ModelConfig::findTokens(const std::string &name) const {
  for (const TokenSpec &t : tokens)
    if (t.name == name)
      return &t;
  return nullptr;
}

bool ModelConfig::hasInput(TokenInput input) const {
  for (const TokenSpec &t : tokens)
    if (t.input == input)
      return true;
  return false;
}

} // namespace attnc
