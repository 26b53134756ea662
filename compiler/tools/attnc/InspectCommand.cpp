// Placeholder until the inspect work lands.
#include "Commands.h"
namespace attnc::cli {
void addInspectCommand(CLI::App &) {}
} // namespace attnc::cli
