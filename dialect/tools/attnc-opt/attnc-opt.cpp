//===- attnc-opt.cpp - mlir-opt for the attn dialect ----------------------===//
//
// MlirOptMain over attnc's registry (attnc/InitAllAttnc.h): the attn dialect,
// its passes, the attn -> linalg conversion, the attnc pipelines and the
// upstream dialects/passes they produce and use.
//
//===----------------------------------------------------------------------===//

#include "attnc/InitAllAttnc.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  attnc::registerAllDialects(registry);
  attnc::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "attnc optimizer driver\n", registry));
}
