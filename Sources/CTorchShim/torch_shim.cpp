#include "ctorch.h"
#include <torch/torch.h>

extern "C" const char *ctorch_version(void) { return TORCH_VERSION; }
