#ifndef INFERENCE_VERSION_H_
#define INFERENCE_VERSION_H_

namespace inference {

// The engine's version string, reported by the worker and the tools.
const char* Version();

}  // namespace inference

#endif  // INFERENCE_VERSION_H_
