// Placeholder until the inspect work lands.
#include "attnc/Schema/Stats.h"
