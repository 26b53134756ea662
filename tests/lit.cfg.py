# lit configuration for attnc: dialect, pass, conversion, import, schema and CLI tests.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "attnc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.attnc_obj_root, "tests")
# Inputs that tests read but that are not tests themselves.
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit"]

llvm_config.use_default_substitutions()
config.substitutions.append(("%samples", os.path.join(config.attnc_src_root, "samples")))
config.substitutions.append(("%schema_dir", os.path.join(config.attnc_src_root, "schema")))

tool_dirs = [config.attnc_tools_dir, config.llvm_tools_dir]
tools = ["attnc"]
for tool in ["attnc-opt", "attnc-import"]:
    if os.path.exists(os.path.join(config.attnc_tools_dir, tool)):
        tools.append(tool)
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.attnc_tools_dir, append_path=True)
config.substitutions.append(("%py3", config.python_executable))
config.substitutions.append(("%expect-exit", config.python_executable + " " +
                             os.path.join(config.test_source_root, "cli", "Inputs", "expect_exit.py")))
config.substitutions.append(("%attnc_bin", os.path.join(config.attnc_tools_dir, "attnc")))
config.substitutions.append(("%attnc_runner", os.path.join(config.attnc_tools_dir, "attnc-runner")))
config.substitutions.append(("%attnc_src", config.attnc_src_root))

# Upstream MLIR tools and runtime libraries, for the numerics tests that run
# lowered attn code (tests/conversion): attnc-opt lowers, stock mlir-opt takes
# the result to LLVM, mlir-runner executes it.
llvm_config.add_tool_substitutions(["mlir-opt", "mlir-runner"], [config.llvm_tools_dir])
_llvm_lib_dir = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
config.substitutions.append(("%mlir_lib_dir", _llvm_lib_dir))
config.substitutions.append(("%mlir_runner_utils",
                             os.path.join(_llvm_lib_dir, "libmlir_runner_utils.so")))
config.substitutions.append(("%mlir_c_runner_utils",
                             os.path.join(_llvm_lib_dir, "libmlir_c_runner_utils.so")))

# ptxas (CUDA toolkit), for the tests that assemble the CUDA target's PTX:
# the same search as attnc::findPtxas (ATTNC_PTXAS, PATH, CUDA_HOME,
# /usr/local/cuda). Tests that need it say `REQUIRES: ptxas`.
def _find_ptxas():
    import shutil
    env = os.environ.get("ATTNC_PTXAS")
    if env:
        return env if os.access(env, os.X_OK) else None
    candidates = [shutil.which("ptxas")]
    if os.environ.get("CUDA_HOME"):
        candidates.append(os.path.join(os.environ["CUDA_HOME"], "bin", "ptxas"))
    candidates.append("/usr/local/cuda/bin/ptxas")
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)

_ptxas = _find_ptxas()
if _ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", _ptxas))
for _name in ["ATTNC_PTXAS", "CUDA_HOME"]:
    if _name in os.environ:
        config.environment[_name] = os.environ[_name]
