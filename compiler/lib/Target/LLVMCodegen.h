//===- LLVMCodegen.h - O3 and object emission, in one part or several -----===//
//
// Internal to the CPU target (EmitObject.cpp): the LLVM half of `attnc
// compile`, after the LLVM IR module is complete (entry wrappers, manifest
// globals, internal linkage for everything else).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_LIB_TARGET_LLVMCODEGEN_H
#define ATTNC_COMPILER_LIB_TARGET_LLVMCODEGEN_H

#include "attnc/Compiler/Target/Emit.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <memory>
#include <string>

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace attnc {

/// A TargetMachine for `t` (PIC, -O3 code generation), or null with
/// `error` set.
std::unique_ptr<llvm::TargetMachine>
createCpuTargetMachine(const CpuTarget &t, std::string &error);

/// Runs LLVM's default pipeline for `level` (0-3) on `m`.
void optimizeModule(llvm::Module &m, llvm::TargetMachine &tm, unsigned level);

/// Writes `m` as text to `dir`/`name` (no temporary: debug dumps only).
void dumpModule(const std::string &dir, const std::string &name,
                const llvm::Module &m);

/// Writes `m` as a relocatable object to `path`.
bool writeObjectFile(llvm::Module &m, llvm::TargetMachine &tm,
                     llvm::StringRef path, std::string &error);

/// Optimizes and compiles `m` as up to `parts` modules on as many threads
/// and writes one temporary object per part, appended to `objects` (the
/// caller removes them). Functions and globals keep their internal linkage
/// when the module is compiled in one part; with several, those referenced
/// across parts become hidden (still not exported from the artifact).
/// `m` is consumed. With `dumpDir`, writes llvm-opt.ll (one part) or
/// llvm-opt.<i>.ll there.
bool compileToObjects(std::unique_ptr<llvm::Module> m, const CpuTarget &t,
                      unsigned optLevel, unsigned parts,
                      const std::string &dumpDir,
                      llvm::SmallVectorImpl<std::string> &objects,
                      std::string &error);

} // namespace attnc

#endif // ATTNC_COMPILER_LIB_TARGET_LLVMCODEGEN_H
