#include "inference/version.h"

namespace inference {

const char* Version() { return "0.1.0"; }

}  // namespace inference
